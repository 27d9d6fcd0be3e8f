"""rsl_rl's PPO with two additions for the CPU: the update on its own torch thread count, and an action
noise that falls over the last part of a run.

Threads. On the CPU the batched MuJoCo-C solver steps the envs in one thread per core while the rollout
runs, so the policy's inference runs on one torch thread (``OMP_NUM_THREADS=1``, as every script sets
it): more would compete with the physics threads. During the PPO update the physics threads are idle,
and the update's matrix products can use every core. :class:`G1MimicPPO` runs
:meth:`rsl_rl.algorithms.PPO.update` with ``torch.set_num_threads(update_threads)`` and restores the
previous count afterwards; with ``update_threads=None`` the count is left alone.

Noise anneal. A Gaussian policy's noise std, clamped by rsl_rl to ``std_range``, sits at its upper bound
for most of a short CPU run (0.4 in the CPU learning preset), so the policy is trained for its noisy
actions while it is evaluated, exported and deployed with its mean. With ``noise_anneal_from=f`` the
upper bound falls linearly from its value when the run has done the share ``f`` of its length to
``noise_anneal_to_std`` at the end: the last part of the run refines the mean action with less
exploration (and the KL-adaptive learning rate falls with it, the KL of a mean change growing as
1/std^2). The run's length is its wall-clock budget (``scripts/train.py --max_minutes``) or else its
iterations; the learning loop tells the algorithm how far it is after each iteration
(:meth:`G1MimicPPO.set_progress`, from :func:`g1_mimic.rl.train_loop.install_learn_hooks`).

Selected from the agent cfg by rsl_rl's ``class_name`` (``"g1_mimic.rl.ppo:G1MimicPPO"``); the
checkpoints are rsl_rl's. Measured in ``docs/performance.md`` (sections 1 and 5).
"""

from __future__ import annotations

import math

import torch
from rsl_rl.algorithms import PPO

__all__ = ["G1MimicPPO"]


class G1MimicPPO(PPO):
    """rsl_rl PPO whose :meth:`update` runs on ``update_threads`` torch threads (None: the current count)
    and whose action-noise upper bound falls to ``noise_anneal_to_std`` from the share ``noise_anneal_from``
    of the run on (None: never)."""

    def __init__(
        self,
        *args,
        update_threads: int | None = None,
        noise_anneal_from: float | None = None,
        noise_anneal_to_std: float = 0.1,
        **kwargs,
    ) -> None:
        if update_threads is not None and (not isinstance(update_threads, int) or update_threads < 1):
            raise ValueError(f"agent.algorithm.update_threads must be a positive integer or null, got {update_threads!r}")
        if noise_anneal_from is not None and not 0.0 <= noise_anneal_from < 1.0:
            raise ValueError(
                f"agent.algorithm.noise_anneal_from must be in [0, 1) (a share of the run) or null, got {noise_anneal_from!r}"
            )
        if not noise_anneal_to_std > 0.0:
            raise ValueError(f"agent.algorithm.noise_anneal_to_std must be positive, got {noise_anneal_to_std!r}")
        super().__init__(*args, **kwargs)
        self.update_threads = update_threads
        self.noise_anneal_from = noise_anneal_from
        self.noise_anneal_to_std = float(noise_anneal_to_std)
        self.progress = 0.0
        """How far the run is, 0 at its start and 1 at its end (set by the learning loop after each iteration)."""
        self._anneal_start_cap: float | None = None
        distribution = getattr(self.actor, "distribution", None)
        if noise_anneal_from is not None and not hasattr(distribution, "std_range"):
            raise ValueError(
                "agent.algorithm.noise_anneal_from needs a Gaussian actor with a std_range (agent.actor.distribution_cfg)"
            )

    def noise_cap(self) -> float | None:
        """The action-noise std upper bound for the current :attr:`progress` (None before the anneal starts).

        The bound starts from the distribution's own upper bound or, if the std is below it then, from the
        largest std at that moment, and falls linearly to ``noise_anneal_to_std`` at progress 1."""
        if self.noise_anneal_from is None or self.progress < self.noise_anneal_from:
            return None
        distribution = self.actor.distribution
        if self._anneal_start_cap is None:
            std = distribution.std_param if distribution.std_type == "scalar" else distribution.log_std_param.exp()
            self._anneal_start_cap = min(float(distribution.std_range[1]), float(std.detach().max()))
        share = min((self.progress - self.noise_anneal_from) / (1.0 - self.noise_anneal_from), 1.0)
        return self._anneal_start_cap + share * (min(self.noise_anneal_to_std, self._anneal_start_cap) - self._anneal_start_cap)

    def set_progress(self, progress: float) -> None:
        """Record how far the run is (0 to 1) and apply the noise cap it gives to the actor's distribution,
        for the next rollout and update."""
        self.progress = min(max(float(progress), 0.0), 1.0)
        cap = self.noise_cap()
        if cap is None:
            return
        distribution = self.actor.distribution
        distribution.std_range[1] = max(cap, distribution.std_range[0])
        distribution.log_std_range[1] = math.log(distribution.std_range[1])

    def update(self) -> dict[str, float]:
        """One PPO update (rsl_rl's), on ``update_threads`` torch threads; the thread count is restored after."""
        if self.update_threads is None:
            return super().update()
        previous = torch.get_num_threads()
        torch.set_num_threads(self.update_threads)
        try:
            return super().update()
        finally:
            torch.set_num_threads(previous)
