"""The tracking env class: Isaac Lab's ``ManagerBasedRLEnv`` plus isolation of diverged envs."""

from __future__ import annotations

import torch
from isaaclab.envs import ManagerBasedRLEnv


class MimicRLEnv(ManagerBasedRLEnv):
    """``ManagerBasedRLEnv`` that keeps one diverged env from poisoning the batch, and can clip the
    total reward at zero (``cfg.clip_reward_at_zero``, legged_gym's ``only_positive_rewards``).

    An env whose physics state turns non-finite is terminated by the ``nonfinite_state`` term and
    reset in the same step. Its last reward, episode reward sums and tracking metrics are NaN; they
    are replaced by 0 before the managers log them or the learner sees them, and the number of such
    envs is logged as ``Episode_Termination/nonfinite_rewards_zeroed``.
    """

    def load_managers(self):
        super().load_managers()
        if getattr(self.cfg, "clip_reward_at_zero", False):
            compute = self.reward_manager.compute

            def clipped(dt: float) -> torch.Tensor:
                return compute(dt).clamp_(min=0.0)

            self.reward_manager.compute = clipped

    def _reset_idx(self, env_ids: torch.Tensor | slice):
        reward_buf = getattr(self, "reward_buf", None)  # absent during the first reset, before any step
        count = int((~torch.isfinite(reward_buf)).sum()) if reward_buf is not None else 0
        if count:
            self.reward_buf.nan_to_num_(nan=0.0, posinf=0.0, neginf=0.0)
            self.reward_manager._episode_sum_buf.nan_to_num_(nan=0.0, posinf=0.0, neginf=0.0)
            self.reward_manager._step_reward.nan_to_num_(nan=0.0, posinf=0.0, neginf=0.0)
            for term in self.command_manager._terms.values():
                for value in term.metrics.values():
                    value.nan_to_num_(nan=0.0, posinf=0.0, neginf=0.0)
        super()._reset_idx(env_ids)
        self.extras["log"]["Episode_Termination/nonfinite_rewards_zeroed"] = count
