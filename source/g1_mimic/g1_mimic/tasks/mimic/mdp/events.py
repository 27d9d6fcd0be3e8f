"""Event terms specific to the tracking task."""

from __future__ import annotations

from typing import TYPE_CHECKING

import isaaclab.utils.math as math_utils
import torch
from isaaclab.managers import EventTermCfg, ManagerTermBase, SceneEntityCfg

if TYPE_CHECKING:
    from isaaclab.envs import ManagerBasedEnv, ManagerBasedRLEnv

__all__ = ["assist_wrench", "randomize_joint_default_pos"]


def randomize_joint_default_pos(
    env: ManagerBasedEnv,
    env_ids: torch.Tensor | None,
    asset_cfg: SceneEntityCfg,
    pos_range: tuple[float, float],
    action_name: str = "joint_pos",
) -> None:
    """Offset the robot's default joint positions by U(pos_range) rad per env and joint (encoder bias).

    The offset moves both the ``joint_pos_rel`` observation's zero and the joint-position action's
    offset, as a mis-calibrated encoder would (BeyondMimic's ``randomize_joint_default_pos``).
    """
    asset = env.scene[asset_cfg.name]
    if env_ids is None:
        env_ids = torch.arange(env.scene.num_envs, device=asset.device)
    joint_ids = asset_cfg.joint_ids
    if isinstance(joint_ids, slice):
        joint_ids = torch.arange(asset.num_joints, device=asset.device)
    else:
        joint_ids = torch.as_tensor(joint_ids, device=asset.device)
    default = asset.data.default_joint_pos.torch
    offset = math_utils.sample_uniform(*pos_range, (env_ids.numel(), joint_ids.numel()), asset.device)
    rows, cols = env_ids[:, None], joint_ids[None, :]
    default[rows, cols] = default[rows, cols] + offset
    term = env.action_manager.get_term(action_name)
    if hasattr(term, "_offset") and isinstance(term._offset, torch.Tensor) and term._offset.dim() == 2:
        term_joint_ids = term._joint_ids
        if isinstance(term_joint_ids, slice):
            term._offset[env_ids] = default[env_ids][:, term_joint_ids]
        else:
            term._offset[env_ids] = default[env_ids][:, torch.as_tensor(term_joint_ids, device=asset.device)]


class assist_wrench(ManagerTermBase):
    """A fading helping hand: a PD wrench on the robot's root toward the reference root (world frame).

    Residual-force-control style assistance (Yuan & Kitani 2020) as a curriculum: early policies
    are held near the reference so they see whole steps, turns and landings instead of falling at
    the first one, and the help fades out as they succeed. Every env step (``mode="interval"``,
    ``interval_range_s=(0, 0)``, ``is_global_time=True``) the term sets, at the root body's centre of
    mass, the force [N] ``scale * clip(kp * (p_ref - p) + kd * (v_ref - v), max_force)`` and the torque
    [N m] ``scale * clip(kp_rot * rotvec(q_ref q^-1) + kd_rot * (w_ref - w), max_torque)``; positions,
    quaternions and velocities are the root link's, in the world frame, the reference's from the
    motion command (:attr:`~.commands.MotionCommand.ref`). The wrench is held over the step's
    physics substeps.

    ``scale`` starts at ``start_scale`` and, every ``interval_steps`` env steps, falls by ``step``
    while the motion library's mean per-clip training success rate is above ``success_high`` and
    rises by ``step`` below ``success_low`` (clamped to [0, ``start_scale``]); it is logged as
    ``Curriculum/assist_scale``. Play, evaluation and export remove the term
    (:meth:`~g1_mimic.tasks.mimic.mimic_env_cfg.MimicEnvCfg.play_mode`,
    :func:`g1_mimic.rl.session.policy_session`): a policy is always judged without help.
    """

    def __init__(self, cfg: EventTermCfg, env: ManagerBasedRLEnv):
        super().__init__(cfg, env)
        p = cfg.params
        if not 0.0 < p["start_scale"] <= 1.0 or not 0.0 < p["step"] <= 1.0 or not 0.0 <= p["success_low"] < p["success_high"] <= 1.0:
            raise ValueError(
                f"assist_wrench: need 0 < start_scale <= 1, 0 < step <= 1, 0 <= success_low < success_high <= 1; got {p}"
            )
        self.scale = float(p["start_scale"])
        self._last_update = 0
        self._body_ids: list[int] | None = None  # the root body, found at the first call (after the command exists)

    def __call__(
        self,
        env: ManagerBasedRLEnv,
        env_ids: torch.Tensor | None,
        command_name: str,
        kp: float,
        kd: float,
        kp_rot: float,
        kd_rot: float,
        max_force: float,
        max_torque: float,
        start_scale: float,
        step: float,
        success_low: float,
        success_high: float,
        interval_steps: int,
    ) -> None:
        command = env.command_manager.get_term(command_name)
        if self._body_ids is None:
            self._body_ids = [command.robot.body_names.index(command.cfg.root_body_name)]
        now = int(env.common_step_counter)
        if now - self._last_update >= interval_steps:
            self._last_update = now
            success = float(command.library.clip_success_rate.mean())
            if success > success_high:
                self.scale = max(0.0, self.scale - step)
            elif success < success_low:
                self.scale = min(start_scale, self.scale + step)
        env.extras.setdefault("log", {})["Curriculum/assist_scale"] = self.scale
        force, torque = self.wrench(command, kp, kd, kp_rot, kd_rot, max_force, max_torque)
        command.robot.permanent_wrench_composer.set_forces_and_torques_index(
            forces=(self.scale * force).unsqueeze(1),
            torques=(self.scale * torque).unsqueeze(1),
            body_ids=self._body_ids,
            is_global=True,
        )

    @staticmethod
    def wrench(
        command, kp: float, kd: float, kp_rot: float, kd_rot: float, max_force: float, max_torque: float
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The unscaled PD force ``(N, 3)`` [N] and torque ``(N, 3)`` [N m] on the root, world frame."""
        data = command.robot.data
        ref = command.ref
        i = command.root_index
        pos_err = ref.body_pos_w[:, i] - data.root_link_pos_w.torch
        vel_err = ref.body_lin_vel_w[:, i] - data.root_link_lin_vel_w.torch
        quat_err = math_utils.quat_mul(ref.body_quat_w[:, i], math_utils.quat_conjugate(data.root_link_quat_w.torch))
        rot_err = math_utils.axis_angle_from_quat(quat_err)
        ang_err = ref.body_ang_vel_w[:, i] - data.root_link_ang_vel_w.torch
        force = _clip_norm(kp * pos_err + kd * vel_err, max_force)
        torque = _clip_norm(kp_rot * rot_err + kd_rot * ang_err, max_torque)
        return force, torque


def _clip_norm(v: torch.Tensor, max_norm: float) -> torch.Tensor:
    """``v`` (``(N, 3)``) with each row's length clipped to ``max_norm``."""
    norm = v.norm(dim=-1, keepdim=True)
    return v * (max_norm / norm.clamp(min=max_norm))
