"""One Warp kernel for the per-step tracking quantities that rewards, terminations, observations and metrics share.

BeyondMimic's terms all compare the robot with the reference in a few frames: the reference bodies
re-anchored to the robot anchor (xy and yaw), the robot bodies and the reference anchor in the robot
anchor frame, and per-body position, orientation and velocity errors. Written as torch operations on
``N x bodies`` tensors they are several hundred small operations per env step, whose cost on a CPU
is the per-operation overhead, not the arithmetic (``docs/performance.md``, section 2). :func:`compute_tracking_frame`
computes all of them in one kernel launch (per env, a loop over the tracked bodies), on the CPU or
on CUDA, into one ``[N, K]`` float32 table; :class:`TrackingFrame` names its columns.

Conventions: quaternions xyzw (Isaac Lab 3.0, Warp); world frame ``_w``; robot anchor frame ``_b``;
positions in m, velocities in m/s and rad/s, angles in rad. The formulas are those of
:mod:`isaaclab.utils.math` (``yaw_quat``, ``quat_apply``, ``quat_mul``, ``subtract_frame_transforms``,
``matrix_from_quat``) and of :func:`.quat.quat_error_angle`; ``tests/test_tracking.py`` checks the
kernel against them.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import warp as wp

#: Per-env sums over the tracked bodies, in this order (columns of :attr:`TrackingFrame.sums`).
SUM_NAMES: tuple[str, ...] = (
    "body_pos_err2", "body_rot_err2", "body_lin_vel_err2", "body_ang_vel_err2",
    "body_pos_err", "body_rot_err", "body_lin_vel_err", "body_ang_vel_err",
)


@wp.func
def _write_rot6d(out: wp.array2d(dtype=wp.float32), i: int, col: int, q: wp.quat):
    """First two columns of ``matrix_from_quat(q)``, row-major ``(R00, R01, R10, R11, R20, R21)``."""
    x = q[0]
    y = q[1]
    z = q[2]
    w = q[3]
    two_s = 2.0 / (x * x + y * y + z * z + w * w)
    out[i, col + 0] = 1.0 - two_s * (y * y + z * z)
    out[i, col + 1] = two_s * (x * y - z * w)
    out[i, col + 2] = two_s * (x * y + z * w)
    out[i, col + 3] = 1.0 - two_s * (x * x + z * z)
    out[i, col + 4] = two_s * (x * z - y * w)
    out[i, col + 5] = two_s * (y * z + x * w)


@wp.func
def _write_vec3(out: wp.array2d(dtype=wp.float32), i: int, col: int, v: wp.vec3):
    out[i, col + 0] = v[0]
    out[i, col + 1] = v[1]
    out[i, col + 2] = v[2]


@wp.func
def _write_quat(out: wp.array2d(dtype=wp.float32), i: int, col: int, q: wp.quat):
    out[i, col + 0] = q[0]
    out[i, col + 1] = q[1]
    out[i, col + 2] = q[2]
    out[i, col + 3] = q[3]


@wp.func
def _error_angle(q1: wp.quat, q2: wp.quat) -> float:
    """``4 atan2(|q1 - s q2|, |q1 + s q2|)``, ``s = sign(q1 . q2)`` (see :func:`.quat.quat_error_angle`)."""
    a = wp.vec4(q1[0], q1[1], q1[2], q1[3])
    b = wp.vec4(q2[0], q2[1], q2[2], q2[3])
    if wp.dot(a, b) < 0.0:
        b = -b
    return 4.0 * wp.atan2(wp.length(a - b), wp.length(a + b))


@wp.func
def _vec3_at(arr: wp.array3d(dtype=wp.float32), i: int, j: int, k: int) -> wp.vec3:
    return wp.vec3(arr[i, j, k], arr[i, j, k + 1], arr[i, j, k + 2])


@wp.func
def _quat_at(arr: wp.array3d(dtype=wp.float32), i: int, j: int, k: int) -> wp.quat:
    return wp.quat(arr[i, j, k], arr[i, j, k + 1], arr[i, j, k + 2], arr[i, j, k + 3])


@wp.kernel
def _tracking_kernel(
    ref_pos: wp.array3d(dtype=wp.float32),
    ref_quat: wp.array3d(dtype=wp.float32),
    ref_lin: wp.array3d(dtype=wp.float32),
    ref_ang: wp.array3d(dtype=wp.float32),
    robot_pose: wp.array3d(dtype=wp.float32),
    robot_vel: wp.array3d(dtype=wp.float32),
    body_ids: wp.array(dtype=wp.int32),
    ref_anchor: int,
    robot_anchor: int,
    num_bodies: int,
    out: wp.array2d(dtype=wp.float32),
):
    """Env ``i``: see :class:`TrackingFrame` for the column layout of ``out`` (``nb = num_bodies``)."""
    i = wp.tid()
    nb = num_bodies
    a_ref_p = _vec3_at(ref_pos, i, ref_anchor, 0)
    a_ref_q = _quat_at(ref_quat, i, ref_anchor, 0)
    a_rob_p = _vec3_at(robot_pose, i, robot_anchor, 0)
    a_rob_q = _quat_at(robot_pose, i, robot_anchor, 3)
    a_rob_q_inv = wp.quat_inverse(a_rob_q)
    # re-anchoring: the robot anchor's xy with the reference height, the yaw of q_robot q_ref^-1
    delta_p = wp.vec3(a_rob_p[0], a_rob_p[1], a_ref_p[2])
    d = a_rob_q * wp.quat_inverse(a_ref_q)
    yaw = wp.atan2(2.0 * (d[3] * d[2] + d[0] * d[1]), 1.0 - 2.0 * (d[1] * d[1] + d[2] * d[2]))
    delta_q = wp.normalize(wp.quat(0.0, 0.0, wp.sin(yaw / 2.0), wp.cos(yaw / 2.0)))
    s_pos2 = wp.float32(0.0)
    s_rot2 = wp.float32(0.0)
    s_lin2 = wp.float32(0.0)
    s_ang2 = wp.float32(0.0)
    s_pos = wp.float32(0.0)
    s_rot = wp.float32(0.0)
    s_lin = wp.float32(0.0)
    s_ang = wp.float32(0.0)
    for j in range(nb):
        r = body_ids[j]
        p = _vec3_at(robot_pose, i, r, 0)
        q = _quat_at(robot_pose, i, r, 3)
        rel_p = delta_p + wp.quat_rotate(delta_q, _vec3_at(ref_pos, i, j, 0) - a_ref_p)
        rel_q = delta_q * _quat_at(ref_quat, i, j, 0)
        _write_vec3(out, i, 3 * j, rel_p)
        _write_quat(out, i, 3 * nb + 4 * j, rel_q)
        _write_vec3(out, i, 7 * nb + 3 * j, wp.quat_rotate_inv(a_rob_q, p - a_rob_p))
        body_q_b = a_rob_q_inv * q
        _write_quat(out, i, 10 * nb + 4 * j, body_q_b)
        _write_rot6d(out, i, 14 * nb + 6 * j, body_q_b)
        e_pos2 = wp.length_sq(rel_p - p)
        e_rot = _error_angle(rel_q, q)
        e_lin2 = wp.length_sq(_vec3_at(ref_lin, i, j, 0) - _vec3_at(robot_vel, i, r, 0))
        e_ang2 = wp.length_sq(_vec3_at(ref_ang, i, j, 0) - _vec3_at(robot_vel, i, r, 3))
        out[i, 20 * nb + j] = e_pos2
        out[i, 21 * nb + j] = e_rot
        s_pos2 += e_pos2
        s_rot2 += e_rot * e_rot
        s_lin2 += e_lin2
        s_ang2 += e_ang2
        s_pos += wp.sqrt(e_pos2)
        s_rot += e_rot
        s_lin += wp.sqrt(e_lin2)
        s_ang += wp.sqrt(e_ang2)
    c = 22 * nb
    _write_vec3(out, i, c, wp.quat_rotate_inv(a_rob_q, a_ref_p - a_rob_p))
    anchor_q_b = a_rob_q_inv * a_ref_q
    _write_quat(out, i, c + 3, anchor_q_b)
    _write_rot6d(out, i, c + 7, anchor_q_b)
    out[i, c + 13] = wp.length_sq(a_ref_p - a_rob_p)
    out[i, c + 14] = _error_angle(a_ref_q, a_rob_q)
    out[i, c + 15] = s_pos2
    out[i, c + 16] = s_rot2
    out[i, c + 17] = s_lin2
    out[i, c + 18] = s_ang2
    out[i, c + 19] = s_pos
    out[i, c + 20] = s_rot
    out[i, c + 21] = s_lin
    out[i, c + 22] = s_ang


def table_width(num_bodies: int) -> int:
    """Columns of the kernel's output table for ``num_bodies`` tracked bodies."""
    return 22 * num_bodies + 15 + len(SUM_NAMES)


