"""rsl_rl's PPO with the update on its own torch thread count (for the CPU, where physics and update take turns).

On the CPU the batched MuJoCo-C solver steps the envs in one thread per core while the rollout runs,
so the policy's inference runs on one torch thread (``OMP_NUM_THREADS=1``, as every script sets it):
more would compete with the physics threads. During the PPO update the physics threads are idle,
and the update's matrix products can use every core. :class:`G1MimicPPO` runs
:meth:`rsl_rl.algorithms.PPO.update` with ``torch.set_num_threads(update_threads)`` and restores
the previous count afterwards; with ``update_threads=None`` it is rsl_rl's PPO unchanged. Selected
from the agent cfg by rsl_rl's ``class_name`` (``"g1_mimic.rl.ppo:G1MimicPPO"``); the checkpoints
are rsl_rl's. Measured in ``docs/performance.md`` (section 1, ``scripts/benchmark.py --ppo``).
"""

from __future__ import annotations

import torch
from rsl_rl.algorithms import PPO

__all__ = ["G1MimicPPO"]


class G1MimicPPO(PPO):
    """rsl_rl PPO whose :meth:`update` runs on ``update_threads`` torch threads (None: the current count)."""

    def __init__(self, *args, update_threads: int | None = None, **kwargs) -> None:
        if update_threads is not None and (not isinstance(update_threads, int) or update_threads < 1):
            raise ValueError(f"agent.algorithm.update_threads must be a positive integer or null, got {update_threads!r}")
        super().__init__(*args, **kwargs)
        self.update_threads = update_threads

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
