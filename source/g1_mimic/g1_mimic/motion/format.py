"""The canonical g1_mimic motion file (``.npz``, format version 1).

A self-describing record of one clip, sampled at a fixed rate. Everything downstream maps joints
and bodies **by name**.

Keys (``T`` frames, ``J`` joints, ``B`` bodies):

==================  =============  ==========================================================
key                 shape / type   meaning
==================  =============  ==========================================================
format              str            ``"g1_mimic.motion"``
format_version      int            :data:`FORMAT_VERSION`
fps                 float          frame rate (Hz); frame ``i`` is at time ``i / fps`` s
quat_order          str            ``"xyzw"`` (scalar last) or ``"wxyz"``; writers use xyzw
joint_names         str [J]        joint of each column of ``joint_pos``/``joint_vel``
body_names          str [B]        body of each row of the ``body_*`` arrays; includes the root
root_body           str            name of the floating-base body (``"pelvis"`` for the G1)
joint_pos           f32 [T, J]     joint angles (rad)
joint_vel           f32 [T, J]     joint velocities (rad/s)
body_pos_w          f32 [T, B, 3]  body frame origins, world frame (m)
body_quat_w         f32 [T, B, 4]  body orientations, world frame, in ``quat_order``
body_lin_vel_w      f32 [T, B, 3]  linear velocity of each body origin, world frame (m/s)
body_ang_vel_w      f32 [T, B, 3]  angular velocity, world frame (rad/s)
source              str (JSON)     provenance: input file, format, importer options, tool
==================  =============  ==========================================================

Optional: ``contact_labels`` bool [T, C] with ``contact_body_names`` str [C] (feet in contact).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from g1_mimic.fileio import atomic_path
from g1_mimic.motion import quat as Q

FORMAT_NAME = "g1_mimic.motion"
FORMAT_VERSION = 1

_ARRAY_KEYS = ("joint_pos", "joint_vel", "body_pos_w", "body_quat_w", "body_lin_vel_w", "body_ang_vel_w")


class MotionFormatError(ValueError):
    """A motion file or array is malformed. The message names the file, the field and the fix."""


@dataclass
class Motion:
    """One clip in canonical form (see the module docstring for units and frames).

    Quaternions are held **xyzw** in memory whatever the file stated.
    """

    fps: float
    joint_names: tuple[str, ...]
    body_names: tuple[str, ...]
    joint_pos: np.ndarray
    joint_vel: np.ndarray
    body_pos_w: np.ndarray
    body_quat_w: np.ndarray
    body_lin_vel_w: np.ndarray
    body_ang_vel_w: np.ndarray
    root_body: str = "pelvis"
    source: dict[str, Any] = field(default_factory=dict)
    contact_labels: np.ndarray | None = None
    contact_body_names: tuple[str, ...] = ()

    @property
    def num_frames(self) -> int:
        return int(self.joint_pos.shape[0])

    @property
    def duration(self) -> float:
        """Time of the last frame (s): ``(T - 1) / fps``."""
        return (self.num_frames - 1) / self.fps

    @property
    def root_index(self) -> int:
        return self.body_names.index(self.root_body)

    @property
    def root_pos_w(self) -> np.ndarray:
        return self.body_pos_w[:, self.root_index]

    @property
    def root_quat_w(self) -> np.ndarray:
        return self.body_quat_w[:, self.root_index]

    def joint_index(self, names: list[str] | tuple[str, ...]) -> np.ndarray:
        """Columns of ``names`` in :attr:`joint_names`; raise naming the missing ones."""
        idx = {n: i for i, n in enumerate(self.joint_names)}
        missing = [n for n in names if n not in idx]
        if missing:
            raise MotionFormatError(f"motion has no joint(s) {missing}; it has {list(self.joint_names)}")
        return np.array([idx[n] for n in names], dtype=np.int64)

    def body_index(self, names: list[str] | tuple[str, ...]) -> np.ndarray:
        """Rows of ``names`` in :attr:`body_names`; raise naming the missing ones."""
        idx = {n: i for i, n in enumerate(self.body_names)}
        missing = [n for n in names if n not in idx]
        if missing:
            raise MotionFormatError(f"motion has no body(ies) {missing}; it has {list(self.body_names)}")
        return np.array([idx[n] for n in names], dtype=np.int64)

    def check_shapes(self, where: str = "motion") -> None:
        """Raise :class:`MotionFormatError` if array shapes disagree with the name lists."""
        T, J, B = self.num_frames, len(self.joint_names), len(self.body_names)
        expected = {
            "joint_pos": (T, J),
            "joint_vel": (T, J),
            "body_pos_w": (T, B, 3),
            "body_quat_w": (T, B, 4),
            "body_lin_vel_w": (T, B, 3),
            "body_ang_vel_w": (T, B, 3),
        }
        for key, shape in expected.items():
            got = tuple(getattr(self, key).shape)
            if got != shape:
                raise MotionFormatError(
                    f"{where}: field '{key}' has shape {got}, expected {shape} "
                    f"(T={T} frames, J={J} joint_names, B={B} body_names). Re-export the file."
                )
        if self.root_body not in self.body_names:
            raise MotionFormatError(f"{where}: root_body '{self.root_body}' is not in body_names")
        if self.contact_labels is not None and tuple(self.contact_labels.shape) != (T, len(self.contact_body_names)):
            raise MotionFormatError(
                f"{where}: field 'contact_labels' has shape {self.contact_labels.shape}, "
                f"expected ({T}, {len(self.contact_body_names)})"
            )

    def save(self, path: str | Path) -> Path:
        """Write the canonical ``.npz`` atomically (temp file + rename): a failure leaves no partial file."""
        path = Path(path)
        if path.suffix != ".npz":
            raise MotionFormatError(f"{path}: canonical motion files end in .npz")
        self.check_shapes(str(path))
        payload: dict[str, Any] = {
            "format": np.array(FORMAT_NAME),
            "format_version": np.array(FORMAT_VERSION),
            "fps": np.array(float(self.fps)),
            "quat_order": np.array("xyzw"),
            "joint_names": np.array(self.joint_names),
            "body_names": np.array(self.body_names),
            "root_body": np.array(self.root_body),
            "source": np.array(json.dumps(self.source, sort_keys=True)),
        }
        for key in _ARRAY_KEYS:
            payload[key] = np.asarray(getattr(self, key), dtype=np.float32)
        if self.contact_labels is not None:
            payload["contact_labels"] = np.asarray(self.contact_labels, dtype=bool)
            payload["contact_body_names"] = np.array(self.contact_body_names)
        with atomic_path(path, suffix=".tmp.npz") as tmp:
            np.savez_compressed(tmp, **payload)
        return path


def is_canonical(path: str | Path) -> bool:
    """True if ``path`` is an ``.npz`` that declares ``format == "g1_mimic.motion"``."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return "format" in data.files and str(data["format"]) == FORMAT_NAME
    except Exception:
        return False


