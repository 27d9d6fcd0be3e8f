"""Termination terms of the tracking task (BeyondMimic's four, plus clip end and non-finite state, and PHC's
world-frame drift rule for training)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from isaaclab.managers import ManagerTermBase, SceneEntityCfg, TerminationTermCfg

from .quat import up_axis

if TYPE_CHECKING:
    from isaaclab.envs import ManagerBasedRLEnv

    from .commands import MotionCommand


def _cmd(env: ManagerBasedRLEnv, command_name: str) -> MotionCommand:
    return env.command_manager.get_term(command_name)


def anchor_height_error(ref_anchor_pos_w: torch.Tensor, anchor_pos_w: torch.Tensor) -> torch.Tensor:
    """``|z_ref - z|`` of the anchor ``[..., 3]`` positions (m): the ``anchor_pos`` failure condition's quantity
    (the env's termination and the exported policy graph's ``anchor_height_error``)."""
    return torch.abs(ref_anchor_pos_w[..., 2] - anchor_pos_w[..., 2])


def anchor_gravity_error(ref_anchor_quat_w: torch.Tensor, anchor_quat_w: torch.Tensor) -> torch.Tensor:
    """Difference of the z component of gravity seen in the anchor frame, reference against robot (xyzw ``[..., 4]``):
    the ``anchor_ori`` failure condition's quantity (0 upright alike, up to 2)."""
    # for a unit xyzw quaternion q, the z component of R(q)^T (0, 0, -1) is 2 (x^2 + y^2) - 1
    return 2.0 * torch.abs(ref_anchor_quat_w[..., :2].square().sum(-1) - anchor_quat_w[..., :2].square().sum(-1))


def body_height_error(ref_body_pos_w: torch.Tensor, body_pos_w: torch.Tensor) -> torch.Tensor:
    """``|z_ref - z|`` per body ``[..., B, 3] -> [..., B]`` (m): the ``ee_body_pos`` failure condition's quantity,
    against the reference re-anchored to the robot (:func:`.quat.reanchor_body_pos`)."""
    return torch.abs(ref_body_pos_w[..., 2] - body_pos_w[..., 2])


def body_distance(ref_body_pos_w: torch.Tensor, body_pos_w: torch.Tensor) -> torch.Tensor:
    """Distance of each body to its reference ``[..., B, 3] -> [..., B]`` (m); in the world frame, the per-body
    error whose mean is the MPKPE (evaluation's metric, :func:`mean_body_distance`)."""
    return torch.linalg.norm(ref_body_pos_w - body_pos_w, dim=-1)


def mean_body_distance(ref_body_pos_w: torch.Tensor, body_pos_w: torch.Tensor) -> torch.Tensor:
    """Mean over bodies of :func:`body_distance` ``[..., B, 3] -> [...]`` (m): in the world frame the step's MPKPE
    (evaluation's metric) and the ``body_drift`` failure condition's quantity; of root-relative positions the
    step's R-MPKPE."""
    return body_distance(ref_body_pos_w, body_pos_w).mean(-1)


def bad_anchor_pos_z_only(env: ManagerBasedRLEnv, command_name: str, threshold: float) -> torch.Tensor:
    """Anchor height differs from the reference by more than ``threshold`` (m)."""
    cmd = _cmd(env, command_name)
    return anchor_height_error(cmd.anchor_pos_w, cmd.robot_anchor_pos_w) > threshold


def bad_anchor_ori(env: ManagerBasedRLEnv, command_name: str, threshold: float) -> torch.Tensor:
    """The z component of gravity projected into the anchor frame differs from the reference's by > ``threshold``."""
    cmd = _cmd(env, command_name)
    return anchor_gravity_error(cmd.anchor_quat_w, cmd.robot_anchor_quat_w) > threshold


def bad_root_height(env: ManagerBasedRLEnv, command_name: str, threshold: float) -> torch.Tensor:
    """The root body (G1: pelvis) is more than ``threshold`` (m) above or below the reference root (world z)."""
    cmd = _cmd(env, command_name)
    return torch.abs(cmd.ref.body_pos_w[:, cmd.root_index, 2] - cmd.robot.data.root_link_pos_w.torch[:, 2]) > threshold


