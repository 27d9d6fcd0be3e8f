"""Quaternion operations of the tracking terms that are cheaper than Isaac Lab's on small CPU tensors.

Same results as :mod:`isaaclab.utils.math` (to float32 rounding; ``tests/test_quat.py``) for *unit*
quaternions (xyzw, as Isaac Lab 3.0), which is what the simulator and the motion library hand out.
On ``N x bodies x 4`` CPU tensors the cost is the number of torch operations, not arithmetic:
Isaac Lab's ``quat_error_magnitude`` takes ~60 operations, the angle here 8 (timings in
``docs/performance.md``, section 2); the conjugate is one multiplication instead of a
slice-negate-concatenate. The per-step BeyondMimic terms use the tracking kernel
(:mod:`.tracking`, same formulas); these serve the other terms (DeepMimic rewards, future-reference
observations).
(A Hamilton product or rotation written as one outer product and one constant-table matrix
product was measured too: no faster than Isaac Lab's on the CPU, so those stay Isaac Lab's.)
"""

from __future__ import annotations

import isaaclab.utils.math as math_utils
import torch

_CONJ: dict[tuple[torch.device, torch.dtype], torch.Tensor] = {}


def quat_conjugate(q: torch.Tensor) -> torch.Tensor:
    """Conjugate ``[..., 4]`` (the inverse of a unit quaternion)."""
    key = (q.device, q.dtype)
    sign = _CONJ.get(key)
    if sign is None:
        sign = _CONJ[key] = torch.tensor([-1.0, -1.0, -1.0, 1.0], device=q.device, dtype=q.dtype)
    return q * sign


def quat_error_angle(q1: torch.Tensor, q2: torch.Tensor) -> torch.Tensor:
    """Angle [rad, 0..pi] of the rotation between unit quaternions ``q1`` and ``q2`` ``[..., 4]`` -> ``[...]``.

    Isaac Lab's ``quat_error_magnitude``, computed as ``4 atan2(|q1 - s q2|, |q1 + s q2|)`` with
    ``s = sign(q1 . q2)`` (the shorter arc): for unit quaternions ``|q1 - q2| = 2 sin(theta/4)`` and
    ``|q1 + q2| = 2 cos(theta/4)``; accurate for small angles too (unlike ``2 acos(|q1 . q2|)``).
    """
    q2s = torch.where((q1 * q2).sum(-1, keepdim=True) < 0.0, -q2, q2)
    return 4.0 * torch.atan2(torch.linalg.vector_norm(q1 - q2s, dim=-1), torch.linalg.vector_norm(q1 + q2s, dim=-1))


def up_axis(quat: torch.Tensor) -> torch.Tensor:
    """World-frame z axis ``[..., 3]`` (third rotation-matrix column) of a body with unit xyzw ``quat [..., 4]``."""
    x, y, z, w = quat.unbind(-1)
    return torch.stack((2.0 * (x * z + w * y), 2.0 * (y * z - w * x), 1.0 - 2.0 * (x * x + y * y)), dim=-1)


def rot6d(quat: torch.Tensor) -> torch.Tensor:
    """First two columns of the rotation matrix of ``quat [..., 4]``, flattened row-major ``[..., 6]``
    (BeyondMimic's 6-D rotation)."""
    return math_utils.matrix_from_quat(quat)[..., :2].reshape(*quat.shape[:-1], 6)


def subtract_frame_transforms(
    pos1: torch.Tensor, quat1: torch.Tensor, pos2: torch.Tensor, quat2: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Pose 2 in frame 1: ``(R1^T (p2 - p1), q1^-1 q2)`` for world poses ``(p [..., 3] m, q [..., 4])`` (unit ``q``)."""
    return math_utils.quat_apply_inverse(quat1, pos2 - pos1), math_utils.quat_mul(quat_conjugate(quat1), quat2)


def reanchor_body_pos(
    ref_anchor_pos: torch.Tensor,
    ref_anchor_quat: torch.Tensor,
    robot_anchor_pos: torch.Tensor,
    robot_anchor_quat: torch.Tensor,
    body_pos: torch.Tensor,
) -> torch.Tensor:
    """Reference body positions ``body_pos [N, B, 3]`` (m, world) re-anchored to the robot: moved so the
    reference anchor sits at the robot anchor's xy (keeping the reference anchor's height) and turned by
    the yaw between the two anchors (anchor poses ``[N, 3]``, ``[N, 4]`` xyzw). BeyondMimic's
    ``body_pos_relative_w``; the tracking kernel (:mod:`.tracking`) computes the same and is tested against it."""
    delta_pos = torch.cat((robot_anchor_pos[:, :2], ref_anchor_pos[:, 2:3]), dim=-1)
    delta_quat = math_utils.yaw_quat(math_utils.quat_mul(robot_anchor_quat, quat_conjugate(ref_anchor_quat)))
    rel = body_pos - ref_anchor_pos.unsqueeze(1)
    dq = delta_quat.unsqueeze(1).expand(-1, body_pos.shape[1], -1)
    return delta_pos.unsqueeze(1) + math_utils.quat_apply(dq, rel)


__all__ = ["quat_conjugate", "quat_error_angle", "reanchor_body_pos", "rot6d", "subtract_frame_transforms"]