def load_motion(path: str | Path) -> Motion:
    """Read a canonical motion file. Raises :class:`MotionFormatError` naming the file and field.

    Besides the layout (fields, version, shapes) the values are checked as the importer checks
    them: a frame rate in [1, 1000] Hz, at least 2 frames, no NaN or infinite value, numbers where
    numbers belong, and no object arrays (which would need pickle).
    """
    from g1_mimic.motion.validate import check_finite, check_fps, check_frame_count

    path = Path(path)
    if path.is_dir():
        raise MotionFormatError(f"{path}: a folder, not a motion file (give one .npz, or a folder where a folder is accepted)")
    if not path.exists():
        raise MotionFormatError(f"{path}: no such motion file")
    try:
        data = np.load(path, allow_pickle=False)
    except Exception as exc:  # zip or npy corruption
        raise MotionFormatError(f"{path}: not a readable .npz file ({exc}). Re-create it with scripts/motion.py convert.") from exc
    with data:
        files = set(data.files)
        if "format" not in files or str(data["format"]) != FORMAT_NAME:
            raise MotionFormatError(
                f"{path}: not a canonical g1_mimic motion (field 'format' missing or not '{FORMAT_NAME}'). "
                "Convert it first: scripts/motion.py convert INPUT OUTPUT.npz [--format F]"
            )
        version = int(data["format_version"]) if "format_version" in files else -1
        if version != FORMAT_VERSION:
            raise MotionFormatError(
                f"{path}: field 'format_version' is {version}, this g1_mimic reads version {FORMAT_VERSION}. "
                "Re-convert the source file with this version of scripts/motion.py."
            )
        required = {"fps", "quat_order", "joint_names", "body_names", "root_body", *_ARRAY_KEYS}
        missing = sorted(required - files)
        if missing:
            raise MotionFormatError(f"{path}: missing field(s) {missing}. Re-convert the source file.")
        order = str(data["quat_order"])
        if order not in ("xyzw", "wxyz"):
            raise MotionFormatError(f"{path}: field 'quat_order' is '{order}', expected 'xyzw' or 'wxyz'")
        def array(key: str, dtype=np.float64) -> np.ndarray:
            try:
                raw = data[key]
            except ValueError:  # an object array: reading it would need pickle, never allowed here
                raise MotionFormatError(
                    f"{path}: field '{key}' holds Python objects (an object array); canonical files hold "
                    "plain numbers and strings only. Re-create the file with scripts/motion.py convert."
                ) from None
            try:
                return np.asarray(raw, dtype=dtype)
            except (TypeError, ValueError):
                raise MotionFormatError(
                    f"{path}: field '{key}' holds {raw.dtype} values where {np.dtype(dtype).name} belong "
                    f"(e.g. {str(raw.reshape(-1)[:1].tolist())[1:-1]}). Re-create the file with scripts/motion.py convert."
                ) from None

        quat = array("body_quat_w")
        if order == "wxyz":
            quat = Q.wxyz_to_xyzw(quat)
        source = {}
        if "source" in files:
            try:
                source = json.loads(str(array("source", str)))
            except json.JSONDecodeError:
                source = {"raw": str(array("source", str))}
        motion = Motion(
            fps=check_fps(array("fps"), where=str(path), hint="re-convert the source file with the right --fps"),
            joint_names=tuple(str(n) for n in array("joint_names", str)),
            body_names=tuple(str(n) for n in array("body_names", str)),
            joint_pos=array("joint_pos"),
            joint_vel=array("joint_vel"),
            body_pos_w=array("body_pos_w"),
            body_quat_w=quat,
            body_lin_vel_w=array("body_lin_vel_w"),
            body_ang_vel_w=array("body_ang_vel_w"),
            root_body=str(array("root_body", str)),
            source=source,
            contact_labels=array("contact_labels", bool) if "contact_labels" in files else None,
            contact_body_names=tuple(str(n) for n in array("contact_body_names", str)) if "contact_body_names" in files else (),
        )
    # the importer's value checks, so inspect, render, sim2sim and the motion library refuse what convert would
    check_frame_count(motion.num_frames, where=str(path))
    motion.check_shapes(str(path))
    for key in _ARRAY_KEYS:
        check_finite(getattr(motion, key), where=str(path), field_name=key, columns=motion.joint_names if key.startswith("joint") else None)
    return motion


