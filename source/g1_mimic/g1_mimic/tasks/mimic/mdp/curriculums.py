"""Curriculum terms of the tracking task.

:class:`adaptive_termination` (ASAP's and PBHC's termination curriculum, driven by success): the
failure thresholds of some termination terms start loose and tighten while the policy succeeds,
so early training sees whole steps and recoveries instead of episodes cut at the first stumble,
and the final policy is held to the task's own (strict) thresholds.

:class:`adaptive_reward_std` (PBHC's adaptive motion tracking, driven by the error reached): the
``std`` of exp-kernel tracking rewards shrinks to the tracking error the policy reaches, so the reward
keeps paying for accuracy below the cfg's std (at std 0.3 m a 5 cm body error still earns 0.97 of the
term, and nothing pays to go from 5 to 2 cm).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch
from isaaclab.managers import CurriculumTermCfg, ManagerTermBase

if TYPE_CHECKING:
    from isaaclab.envs import ManagerBasedRLEnv

__all__ = ["adaptive_reward_std", "adaptive_termination"]


class adaptive_termination(ManagerTermBase):
    """Scale the ``threshold`` of termination terms between ``start_scale`` x and 1 x their cfg value.

    The thresholds written in the termination cfgs are the final (strict) ones. The term multiplies
    them by a scale that starts at ``start_scale`` and, every ``interval_steps`` env steps, moves by
    ``step`` toward 1 when a success signal is above ``success_high``, and back toward ``start_scale``
    when it is below ``success_low``. Returns the current scale (logged as ``Curriculum/<name>``).

    The signal (``signal``): ``"success"``, the mean per-clip training success rate of the motion library
    (:attr:`~g1_mimic.motion.library.MotionLibrary.clip_success_rate`, an EMA over ended episodes: reached
    the clip's end vs terminated); or ``"own_share"``, one minus the share of the episodes ended since the last
    update that these terms ended. The second does not depend on the clip's length: on a long clip a
    policy that plays most of it still rarely reaches the end from a random start, so the success rate stays
    low, while the share of episodes its own terms end says whether their thresholds are within reach.

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
        if p.get("signal", "success") not in ("success", "own_share"):
            raise ValueError(f"adaptive_termination: signal must be 'success' or 'own_share'; got {p['signal']!r}")
        self._terms = []
        for name in p["term_names"]:
            if name not in env.termination_manager.active_terms:
                hint = "; the drift rule is presets=drift_termination" if name == "body_drift" else ""
                raise ValueError(
                    f"adaptive_termination: no termination term '{name}' in this task (active: "
                    f"{', '.join(env.termination_manager.active_terms)}){hint}"
                )
            term_cfg = env.termination_manager.get_term_cfg(name)
            if "threshold" not in term_cfg.params:
                raise ValueError(f"adaptive_termination: termination term '{name}' has no 'threshold' parameter")
            self._terms.append((name, term_cfg, float(term_cfg.params["threshold"])))
        self.scale = float(p["start_scale"])
        self._last_update = 0
        self._ended = torch.zeros((), device=env.device)  # episodes ended since the last update ...
        self._own = torch.zeros((), device=env.device)  # ... and of those, ended by these terms
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
        signal: str = "success",
    ) -> float:
        now = int(env.common_step_counter)
        # a slice is the env's reset() of every env at once (start-up), not episodes that ended
        if signal == "own_share" and not isinstance(env_ids, slice) and len(env_ids) > 0:
            tm = env.termination_manager  # this step's flags: the curriculum runs as the ended envs reset
            own = torch.stack([tm.get_term(name)[env_ids] for name, _, _ in self._terms]).any(0)
            self._ended += own.numel()
            self._own += own.sum()
        if now - self._last_update >= interval_steps:
            self._last_update = now
            if signal == "success":
                success = float(env.command_manager.get_term(command_name).library.clip_success_rate.mean())
            else:  # None where no episode ended since the last update: hold
                ended = float(self._ended)
                success = 1.0 - float(self._own) / ended if ended > 0 else None
            self._ended.zero_()
            self._own.zero_()
            if success is not None and success > success_high:
                self.scale = max(1.0, self.scale - step * (start_scale - 1.0))
            elif success is not None and success < success_low:
                self.scale = min(start_scale, self.scale + step * (start_scale - 1.0))
            self._apply()
        return self.scale


