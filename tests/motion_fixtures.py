"""Synthetic but realistic G1 motions and their encodings in the foreign file layouts (test helpers).

The standing clip: default standing pose (``default_joint_pos``), arms swinging sinusoidally, the
pelvis at the height where forward kinematics puts the lowest foot collision point at z = 0.
"""

from __future__ import annotations

import pickle
from functools import cache
from pathlib import Path

import numpy as np

from g1_mimic.motion import quat as Q
from g1_mimic.motion.format import Motion, motion_from_root_and_joints
from g1_mimic.motion.kinematics import g1_kinematics
from g1_mimic.motion.validate import foot_heights
from g1_mimic.robots.g1_constants import G1_23DOF_JOINT_NAMES, SDK_JOINT_NAMES, default_joint_pos

ARM_SWING_RAD = 0.3
YAW_RAD = 0.4


@cache
def standing_root_height() -> float:
    """Pelvis height (m) that puts the lowest foot point of the default standing pose at z = 0."""
    kin = g1_kinematics()
    jp = np.array([[default_joint_pos(n) for n in kin.joint_names]])
    bodies = kin.forward(kin.qpos(np.zeros((1, 3)), Q.IDENTITY_XYZW[None], jp))
    return float(-foot_heights(bodies["body_pos_w"], bodies["body_quat_w"], kin.body_names).min())


