"""Rigid-body math of the deploy runtime in numpy (no torch): the same formulas as ``isaaclab.utils.math``.

Convention: quaternions **xyzw** (scalar last), as Isaac Lab 3.0 and the canonical motion file.
Every function takes arrays of shape ``[..., 4]`` / ``[..., 3]`` and broadcasts over leading dims.
Computations are float64.
"""

from __future__ import annotations

import numpy as np

from g1_mimic.motion.quat import conjugate, multiply, rotate

__all__ = [
    "conjugate",
    "matrix_from_quat",
    "multiply",
    "rot6d",
    "rotate",
    "rotate_inverse",
    "subtract_frame_transforms",
    "yaw_quat",
]


def rotate_inverse(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotate vectors ``v`` [..., 3] by the inverse of unit quaternions ``q`` [..., 4] (world -> body)."""
    return rotate(conjugate(q), v)


def matrix_from_quat(q: np.ndarray) -> np.ndarray:
    """Rotation matrices ``[..., 3, 3]`` of quaternions ``q`` (need not be unit; as Isaac Lab's)."""
    q = np.asarray(q, dtype=np.float64)
    i, j, k, r = np.moveaxis(q, -1, 0)
    two_s = 2.0 / np.sum(q * q, axis=-1)
    m = np.stack(
        (
            1 - two_s * (j * j + k * k),
            two_s * (i * j - k * r),
            two_s * (i * k + j * r),
            two_s * (i * j + k * r),
            1 - two_s * (i * i + k * k),
            two_s * (j * k - i * r),
            two_s * (i * k - j * r),
            two_s * (j * k + i * r),
            1 - two_s * (i * i + j * j),
        ),
        axis=-1,
    )
    return m.reshape(*q.shape[:-1], 3, 3)


def rot6d(q: np.ndarray) -> np.ndarray:
    """BeyondMimic's 6-D rotation: the first two rotation-matrix columns flattened row-major, ``[..., 6]``.

    Order: ``[m00, m01, m10, m11, m20, m21]``.
    """
    return matrix_from_quat(q)[..., :2].reshape(*np.shape(q)[:-1], 6)


def yaw_quat(q: np.ndarray) -> np.ndarray:
    """The yaw (rotation about world z) part of quaternions ``q`` as a unit quaternion (xyzw)."""
    q = np.asarray(q, dtype=np.float64)
    x, y, z, w = np.moveaxis(q, -1, 0)
    yaw = np.arctan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))
    out = np.zeros_like(q)
    out[..., 2] = np.sin(0.5 * yaw)
    out[..., 3] = np.cos(0.5 * yaw)
    return out


def subtract_frame_transforms(
    pos01: np.ndarray, quat01: np.ndarray, pos02: np.ndarray, quat02: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Pose of frame 2 expressed in frame 1, both given in frame 0: ``(p12, q12)``.

    ``p12 = R01^T (p02 - p01)``, ``q12 = q01^-1 q02`` (Isaac Lab's ``subtract_frame_transforms``).
    """
    q10 = conjugate(np.asarray(quat01, dtype=np.float64))
    return rotate(q10, np.asarray(pos02, dtype=np.float64) - pos01), multiply(q10, np.asarray(quat02, dtype=np.float64))
