"""Curriculum terms of the tracking task.

:class:`adaptive_termination` (ASAP's and PBHC's termination curriculum, driven by success): the
failure thresholds of some termination terms start loose and tighten while the policy succeeds,
so early training sees whole steps and recoveries instead of episodes cut at the first stumble,
and the final policy is held to the task's own (strict) thresholds.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from isaaclab.managers import CurriculumTermCfg, ManagerTermBase

if TYPE_CHECKING:
    from isaaclab.envs import ManagerBasedRLEnv

__all__ = ["adaptive_termination"]


class adaptive_termination(ManagerTermBase):
    """Scale the ``threshold`` of termination terms between ``start_scale`` x and 1 x their cfg value.

    The thresholds written in the termination cfgs are the final (strict) ones. The term multiplies
    them by a scale that starts at ``start_scale`` and, every ``interval_steps`` env steps, moves by
    ``step`` toward 1 when the mean per-clip training success rate of the motion library
    (:attr:`~g1_mimic.motion.library.MotionLibrary.clip_success_rate`, an EMA over ended episodes:
    reached the clip's end vs terminated) is above ``success_high``, and back toward ``start_scale``
    when it is below ``success_low``. Returns the current scale (logged as ``Curriculum/<name>``).

    Play, evaluation and export drop the curriculum (:func:`g1_mimic.rl.session.policy_session`), so
    they use the strict thresholds.
    """

    def __init__(self, cfg: CurriculumTermCfg, env: ManagerBasedRLEnv):
        super().__init__(cfg, env)
        p = cfg.params
        if not p["start_scale"] >= 1.0 or not 0.0 < p["step"] <= 1.0 or not 0.0 <= p["success_low"] < p["success_high"] <= 1.0:
            raise ValueError(
                f"adaptive_termination: need start_scale >= 1, 0 < step <= 1, 0 <= success_low < success_high <= 1; got {p}"
            )
        self._terms = []
        for name in p["term_names"]:
            term_cfg = env.termination_manager.get_term_cfg(name)
            if "threshold" not in term_cfg.params:
                raise ValueError(f"adaptive_termination: termination term '{name}' has no 'threshold' parameter")
            self._terms.append((name, term_cfg, float(term_cfg.params["threshold"])))
        self.scale = float(p["start_scale"])
        self._last_update = 0
        self._apply()

    def _apply(self) -> None:
        for _, term_cfg, final in self._terms:
            term_cfg.params["threshold"] = final * self.scale

    def __call__(
        self,
        env: ManagerBasedRLEnv,
        env_ids: Sequence[int],
        term_names: Sequence[str],
        command_name: str,
        start_scale: float,
        step: float,
        success_low: float,
        success_high: float,
        interval_steps: int,
    ) -> float:
        now = int(env.common_step_counter)
        if now - self._last_update >= interval_steps:
            self._last_update = now
            success = float(env.command_manager.get_term(command_name).library.clip_success_rate.mean())
            if success > success_high:
                self.scale = max(1.0, self.scale - step * (start_scale - 1.0))
            elif success < success_low:
                self.scale = min(start_scale, self.scale + step * (start_scale - 1.0))
            self._apply()
        return self.scale
