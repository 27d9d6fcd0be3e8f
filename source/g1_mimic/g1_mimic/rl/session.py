"""Build a task env and an rsl_rl runner with a loaded checkpoint (play, export, evaluation).

Follows the steps of Isaac Lab 3.0's ``play_rsl_rl`` backend: resolve the task cfg (presets and
Hydra overrides), launch the simulation runtime (Kit for PhysX, nothing kit-less), create the env,
wrap it for rsl_rl and load the checkpoint.
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from g1_mimic.device import default_device


@dataclass
class PolicySession:
    """An env (rsl_rl-wrapped), its runner with the checkpoint loaded, and the inference policy."""

    env: Any
    runner: Any
    policy: Any
    env_cfg: Any
    agent_cfg: Any

    @property
    def unwrapped(self):
        return self.env.unwrapped


def use_device(env_cfg: Any, device: str, agent_cfg: Any = None) -> None:
    """Put a resolved env cfg (and an agent cfg) on ``device``; on the CPU, CUDA graphs off.

    The one place scripts, the benchmark and tests move a task to an explicit device (the task cfgs
    choose the CPU and its sizing themselves when no CUDA device exists: ``apply_cpu_defaults``).
    """
    env_cfg.sim.device = device
    if device == "cpu":
        with contextlib.suppress(AttributeError):
            env_cfg.sim.physics.use_cuda_graph = False
    if agent_cfg is not None:
        agent_cfg.device = device


def drop_training_only(env_cfg) -> None:
    """Remove from a resolved env cfg what only training uses, so that play, evaluation and export hold every
    policy to the task's own conditions: the curriculum (loose termination thresholds, reward stds), the root
    assist and the drift termination (``presets=assist``, ``presets=drift_termination``)."""
    env_cfg.curriculum = None
    if getattr(env_cfg.events, "assist", None) is not None:
        env_cfg.events.assist = None
    if getattr(env_cfg.terminations, "body_drift", None) is not None:
        env_cfg.terminations.body_drift = None


@contextlib.contextmanager
def policy_session(
    task: str,
    checkpoint: str | None,
    num_envs: int | None = None,
    device: str | None = None,
    overrides: Sequence[str] = (),
    play_mode: bool = True,
    launcher_args: argparse.Namespace | None = None,
    env_cfg_hook=None,
) -> Iterator[PolicySession]:
    """Context manager yielding a :class:`PolicySession`; closes the env on exit.

    ``overrides`` are Hydra-style (``env.x=y``, ``presets=...``). ``env_cfg_hook(env_cfg)`` may
    edit the resolved env cfg before the env is created. ``checkpoint`` None gives an untrained
    policy (used by tests of the export path).
    """
    import gymnasium as gym
    from isaaclab.app import launch_simulation
    from isaaclab_rl.rsl_rl import (
        RslRlVecEnvWrapper,
        check_rsl_rl_version,
        create_rsl_rl_runner,
        handle_deprecated_rsl_rl_cfg,
    )
    from isaaclab_tasks.utils import resolve_task_config

    import g1_mimic.tasks  # noqa: F401  (registers the tasks)
    from g1_mimic.rl.checkpoint import merge_overrides, recorded_policy_overrides

    device = device or default_device()
    if checkpoint is not None:
        recorded = recorded_policy_overrides(checkpoint)
        if recorded:
            print(f"[g1_mimic] applying the overrides recorded with the checkpoint's run: {recorded}", flush=True)
        overrides = merge_overrides(recorded, list(overrides))
    env_cfg, agent_cfg = resolve_task_config(task, "rsl_rl_cfg_entry_point", play_mode=play_mode, overrides=list(overrides))
    use_device(env_cfg, device, agent_cfg)
    drop_training_only(env_cfg)
    if num_envs is not None:
        env_cfg.scene.num_envs = num_envs
    if env_cfg_hook is not None:
        env_cfg_hook(env_cfg)
    agent_cfg = handle_deprecated_rsl_rl_cfg(agent_cfg, check_rsl_rl_version())
    args = launcher_args if launcher_args is not None else argparse.Namespace(device=device)
    from g1_mimic.rl.checkpoint import CheckpointError, install_safe_runner_load

    refused: CheckpointError | None = None
    with launch_simulation(env_cfg, args):
        env = gym.make(task, cfg=env_cfg)
        try:
            wrapped = RslRlVecEnvWrapper(env, clip_actions=agent_cfg.clip_actions)
            runner = create_rsl_rl_runner(wrapped, agent_cfg)
            if checkpoint is not None:
                install_safe_runner_load()
                try:
                    runner.load(str(checkpoint), map_location=device)
                except CheckpointError as exc:
                    refused = exc  # raised below, outside launch_simulation (which prints a traceback for errors)
            if refused is None:
                policy = runner.get_inference_policy(device=device)
                yield PolicySession(env=wrapped, runner=runner, policy=policy, env_cfg=env_cfg, agent_cfg=agent_cfg)
        finally:
            env.close()
    if refused is not None:
        raise refused