def motion_from_root_and_joints(
    fps: float,
    root_pos: np.ndarray,
    root_quat_xyzw: np.ndarray,
    joint_pos: np.ndarray,
    joint_names: tuple[str, ...] | list[str],
    source: dict[str, Any] | None = None,
    kinematics=None,
) -> Motion:
    """Build a canonical :class:`Motion` from a root trajectory and joint angles sampled at ``fps``.

    Joint columns are mapped by ``joint_names`` onto the model's joints (every model joint must be
    present). Joint and root velocities are central finite differences of the positions; body
    states come from forward kinematics, so all fields are mutually consistent.
    """
    from g1_mimic.motion.kinematics import g1_kinematics

    kin = kinematics or g1_kinematics()
    cols = {n: i for i, n in enumerate(joint_names)}
    missing = [n for n in kin.joint_names if n not in cols]
    if missing:
        raise MotionFormatError(f"joint_names lacks model joint(s) {missing}")
    jp = np.asarray(joint_pos, dtype=np.float64)[:, [cols[n] for n in kin.joint_names]]
    qpos = kin.qpos(np.asarray(root_pos, dtype=np.float64), np.asarray(root_quat_xyzw, dtype=np.float64), jp)
    qvel = kin.qvel_from_qpos(qpos, 1.0 / fps)
    bodies = kin.forward(qpos, qvel)
    dof = np.array([kin.model.jnt_dofadr[i] for i in range(1, kin.model.njnt)])
    return Motion(
        fps=float(fps),
        joint_names=tuple(kin.joint_names),
        body_names=tuple(kin.body_names),
        joint_pos=jp,
        joint_vel=qvel[:, dof],
        root_body=kin.body_names[0],
        source=dict(source or {}),
        **bodies,
    )