@dataclass(frozen=True)
class TrackingFrame:
    """The tracking quantities of one env step (views of one ``[N, K]`` table; treat as read-only).

    ``B`` tracked bodies (the command's ``body_names``), in that order.
    """

    table: torch.Tensor
    """The ``[N, K]`` float32 table every field below is a view of."""
    rel_body_pos_w: torch.Tensor
    """``[N, B, 3]`` reference body positions re-anchored to the robot anchor (xy, yaw), world frame (m)."""
    rel_body_quat_w: torch.Tensor
    """``[N, B, 4]`` re-anchored reference body orientations, world frame."""
    robot_body_pos_b: torch.Tensor
    """``[N, B, 3]`` robot body positions in the robot anchor frame (m)."""
    robot_body_quat_b: torch.Tensor
    """``[N, B, 4]`` robot body orientations in the robot anchor frame."""
    robot_body_ori6d_b: torch.Tensor
    """``[N, B, 6]`` the same as 6-D rotations (first two rotation-matrix columns, row-major)."""
    body_pos_err2: torch.Tensor
    """``[N, B]`` squared distance of each robot body to its re-anchored reference (m^2)."""
    body_rot_err: torch.Tensor
    """``[N, B]`` rotation angle between each robot body and its re-anchored reference (rad)."""
    anchor_pos_b: torch.Tensor
    """``[N, 3]`` reference anchor position in the robot anchor frame (m)."""
    anchor_quat_b: torch.Tensor
    """``[N, 4]`` reference anchor orientation in the robot anchor frame."""
    anchor_ori6d_b: torch.Tensor
    """``[N, 6]`` the same as a 6-D rotation."""
    anchor_pos_err2: torch.Tensor
    """``[N]`` squared distance of the robot anchor to the reference anchor, world frame (m^2)."""
    anchor_rot_err: torch.Tensor
    """``[N]`` rotation angle between the robot anchor and the reference anchor (rad)."""
    sums: torch.Tensor
    """``[N, 8]`` per-env sums over the bodies of :data:`SUM_NAMES` (squared errors, then errors;
    velocities world frame, the reference's against the robot body links')."""

    @classmethod
    def from_table(cls, table: torch.Tensor, num_bodies: int) -> TrackingFrame:
        """Name the columns of the kernel's output ``table`` ``[N, table_width(num_bodies)]``."""
        nb, n = num_bodies, table.shape[0]

        def cols(start: int, width: int, *shape: int) -> torch.Tensor:
            return table[:, start:start + width].view(n, *shape) if shape else table[:, start]

        c = 22 * nb
        return cls(
            table=table,
            rel_body_pos_w=cols(0, 3 * nb, nb, 3),
            rel_body_quat_w=cols(3 * nb, 4 * nb, nb, 4),
            robot_body_pos_b=cols(7 * nb, 3 * nb, nb, 3),
            robot_body_quat_b=cols(10 * nb, 4 * nb, nb, 4),
            robot_body_ori6d_b=cols(14 * nb, 6 * nb, nb, 6),
            body_pos_err2=cols(20 * nb, nb, nb),
            body_rot_err=cols(21 * nb, nb, nb),
            anchor_pos_b=cols(c, 3, 3),
            anchor_quat_b=cols(c + 3, 4, 4),
            anchor_ori6d_b=cols(c + 7, 6, 6),
            anchor_pos_err2=table[:, c + 13],
            anchor_rot_err=table[:, c + 14],
            sums=cols(c + 15, len(SUM_NAMES), len(SUM_NAMES)),
        )

    def body_mean(self, name: str) -> torch.Tensor:
        """``[N]`` mean over the tracked bodies of the :data:`SUM_NAMES` entry ``name``."""
        nb = self.rel_body_pos_w.shape[1]
        return self.sums[:, SUM_NAMES.index(name)] / nb


