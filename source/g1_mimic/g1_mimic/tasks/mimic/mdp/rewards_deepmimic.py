"""DeepMimic / MimicKit tracking rewards (the ``presets=deepmimic`` variant).

Each term is ``exp(-k * e)`` with MimicKit's G1 scales; with the weights 0.5 / 0.1 / 0.15 / 0.1 / 0.15
the sum is 1.0 when the robot is exactly on the reference. Errors:

- pose: ``sum_j w_j (q_ref_j - q_j)^2`` over hinge joints (rad^2), per-joint weights ``w_j``
  (hips/waist/shoulders 1.0, knees/elbows 0.6, ankles/wrists 0.5), k = 0.25;
- joint velocity: ``sum_j w_j (qd_ref_j - qd_j)^2`` ((rad/s)^2), k = 0.01;
- root pose: ``|p_ref - p|^2 + 0.1 angle(q_ref, q)^2`` of the root body (m^2, rad^2), k = 5.0;
- root velocity: ``|v_ref - v|^2 + 0.1 |w_ref - w|^2`` of the root body, world frame, k = 1.0;
- key-body position: ``sum_k |(p_ref_k - p_ref_root) - (p_k - p_root)|^2`` (root-relative, world axes, m^2), k = 10.0.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import torch

from . import quat as qmath

if TYPE_CHECKING:
    from isaaclab.envs import ManagerBasedRLEnv

    from .commands import MotionCommand

__all__ = [
    "DEEPMIMIC_JOINT_WEIGHTS",
    "deepmimic_joint_velocity_reward",
    "deepmimic_key_body_position_reward",
    "deepmimic_pose_error_too_large",
    "deepmimic_pose_reward",
    "deepmimic_root_pose_reward",
    "deepmimic_root_velocity_reward",
    "joint_weights",
]

#: MimicKit's per-joint pose weights for the G1 (regex -> weight); joints matching none get 1.0.
DEEPMIMIC_JOINT_WEIGHTS: dict[str, float] = {
    r".*_hip_.*_joint": 1.0,
    r"waist_.*_joint": 1.0,
    r".*_shoulder_.*_joint": 1.0,
    r".*_knee_joint": 0.6,
    r".*_elbow_joint": 0.6,
    r".*_ankle_.*_joint": 0.5,
    r".*_wrist_.*_joint": 0.5,
}


def _cmd(env: ManagerBasedRLEnv, command_name: str) -> MotionCommand:
    return env.command_manager.get_term(command_name)


def joint_weights(names: list[str], weights: dict[str, float], device) -> torch.Tensor:
    """Per-joint weights for ``names`` from regex ``weights`` (first match wins, default 1.0)."""
    out = []
    for n in names:
        w = next((v for pat, v in weights.items() if re.fullmatch(pat, n)), 1.0)
        out.append(w)
    return torch.tensor(out, device=device)


def _weights(env: ManagerBasedRLEnv, cmd: MotionCommand, weights: dict[str, float]) -> torch.Tensor:
    cache = getattr(cmd, "_deepmimic_weight_cache", None)
    if cache is None:
        cache = joint_weights(cmd.joint_names, weights, env.device)
        cmd._deepmimic_weight_cache = cache
    return cache


def deepmimic_pose_reward(env: ManagerBasedRLEnv, command_name: str, scale: float = 0.25, weights: dict[str, float] = DEEPMIMIC_JOINT_WEIGHTS) -> torch.Tensor:
    """exp(-scale * sum_j w_j (q_ref_j - q_j)^2)."""
    cmd = _cmd(env, command_name)
    w = _weights(env, cmd, weights)
    err = torch.sum(w * torch.square(cmd.joint_pos - cmd.robot.data.joint_pos.torch), dim=-1)
    return torch.exp(-scale * err)


def deepmimic_joint_velocity_reward(env: ManagerBasedRLEnv, command_name: str, scale: float = 0.01, weights: dict[str, float] = DEEPMIMIC_JOINT_WEIGHTS) -> torch.Tensor:
    """exp(-scale * sum_j w_j (qd_ref_j - qd_j)^2)."""
    cmd = _cmd(env, command_name)
    w = _weights(env, cmd, weights)
    err = torch.sum(w * torch.square(cmd.joint_vel - cmd.robot.data.joint_vel.torch), dim=-1)
    return torch.exp(-scale * err)


def _root(cmd: MotionCommand):
    ref = cmd.ref
    i = cmd.root_index
    robot_i = cmd.robot.body_names.index(cmd.cfg.root_body_name)
    data = cmd.robot.data
    return (
        ref.body_pos_w[:, i],
        ref.body_quat_w[:, i],
        ref.body_lin_vel_w[:, i],
        ref.body_ang_vel_w[:, i],
        data.body_pos_w.torch[:, robot_i],
        data.body_quat_w.torch[:, robot_i],
        data.body_link_lin_vel_w.torch[:, robot_i],
        data.body_link_ang_vel_w.torch[:, robot_i],
    )


def deepmimic_root_pose_reward(env: ManagerBasedRLEnv, command_name: str, scale: float = 5.0, rot_weight: float = 0.1) -> torch.Tensor:
    """exp(-scale * (|p_ref - p|^2 + rot_weight * angle(q_ref, q)^2)) of the root body."""
    p_ref, q_ref, _, _, p, q, _, _ = _root(_cmd(env, command_name))
    err = torch.sum(torch.square(p_ref - p), dim=-1) + rot_weight * qmath.quat_error_angle(q_ref, q) ** 2
    return torch.exp(-scale * err)


def deepmimic_root_velocity_reward(env: ManagerBasedRLEnv, command_name: str, scale: float = 1.0, ang_weight: float = 0.1) -> torch.Tensor:
    """exp(-scale * (|v_ref - v|^2 + ang_weight * |w_ref - w|^2)) of the root body (world frame)."""
    _, _, v_ref, w_ref, _, _, v, w = _root(_cmd(env, command_name))
    err = torch.sum(torch.square(v_ref - v), dim=-1) + ang_weight * torch.sum(torch.square(w_ref - w), dim=-1)
    return torch.exp(-scale * err)


def deepmimic_key_body_position_reward(env: ManagerBasedRLEnv, command_name: str, body_names: list[str], scale: float = 10.0) -> torch.Tensor:
    """exp(-scale * sum_k |(p_ref_k - p_ref_root) - (p_k - p_root)|^2) over the key bodies."""
    cmd = _cmd(env, command_name)
    idx = [cmd.body_names.index(b) for b in body_names]
    p_ref_root, _, _, _, p_root, _, _, _ = _root(cmd)
    ref_rel = cmd.body_pos_w[:, idx] - p_ref_root.unsqueeze(1)
    rob_rel = cmd.robot_body_pos_w[:, idx] - p_root.unsqueeze(1)
    err = torch.sum(torch.square(ref_rel - rob_rel), dim=(-1, -2))
    return torch.exp(-scale * err)


def deepmimic_pose_error_too_large(env: ManagerBasedRLEnv, command_name: str, threshold: float = 1.0) -> torch.Tensor:
    """MimicKit's early termination: some tracked body is more than ``threshold`` m from its reference (world frame)."""
    cmd = _cmd(env, command_name)
    err = torch.norm(cmd.body_pos_w - cmd.robot_body_pos_w, dim=-1)
    return torch.any(err > threshold, dim=-1)
