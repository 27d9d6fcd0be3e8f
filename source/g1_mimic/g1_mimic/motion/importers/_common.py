"""Shared pieces of the importers: the raw trajectory record, options, joint/body orders."""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from g1_mimic.motion.format import MotionFormatError
from g1_mimic.motion.validate import MotionValidationError, ValidationReport, check_fps
from g1_mimic.robots.g1_constants import ASAP_23DOF_JOINT_NAMES, G1_23DOF_JOINT_NAMES, SDK_JOINT_NAMES

#: Importer names accepted by ``--format``, with the layout each reads.
FORMATS: dict[str, str] = {
    "csv_lafan_xyzw": "CSV, no header, 36 columns: root x y z (m), root quaternion x y z w, 29 joint angles "
    "(rad, SDK order); Unitree/BeyondMimic LAFAN1 retargets (30 fps)",
    "csv_wxyz": "CSV, no header, 36 columns: root x y z (m), root quaternion w x y z, 29 joint angles "
    "(rad, SDK order); ProtoMotions/Kimodo style",
    "csv_23dof": "CSV, no header, 30 columns: root x y z (m), root quaternion x y z w, 23 joint angles "
    "(rad, G1 23-DoF order); the 6 missing joints are held fixed (60 fps)",
    "npz_beyondmimic": "NPZ with fps, joint_pos [T,J], body_pos_w/body_quat_w (wxyz) [T,B,...] and no names "
    "(BeyondMimic whole_body_tracking / mjlab); needs --joint-order and --body-order",
    "npz_isaaclab_amp": "NPZ with fps, dof_names, body_names, dof_positions, body_positions, body_rotations "
    "(wxyz), ... (Isaac Lab humanoid_amp motions)",
    "pkl_phc": "pickle/joblib/.pt dict (optionally keyed by clip name) with root_trans_offset [T,3], root_rot "
    "[T,4] xyzw, dof [T,J] or pose_aa [T,K,3], fps (PHC / HumanoidVerse / ASAP)",
    "pkl_mimickit": "pickle dict with fps, loop_mode, frames [T, 6+J]: root pos, root rotation exp-map, joint "
    "angles (MimicKit)",
    "npz_canonical": "g1_mimic canonical .npz (re-validated, resampled when --out-fps differs)",
}

#: Default input rate of CSV layouts, which store none (Hz).
CSV_DEFAULT_FPS = {"csv_lafan_xyzw": 30.0, "csv_wxyz": 30.0, "csv_23dof": 60.0}

#: Isaac Lab / PhysX articulation order of the G1 bodies: breadth-first traversal of the MJCF body
#: tree from the pelvis, children in file order (see :func:`breadth_first_order`).
ISAACLAB_BODY_NAMES: tuple[str, ...] = (
    "pelvis",
    "left_hip_pitch_link",
    "right_hip_pitch_link",
    "waist_yaw_link",
    "left_hip_roll_link",
    "right_hip_roll_link",
    "waist_roll_link",
    "left_hip_yaw_link",
    "right_hip_yaw_link",
    "torso_link",
    "left_knee_link",
    "right_knee_link",
    "left_shoulder_pitch_link",
    "right_shoulder_pitch_link",
    "left_ankle_pitch_link",
    "right_ankle_pitch_link",
    "left_shoulder_roll_link",
    "right_shoulder_roll_link",
    "left_ankle_roll_link",
    "right_ankle_roll_link",
    "left_shoulder_yaw_link",
    "right_shoulder_yaw_link",
    "left_elbow_link",
    "right_elbow_link",
    "left_wrist_roll_link",
    "right_wrist_roll_link",
    "left_wrist_pitch_link",
    "right_wrist_pitch_link",
    "left_wrist_yaw_link",
    "right_wrist_yaw_link",
)

#: Isaac Lab / PhysX order of the G1 joints: each joint in the breadth-first order of its child body.
ISAACLAB_JOINT_NAMES: tuple[str, ...] = (
    "left_hip_pitch_joint",
    "right_hip_pitch_joint",
    "waist_yaw_joint",
    "left_hip_roll_joint",
    "right_hip_roll_joint",
    "waist_roll_joint",
    "left_hip_yaw_joint",
    "right_hip_yaw_joint",
    "waist_pitch_joint",
    "left_knee_joint",
    "right_knee_joint",
    "left_shoulder_pitch_joint",
    "right_shoulder_pitch_joint",
    "left_ankle_pitch_joint",
    "right_ankle_pitch_joint",
    "left_shoulder_roll_joint",
    "right_shoulder_roll_joint",
    "left_ankle_roll_joint",
    "right_ankle_roll_joint",
    "left_shoulder_yaw_joint",
    "right_shoulder_yaw_joint",
    "left_elbow_joint",
    "right_elbow_joint",
    "left_wrist_roll_joint",
    "right_wrist_roll_joint",
    "left_wrist_pitch_joint",
    "right_wrist_pitch_joint",
    "left_wrist_yaw_joint",
    "right_wrist_yaw_joint",
)


