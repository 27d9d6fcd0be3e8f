"""Hooks around rsl_rl's learning loop: a wall-clock budget, a clean stop on Ctrl-C/SIGTERM, the run folder.

``scripts/train.py`` runs Isaac Lab's own training entry point; these hooks wrap
``OnPolicyRunner.learn`` so that

- the run folder is known the moment the runner starts (``on_start(log_dir)``: the record of the run
  is written there before the first iteration, so an interrupted run still remembers its motion and
  overrides, and no scan of ``logs/`` is needed to find it);
- training stops after the iteration that crosses a wall-clock budget, or after the iteration
  running when SIGINT (Ctrl-C) or SIGTERM arrives, and then saves ``model_<iteration>.pt`` (atomically,
  with :func:`g1_mimic.rl.checkpoint.install_atomic_runner_save`) and closes the log writer, exactly
  as at the end of a full ``learn``; a second signal exits at once (status 130);
- the algorithm learns how far the run is after each iteration (:func:`run_progress`, passed to its
  ``set_progress`` where it has one: :class:`g1_mimic.rl.ppo.G1MimicPPO`'s noise anneal);
- a run on more than one clip prints each clip's training success, error and sampling share
  (:func:`clip_table`) every ``CLIP_TABLE_EVERY_S`` and at its end.

Single-process only for the budget: ranks of a distributed run would stop at different iterations.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable


class StopTraining(Exception):
    """Raised inside the learning loop (after an iteration's log) to end it early; caught by the wrapper."""


class _StopRequest:
    """Turns the first SIGINT/SIGTERM into a request to stop after the iteration; the second exits at once."""

    def __init__(self) -> None:
        self.signal_name: str | None = None

    def __call__(self, signum: int, frame) -> None:
        name = signal.Signals(signum).name
        if self.signal_name is not None:
            print(f"\n[train] {name} again: exiting now without saving", file=sys.stderr, flush=True)
            os._exit(130)
        self.signal_name = name
        print(
            f"\n[train] {name}: stopping after this iteration, then saving and exporting (again to exit at once)",
            file=sys.stderr,
            flush=True,
        )


PROGRESS_EVERY_S = 30.0
"""Seconds between the budget progress lines of a ``--max_minutes`` run."""

CLIP_TABLE_EVERY_S = 300.0
"""Seconds between the per-clip tables of a multi-clip run (:func:`clip_table`)."""


def budget_progress(iteration: int, elapsed_s: float, budget_s: float, episode_lengths) -> str:
    """One progress line of a wall-clock-budgeted run: iteration, minutes spent of the budget, the ETA
    (the budget's end; rsl_rl's own ETA counts to ``max_iterations``), and the mean training episode
    length in env steps over rsl_rl's last 100 finished episodes."""
    lengths = list(episode_lengths)
    mean = f", mean episode {sum(lengths) / len(lengths):.0f} steps" if lengths else ""
    left = max(budget_s - elapsed_s, 0.0)
    return (
        f"[train] iteration {iteration}: {elapsed_s / 60:.1f} of {budget_s / 60:.1f} min, "
        f"ETA {int(left // 60)}:{int(left % 60):02d}{mean}"
    )


def run_progress(elapsed_s: float, budget_s: float | None, iterations_done: int, iterations: int) -> float:
    """How far a run is, from 0 to 1: the share of its wall-clock budget spent if it has one, else the
    share of its iterations done (the larger of the two where both bound it; the run stops at either)."""
    by_iterations = iterations_done / iterations if iterations > 0 else 1.0
    if budget_s is None:
        return min(by_iterations, 1.0)
    return min(max(elapsed_s / budget_s, by_iterations), 1.0)


def clip_table(library, iteration: int) -> list[str]:
    """Console lines of a multi-clip run's per-clip training state, one clip per line in the library's
    order: the success EMA (share of episodes ended by time-out), the episode-mean body position error
    EMA (cm; ``-`` before the clip's first ended episode) and the clip's current sampling share.

    ``library`` is the task's :class:`~g1_mimic.motion.library.MotionLibrary`.
    """
    success = library.clip_success_rate.tolist()
    error = library.clip_error.tolist()
    share = library.clip_probs().tolist()
    width = max(len(n) for n in library.clip_names)
    lines = [f"[train] clips at iteration {iteration} (training success EMA, body position error EMA, sampled share):"]
    for name, s, e, p in zip(library.clip_names, success, error, share, strict=True):
        err = "   -   " if e != e else f"{100.0 * e:4.1f} cm"
        lines.append(f"[train]   {name:<{width}}  success {s:4.2f}  error {err}  sampled {100.0 * p:3.0f} %")
    return lines


def _motion_library(runner):
    """The multi-clip motion library of the runner's env (a command term with a ``library`` of more
    than one clip), or None."""
    env = getattr(getattr(runner, "env", None), "unwrapped", None)
    manager = getattr(env, "command_manager", None)
    for name in getattr(manager, "active_terms", []):
        library = getattr(manager.get_term(name), "library", None)
        if library is not None and library.num_clips > 1:
            return library
    return None


def install_learn_hooks(
    max_seconds: float | None = None,
    on_start: Callable[[str], None] | None = None,
    stop_on_signals: bool = True,
) -> None:
    """Wrap ``OnPolicyRunner.learn`` with a wall-clock budget, signal stops and a start callback.

    Args:
        max_seconds: Budget of the learning loop in seconds (rollouts and updates; not building the
            env), or None for none. Must be positive.
        on_start: Called with the runner's log directory before the first iteration.
        stop_on_signals: Turn SIGINT/SIGTERM into "save and stop after this iteration" while learning.
    """
    if max_seconds is not None and not max_seconds > 0:
        raise ValueError(f"max_seconds must be positive, got {max_seconds}")
    from rsl_rl.runners import OnPolicyRunner

    original = getattr(OnPolicyRunner.learn, "_g1_mimic_original", OnPolicyRunner.learn)

    def learn(self, num_learning_iterations: int, init_at_random_ep_len: bool = False) -> None:
        logger = self.logger
        if on_start is not None and logger.log_dir is not None:
            on_start(logger.log_dir)
        deadline = None if max_seconds is None else time.monotonic() + max_seconds
        request = _StopRequest()
        previous = {}
        if stop_on_signals:
            for sig in (signal.SIGINT, signal.SIGTERM):
                previous[sig] = signal.signal(sig, request)
        log = logger.log

        started = time.monotonic()
        last_line = [started, started]
        library = _motion_library(self)
        first_iteration = self.current_learning_iteration
        set_progress = getattr(self.alg, "set_progress", None)

        def log_then_check(*args, **kwargs):
            log(*args, **kwargs)
            now = time.monotonic()
            if set_progress is not None:
                set_progress(
                    run_progress(now - started, max_seconds, self.current_learning_iteration - first_iteration + 1, num_learning_iterations)
                )
            if deadline is not None and now - last_line[0] >= PROGRESS_EVERY_S:
                last_line[0] = now
                print(budget_progress(self.current_learning_iteration, now - started, max_seconds, logger.lenbuffer), flush=True)
            if library is not None and now - last_line[1] >= CLIP_TABLE_EVERY_S:
                last_line[1] = now
                print("\n".join(clip_table(library, self.current_learning_iteration)), flush=True)
            if request.signal_name is not None:
                raise StopTraining(f"{request.signal_name} received")
            if deadline is not None and now >= deadline:
                raise StopTraining(f"wall-clock budget of {max_seconds / 60:.1f} min reached")

        logger.log = log_then_check
        try:
            original(self, num_learning_iterations, init_at_random_ep_len)
        except StopTraining as reason:
            it = self.current_learning_iteration
            print(f"[train] {reason} after iteration {it}: saving and stopping", flush=True)
            if library is not None:
                print("\n".join(clip_table(library, it)), flush=True)
            if logger.writer is not None:
                path = os.path.join(logger.log_dir, f"model_{it}.pt")
                self.save(path)
                print(f"[train] saved {path}", flush=True)
                logger.stop_logging_writer()
        else:
            if library is not None:  # the run reached max_iterations
                print("\n".join(clip_table(library, self.current_learning_iteration)), flush=True)
        finally:
            logger.log = log
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    learn._g1_mimic_original = original  # type: ignore[attr-defined]
    OnPolicyRunner.learn = learn
