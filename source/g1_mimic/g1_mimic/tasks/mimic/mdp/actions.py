"""Joint-position actions relative to the reference motion (an alternative to the default pose offset).

``q_target = q_ref(t + dt) + scale * a``: the policy outputs corrections around the reference
joint positions of the instant the physics step ends (first-order prediction
``q_ref(t) + dt * qd_ref(t)`` from the motion command), instead of offsets from a fixed standing
pose. A zero action then means "follow the reference with the PD servos".
"""

from __future__ import annotations

from dataclasses import MISSING
from typing import TYPE_CHECKING

import torch
from isaaclab.envs.mdp.actions.actions_cfg import JointPositionActionCfg
from isaaclab.envs.mdp.actions.joint_actions import JointPositionAction
from isaaclab.utils import configclass

if TYPE_CHECKING:
    from isaaclab.envs import ManagerBasedEnv


class ReferenceJointPositionAction(JointPositionAction):
    """Joint position targets as offsets from the motion command's reference joint positions."""

    cfg: ReferenceJointPositionActionCfg

    def __init__(self, cfg: ReferenceJointPositionActionCfg, env: ManagerBasedEnv):
        super().__init__(cfg, env)
        self._env = env
        self._ref_cols: torch.Tensor | None = None

    def _reference(self) -> torch.Tensor:
        cmd = self._env.command_manager.get_term(self.cfg.command_name)
        if self._ref_cols is None:
            names = self._joint_names
            self._ref_cols = torch.tensor([cmd.joint_names.index(n) for n in names], device=self.device)
        return cmd.joint_pos[:, self._ref_cols] + self._env.step_dt * cmd.joint_vel[:, self._ref_cols]

    def process_actions(self, actions: torch.Tensor):
        self._raw_actions[:] = actions
        processed = self._raw_actions * self._scale + self._reference()
        if self.cfg.clip is not None:
            processed = torch.clamp(processed, min=self._clip[:, :, 0], max=self._clip[:, :, 1])
        self._processed_actions = processed


@configclass
class ReferenceJointPositionActionCfg(JointPositionActionCfg):
    """Cfg of :class:`ReferenceJointPositionAction` (``offset``/``use_default_offset`` are unused)."""

    class_type: type = ReferenceJointPositionAction
    command_name: str = MISSING
    use_default_offset: bool = False
