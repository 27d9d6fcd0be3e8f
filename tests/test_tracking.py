"""The tracking kernel (``mdp/tracking.py``) against the same quantities computed with Isaac Lab's math."""

from __future__ import annotations

import isaaclab.utils.math as math_utils
import pytest
import torch

from g1_mimic.tasks.mimic.mdp.quat import reanchor_body_pos
from g1_mimic.tasks.mimic.mdp.tracking import SUM_NAMES, compute_tracking_frame, table_width


def _unit_quats(*shape: int, generator: torch.Generator) -> torch.Tensor:
    q = torch.randn(*shape, 4, generator=generator)
    return q / q.norm(dim=-1, keepdim=True)


def _case(n: int = 33, nbody: int = 30, device: str = "cpu"):
    g = torch.Generator().manual_seed(7)
    body_ids = torch.tensor([0, 4, 7, 11, 15, 2, 29, 21, 18], dtype=torch.int32)
    b = body_ids.numel()
    r = b + 2  # the library serves the tracked bodies, then anchor and root when untracked
    ref_pos = torch.randn(n, r, 3, generator=g)
    ref_quat = _unit_quats(n, r, generator=g)
    ref_quat[:, 3] = -ref_quat[:, 3]  # signs must not matter
    ref_lin, ref_ang = torch.randn(n, r, 3, generator=g), torch.randn(n, r, 3, generator=g)
    pose = torch.cat([torch.randn(n, nbody, 3, generator=g), _unit_quats(n, nbody, generator=g)], dim=-1)
    vel = torch.randn(n, nbody, 6, generator=g)
    # env 0: the robot exactly on its (re-anchored) reference: zero errors, including tiny angles
    env0 = slice(0, 1)
    pose[env0, body_ids.long(), :3] = ref_pos[env0, :b]
    pose[env0, body_ids.long(), 3:] = ref_quat[env0, :b]
    pose[env0, 12, :3] = ref_pos[env0, b]  # robot anchor (body 12) = reference anchor (row b)
    pose[env0, 12, 3:] = ref_quat[env0, b]
    vel[env0, body_ids.long(), :3] = ref_lin[env0, :b]
    vel[env0, body_ids.long(), 3:] = ref_ang[env0, :b]
    # the reference quantities are views into one table, as the motion library hands them out
    table = torch.cat([ref_pos, ref_quat, ref_lin, ref_ang], dim=-1).to(device)
    ref = (table[..., 0:3], table[..., 3:7], table[..., 7:10], table[..., 10:13])
    return ref, b, pose.to(device), vel.to(device), body_ids.to(device), 12


