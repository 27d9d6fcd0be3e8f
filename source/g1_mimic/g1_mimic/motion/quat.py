"""Quaternion helpers in numpy. Convention: **xyzw** (scalar last), as Isaac Lab 3.0.

Every function takes arrays of shape ``[..., 4]`` and broadcasts over leading dims. Files that
use wxyz are converted once at the boundary with :func:`wxyz_to_xyzw` / :func:`xyzw_to_wxyz`.
"""

from __future__ import annotations

import numpy as np

IDENTITY_XYZW = np.array([0.0, 0.0, 0.0, 1.0])


def wxyz_to_xyzw(q: np.ndarray) -> np.ndarray:
    """Reorder scalar-first quaternions to scalar-last."""
    return np.concatenate([q[..., 1:4], q[..., :1]], axis=-1)


def xyzw_to_wxyz(q: np.ndarray) -> np.ndarray:
    """Reorder scalar-last quaternions to scalar-first."""
    return np.concatenate([q[..., 3:4], q[..., :3]], axis=-1)


def normalize(q: np.ndarray) -> np.ndarray:
    """Unit-normalise quaternions."""
    return q / np.linalg.norm(q, axis=-1, keepdims=True)


def multiply(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamilton product ``a * b`` (xyzw)."""
    ax, ay, az, aw = np.moveaxis(a, -1, 0)
    bx, by, bz, bw = np.moveaxis(b, -1, 0)
    return np.stack(
        [
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
            aw * bw - ax * bx - ay * by - az * bz,
        ],
        axis=-1,
    )


def conjugate(q: np.ndarray) -> np.ndarray:
    """Conjugate (inverse of a unit quaternion)."""
    return np.concatenate([-q[..., :3], q[..., 3:]], axis=-1)


def rotate(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotate vectors ``v`` [..., 3] by unit quaternions ``q`` [..., 4]."""
    xyz, w = q[..., :3], q[..., 3:]
    t = 2.0 * np.cross(xyz, v)
    return v + w * t + np.cross(xyz, t)


def from_axis_angle(axis: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Quaternion from a unit axis [..., 3] and an angle [...] (rad)."""
    half = 0.5 * np.asarray(angle)[..., None]
    return np.concatenate([np.asarray(axis) * np.sin(half), np.cos(half)], axis=-1)


def from_euler_xyz(roll: np.ndarray, pitch: np.ndarray, yaw: np.ndarray) -> np.ndarray:
    """Quaternion of intrinsic z-y'-x'' (yaw, pitch, roll) angles, i.e. R = Rz(yaw) Ry(pitch) Rx(roll)."""
    ex, ey, ez = np.eye(3)
    qx = from_axis_angle(ex, roll)
    qy = from_axis_angle(ey, pitch)
    qz = from_axis_angle(ez, yaw)
    return multiply(qz, multiply(qy, qx))


def to_axis_angle(q: np.ndarray) -> np.ndarray:
    """Rotation vector (axis * angle, rad) of unit quaternions, angle in [0, pi]."""
    q = np.where(q[..., 3:] < 0, -q, q)
    s = np.linalg.norm(q[..., :3], axis=-1, keepdims=True)
    angle = 2.0 * np.arctan2(s, q[..., 3:])
    scale = np.where(s > 1e-12, angle / np.maximum(s, 1e-12), 2.0)
    return q[..., :3] * scale


def make_continuous(q: np.ndarray, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Flip signs along ``axis`` so consecutive quaternions have a non-negative dot product.

    Returns the fixed array and a boolean array marking the frames that were flipped.
    """
    q = np.moveaxis(np.array(q, dtype=np.float64, copy=True), axis, 0)
    flipped = np.zeros(q.shape[:-1], dtype=bool)
    for t in range(1, q.shape[0]):
        neg = np.sum(q[t] * q[t - 1], axis=-1) < 0
        q[t][neg] *= -1.0
        flipped[t] = neg
    return np.moveaxis(q, 0, axis), np.moveaxis(flipped, 0, axis)


def slerp(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Spherical linear interpolation between unit quaternions ``a`` and ``b`` at fraction ``t``.

    ``t`` broadcasts against the leading dims of ``a``/``b`` (shape ``[...]`` or ``[..., 1]``).
    Takes the short arc; falls back to normalised lerp for nearly equal quaternions.
    """
    t = np.asarray(t, dtype=np.float64)
    if t.ndim == a.ndim - 1:
        t = t[..., None]
    dot = np.sum(a * b, axis=-1, keepdims=True)
    b = np.where(dot < 0, -b, b)
    dot = np.abs(dot)
    theta = np.arccos(np.clip(dot, -1.0, 1.0))
    sin_theta = np.sin(theta)
    small = sin_theta < 1e-6
    w_a = np.where(small, 1.0 - t, np.sin((1.0 - t) * theta) / np.where(small, 1.0, sin_theta))
    w_b = np.where(small, t, np.sin(t * theta) / np.where(small, 1.0, sin_theta))
    return normalize(w_a * a + w_b * b)