class adaptive_reward_std(ManagerTermBase):
    """Shrink the ``std`` of exp-kernel tracking rewards to the error the policy reaches (PBHC).

    ``terms`` maps reward term names to the command metric that measures their error (``error_<metric>``
    of :class:`~g1_mimic.tasks.mimic.mdp.commands.MotionCommand`: episode-averaged, m or rad). The
    term sums each metric over the episodes that end, weighted by their length (a mean per env step; an
    episode longer than the steps taken so far, whose length the training loop set at random, is left out);
    every ``interval_steps`` env steps, while the mean per-clip training success rate of the motion
    library is at least ``success_min`` and the episodes that ended since the last update lasted
    ``min_episode_s`` seconds on average (an error reached by falling early is no target), it sets each
    ``std = max(floor, min(std, mean error))``: the std never grows, and its floor is ``floors[term]``.
    Returns ``{term: std}`` (logged as ``Curriculum/<name>/<term>``).

    Play, evaluation and export drop the curriculum (:func:`g1_mimic.rl.session.policy_session`); the
    reward does not enter the policy, so nothing of it is exported.
    """

    def __init__(self, cfg: CurriculumTermCfg, env: ManagerBasedRLEnv):
        super().__init__(cfg, env)
        p = cfg.params
        cmd = env.command_manager.get_term(p["command_name"])
        self._terms = []
        for name, metric in p["terms"].items():
            term_cfg = env.reward_manager.get_term_cfg(name)
            if "std" not in term_cfg.params:
                raise ValueError(f"adaptive_reward_std: reward term '{name}' has no 'std' parameter")
            if f"error_{metric}" not in cmd.metrics:
                raise ValueError(f"adaptive_reward_std: command '{p['command_name']}' has no metric 'error_{metric}' (term '{name}')")
            if name not in p["floors"] or not 0.0 < float(p["floors"][name]) <= float(term_cfg.params["std"]):
                raise ValueError(f"adaptive_reward_std: need 0 < floors['{name}'] <= its std {term_cfg.params['std']}; got {p['floors']}")
            self._terms.append((name, f"error_{metric}", term_cfg))
        self._sums = torch.zeros(len(self._terms), device=env.device)
        self._steps = torch.zeros((), device=env.device)
        self._episodes = torch.zeros((), device=env.device)
        self._last_update = 0

    def __call__(
        self,
        env: ManagerBasedRLEnv,
        env_ids: Sequence[int],
        terms: dict[str, str],
        floors: dict[str, float],
        command_name: str,
        success_min: float,
        min_episode_s: float,
        interval_steps: int,
    ) -> dict[str, float]:
        cmd = env.command_manager.get_term(command_name)
        now = int(env.common_step_counter)
        length = env.episode_length_buf[env_ids].float()
        # no episode is longer than the steps taken so far; longer ones began at a made-up length (a runner cfg
        # with init_at_random_ep_len, Isaac Lab's default; ours turn it off) and their errors are averaged over it
        length = length * (length <= now)
        for k, (_, metric, _) in enumerate(self._terms):
            self._sums[k] += (cmd.metrics[metric][env_ids] * length).sum()
        self._steps += length.sum()
        self._episodes += (length > 0).sum()
        if now - self._last_update >= interval_steps and float(self._steps) > 0.0:
            self._last_update = now
            mean_episode_s = float(self._steps / self._episodes) * env.step_dt
            if float(cmd.library.clip_success_rate.mean()) >= success_min and mean_episode_s >= min_episode_s:
                errors = (self._sums / self._steps).tolist()
                for (name, _, term_cfg), error in zip(self._terms, errors, strict=True):
                    term_cfg.params["std"] = max(float(floors[name]), min(float(term_cfg.params["std"]), error))
            self._sums.zero_()
            self._steps.zero_()
            self._episodes.zero_()
        return {name: float(term_cfg.params["std"]) for name, _, term_cfg in self._terms}
