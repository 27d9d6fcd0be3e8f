"""Tracking rewards (BeyondMimic): each ``exp(-error / std**2)`` with the error a squared norm.

Body terms average over the tracked bodies; positions in m, angles in rad, velocities in m/s and
rad/s, all compared in the world frame (body poses after re-anchoring, see :class:`MotionCommand`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from . import quat as qmath

if TYPE_CHECKING:
    from isaaclab.envs import ManagerBasedRLEnv
    from isaaclab.managers import SceneEntityCfg

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
    err = qmath.quat_error_angle(cmd.anchor_quat_w, cmd.robot_anchor_quat_w) ** 2
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
    err = (qmath.quat_error_angle(quat, cmd.robot_body_quat_w) ** 2).mean(-1)
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


def feet_contact_match(
    env: ManagerBasedRLEnv, command_name: str, sensor_cfg: SceneEntityCfg, threshold: float = 1.0
) -> torch.Tensor:
    """VideoMimic's contact matching: the fraction of the command's contact bodies whose ground contact
    agrees with the reference's contact labels (1 when all agree, 0 when none do).

    A body is in contact when the norm of its net normal contact force exceeds ``threshold`` (N).
    ``sensor_cfg.body_names`` must list the command's ``contact_body_names`` in the same order
    (``preserve_order=True``).
    """
    cmd = _cmd(env, command_name)
    ref = cmd.ref.contact
    if ref is None:
        raise ValueError(
            f"feet_contact_match: command '{command_name}' serves no contact labels; set "
            "env.commands.motion.contact_body_names to the bodies of this term's sensor_cfg.body_names"
        )
    sensor = env.scene.sensors[sensor_cfg.name]
    forces = sensor.data.net_normal_forces_w.torch[:, sensor_cfg.body_ids]
    robot = (torch.linalg.norm(forces, dim=-1) > threshold).float()
    if robot.shape != ref.shape:
        raise ValueError(
            f"feet_contact_match: the sensor selects {robot.shape[1]} bodies but the command labels "
            f"{ref.shape[1]} ({cmd.cfg.contact_body_names}); list the same bodies in both"
        )
    return 1.0 - torch.abs(robot - ref).mean(dim=1)