def standing_trajectory(fps: float, num_frames: int, yaw: float = YAW_RAD) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(root_pos [T,3] m, root_quat [T,4] xyzw, joint_pos [T,29] rad in SDK order) of the standing clip.

    The robot faces ``yaw`` rad about z, its shoulders swing +-``ARM_SWING_RAD`` at 0.5 Hz (so the
    trajectory is not trivially constant), the feet stay flat on the floor.
    """
    t = np.arange(num_frames) / fps
    jp = np.tile([default_joint_pos(n) for n in SDK_JOINT_NAMES], (num_frames, 1))
    swing = ARM_SWING_RAD * np.sin(2 * np.pi * 0.5 * t)
    jp[:, SDK_JOINT_NAMES.index("left_shoulder_pitch_joint")] += swing
    jp[:, SDK_JOINT_NAMES.index("right_shoulder_pitch_joint")] -= swing
    jp[:, SDK_JOINT_NAMES.index("left_elbow_joint")] += 0.5 * swing
    root_pos = np.tile([0.3, -0.2, standing_root_height()], (num_frames, 1))
    root_quat = np.tile(Q.from_euler_xyz(np.array(0.0), np.array(0.0), np.array(yaw)), (num_frames, 1))
    return root_pos, root_quat, jp


def standing_motion(fps: float = 50.0, num_frames: int = 101) -> Motion:
    """The standing clip as a canonical :class:`Motion`."""
    rp, rq, jp = standing_trajectory(fps, num_frames)
    return motion_from_root_and_joints(fps, rp, rq, jp, SDK_JOINT_NAMES, source={"test": "standing"})


def write_csv(path: Path, root_pos: np.ndarray, root_quat_xyzw: np.ndarray, joints: np.ndarray, order: str = "xyzw") -> Path:
    """A headerless CSV: root xyz, quaternion in ``order``, joint columns as given."""
    q = Q.xyzw_to_wxyz(root_quat_xyzw) if order == "wxyz" else root_quat_xyzw
    np.savetxt(path, np.concatenate([root_pos, q, joints], axis=1), fmt="%.9g", delimiter=",")
    return path


def write_lafan_csv(path: Path, fps: float = 30.0, num_frames: int = 91, order: str = "xyzw") -> Path:
    """29-DoF LAFAN1-layout CSV of the standing clip sampled at ``fps``."""
    rp, rq, jp = standing_trajectory(fps, num_frames)
    return write_csv(path, rp, rq, jp, order)


def write_23dof_csv(path: Path, fps: float = 60.0, num_frames: int = 121) -> Path:
    """23-DoF CSV (30 columns) of the standing clip sampled at ``fps``."""
    rp, rq, jp = standing_trajectory(fps, num_frames)
    cols = [SDK_JOINT_NAMES.index(n) for n in G1_23DOF_JOINT_NAMES]
    return write_csv(path, rp, rq, jp[:, cols])


def write_beyondmimic_npz(path: Path, motion: Motion, joint_order: tuple[str, ...], body_order: tuple[str, ...]) -> Path:
    """BeyondMimic/mjlab NPZ of ``motion`` with joints/bodies in the given orders (wxyz quaternions)."""
    j = motion.joint_index(joint_order)
    b = motion.body_index(body_order)
    np.savez(
        path,
        fps=np.array([motion.fps]),
        joint_pos=motion.joint_pos[:, j],
        joint_vel=motion.joint_vel[:, j],
        body_pos_w=motion.body_pos_w[:, b],
        body_quat_w=Q.xyzw_to_wxyz(motion.body_quat_w[:, b]),
        body_lin_vel_w=motion.body_lin_vel_w[:, b],
        body_ang_vel_w=motion.body_ang_vel_w[:, b],
    )
    return path


def write_amp_npz(path: Path, motion: Motion, joint_order: list[str], body_order: list[str]) -> Path:
    """Isaac Lab AMP NPZ of ``motion`` with names stored in the given (e.g. shuffled) orders."""
    j = motion.joint_index(joint_order)
    b = motion.body_index(body_order)
    np.savez(
        path,
        fps=np.array(motion.fps),
        dof_names=np.array(joint_order),
        body_names=np.array(body_order),
        dof_positions=motion.joint_pos[:, j],
        dof_velocities=motion.joint_vel[:, j],
        body_positions=motion.body_pos_w[:, b],
        body_rotations=Q.xyzw_to_wxyz(motion.body_quat_w[:, b]),
        body_linear_velocities=motion.body_lin_vel_w[:, b],
        body_angular_velocities=motion.body_ang_vel_w[:, b],
    )
    return path


def phc_clip(motion: Motion, use_pose_aa: bool = False) -> dict:
    """PHC/HumanoidVerse clip dict of ``motion`` (29 joints, SDK order, root_rot xyzw)."""
    kin = g1_kinematics()
    jp = motion.joint_pos[:, motion.joint_index(SDK_JOINT_NAMES)]
    axes = np.array([kin.model.jnt_axis[kin.model.joint(n).id] for n in SDK_JOINT_NAMES])
    pose_aa = np.concatenate(
        [Q.to_axis_angle(motion.root_quat_w)[:, None], axes[None] * jp[..., None], np.zeros((motion.num_frames, 3, 3))],
        axis=1,
    ).astype(np.float32)
    clip = {
        "root_trans_offset": motion.root_pos_w.astype(np.float32),
        "pose_aa": pose_aa,
        "root_rot": motion.root_quat_w.astype(np.float32),
        "fps": int(round(motion.fps)),
    }
    if not use_pose_aa:
        clip["dof"] = jp.astype(np.float32)
    return clip


def write_pickle(path: Path, obj: object, protocol: int = 4) -> Path:
    path.write_bytes(pickle.dumps(obj, protocol=protocol))
    return path


def mimickit_dict(motion: Motion) -> dict:
    """MimicKit motion dict of ``motion``: frames = root pos, root exp-map, 29 joints (SDK order)."""
    jp = motion.joint_pos[:, motion.joint_index(SDK_JOINT_NAMES)]
    frames = np.concatenate([motion.root_pos_w, Q.to_axis_angle(motion.root_quat_w), jp], axis=1)
    return {"loop_mode": 0, "fps": int(round(motion.fps)), "frames": frames.tolist()}


class _JoblibWrapper:
    """Stand-in pickled as ``joblib.numpy_pickle.NumpyArrayWrapper`` (joblib's array marker)."""

    def __init__(self, array: np.ndarray):
        self.subclass = np.ndarray
        self.shape = array.shape
        self.order = "C"
        self.dtype = array.dtype
        self.allow_mmap = True
        self.numpy_array_alignment_bytes = 16


def write_joblib_like(path: Path, obj: object) -> Path:
    """Write ``obj`` the way ``joblib.dump`` does, without joblib: each numpy array becomes a
    ``NumpyArrayWrapper`` record followed by a padding-length byte, padding to 16 bytes and the raw
    C-order array bytes (joblib >= 1.2 layout, pickle protocol 4, frame committed before the bytes).
    """
    import io
    import sys
    import types

    fake_pkg = types.ModuleType("joblib")
    fake_mod = types.ModuleType("joblib.numpy_pickle")
    fake_mod.NumpyArrayWrapper = _JoblibWrapper
    saved = {k: sys.modules.get(k) for k in ("joblib", "joblib.numpy_pickle")}
    old_name = (_JoblibWrapper.__module__, _JoblibWrapper.__qualname__)
    _JoblibWrapper.__module__, _JoblibWrapper.__qualname__ = "joblib.numpy_pickle", "NumpyArrayWrapper"
    sys.modules["joblib"], sys.modules["joblib.numpy_pickle"] = fake_pkg, fake_mod
    buf = io.BytesIO()

    class _Pickler(pickle._Pickler):  # type: ignore[name-defined]
        def save(self, o, save_persistent_id=True):
            if type(o) is np.ndarray:
                o = np.ascontiguousarray(o)
                super().save(_JoblibWrapper(o))
                self.framer.commit_frame(force=True)
                pad = 16 - (buf.tell() + 1) % 16
                buf.write(bytes([pad]) + b"\xff" * pad)
                buf.write(o.tobytes("C"))
                return
            super().save(o, save_persistent_id)

    try:
        _Pickler(buf, protocol=4).dump(obj)
    finally:
        _JoblibWrapper.__module__, _JoblibWrapper.__qualname__ = old_name
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v
    path.write_bytes(buf.getvalue())
    return path
