"""Pickled motions: PHC / HumanoidVerse / ASAP (``pkl_phc``) and MimicKit (``pkl_mimickit``).

Files are read with the restricted unpickler of :mod:`g1_mimic.motion.safe_pickle` (plain
pickles, joblib dumps, gzip/zlib/bz2/xz compressed) or, for ``.pt``/``.pth``, with
``torch.load(weights_only=True)``. Only dicts, lists, numbers, strings and numpy arrays load.

``pkl_phc`` accepted layouts (``T`` frames):

* a clip dict, or a dict ``{clip_name: clip dict}`` (choose with ``--clip`` when it holds several);
* clip dict keys: ``root_trans_offset`` [T, 3] root (pelvis) position (m, world, z up);
  ``root_rot`` [T, 4] root orientation **xyzw**; joint angles as ``dof`` [T, J] (rad) or, when
  ``dof`` is absent, ``pose_aa`` [T, K, 3] axis-angle per body: entry 0 is the root rotation
  (used only when ``root_rot`` is absent), entries 1..J are ``axis_j * angle_j`` about each hinge
  axis of the G1 model (the angle is the projection on the model axis; entries after J, PHC's
  "extended" bodies, are ignored); ``fps`` (Hz, optional: ``--fps`` when absent).
* joint order: ``--joint-order`` if given, else by count: 29 -> SDK order, 23 -> G1 23-DoF order
  (23: HumanoidVerse/ASAP's order, the 29-DoF without wrists, or Unitree's 23-DoF robot order when
  ``pose_aa`` confirms it; missing joints held per ``--missing-joints``). With ``pose_aa`` only: ``K - 1 >= 29`` -> SDK,
  ``23 <= K - 1 < 29`` -> 23-DoF.

``pkl_mimickit`` accepted layout: a dict with ``fps`` (Hz), ``loop_mode`` (0 clamp / 1 wrap,
recorded in the provenance only) and ``frames`` [T, 6 + J] (list of lists or array), each frame
being root position (3, m), root rotation as an exponential map (3, axis * angle, rad, world),
then one angle per hinge (rad): J = 29 in SDK order or J = 23 in 23-DoF order, or the order of
``--joint-order``. Old MimicKit files that pickle a ``Motion`` object are refused (re-save them
with a current MimicKit, which writes the dict).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from g1_mimic.motion import quat as Q
from g1_mimic.motion.format import MotionFormatError
from g1_mimic.motion.importers._common import (
    ImportOptions,
    RawMotion,
    as_float_array,
    check_same_length,
    resolve_fps,
    resolve_joint_order,
)
from g1_mimic.motion.safe_pickle import load_pickle, load_torch
from g1_mimic.motion.validate import MotionValidationError, ValidationReport
from g1_mimic.robots.g1_constants import ASAP_23DOF_JOINT_NAMES, G1_23DOF_JOINT_NAMES, SDK_JOINT_NAMES

PKL_FORMATS = ("pkl_phc", "pkl_mimickit")
PICKLE_SUFFIXES = (".pkl", ".pickle", ".joblib", ".pt", ".pth")
#: |pose_aa_j - angle_j * axis_j| above this (rad) means pose_aa is not about the G1 hinge axes.
POSE_AA_AXIS_TOL = 1e-3


def load_pickled(path: Path) -> Any:
    """The object stored in a pickle/joblib file (restricted) or a torch file (weights_only).

    Torch files are recognised by their ``.pt``/``.pth`` suffix or their zip signature.
    """
    if not path.exists():
        raise MotionFormatError(f"{path}: no such file")
    with path.open("rb") as fh:
        zipped = fh.read(4) == b"PK\x03\x04"
    if zipped or path.suffix.lower() in (".pt", ".pth"):
        return load_torch(path)
    return load_pickle(path)


def _is_phc_clip(obj: Any) -> bool:
    return isinstance(obj, dict) and "root_trans_offset" in obj


def detect_pickle_format(path: Path) -> tuple[str, str]:
    """``(format, reason)`` from the pickled structure; raise describing it when none matches."""
    obj = load_pickled(path)
    if isinstance(obj, dict) and "frames" in obj:
        return "pkl_mimickit", "dict with 'frames'"
    if _is_phc_clip(obj):
        return "pkl_phc", "dict with 'root_trans_offset'"
    if isinstance(obj, dict) and obj and all(_is_phc_clip(v) for v in obj.values()):
        return "pkl_phc", f"dict of {len(obj)} clip(s) with 'root_trans_offset'"
    desc = f"dict with keys {sorted(map(str, obj))[:12]}" if isinstance(obj, dict) else type(obj).__name__
    raise MotionFormatError(
        f"{path}: unrecognised pickle layout ({desc}). Known: pkl_mimickit (dict with fps, loop_mode, frames) "
        "and pkl_phc (dict, or dict of clips, with root_trans_offset, root_rot, dof or pose_aa, fps)."
    )


def _default_joint_names(count: int, *, where: str, field_name: str) -> tuple[str, ...]:
    if count == len(SDK_JOINT_NAMES):
        return SDK_JOINT_NAMES
    if count == len(G1_23DOF_JOINT_NAMES):
        return G1_23DOF_JOINT_NAMES
    raise MotionValidationError(
        f"{where}: field '{field_name}' has {count} joints; without --joint-order only 29 (G1 SDK order) or 23 "
        "(G1 23-DoF order) are understood. State the column order with --joint-order FILE.txt."
    )


def read_pkl_phc(path: Path, opts: ImportOptions, report: ValidationReport, kinematics) -> RawMotion:
    """PHC / HumanoidVerse pickle (layout in the module docstring) into a :class:`RawMotion`."""
    where = str(path)
    obj = load_pickled(path)
    clip_name = None
    if _is_phc_clip(obj):
        clip = obj
    elif isinstance(obj, dict) and obj and all(_is_phc_clip(v) for v in obj.values()):
        names = [str(k) for k in obj]
        if opts.clip is not None:
            if opts.clip not in names:
                raise MotionFormatError(f"{where}: no clip {opts.clip!r}; the file holds {names}")
            clip_name = opts.clip
        elif len(names) == 1:
            clip_name = names[0]
        else:
            raise MotionFormatError(f"{where}: the file holds {len(names)} clips {names[:20]}; choose one with --clip NAME")
        clip = {str(k): v for k, v in obj.items()}[clip_name]
    else:
        raise MotionFormatError(f"{where}: not a PHC motion: expected a dict with 'root_trans_offset' (or a dict of them)")
    field = f"{clip_name}." if clip_name else ""
    root_pos = as_float_array(clip["root_trans_offset"], where=where, field_name=f"{field}root_trans_offset", ndim=2, last=3)
    joint_names: tuple[str, ...]
    if "dof" in clip:
        dof = as_float_array(clip["dof"], where=where, field_name=f"{field}dof", ndim=2)
        if opts.joint_order is not None:
            joint_names = resolve_joint_order(opts.joint_order, where=where)
            if len(joint_names) != dof.shape[1]:
                raise MotionValidationError(
                    f"{where}: field '{field}dof' has {dof.shape[1]} columns but --joint-order names {len(joint_names)}"
                )
        elif dof.shape[1] == len(ASAP_23DOF_JOINT_NAMES):
            joint_names = _pick_23dof_order(clip, dof, kinematics, where=where, field=field, report=report)
        else:
            joint_names = _default_joint_names(dof.shape[1], where=where, field_name=f"{field}dof")
        joint_field = f"{field}dof"
    elif "pose_aa" in clip:
        pose_aa = as_float_array(clip["pose_aa"], where=where, field_name=f"{field}pose_aa", ndim=3, last=3)
        k = pose_aa.shape[1] - 1
        if opts.joint_order is not None:
            joint_names = resolve_joint_order(opts.joint_order, where=where)
        elif k >= len(SDK_JOINT_NAMES):
            joint_names = SDK_JOINT_NAMES
        elif k >= len(G1_23DOF_JOINT_NAMES):
            joint_names = G1_23DOF_JOINT_NAMES
        else:
            raise MotionValidationError(
                f"{where}: field '{field}pose_aa' has {pose_aa.shape[1]} entries (root + {k}); the G1 needs root + 29 "
                "(or root + 23 for the 23-DoF robot). State the order with --joint-order FILE.txt or provide 'dof'."
            )
        if len(joint_names) > k:
            raise MotionValidationError(
                f"{where}: field '{field}pose_aa' has {k} joint entries but {len(joint_names)} joints are expected"
            )
        dof = _angles_from_pose_aa(pose_aa[:, 1 : 1 + len(joint_names)], joint_names, kinematics, where, f"{field}pose_aa")
        joint_field = f"{field}pose_aa"
        report.note(f"{where}: joint angles taken from '{field}pose_aa' (no 'dof' field) by projection on the G1 hinge axes.")
    else:
        raise MotionFormatError(f"{where}: clip {clip_name or ''} has neither 'dof' nor 'pose_aa' (joint angles)")
    if "root_rot" in clip:
        root_quat = as_float_array(clip["root_rot"], where=where, field_name=f"{field}root_rot", ndim=2, last=4)
        quat_field = f"{field}root_rot (xyzw)"
    elif "pose_aa" in clip:
        aa = as_float_array(clip["pose_aa"], where=where, field_name=f"{field}pose_aa", ndim=3, last=3)[:, 0]
        root_quat = _quat_from_rotvec(aa)
        quat_field = f"{field}pose_aa[:, 0] (root axis-angle)"
    else:
        raise MotionFormatError(f"{where}: clip {clip_name or ''} has no 'root_rot' (root orientation, xyzw)")
    check_same_length(where, root_trans_offset=root_pos, joints=dof, root_rot=root_quat)
    fps, origin = resolve_fps(clip.get("fps"), opts, where=where, field_name=f"{field}fps", report=report)
    return RawMotion(
        fps=fps,
        fps_origin=origin,
        root_pos=root_pos,
        root_quat_xyzw=root_quat,
        joint_pos=dof,
        joint_names=tuple(joint_names),
        root_pos_field=f"{field}root_trans_offset",
        root_quat_field=quat_field,
        joint_field=joint_field,
        partial_ok=tuple(joint_names) in (G1_23DOF_JOINT_NAMES, ASAP_23DOF_JOINT_NAMES),
        details={"clip": clip_name} if clip_name else {},
    )


#: Largest |angle from pose_aa - dof| (rad) for a 23-DoF joint order to count as confirmed by ``pose_aa``.
POSE_AA_DOF_TOL = 1e-3


def _pick_23dof_order(clip: dict, dof: np.ndarray, kinematics, *, where: str, field: str, report: ValidationReport) -> tuple[str, ...]:
    """The joint order of a 23-column ``dof``: HumanoidVerse/ASAP's (29-DoF minus the wrists) or Unitree's 23-DoF robot.

    When the clip also stores ``pose_aa`` (per-joint axis-angle about each hinge), the order whose
    hinge axes reproduce ``dof`` from it (within :data:`POSE_AA_DOF_TOL`) is taken; without
    ``pose_aa`` (or when neither matches) ASAP's order, the layout of HumanoidVerse pickles, with a note.
    """
    candidates = (("HumanoidVerse/ASAP 23-DoF", ASAP_23DOF_JOINT_NAMES), ("Unitree G1 23-DoF", G1_23DOF_JOINT_NAMES))
    if "pose_aa" in clip:
        pose_aa = as_float_array(clip["pose_aa"], where=where, field_name=f"{field}pose_aa", ndim=3, last=3)
        if pose_aa.shape[0] == dof.shape[0] and pose_aa.shape[1] > dof.shape[1]:
            m = kinematics.model
            for label, names in candidates:
                axes = np.array([m.jnt_axis[m.joint(n).id] for n in names], dtype=np.float64)
                angles = np.einsum("tjk,jk->tj", pose_aa[:, 1 : 1 + len(names)], axes)
                err = float(np.abs(angles - dof).max()) if dof.size else 0.0
                if err <= POSE_AA_DOF_TOL:
                    report.note(
                        f"{where}: '{field}dof' has 23 joints: {label} order (its hinge axes reproduce '{field}dof' "
                        f"from '{field}pose_aa' to {err:.1e} rad)."
                    )
                    return names
    report.note(
        f"{where}: '{field}dof' has 23 joints: read in the HumanoidVerse/ASAP order (the 29-DoF G1 without its six "
        "wrist joints); pass --joint-order 23dof for Unitree's 23-DoF robot order."
    )
    return ASAP_23DOF_JOINT_NAMES


def _quat_from_rotvec(rotvec: np.ndarray) -> np.ndarray:
    """xyzw quaternions of rotation vectors [..., 3] (axis * angle, rad)."""
    angle = np.linalg.norm(rotvec, axis=-1)
    axis = np.where(angle[..., None] > 1e-12, rotvec / np.maximum(angle, 1e-12)[..., None], np.array([1.0, 0.0, 0.0]))
    return Q.from_axis_angle(axis, angle)


def _angles_from_pose_aa(aa: np.ndarray, joint_names, kinematics, where: str, field_name: str) -> np.ndarray:
    """Hinge angles from per-joint axis-angle vectors ``aa`` [T, J, 3]: projection on each model joint axis."""
    m = kinematics.model
    axes = np.array([m.jnt_axis[m.joint(n).id] for n in joint_names], dtype=np.float64)  # [J, 3] unit, joint frame
    angles = np.einsum("tjk,jk->tj", aa, axes)
    residual = np.linalg.norm(aa - angles[..., None] * axes[None], axis=-1)
    if residual.size and residual.max() > POSE_AA_AXIS_TOL:
        t, j = np.unravel_index(int(np.argmax(residual)), residual.shape)
        raise MotionValidationError(
            f"{where}: field '{field_name}': entry {j + 1} ({joint_names[j]}) at frame {t} is not a rotation about the "
            f"G1 joint axis {axes[j].tolist()} (off-axis part {residual[t, j]:.3g} rad). The entries are not in the "
            "stated joint order (or not for the G1); provide 'dof' or state the order with --joint-order."
        )
    return angles


def read_pkl_mimickit(path: Path, opts: ImportOptions, report: ValidationReport, kinematics) -> RawMotion:
    """MimicKit pickle (layout in the module docstring) into a :class:`RawMotion`."""
    where = str(path)
    obj = load_pickled(path)
    if not isinstance(obj, dict) or "frames" not in obj:
        raise MotionFormatError(f"{where}: not a MimicKit motion: expected a dict with 'fps', 'loop_mode', 'frames'")
    frames = as_float_array(obj["frames"], where=where, field_name="frames", ndim=2)
    ndof = frames.shape[1] - 6
    if opts.joint_order is not None:
        joint_names = resolve_joint_order(opts.joint_order, where=where)
        if len(joint_names) != ndof:
            raise MotionValidationError(
                f"{where}: field 'frames' has {frames.shape[1]} columns = 6 root + {ndof} joints, but --joint-order "
                f"names {len(joint_names)} joints"
            )
    else:
        joint_names = _default_joint_names(ndof, where=where, field_name="frames (columns 7-)")
    fps, origin = resolve_fps(obj.get("fps"), opts, where=where, field_name="fps", report=report)
    loop = obj.get("loop_mode")
    loop_name = {0: "clamp", 1: "wrap"}.get(int(loop), str(loop)) if isinstance(loop, int | np.integer) else str(loop)
    return RawMotion(
        fps=fps,
        fps_origin=origin,
        root_pos=frames[:, 0:3],
        root_quat_xyzw=_quat_from_rotvec(frames[:, 3:6]),
        joint_pos=frames[:, 6:],
        joint_names=tuple(joint_names),
        root_pos_field="frames[:, 0:3] (root position)",
        root_quat_field="frames[:, 3:6] (root exp-map)",
        joint_field="frames[:, 6:] (joint angles)",
        partial_ok=tuple(joint_names) in (G1_23DOF_JOINT_NAMES, ASAP_23DOF_JOINT_NAMES),
        details={"loop_mode": loop_name},
    )
