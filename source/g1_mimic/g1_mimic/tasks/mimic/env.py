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

    ``--video`` without Isaac Sim: video recorders that would need a Kit viewport (and any with
    ``source="mujoco"``) are served by :class:`~g1_mimic.tasks.mimic.video.MujocoVideoRecorder`
    (env 0 and its reference, MuJoCo's offscreen renderer), so kit-less training and play record too.
    """

    def __init__(self, cfg, render_mode: str | None = None, **kwargs):
        from .video import MujocoVideoRecorder, kit_available, wants_mujoco

        ours = [c for c in cfg.video_recorders if wants_mujoco(c.source)]
        if ours:
            cfg.video_recorders = [c for c in cfg.video_recorders if c not in ours]
            if not kit_available() and isinstance(getattr(cfg.sim, "visualizer_cfgs", None), list):
                # the headless Kit viewport Isaac Lab adds for --video cannot start without Isaac Sim
                cfg.sim.visualizer_cfgs = [v for v in cfg.sim.visualizer_cfgs if type(v).__name__ != "KitVisualizerCfg"]
            print("[g1_mimic] video: recording with MuJoCo's offscreen renderer (no Isaac Sim viewport)", flush=True)
        super().__init__(cfg, render_mode, **kwargs)
        self.video_recorders += [MujocoVideoRecorder(c, self) for c in ours]

    @property
    def physics_steps_per_call(self) -> int:
        """Physics steps (of ``physics_dt``) one ``sim.step()`` makes: the decimation when the physics runs the
        whole control period in one call (Isaac Lab's physics-owned decimation; the MuJoCo-C preset's
        ``fold_decimation``), else 1. Code that steps ``env.sim`` itself loops ``decimation // this`` times."""
        return self.cfg.decimation if self._physics_handles_decimation else 1

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
