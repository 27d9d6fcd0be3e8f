"""Build the real ``Isaac-G1-Mimic-v0`` env (Isaac Lab 3.0, Newton MuJoCo-Warp on the CPU) for tests."""

from __future__ import annotations

from collections.abc import Callable


def make_env(num_envs: int = 4, play: bool = True, edit: Callable | None = None, overrides: list[str] | None = None):
    """Create the task env on the CPU. ``play`` uses the play cfg (no noise or randomisation)."""
    from isaaclab_tasks.utils import resolve_task_config

    import g1_mimic.tasks  # noqa: F401
    from g1_mimic.rl.session import use_device
    from g1_mimic.tasks.mimic.env import MimicRLEnv

    env_cfg, _ = resolve_task_config("Isaac-G1-Mimic-v0", "rsl_rl_cfg_entry_point", play_mode=play, overrides=overrides or [])
    env_cfg.scene.num_envs = num_envs
    use_device(env_cfg, "cpu")
    env_cfg.seed = 0
    if edit is not None:
        edit(env_cfg)
    return MimicRLEnv(env_cfg)
