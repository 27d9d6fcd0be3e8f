"""Event terms specific to the tracking task."""

from __future__ import annotations

from typing import TYPE_CHECKING

import isaaclab.utils.math as math_utils
import torch
from isaaclab.managers import SceneEntityCfg

if TYPE_CHECKING:
    from isaaclab.envs import ManagerBasedEnv

__all__ = ["randomize_joint_default_pos"]


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
