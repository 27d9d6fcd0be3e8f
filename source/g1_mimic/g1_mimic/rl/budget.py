"""A wall-clock budget for rsl_rl training: stop after the iteration that crosses it, saving a checkpoint."""

from __future__ import annotations

import os
import time


class TimeBudgetReached(Exception):
    """Raised inside the learning loop once the wall-clock budget is spent (caught by the wrapper)."""


def install_time_budget(max_seconds: float) -> None:
    """Make ``OnPolicyRunner.learn`` stop after the first iteration that ends ``max_seconds`` after it started.

    The budget counts the learning loop only (rollouts and updates; not building the env). On
    stopping, the runner saves ``model_<iteration>.pt`` (atomically, when
    :func:`g1_mimic.rl.checkpoint.install_atomic_runner_save` is installed) and closes its log writer,
    exactly as at the end of a full ``learn``. Single-process only: ranks of a distributed run would
    stop at different iterations.
    """
    if max_seconds <= 0:
        raise ValueError(f"max_seconds must be positive, got {max_seconds}")
    from rsl_rl.runners import OnPolicyRunner

    original = getattr(OnPolicyRunner.learn, "_g1_mimic_original", OnPolicyRunner.learn)

    def learn(self, num_learning_iterations: int, init_at_random_ep_len: bool = False) -> None:
        deadline = time.monotonic() + max_seconds
        logger = self.logger
        log = logger.log

        def log_then_check(*args, **kwargs):
            log(*args, **kwargs)
            if time.monotonic() >= deadline:
                raise TimeBudgetReached

        logger.log = log_then_check
        try:
            original(self, num_learning_iterations, init_at_random_ep_len)
        except TimeBudgetReached:
            it = self.current_learning_iteration
            print(f"[train] wall-clock budget of {max_seconds / 60:.1f} min reached after iteration {it}: "
                  "saving and stopping", flush=True)
            if logger.writer is not None:
                self.save(os.path.join(logger.log_dir, f"model_{it}.pt"))
                logger.stop_logging_writer()
        finally:
            logger.log = log

    learn._g1_mimic_original = original  # type: ignore[attr-defined]
    OnPolicyRunner.learn = learn