def _expected(ref, anchor_index, pose, vel, body_ids, robot_anchor):
    ref_pos, ref_quat, ref_lin, ref_ang = ref
    ids = body_ids.long()
    b = ids.numel()
    a_ref_p, a_ref_q = ref_pos[:, anchor_index], ref_quat[:, anchor_index]
    a_rob_p, a_rob_q = pose[:, robot_anchor, :3], pose[:, robot_anchor, 3:]
    rob_p, rob_q, rob_v, rob_w = pose[:, ids, :3], pose[:, ids, 3:], vel[:, ids, :3], vel[:, ids, 3:]
    delta_p = a_rob_p.clone()
    delta_p[:, 2] = a_ref_p[:, 2]
    delta_q = math_utils.yaw_quat(math_utils.quat_mul(a_rob_q, math_utils.quat_conjugate(a_ref_q)))
    dq = delta_q.unsqueeze(1).expand(-1, b, -1)
    rel_p = delta_p.unsqueeze(1) + math_utils.quat_apply(dq, ref_pos[:, :b] - a_ref_p.unsqueeze(1))
    rel_q = math_utils.quat_mul(dq, ref_quat[:, :b])
    body_p_b, body_q_b = math_utils.subtract_frame_transforms(
        a_rob_p.unsqueeze(1).expand(-1, b, -1), a_rob_q.unsqueeze(1).expand(-1, b, -1), rob_p, rob_q
    )
    anchor_p_b, anchor_q_b = math_utils.subtract_frame_transforms(a_rob_p, a_rob_q, a_ref_p, a_ref_q)
    pos2 = (rel_p - rob_p).square().sum(-1)
    rot = math_utils.quat_error_magnitude(rel_q, rob_q)
    lin2 = (ref_lin[:, :b] - rob_v).square().sum(-1)
    ang2 = (ref_ang[:, :b] - rob_w).square().sum(-1)
    sums = torch.stack(
        [pos2.sum(-1), rot.square().sum(-1), lin2.sum(-1), ang2.sum(-1),
         pos2.sqrt().sum(-1), rot.sum(-1), lin2.sqrt().sum(-1), ang2.sqrt().sum(-1)], dim=-1
    )
    return {
        "rel_body_pos_w": rel_p, "rel_body_quat_w": rel_q, "robot_body_pos_b": body_p_b, "robot_body_quat_b": body_q_b,
        "robot_body_ori6d_b": math_utils.matrix_from_quat(body_q_b)[..., :2].reshape(*body_q_b.shape[:-1], 6),
        "body_pos_err2": pos2, "body_rot_err": rot, "anchor_pos_b": anchor_p_b, "anchor_quat_b": anchor_q_b,
        "anchor_ori6d_b": math_utils.matrix_from_quat(anchor_q_b)[..., :2].reshape(-1, 6),
        "anchor_pos_err2": (a_ref_p - a_rob_p).square().sum(-1),
        "anchor_rot_err": math_utils.quat_error_magnitude(a_ref_q, a_rob_q), "sums": sums,
    }


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(
    not torch.cuda.is_available(), reason="no CUDA device: the kernel's CUDA path is checked where one is present"))])
def test_kernel_matches_isaac_lab_math(device):
    ref, anchor_index, pose, vel, body_ids, robot_anchor = _case(device=device)
    frame = compute_tracking_frame(*ref, anchor_index, pose, vel, body_ids, robot_anchor)
    assert frame.table.shape == (pose.shape[0], table_width(body_ids.numel()))
    expected = _expected(ref, anchor_index, pose, vel, body_ids, robot_anchor)
    for name, value in expected.items():
        got = getattr(frame, name)
        assert got.shape == value.shape, name
        torch.testing.assert_close(got, value, atol=5e-5, rtol=1e-4, msg=lambda m, name=name: f"{name}: {m}")
    b = body_ids.numel()
    for k, name in enumerate(SUM_NAMES):
        torch.testing.assert_close(frame.body_mean(name), expected["sums"][:, k] / b)
    # env 0 tracks its reference exactly: every error vanishes (angles to float32 rounding)
    assert frame.body_pos_err2[0].abs().max() < 1e-10 and frame.body_rot_err[0].abs().max() < 1e-3
    assert frame.anchor_pos_err2[0] < 1e-10 and frame.anchor_rot_err[0] < 1e-3
    assert (frame.body_rot_err[1:] > 0).all() and torch.isfinite(frame.table).all()
    # the torch definition the exported policy graph uses gives the kernel's re-anchored bodies
    ref_pos, ref_quat = ref[0], ref[1]
    mine = reanchor_body_pos(
        ref_pos[:, anchor_index], ref_quat[:, anchor_index], pose[:, robot_anchor, :3], pose[:, robot_anchor, 3:], ref_pos[:, :b]
    )
    torch.testing.assert_close(mine, frame.rel_body_pos_w, atol=5e-5, rtol=1e-4)


def test_kernel_handles_no_envs():
    ref, anchor_index, pose, vel, body_ids, robot_anchor = _case(n=0)
    frame = compute_tracking_frame(*ref, anchor_index, pose, vel, body_ids, robot_anchor)
    assert frame.table.shape == (0, table_width(body_ids.numel()))