def breadth_first_order(model) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(bodies, hinge joints) of a MuJoCo model in breadth-first order from the root body.

    Children are visited in the order the MJCF declares them; each joint takes the position of its
    child body. This is the order PhysX (and so Isaac Lab) gives articulation links and joints.
    """
    children: dict[int, list[int]] = {i: [] for i in range(model.nbody)}
    for b in range(1, model.nbody):
        children[int(model.body_parentid[b])].append(b)
    bodies: list[int] = []
    queue = deque(children[0])
    while queue:
        b = queue.popleft()
        bodies.append(b)
        queue.extend(children[b])
    body_names = tuple(model.body(b).name for b in bodies)
    joint_names: list[str] = []
    for b in bodies:
        for j in range(model.njnt):
            if int(model.jnt_bodyid[j]) == b and model.jnt_type[j] != 0:  # skip the free joint
                joint_names.append(model.joint(j).name)
    return body_names, tuple(joint_names)


@dataclass
class ImportOptions:
    """Options of one import (``scripts/motion.py convert/validate/inspect`` flags).

    Attributes:
        format: importer name from :data:`FORMATS`; ``None`` = detect from the file.
        fps: input frame rate (Hz). Overrides a stored rate (with a note); required for files that
            store none (CSV layouts fall back to :data:`CSV_DEFAULT_FPS`, noted as an assumption).
        out_fps: output rate (Hz); ``None`` keeps the input rate.
        clamp_limits: clamp joint angles to the G1 limits instead of only warning.
        missing_joints: how to fill G1 joints the file lacks: ``"default"`` (``default_joint_pos``)
            or ``"zero"``; ``None`` = ``"default"`` for 23-DoF layouts, an error otherwise.
        joint_order: ``"sdk"``/``"mujoco"``, ``"isaaclab"`` or a text file of joint names (one per
            line) for files that store no names (``npz_beyondmimic``, optional for pkl formats).
        body_order: ``"mujoco"``, ``"isaaclab"`` or a text file of body names (``npz_beyondmimic``).
        clip: clip name inside a multi-clip PHC pickle.
        align_ground: shift the root vertically so the clip's lowest foot point is at z = 0.
        trim_start: seconds dropped from the start of the input (before any other fix).
        trim_end: seconds dropped from the end of the input.
        smooth_glitches: replace joint jumps faster than ``repair.JOINT_GLITCH_SPEED`` by straight lines.
        fix_start: what to do with a start no robot can follow (a jump, a T-pose;
            :func:`g1_mimic.motion.repair.find_bad_start`): ``None`` warn, ``"trim"`` drop those frames,
            ``"blend"`` drop them and prepend ``blend_s`` seconds from the standing pose.
        blend_s: duration (s) of the standing-pose transition of ``fix_start="blend"``.
        level_feet: lower the foot that rests higher than the other by the difference, in every frame, by
            leg IK (:func:`g1_mimic.motion.repair.level_feet`).
        fix_skating: move the root horizontally so the foot carrying the body stays planted
            (:func:`g1_mimic.motion.repair.fix_skating`).
    """

    format: str | None = None
    fps: float | None = None
    out_fps: float | None = 50.0
    clamp_limits: bool = False
    missing_joints: str | None = None
    joint_order: str | None = None
    body_order: str | None = None
    clip: str | None = None
    align_ground: bool = False
    trim_start: float = 0.0
    trim_end: float = 0.0
    smooth_glitches: bool = False
    fix_start: str | None = None
    blend_s: float = 1.0
    level_feet: bool = False
    fix_skating: bool = False

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if v not in (None, False)}
        if self.fix_start != "blend":
            out.pop("blend_s", None)
        return out


@dataclass
class RawMotion:
    """A trajectory as read from a file, before validation, resampling and forward kinematics.

    ``root_pos`` [T, 3] (m, world, z up), ``root_quat_xyzw`` [T, 4] (pelvis orientation, world),
    ``joint_pos`` [T, J] (rad) with columns named by ``joint_names`` (a subset of the G1 joints
    when ``partial_ok``). ``ref_body_pos_w`` [T, B, 3] holds body positions stored in the file (m,
    world), rows named by ``ref_body_names``, for the forward-kinematics cross-check.
    """

    fps: float
    fps_origin: str  # "file", "option" or "default"
    root_pos: np.ndarray
    root_quat_xyzw: np.ndarray
    joint_pos: np.ndarray
    joint_names: tuple[str, ...]
    root_quat_field: str = "root_quat"
    root_pos_field: str = "root_pos"
    joint_field: str = "joint_pos"
    frame_lines: np.ndarray | None = None
    partial_ok: bool = False
    ref_body_names: tuple[str, ...] = ()
    ref_body_pos_w: np.ndarray | None = None
    ref_hint: str = ""
    contact_labels: np.ndarray | None = None
    contact_body_names: tuple[str, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def num_frames(self) -> int:
        return int(self.joint_pos.shape[0])


#: A frame rate in a file name: ``..._60hz.csv``, ``walk-30fps.csv``, ``clip_120Hz_v2.csv``.
_FPS_IN_NAME = re.compile(r"(?:^|[^0-9a-z.])(\d{2,3}(?:\.\d+)?)[ _-]?(?:hz|fps)(?![a-z])", re.IGNORECASE)


def fps_from_name(path: Path) -> float | None:
    """The frame rate (Hz) a file name states (``dance_60hz.csv`` -> 60), or ``None``.

    Only rates of 10-500 Hz written as ``<number>hz`` or ``<number>fps`` (any case, optionally
    after ``_``/``-``/space) count; used for formats that store no rate (CSV).
    """
    matches = _FPS_IN_NAME.findall(Path(path).stem)
    if len(matches) != 1:
        return None
    fps = float(matches[0])
    return fps if 10.0 <= fps <= 500.0 else None


def resolve_fps(stored: Any, opts: ImportOptions, *, where: str, field_name: str, report: ValidationReport) -> tuple[float, str]:
    """The input rate: ``--fps`` if given (noting a disagreement with the stored rate), else the stored one."""
    if opts.fps is not None:
        fps = check_fps(opts.fps, where=where, field_name="--fps", hint="pass a rate in Hz")
        if stored is not None:
            try:
                stored_f = float(np.asarray(stored, dtype=np.float64).reshape(-1)[0])
            except (TypeError, ValueError, IndexError):
                stored_f = None
            if stored_f is not None and abs(stored_f - fps) > 1e-6:
                report.warn(f"{where}: --fps {fps:g} overrides the file's '{field_name}' = {stored_f:g} Hz.")
        return fps, "option"
    return check_fps(stored, where=where, field_name=field_name), "file"


def read_name_list(path: Path, kind: str) -> tuple[str, ...]:
    """Names from a text file: one per line (commas and whitespace also separate); ``#`` starts a comment."""
    if not path.exists():
        raise MotionFormatError(f"--{kind}-order: no such file {path} (expected sdk/isaaclab/mujoco or a names file)")
    names: list[str] = []
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0]
        names.extend(tok for tok in line.replace(",", " ").split() if tok)
    if not names:
        raise MotionFormatError(f"--{kind}-order file {path} lists no names")
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise MotionFormatError(f"--{kind}-order file {path} lists name(s) {dup} more than once")
    return tuple(names)


