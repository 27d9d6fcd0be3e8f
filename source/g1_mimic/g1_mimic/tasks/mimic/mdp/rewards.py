"""Tracking rewards (BeyondMimic): each ``exp(-error / std**2)`` with the error a squared norm.

Body terms average over the tracked bodies; positions in m, angles in rad, velocities in m/s and
rad/s, all compared in the world frame (body poses after re-anchoring, see :class:`MotionCommand`).
The errors come from the command's per-step :meth:`~.commands.MotionCommand.tracking` frame (one
kernel for all tracking terms; ``tests/test_tracking.py`` checks them against Isaac Lab's math).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from isaaclab.envs import ManagerBasedRLEnv
    from isaaclab.managers import SceneEntityCfg

    from .commands import MotionCommand


def _cmd(env: ManagerBasedRLEnv, command_name: str) -> MotionCommand:
    return env.command_manager.get_term(command_name)


def _exp(err: torch.Tensor, std: float) -> torch.Tensor:
    return torch.exp(err * (-1.0 / std**2))


def motion_global_anchor_position_error_exp(env: ManagerBasedRLEnv, command_name: str, std: float) -> torch.Tensor:
    """exp(-|p_ref_anchor - p_anchor|^2 / std^2)."""
    return _exp(_cmd(env, command_name).tracking().anchor_pos_err2, std)


def motion_global_anchor_orientation_error_exp(env: ManagerBasedRLEnv, command_name: str, std: float) -> torch.Tensor:
    """exp(-angle(q_ref_anchor, q_anchor)^2 / std^2)."""
    return _exp(_cmd(env, command_name).tracking().anchor_rot_err.square(), std)


def motion_relative_body_position_error_exp(env: ManagerBasedRLEnv, command_name: str, std: float) -> torch.Tensor:
    """exp(-mean_b |p_ref_b (re-anchored) - p_b|^2 / std^2)."""
    return _exp(_cmd(env, command_name).tracking().body_mean("body_pos_err2"), std)


def motion_relative_body_orientation_error_exp(env: ManagerBasedRLEnv, command_name: str, std: float) -> torch.Tensor:
    """exp(-mean_b angle(q_ref_b (re-anchored), q_b)^2 / std^2)."""
    return _exp(_cmd(env, command_name).tracking().body_mean("body_rot_err2"), std)


def motion_global_body_linear_velocity_error_exp(env: ManagerBasedRLEnv, command_name: str, std: float) -> torch.Tensor:
    """exp(-mean_b |v_ref_b - v_b|^2 / std^2), world frame."""
    return _exp(_cmd(env, command_name).tracking().body_mean("body_lin_vel_err2"), std)


def motion_global_body_angular_velocity_error_exp(env: ManagerBasedRLEnv, command_name: str, std: float) -> torch.Tensor:
    """exp(-mean_b |w_ref_b - w_b|^2 / std^2), world frame."""
    return _exp(_cmd(env, command_name).tracking().body_mean("body_ang_vel_err2"), std)


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
