"""Observation terms of the tracking task. Frames: ``_b`` = robot anchor body frame."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from . import quat as qmath

if TYPE_CHECKING:
    from isaaclab.envs import ManagerBasedEnv

    from .commands import MotionCommand


def _cmd(env: ManagerBasedEnv, command_name: str) -> MotionCommand:
    return env.command_manager.get_term(command_name)


def motion_anchor_pos_b(env: ManagerBasedEnv, command_name: str) -> torch.Tensor:
    """Reference anchor position in the robot anchor frame (m), [N, 3]."""
    pos, _ = _cmd(env, command_name).anchor_pose_b()
    return pos


def motion_anchor_ori_b(env: ManagerBasedEnv, command_name: str) -> torch.Tensor:
    """Reference anchor orientation in the robot anchor frame as a 6-D rotation, [N, 6]."""
    return _cmd(env, command_name).anchor_ori6d_b()


def robot_body_pos_b(env: ManagerBasedEnv, command_name: str) -> torch.Tensor:
    """Tracked robot body positions in the robot anchor frame (m), [N, 3B] (privileged)."""
    pos, _ = _cmd(env, command_name).robot_body_pose_b()
    return pos.reshape(env.num_envs, -1)


def robot_body_ori_b(env: ManagerBasedEnv, command_name: str) -> torch.Tensor:
    """Tracked robot body orientations in the robot anchor frame as 6-D rotations, [N, 6B] (privileged)."""
    return _cmd(env, command_name).tracking().robot_body_ori6d_b.reshape(env.num_envs, -1)


def future_reference(env: ManagerBasedEnv, command_name: str, offsets: tuple[int, ...] = (1, 2, 3)) -> torch.Tensor:
    """Reference at future control steps (MimicKit's target frames), ``[N, 38 * len(offsets)]`` for the G1.

    For each offset ``k`` (control steps of ``step_dt``): the reference joint positions at
    ``t + k * step_dt`` (rad, robot joint order), and the reference anchor position (m) and 6-D
    orientation at that time, both in the current robot anchor frame.
    """
    cmd = _cmd(env, command_name)
    origins = env.scene.env_origins
    parts = []
    for k in offsets:
        state = cmd.library.get_state(cmd.clip_ids, cmd.time_s + k * env.step_dt)
        anchor_pos = state.body_pos_w[:, cmd.anchor_index] + origins
        anchor_quat = state.body_quat_w[:, cmd.anchor_index]
        pos, quat = qmath.subtract_frame_transforms(cmd.robot_anchor_pos_w, cmd.robot_anchor_quat_w, anchor_pos, anchor_quat)
        parts += [state.joint_pos, pos, qmath.rot6d(quat)]
    return torch.cat(parts, dim=-1)


def motion_clip_index(env: ManagerBasedEnv, command_name: str) -> torch.Tensor:
    """Index of each env's current clip in the motion library, as a float, [N, 1] (routes distillation's
    experts; not a policy input)."""
    return _cmd(env, command_name).clip_ids.to(torch.float32).unsqueeze(1)