def resolve_joint_order(spec: str, *, where: str) -> tuple[str, ...]:
    """Joint names for ``--joint-order``: ``sdk``/``mujoco``, ``isaaclab``, ``23dof`` (Unitree 23-DoF robot),
    ``asap23`` (HumanoidVerse/ASAP: 29-DoF without wrists) or a names file."""
    key = spec.lower()
    if key in ("sdk", "mujoco"):
        return SDK_JOINT_NAMES
    if key == "isaaclab":
        return ISAACLAB_JOINT_NAMES
    if key == "23dof":
        return G1_23DOF_JOINT_NAMES
    if key == "asap23":
        return ASAP_23DOF_JOINT_NAMES
    names = read_name_list(Path(spec), "joint")
    check_joint_names(names, where=where, field_name=f"--joint-order {spec}")
    return names


def resolve_body_order(spec: str, kinematics) -> tuple[str, ...]:
    """Body names for ``--body-order``: ``mujoco``, ``isaaclab`` or a names file (unknown names allowed)."""
    key = spec.lower()
    if key == "mujoco":
        return tuple(kinematics.body_names)
    if key == "isaaclab":
        return ISAACLAB_BODY_NAMES
    return read_name_list(Path(spec), "body")


def check_joint_names(names: Sequence[str], *, where: str, field_name: str) -> None:
    """Raise listing every name that is not a G1 29-DoF joint (and the known ones), or duplicates."""
    unknown = [n for n in names if n not in SDK_JOINT_NAMES]
    if unknown:
        raise MotionValidationError(
            f"{where}: field '{field_name}' has unknown joint name(s) {unknown}. Known G1 joints: "
            f"{list(SDK_JOINT_NAMES)}. Rename them to the G1 names (or fix the stated order)."
        )
    dup = sorted({n for n in names if list(names).count(n) > 1})
    if dup:
        raise MotionValidationError(f"{where}: field '{field_name}' lists joint(s) {dup} more than once")


def as_float_array(value: Any, *, where: str, field_name: str, ndim: int, last: int | None = None) -> np.ndarray:
    """``value`` as a float64 array with ``ndim`` dims (and last dim ``last``), else a clear error."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise MotionFormatError(f"{where}: field '{field_name}' is not a numeric array ({exc})") from exc
    if arr.ndim != ndim or (last is not None and arr.shape[-1] != last):
        want = f"{ndim}-D" + (f" with last dimension {last}" if last is not None else "")
        raise MotionFormatError(f"{where}: field '{field_name}' has shape {arr.shape}, expected {want}")
    return arr


def check_same_length(where: str, **arrays: np.ndarray) -> int:
    """Raise unless all arrays have the same number of frames (first dimension); return it."""
    lengths = {k: int(v.shape[0]) for k, v in arrays.items()}
    if len(set(lengths.values())) > 1:
        raise MotionFormatError(f"{where}: fields have different frame counts {lengths}; the file is inconsistent")
    return next(iter(lengths.values()))