def _warp_view(t: torch.Tensor) -> wp.array:
    """Zero-copy float32/int32 Warp array of tensor ``t`` (any strides) on its device."""
    dtype = {torch.float32: wp.float32, torch.int32: wp.int32}[t.dtype]
    return wp.array(
        ptr=t.data_ptr(), shape=tuple(t.shape), strides=tuple(s * t.element_size() for s in t.stride()),
        dtype=dtype, device=str(t.device) if t.device.type == "cuda" else "cpu",
    )


def compute_tracking_frame(
    ref_body_pos_w: torch.Tensor,
    ref_body_quat_w: torch.Tensor,
    ref_body_lin_vel_w: torch.Tensor,
    ref_body_ang_vel_w: torch.Tensor,
    ref_anchor_index: int,
    robot_body_pose_w: torch.Tensor,
    robot_body_vel_w: torch.Tensor,
    robot_body_ids: torch.Tensor,
    robot_anchor_id: int,
) -> TrackingFrame:
    """The :class:`TrackingFrame` of the reference and the robot state given (one kernel launch).

    Args:
        ref_body_pos_w: ``[N, R, 3]`` reference body positions, world frame (m); the first ``B`` rows
            are the tracked bodies, row ``ref_anchor_index`` the anchor.
        ref_body_quat_w: ``[N, R, 4]`` reference body orientations (xyzw).
        ref_body_lin_vel_w: ``[N, R, 3]`` reference body linear velocities, world frame (m/s).
        ref_body_ang_vel_w: ``[N, R, 3]`` reference body angular velocities, world frame (rad/s).
        ref_anchor_index: Row of the anchor in the reference bodies.
        robot_body_pose_w: ``[N, nbody, 7]`` robot body link poses (position m, quaternion xyzw), world frame.
        robot_body_vel_w: ``[N, nbody, 6]`` robot body link velocities (linear m/s, angular rad/s), world frame.
        robot_body_ids: ``[B]`` int32 robot body index of each tracked body.
        robot_anchor_id: Robot body index of the anchor.
    """
    n, nb = robot_body_pose_w.shape[0], int(robot_body_ids.shape[0])
    table = torch.empty(n, table_width(nb), dtype=torch.float32, device=robot_body_pose_w.device)
    if n:
        out = _warp_view(table)
        # on CUDA, run on torch's current stream: the inputs were just written by torch operations there
        dev = table.device
        stream = wp.stream_from_torch(torch.cuda.current_stream(dev)) if dev.type == "cuda" else None
        wp.launch(
            _tracking_kernel,
            dim=n,
            inputs=[
                _warp_view(ref_body_pos_w), _warp_view(ref_body_quat_w), _warp_view(ref_body_lin_vel_w),
                _warp_view(ref_body_ang_vel_w), _warp_view(robot_body_pose_w), _warp_view(robot_body_vel_w),
                _warp_view(robot_body_ids), int(ref_anchor_index), int(robot_anchor_id), nb,
            ],
            outputs=[out],
            device=out.device,
            stream=stream,
        )
    return TrackingFrame.from_table(table, nb)


__all__ = ["SUM_NAMES", "TrackingFrame", "compute_tracking_frame", "table_width"]
