"""Tracking rewards (BeyondMimic): each ``exp(-error / std**2)`` with the error a squared norm.

Body terms average over the tracked bodies; positions in m, angles in rad, velocities in m/s and
rad/s, all compared in the world frame (body poses after re-anchoring, see :class:`MotionCommand`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import isaaclab.utils.math as math_utils
import torch

if TYPE_CHECKING:
    from isaaclab.envs import ManagerBasedRLEnv

    from .commands import MotionCommand


def _cmd(env: ManagerBasedRLEnv, command_name: str) -> MotionCommand:
    return env.command_manager.get_term(command_name)


def motion_global_anchor_position_error_exp(env: ManagerBasedRLEnv, command_name: str, std: float) -> torch.Tensor:
    """exp(-|p_ref_anchor - p_anchor|^2 / std^2)."""
    cmd = _cmd(env, command_name)
    err = torch.sum(torch.square(cmd.anchor_pos_w - cmd.robot_anchor_pos_w), dim=-1)
    return torch.exp(-err / std**2)


def motion_global_anchor_orientation_error_exp(env: ManagerBasedRLEnv, command_name: str, std: float) -> torch.Tensor:
    """exp(-angle(q_ref_anchor, q_anchor)^2 / std^2)."""
    cmd = _cmd(env, command_name)
    err = math_utils.quat_error_magnitude(cmd.anchor_quat_w, cmd.robot_anchor_quat_w) ** 2
    return torch.exp(-err / std**2)


def motion_relative_body_position_error_exp(env: ManagerBasedRLEnv, command_name: str, std: float) -> torch.Tensor:
    """exp(-mean_b |p_ref_b (re-anchored) - p_b|^2 / std^2)."""
    cmd = _cmd(env, command_name)
    pos, _ = cmd.relative_body_pose_w()
    err = torch.sum(torch.square(pos - cmd.robot_body_pos_w), dim=-1).mean(-1)
    return torch.exp(-err / std**2)


def motion_relative_body_orientation_error_exp(env: ManagerBasedRLEnv, command_name: str, std: float) -> torch.Tensor:
    """exp(-mean_b angle(q_ref_b (re-anchored), q_b)^2 / std^2)."""
    cmd = _cmd(env, command_name)
    _, quat = cmd.relative_body_pose_w()
    err = (math_utils.quat_error_magnitude(quat, cmd.robot_body_quat_w) ** 2).mean(-1)
    return torch.exp(-err / std**2)


def motion_global_body_linear_velocity_error_exp(env: ManagerBasedRLEnv, command_name: str, std: float) -> torch.Tensor:
    """exp(-mean_b |v_ref_b - v_b|^2 / std^2), world frame."""
    cmd = _cmd(env, command_name)
    err = torch.sum(torch.square(cmd.body_lin_vel_w - cmd.robot_body_lin_vel_w), dim=-1).mean(-1)
    return torch.exp(-err / std**2)


def motion_global_body_angular_velocity_error_exp(env: ManagerBasedRLEnv, command_name: str, std: float) -> torch.Tensor:
    """exp(-mean_b |w_ref_b - w_b|^2 / std^2), world frame."""
    cmd = _cmd(env, command_name)
    err = torch.sum(torch.square(cmd.body_ang_vel_w - cmd.robot_body_ang_vel_w), dim=-1).mean(-1)
    return torch.exp(-err / std**2)
