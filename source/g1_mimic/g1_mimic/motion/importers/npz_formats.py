"""NPZ layouts: BeyondMimic/mjlab (no names), Isaac Lab AMP (names stored) and our canonical format.

Quaternions in both foreign layouts are **wxyz**; positions are metres in the world frame (z up).
Only the root (pelvis) pose and the joint angles are taken from the file; every body state is
recomputed from the G1 model, and the file's body positions are compared with that recomputation
(a disagreement over 1 cm usually means a wrong stated order, or another robot model).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from g1_mimic.motion import quat as Q
from g1_mimic.motion.format import Motion, MotionFormatError, is_canonical, load_motion
from g1_mimic.motion.importers._common import (
    ImportOptions,
    RawMotion,
    as_float_array,
    check_joint_names,
    check_same_length,
    resolve_body_order,
    resolve_fps,
    resolve_joint_order,
)
from g1_mimic.motion.validate import MotionValidationError, ValidationReport
from g1_mimic.robots.g1_constants import ROOT_BODY

NPZ_FORMATS = ("npz_beyondmimic", "npz_isaaclab_amp", "npz_canonical")
BEYONDMIMIC_KEYS = ("fps", "joint_pos", "body_pos_w", "body_quat_w")
AMP_KEYS = ("fps", "dof_names", "body_names", "dof_positions", "body_positions", "body_rotations")


def load_npz(path: Path) -> dict[str, np.ndarray]:
    """All arrays of an ``.npz`` (no pickles: object arrays are refused)."""
    where = str(path)
    if not path.exists():
        raise MotionFormatError(f"{where}: no such file")
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except ValueError as exc:
        if "allow_pickle" in str(exc) or "Object arrays" in str(exc):
            raise MotionFormatError(
                f"{where}: the .npz holds pickled Python objects, which are not loaded (they can run code); "
                "store names as string arrays (np.array(['a', 'b'])) and numbers as numeric arrays."
            ) from exc
        raise MotionFormatError(f"{where}: not a readable .npz file ({exc})") from exc
    except Exception as exc:
        raise MotionFormatError(f"{where}: not a readable .npz file ({type(exc).__name__}: {exc})") from exc


def detect_npz_format(path: Path) -> tuple[str, str]:
    """``(format, reason)`` of an ``.npz`` from its keys; raise listing them when none matches."""
    if is_canonical(path):
        return "npz_canonical", "field 'format' is g1_mimic.motion"
    keys = set(load_npz(path))
    if set(AMP_KEYS) <= keys:
        return "npz_isaaclab_amp", "has dof_names/body_names/dof_positions/body_positions/body_rotations"
    if set(BEYONDMIMIC_KEYS) <= keys:
        return "npz_beyondmimic", "has fps/joint_pos/body_pos_w/body_quat_w and no names"
    raise MotionFormatError(
        f"{path}: unrecognised .npz layout (keys {sorted(keys)}). Known: npz_canonical (field 'format'), "
        f"npz_isaaclab_amp (keys {list(AMP_KEYS)}), npz_beyondmimic (keys {list(BEYONDMIMIC_KEYS)})."
    )


def _require(data: dict[str, Any], keys: tuple[str, ...], where: str, fmt: str) -> None:
    missing = [k for k in keys if k not in data]
    if missing:
        raise MotionFormatError(f"{where}: missing field(s) {missing} required by {fmt} (file has {sorted(data)})")


def _names(value: np.ndarray, where: str, field_name: str) -> tuple[str, ...]:
    arr = np.asarray(value)
    if arr.ndim != 1 or arr.dtype.kind not in "US":
        raise MotionFormatError(f"{where}: field '{field_name}' must be a 1-D string array, got {arr.dtype} {arr.shape}")
    return tuple(str(n) for n in arr)


def read_npz_beyondmimic(path: Path, opts: ImportOptions, report: ValidationReport, kinematics) -> RawMotion:
    """BeyondMimic / mjlab NPZ: ``fps``, ``joint_pos`` [T, J], ``body_pos_w`` [T, B, 3],
    ``body_quat_w`` [T, B, 4] (wxyz); velocities are ignored (recomputed). The file stores no names:
    ``opts.joint_order`` and ``opts.body_order`` state them (BeyondMimic whole_body_tracking files:
    ``isaaclab``/``isaaclab``; mjlab files: ``sdk``/``mujoco``).
    """
    where = str(path)
    data = load_npz(path)
    _require(data, BEYONDMIMIC_KEYS, where, "npz_beyondmimic")
    if opts.joint_order is None or opts.body_order is None:
        missing = [f for f, v in (("--joint-order", opts.joint_order), ("--body-order", opts.body_order)) if v is None]
        raise MotionFormatError(
            f"{where}: npz_beyondmimic files store no joint or body names; state the order with {' and '.join(missing)}: "
            "--joint-order sdk|isaaclab|FILE.txt --body-order mujoco|isaaclab|FILE.txt "
            "(BeyondMimic whole_body_tracking: isaaclab/isaaclab; mjlab: sdk/mujoco)."
        )
    fps, origin = resolve_fps(data["fps"], opts, where=where, field_name="fps", report=report)
    joint_pos = as_float_array(data["joint_pos"], where=where, field_name="joint_pos", ndim=2)
    body_pos = as_float_array(data["body_pos_w"], where=where, field_name="body_pos_w", ndim=3, last=3)
    body_quat = as_float_array(data["body_quat_w"], where=where, field_name="body_quat_w", ndim=3, last=4)
    check_same_length(where, joint_pos=joint_pos, body_pos_w=body_pos, body_quat_w=body_quat)
    joint_names = resolve_joint_order(opts.joint_order, where=where)
    if len(joint_names) != joint_pos.shape[1]:
        raise MotionValidationError(
            f"{where}: field 'joint_pos' has {joint_pos.shape[1]} columns but --joint-order {opts.joint_order} names "
            f"{len(joint_names)} joints; state the file's joint order (a names file for other robots/orders)."
        )
    body_names = resolve_body_order(opts.body_order, kinematics)
    if len(body_names) != body_pos.shape[1] or body_quat.shape[1] != body_pos.shape[1]:
        raise MotionValidationError(
            f"{where}: field 'body_pos_w' has {body_pos.shape[1]} bodies (body_quat_w {body_quat.shape[1]}) but "
            f"--body-order {opts.body_order} names {len(body_names)}; state the file's body order with a names file."
        )
    if ROOT_BODY not in body_names:
        raise MotionValidationError(f"{where}: --body-order {opts.body_order} has no '{ROOT_BODY}' (the root body)")
    r = body_names.index(ROOT_BODY)
    if r != 0:
        report.note(f"{where}: root body '{ROOT_BODY}' is row {r} of body_pos_w/body_quat_w (stated order).")
    known = [i for i, n in enumerate(body_names) if n in kinematics.body_names]
    unknown = [n for n in body_names if n not in kinematics.body_names]
    if unknown:
        report.note(f"{where}: body(ies) {unknown} are not in the G1 model; not cross-checked.")
    return RawMotion(
        fps=fps,
        fps_origin=origin,
        root_pos=body_pos[:, r],
        root_quat_xyzw=Q.wxyz_to_xyzw(body_quat[:, r]),
        joint_pos=joint_pos,
        joint_names=joint_names,
        root_pos_field=f"body_pos_w[:, {r}] ({ROOT_BODY})",
        root_quat_field=f"body_quat_w[:, {r}] ({ROOT_BODY}, wxyz)",
        joint_field="joint_pos",
        ref_body_names=tuple(body_names[i] for i in known),
        ref_body_pos_w=body_pos[:, known],
        ref_hint=(
            f"The stated --joint-order {opts.joint_order} / --body-order {opts.body_order} is probably not the "
            "file's order (or the file was made for another robot model)."
        ),
        details={"joint_order": opts.joint_order, "body_order": opts.body_order},
    )


def read_npz_isaaclab_amp(path: Path, opts: ImportOptions, report: ValidationReport, kinematics) -> RawMotion:
    """Isaac Lab AMP NPZ: ``fps``, ``dof_names`` [J], ``body_names`` [B], ``dof_positions`` [T, J],
    ``body_positions`` [T, B, 3], ``body_rotations`` [T, B, 4] (wxyz). Joints are mapped by name;
    the root is the body named ``pelvis``. Velocity fields are ignored (recomputed).
    """
    where = str(path)
    data = load_npz(path)
    _require(data, AMP_KEYS, where, "npz_isaaclab_amp")
    fps, origin = resolve_fps(data["fps"], opts, where=where, field_name="fps", report=report)
    dof_names = _names(data["dof_names"], where, "dof_names")
    body_names = _names(data["body_names"], where, "body_names")
    check_joint_names(dof_names, where=where, field_name="dof_names")
    dof_pos = as_float_array(data["dof_positions"], where=where, field_name="dof_positions", ndim=2)
    body_pos = as_float_array(data["body_positions"], where=where, field_name="body_positions", ndim=3, last=3)
    body_rot = as_float_array(data["body_rotations"], where=where, field_name="body_rotations", ndim=3, last=4)
    check_same_length(where, dof_positions=dof_pos, body_positions=body_pos, body_rotations=body_rot)
    if dof_pos.shape[1] != len(dof_names):
        raise MotionFormatError(
            f"{where}: field 'dof_positions' has {dof_pos.shape[1]} columns but 'dof_names' lists {len(dof_names)}"
        )
    if body_pos.shape[1] != len(body_names) or body_rot.shape[1] != len(body_names):
        raise MotionFormatError(
            f"{where}: fields 'body_positions'/'body_rotations' have {body_pos.shape[1]}/{body_rot.shape[1]} bodies "
            f"but 'body_names' lists {len(body_names)}"
        )
    if ROOT_BODY not in body_names:
        raise MotionValidationError(
            f"{where}: field 'body_names' has no '{ROOT_BODY}' (the G1 root body); it lists {list(body_names)}"
        )
    r = body_names.index(ROOT_BODY)
    known = [i for i, n in enumerate(body_names) if n in kinematics.body_names]
    unknown = [n for n in body_names if n not in kinematics.body_names]
    if unknown:
        report.note(f"{where}: body(ies) {unknown} are not in the G1 model; not cross-checked.")
    return RawMotion(
        fps=fps,
        fps_origin=origin,
        root_pos=body_pos[:, r],
        root_quat_xyzw=Q.wxyz_to_xyzw(body_rot[:, r]),
        joint_pos=dof_pos,
        joint_names=dof_names,
        root_pos_field=f"body_positions[:, {r}] ({ROOT_BODY})",
        root_quat_field=f"body_rotations[:, {r}] ({ROOT_BODY}, wxyz)",
        joint_field="dof_positions",
        ref_body_names=tuple(body_names[i] for i in known),
        ref_body_pos_w=body_pos[:, known],
        ref_hint="The file's dof_positions do not match its body_positions for the G1 model (another robot model?).",
    )


def raw_from_motion(motion: Motion, fps: float, fps_origin: str, *, where: str, kinematics) -> RawMotion:
    """A canonical :class:`Motion` as a :class:`RawMotion` (its stored body positions kept for the cross-check)."""
    check_joint_names(motion.joint_names, where=where, field_name="joint_names")
    known = [i for i, n in enumerate(motion.body_names) if n in kinematics.body_names]
    return RawMotion(
        fps=fps,
        fps_origin=fps_origin,
        root_pos=np.asarray(motion.root_pos_w, dtype=np.float64),
        root_quat_xyzw=np.asarray(motion.root_quat_w, dtype=np.float64),
        joint_pos=np.asarray(motion.joint_pos, dtype=np.float64),
        joint_names=tuple(motion.joint_names),
        root_pos_field=f"body_pos_w[:, {motion.root_index}] ({motion.root_body})",
        root_quat_field=f"body_quat_w[:, {motion.root_index}] ({motion.root_body})",
        joint_field="joint_pos",
        ref_body_names=tuple(motion.body_names[i] for i in known),
        ref_body_pos_w=np.asarray(motion.body_pos_w, dtype=np.float64)[:, known],
        ref_hint="The motion's body_pos_w is inconsistent with its joint_pos (edited by hand, or another robot model?).",
        contact_labels=motion.contact_labels,
        contact_body_names=motion.contact_body_names,
        details={"input_source": motion.source} if motion.source else {},
    )


def read_npz_canonical(path: Path, opts: ImportOptions, report: ValidationReport, kinematics) -> RawMotion:
    """Our own format (:mod:`g1_mimic.motion.format`): root pose and joints re-validated, bodies re-checked."""
    where = str(path)
    motion = load_motion(path)
    fps, origin = resolve_fps(motion.fps, opts, where=where, field_name="fps", report=report)
    return raw_from_motion(motion, fps, origin, where=where, kinematics=kinematics)
