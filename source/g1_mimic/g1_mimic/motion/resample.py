"""Resample root trajectories and joint angles to another frame rate.

Frame ``i`` of a clip at ``fps`` Hz is at time ``i / fps`` s. The resampled clip starts at the same
time 0 and keeps every output frame ``k / out_fps`` that lies within the input's duration
``(T - 1) / fps``: ``floor((T - 1) * out_fps / fps) + 1`` frames (the last input instant is kept
only when it falls on the output grid). Positions and joint angles are interpolated linearly,
rotations by slerp (quaternions **xyzw**). Velocities are not interpolated: the importer rebuilds
them from the resampled trajectory by central finite differences
(:func:`~g1_mimic.motion.format.motion_from_root_and_joints`), which also recomputes every body
state by forward kinematics.
"""

from __future__ import annotations

import math

import numpy as np

from g1_mimic.motion import quat as Q
from g1_mimic.motion.format import Motion, motion_from_root_and_joints

__all__ = [
    "interpolate_linear",
    "interpolate_quat",
    "num_resampled_frames",
    "resample_motion",
    "resample_trajectory",
    "resample_times",
    "same_rate",
]

#: Two rates closer than this (Hz) are the same rate: no resampling, data copied exactly.
RATE_EPS = 1e-9


def same_rate(fps_a: float, fps_b: float) -> bool:
    """True when two frame rates are equal (within :data:`RATE_EPS`)."""
    return abs(float(fps_a) - float(fps_b)) <= RATE_EPS


def num_resampled_frames(num_frames: int, fps: float, out_fps: float) -> int:
    """Output frames of a ``num_frames`` clip at ``fps`` resampled to ``out_fps`` (0 for an empty clip)."""
    if num_frames <= 0:
        return 0
    if same_rate(fps, out_fps):
        return num_frames
    return int(math.floor((num_frames - 1) * out_fps / fps + 1e-9)) + 1


def resample_times(num_frames: int, fps: float, out_fps: float) -> np.ndarray:
    """Output sample times (s): ``k / out_fps`` for ``k < num_resampled_frames(...)``."""
    return np.arange(num_resampled_frames(num_frames, fps, out_fps), dtype=np.float64) / float(out_fps)


def _bracket(num_frames: int, fps: float, times: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Input frames ``i0``, ``i1 = i0 + 1`` around each time and the blend fraction in [0, 1]."""
    s = np.clip(np.asarray(times, dtype=np.float64) * float(fps), 0.0, num_frames - 1)
    i0 = np.minimum(np.floor(s).astype(np.int64), max(num_frames - 2, 0))
    i1 = np.minimum(i0 + 1, num_frames - 1)
    alpha = s - i0
    return i0, i1, alpha


def interpolate_linear(values: np.ndarray, fps: float, times: np.ndarray) -> np.ndarray:
    """Sample ``values`` [T, ...] (frames at ``i / fps``) at ``times`` (s) by linear interpolation."""
    v = np.asarray(values, dtype=np.float64)
    i0, i1, a = _bracket(v.shape[0], fps, times)
    a = a.reshape(-1, *([1] * (v.ndim - 1)))
    return (1.0 - a) * v[i0] + a * v[i1]


def interpolate_quat(quat_xyzw: np.ndarray, fps: float, times: np.ndarray) -> np.ndarray:
    """Sample unit quaternions ``quat_xyzw`` [T, ..., 4] at ``times`` (s) by slerp (short arc)."""
    q = np.asarray(quat_xyzw, dtype=np.float64)
    i0, i1, a = _bracket(q.shape[0], fps, times)
    a = a.reshape(-1, *([1] * (q.ndim - 2)))
    return Q.slerp(q[i0], q[i1], a)


def resample_trajectory(
    root_pos: np.ndarray,
    root_quat_xyzw: np.ndarray,
    joint_pos: np.ndarray,
    fps: float,
    out_fps: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Resample root position [T, 3] (m), root orientation [T, 4] (xyzw) and joints [T, J] (rad).

    Same rate: the inputs are returned unchanged (as float64 copies), so a round trip is exact.
    """
    if same_rate(fps, out_fps):
        return (
            np.array(root_pos, dtype=np.float64),
            np.array(root_quat_xyzw, dtype=np.float64),
            np.array(joint_pos, dtype=np.float64),
        )
    times = resample_times(np.asarray(root_pos).shape[0], fps, out_fps)
    return (
        interpolate_linear(root_pos, fps, times),
        interpolate_quat(root_quat_xyzw, fps, times),
        interpolate_linear(joint_pos, fps, times),
    )


def resample_motion(motion: Motion, out_fps: float, kinematics=None) -> Motion:
    """A canonical :class:`Motion` resampled to ``out_fps``, body states and velocities recomputed.

    Contact labels (if any) are taken from the nearest input frame.
    """
    if same_rate(motion.fps, out_fps):
        return motion
    root_pos, root_quat, joint_pos = resample_trajectory(
        motion.root_pos_w, motion.root_quat_w, motion.joint_pos, motion.fps, out_fps
    )
    out = motion_from_root_and_joints(
        out_fps,
        root_pos,
        root_quat,
        joint_pos,
        motion.joint_names,
        source={**motion.source, "resampled_from_fps": motion.fps},
        kinematics=kinematics,
    )
    if motion.contact_labels is not None:
        times = resample_times(motion.num_frames, motion.fps, out_fps)
        nearest = np.clip(np.rint(times * motion.fps).astype(np.int64), 0, motion.num_frames - 1)
        out.contact_labels = np.asarray(motion.contact_labels)[nearest]
        out.contact_body_names = motion.contact_body_names
    return out
