"""Joint-position action terms of the tracking task.

:class:`RealisticJointPositionAction` is Isaac Lab's joint-position action (``q_target = offset +
scale * a``) with optional actuation realism applied to the policy output ``a`` before the affine
map, in this order:

1. action noise (VideoMimic): ``a + N(0, noise_std^2)``;
2. first-order low-pass filter (VideoMimic): ``f_t = alpha * a_t + (1 - alpha) * f_{t-1}``;
3. control delay (HumanoidVerse): the target applied at step ``t`` uses ``f_{t-k}``, with ``k`` drawn
   per env at every reset from ``delay_range`` (control steps of ``step_dt``) through an action queue.

All three are off by default (noise 0, alpha 1, delay 0), which is exactly Isaac Lab's action.

:class:`ReferenceJointPositionAction` uses the reference as offset: ``q_target = q_ref(t) +
lead * qd_ref(t) + scale * a`` (the motion command's reference, predicted ``lead`` seconds ahead along its
velocity; by default one control step), so a zero action means "follow the reference with the PD servos".
A lead of one step plus the servo's lag ``D / K`` (:data:`~g1_mimic.robots.g1_constants.PD_LAG_S`) is the
reference's velocity fed forward to the servos, which then follow fast motion without trailing it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import MISSING
from typing import TYPE_CHECKING

import torch
from isaaclab.envs.mdp.actions.actions_cfg import JointPositionActionCfg
from isaaclab.envs.mdp.actions.joint_actions import JointPositionAction
from isaaclab.utils import configclass

if TYPE_CHECKING:
    from isaaclab.envs import ManagerBasedEnv


def reference_offset(ref_joint_pos: torch.Tensor, ref_joint_vel: torch.Tensor, lead_s: float) -> torch.Tensor:
    """The reference-offset action's offset: the reference joint positions predicted ``lead_s`` seconds ahead
    along their velocity, ``q_ref + lead_s * qd_ref`` (rad). The one definition: the env's action term and the
    exported policy graph (:mod:`g1_mimic.rl.policy_graph`) both call it."""
    return ref_joint_pos + lead_s * ref_joint_vel


class RealisticJointPositionAction(JointPositionAction):
    """Joint-position action with optional noise, low-pass filter and per-env control delay."""

    cfg: RealisticJointPositionActionCfg

    def __init__(self, cfg: RealisticJointPositionActionCfg, env: ManagerBasedEnv):
        super().__init__(cfg, env)
        self._env = env
        lo, hi = cfg.delay_range
        if not (0 <= lo <= hi):
            raise ValueError(f"{type(cfg).__name__}.delay_range must satisfy 0 <= min <= max, got {cfg.delay_range}")
        if not (0.0 < cfg.filter_alpha <= 1.0):
            raise ValueError(f"{type(cfg).__name__}.filter_alpha must be in (0, 1], got {cfg.filter_alpha}")
        if cfg.noise_std < 0.0:
            raise ValueError(f"{type(cfg).__name__}.noise_std must be >= 0, got {cfg.noise_std}")
        self._shaping = cfg.noise_std > 0.0 or cfg.filter_alpha < 1.0 or hi > 0
        n, a = self.num_envs, self.action_dim
        self._filtered = torch.zeros(n, a, device=self.device)
        self._queue = torch.zeros(hi + 1, n, a, device=self.device)
        self._head = 0
        self._delay = torch.randint(lo, hi + 1, (n,), device=self.device)
        self._env_index = torch.arange(n, device=self.device)
        self._applied = self._raw_actions
        self._targets_pending = False

    @property
    def delay_steps(self) -> torch.Tensor:
        """Current control delay of each env (control steps)."""
        return self._delay

    @property
    def applied_actions(self) -> torch.Tensor:
        """The (noisy, filtered, delayed) actions that produced the current targets, ``[N, A]``."""
        return self._applied

    def _shape(self, actions: torch.Tensor) -> torch.Tensor:
        cfg = self.cfg
        if not self._shaping:
            self._applied = actions
            return actions
        if cfg.noise_std > 0.0:
            actions = actions + cfg.noise_std * torch.randn_like(actions)
        self._filtered = cfg.filter_alpha * actions + (1.0 - cfg.filter_alpha) * self._filtered
        length = self._queue.shape[0]
        self._head = (self._head + 1) % length
        self._queue[self._head] = self._filtered
        slot = (self._head - self._delay) % length
        self._applied = self._queue[slot, self._env_index]
        return self._applied

    def _offset_now(self) -> torch.Tensor | float:
        return self._offset

    def process_actions(self, actions: torch.Tensor):
        self._raw_actions[:] = actions
        processed = self._shape(self._raw_actions) * self._scale + self._offset_now()
        if self.cfg.clip is not None:
            processed = torch.clamp(processed, min=self._clip[:, :, 0], max=self._clip[:, :, 1])
        self._processed_actions = processed
        self._targets_pending = True

    def apply_actions(self):
        """Set the joint position targets once per env step.

        Isaac Lab calls this before every physics step it makes (once per env step where the physics folds the
        control period, as the MuJoCo-C preset does); the targets only change when
        :meth:`process_actions` runs (once per env step), and nothing else writes them in between, so
        the later substeps' writes are skipped (the same targets; measured in ``docs/performance.md``).
        """
        if self._targets_pending:
            super().apply_actions()
            self._targets_pending = False

    def reset(self, env_ids: Sequence[int] | None = None) -> None:
        super().reset(env_ids)
        if not self._shaping:
            return
        if env_ids is None or isinstance(env_ids, slice):
            ids = self._env_index if env_ids is None else self._env_index[env_ids]
        else:
            ids = torch.as_tensor(env_ids, device=self.device).long()
        self._filtered[ids] = 0.0
        self._queue[:, ids] = 0.0
        lo, hi = self.cfg.delay_range
        self._delay[ids] = torch.randint(lo, hi + 1, (ids.numel(),), device=self.device)


@configclass
class RealisticJointPositionActionCfg(JointPositionActionCfg):
    """Cfg of :class:`RealisticJointPositionAction` (defaults: Isaac Lab's plain joint-position action)."""

    class_type: type = RealisticJointPositionAction
    noise_std: float = 0.0
    """Std of Gaussian noise added to the policy output (action units)."""
    filter_alpha: float = 1.0
    """Low-pass filter coefficient in (0, 1]; 1 disables the filter."""
    delay_range: tuple[int, int] = (0, 0)
    """Control delay in control steps, drawn per env at reset from [min, max] (inclusive)."""


class ReferenceJointPositionAction(RealisticJointPositionAction):
    """Joint position targets as offsets from the motion command's reference joint positions."""

    cfg: ReferenceJointPositionActionCfg

    def __init__(self, cfg: ReferenceJointPositionActionCfg, env: ManagerBasedEnv):
        super().__init__(cfg, env)
        self._ref_cols: torch.Tensor | None = None
        if cfg.lead_s is not None and cfg.lead_s < 0.0:
            raise ValueError(f"{type(cfg).__name__}.lead_s must be >= 0 s or None (one control step), got {cfg.lead_s}")

    @property
    def lead_s(self) -> float:
        """How far ahead along the reference velocity the offset is taken (s)."""
        return float(self._env.step_dt if self.cfg.lead_s is None else self.cfg.lead_s)

    def _offset_now(self) -> torch.Tensor:
        cmd = self._env.command_manager.get_term(self.cfg.command_name)
        if self._ref_cols is None:
            self._ref_cols = torch.tensor([cmd.joint_names.index(n) for n in self._joint_names], device=self.device)
        return reference_offset(cmd.joint_pos[:, self._ref_cols], cmd.joint_vel[:, self._ref_cols], self.lead_s)


@configclass
class ReferenceJointPositionActionCfg(RealisticJointPositionActionCfg):
    """Cfg of :class:`ReferenceJointPositionAction` (``offset``/``use_default_offset`` are unused)."""

    class_type: type = ReferenceJointPositionAction
    command_name: str = MISSING
    use_default_offset: bool = False
    lead_s: float | None = None
    """Offset ``q_ref(t) + lead_s * qd_ref(t)`` (s ahead along the reference velocity); None: one control step."""