def bad_root_tilt(env: ManagerBasedRLEnv, command_name: str, threshold: float) -> torch.Tensor:
    """The angle between the robot's and the reference's root up axes exceeds ``threshold`` (rad; yaw ignored)."""
    cmd = _cmd(env, command_name)
    cos = (up_axis(cmd.ref.body_quat_w[:, cmd.root_index]) * up_axis(cmd.robot.data.root_link_quat_w.torch)).sum(-1)
    return torch.acos(torch.clamp(cos, -1.0, 1.0)) > threshold


def bad_motion_body_pos_z_only(
    env: ManagerBasedRLEnv, command_name: str, threshold: float, body_names: list[str]
) -> torch.Tensor:
    """Any of ``body_names`` (e.g. ankles and wrists) is off its re-anchored reference height by > ``threshold`` (m)."""
    cmd = _cmd(env, command_name)
    idx = [cmd.body_names.index(n) for n in body_names]
    pos, _ = cmd.relative_body_pose_w()
    return torch.any(body_height_error(pos[:, idx], cmd.robot_body_pos_w[:, idx]) > threshold, dim=-1)


class bad_mean_body_pos(ManagerTermBase):
    """The tracked bodies are, on average, more than ``threshold`` (m) from the reference's bodies in the world frame
    (PHC's termination rule). Unlike BeyondMimic's height-only conditions it also ends an episode whose body drifts
    off the reference's place on the floor, which the world-frame MPKPE counts.

    Refuses (``ValueError``) a motion command whose displaced starts (``displaced_share``) reach the threshold:
    those episodes would fail at their first step."""

    def __init__(self, cfg: TerminationTermCfg, env: ManagerBasedRLEnv):
        super().__init__(cfg, env)
        motion = _cmd(env, cfg.params["command_name"]).cfg
        threshold = float(cfg.params["threshold"])
        if motion.displaced_share > 0.0 and motion.displacement_range[1] >= threshold:
            raise ValueError(
                f"env.commands.motion.displacement_range {list(motion.displacement_range)} m reaches the drift termination's "
                f"threshold ({threshold} m; the CPU learning task's default, presets=drift_termination elsewhere): displaced "
                "starts would fail at their first step; keep the displacement under it (e.g. "
                f"'env.commands.motion.displacement_range=[0.05,{0.75 * threshold:g}]'), raise "
                "env.terminations.body_drift.params.threshold above it, or train without it (presets=no_drift_termination)"
            )

    def __call__(self, env: ManagerBasedRLEnv, command_name: str, threshold: float) -> torch.Tensor:
        cmd = _cmd(env, command_name)
        return mean_body_distance(cmd.body_pos_w, cmd.robot_body_pos_w) > threshold


def motion_finished(env: ManagerBasedRLEnv, command_name: str) -> torch.Tensor:
    """The reference clip (plus its tail) has been played to its end: a successful episode (time-out)."""
    cmd = _cmd(env, command_name)
    return cmd.time_s >= cmd.clip_end_time - 0.5 * env.step_dt


def nonfinite_state(env: ManagerBasedRLEnv, asset_cfg: SceneEntityCfg = SceneEntityCfg("robot")) -> torch.Tensor:
    """The robot's simulated state holds NaN/inf (diverged physics): terminate and reset that env only."""
    asset = env.scene[asset_cfg.name]
    data = asset.data
    bad = ~torch.isfinite(data.joint_pos.torch).all(-1)
    bad |= ~torch.isfinite(data.joint_vel.torch).all(-1)
    bad |= ~torch.isfinite(data.root_pos_w.torch).all(-1)
    bad |= ~torch.isfinite(data.root_vel_w.torch).all(-1)
    return bad


def illegal_body_contact(env: ManagerBasedRLEnv, sensor_cfg: SceneEntityCfg, threshold: float = 1.0) -> torch.Tensor:
    """A body of ``sensor_cfg.body_names`` (the bodies that may *not* touch anything) has a net normal
    contact force above ``threshold`` (N) in the sensor's recent history (MimicKit / VideoMimic)."""
    sensor = env.scene.sensors[sensor_cfg.name]
    forces = sensor.data.net_normal_forces_w_history.torch[:, :, sensor_cfg.body_ids]
    return torch.any(torch.linalg.norm(forces, dim=-1).amax(dim=1) > threshold, dim=1)
