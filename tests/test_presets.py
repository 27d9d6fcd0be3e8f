"""Physics presets of the task: the config each selects, and the PhysX / CUDA builds where they can run."""

from __future__ import annotations

import importlib.util

import pytest
import torch
from envutil import make_env


def _physics(overrides):
    from isaaclab_tasks.utils import resolve_task_config

    import g1_mimic.tasks  # noqa: F401

    env_cfg, agent_cfg = resolve_task_config("Isaac-G1-Mimic-v0", "rsl_rl_cfg_entry_point", overrides=overrides)
    return env_cfg, agent_cfg


def test_default_preset_is_newton_sized_for_the_g1_and_mujoco_c_on_cpu():
    env_cfg, agent_cfg = _physics([])
    phys = env_cfg.sim.physics
    assert type(phys).__name__ == "NewtonCfg"
    assert phys.solver_cfg.nconmax == 64 and phys.solver_cfg.njmax == 400
    assert phys.solver_cfg.use_mujoco_contacts
    if torch.cuda.is_available():
        assert type(phys.solver_cfg).__name__ == "MJWarpSolverCfg"
    else:
        # the fastest CPU preset that passes parity (tests/test_mujoco_cpu.py) is the CPU default
        assert type(phys.solver_cfg).__name__ == "MuJoCoCPUSolverCfg"
        assert env_cfg.sim.device == "cpu" and phys.use_cuda_graph is False and agent_cfg.device == "cpu"


def test_newton_mjwarp_stays_selectable_on_cpu():
    env_cfg, _ = _physics(["presets=newton_mjwarp"])
    assert type(env_cfg.sim.physics.solver_cfg).__name__ == "MJWarpSolverCfg"


def test_physx_presets_select_physx():
    env_cfg, _ = _physics(["presets=physx"])
    assert type(env_cfg.sim.physics).__name__ == "PhysxAutoCfg"
    env_cfg, _ = _physics(["presets=isaacsim_physx"])
    assert type(env_cfg.sim.physics).__name__ == "PhysxCfg"


@pytest.mark.skipif(importlib.util.find_spec("isaacsim") is None, reason="Isaac Sim is not installed: the PhysX preset needs Isaac Sim and an RTX GPU")
def test_physx_env_builds_and_steps():
    env = make_env(num_envs=2, play=True, overrides=["presets=isaacsim_physx"])
    try:
        obs, _ = env.reset()
        obs, rew, *_ = env.step(torch.zeros(2, 29, device=env.device))
        assert torch.isfinite(rew).all() and obs["policy"].shape == (2, 160)
    finally:
        env.close()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device: the Newton MuJoCo-Warp GPU path needs one")
def test_newton_cuda_env_builds_and_steps():
    def edit(cfg):
        cfg.sim.device = "cuda:0"
        cfg.sim.physics.use_cuda_graph = True

    env = make_env(num_envs=8, play=True, edit=edit)
    try:
        env.reset()
        for _ in range(5):
            obs, rew, *_ = env.step(torch.zeros(8, 29, device=env.device))
        assert torch.isfinite(rew).all()
    finally:
        env.close()


def test_cpu_learn_task_uses_reference_actions_unless_default_pose_is_selected():
    from isaaclab_tasks.utils import resolve_task_config

    import g1_mimic.tasks  # noqa: F401
    from g1_mimic.rl.variants import variant_overrides

    env_cfg, _ = resolve_task_config("Isaac-G1-Mimic-CPU-Learn-v0", "rsl_rl_cfg_entry_point", overrides=[])
    assert type(env_cfg.actions.joint_pos).__name__ == "ReferenceJointPositionActionCfg"
    env_cfg, _ = resolve_task_config(
        "Isaac-G1-Mimic-CPU-Learn-v0", "rsl_rl_cfg_entry_point", overrides=variant_overrides(["default_pose_actions"])
    )
    assert type(env_cfg.actions.joint_pos).__name__ == "RealisticJointPositionActionCfg"
    assert env_cfg.actions.joint_pos.use_default_offset
    assert env_cfg.actions.joint_pos.scale[".*_knee_joint"] == pytest.approx(0.351, abs=1e-3)
    if not torch.cuda.is_available():
        assert env_cfg.scene.num_envs == 128


def test_cpu_learn_task_tracks_adaptively_unless_another_curriculum_is_selected():
    from isaaclab_tasks.utils import resolve_task_config

    import g1_mimic.tasks  # noqa: F401

    def curriculum(task: str, overrides: list[str]) -> list[str]:
        env_cfg, _ = resolve_task_config(task, "rsl_rl_cfg_entry_point", overrides=overrides)
        return sorted(n for n, v in env_cfg.curriculum.__dict__.items() if v is not None and not n.startswith("_"))

    assert curriculum("Isaac-G1-Mimic-CPU-Learn-v0", []) == ["tracking_std"]
    assert curriculum("Isaac-G1-Mimic-CPU-Learn-v0", ["presets=no_curriculum"]) == []
    assert curriculum("Isaac-G1-Mimic-CPU-Learn-v0", ["presets=adaptive_termination"]) == ["termination"]
    assert curriculum("Isaac-G1-Mimic-v0", []) == []


def test_task_cfgs_do_not_import_the_clip_generator():
    """The task's cfgs (and the distillation task's) load without the IK clip generator (issue 17)."""
    import subprocess
    import sys

    code = (
        "import sys; import g1_mimic.tasks.mimic.config.g1.env_cfg as c; "
        "import g1_mimic.tasks.mimic.config.g1.agents.rsl_rl_distill_cfg; "
        "assert c.G1MimicEnvCfg is not None; "
        "print(sorted(m for m in sys.modules if m.startswith('g1_mimic.motion.generate')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_cpu_robust_task_keeps_the_default_perturbations_that_cpu_learn_drops():
    """Isaac-G1-Mimic-CPU-Robust-v0 = CPU-Learn plus pushes, start-up randomisation and RSI noise; built and
    stepped, its envs get different default-joint offsets."""
    from isaaclab_tasks.utils import resolve_task_config

    import g1_mimic.tasks  # noqa: F401
    from g1_mimic.tasks.mimic.env import MimicRLEnv

    learn, learn_agent = resolve_task_config("Isaac-G1-Mimic-CPU-Learn-v0", "rsl_rl_cfg_entry_point", overrides=[])
    robust, robust_agent = resolve_task_config("Isaac-G1-Mimic-CPU-Robust-v0", "rsl_rl_cfg_entry_point", overrides=[])
    default, _ = resolve_task_config("Isaac-G1-Mimic-v0", "rsl_rl_cfg_entry_point", overrides=[])
    for name in ("push_robot", "physics_material", "add_joint_default_pos", "base_com"):
        assert getattr(learn.events, name) is None
        assert getattr(robust.events, name) is not None, name
    assert robust.events.push_robot.params["velocity_range"] == default.events.push_robot.params["velocity_range"]
    assert robust.commands.motion.pose_range == default.commands.motion.pose_range
    assert robust.commands.motion.joint_position_range == default.commands.motion.joint_position_range != (0.0, 0.0)
    # observation noise is a perturbation too: off in CPU-Learn, kept in CPU-Robust
    assert not learn.observations.policy.enable_corruption and robust.observations.policy.enable_corruption
    assert learn.rewards.motion_global_anchor_pos.params["std"] == robust.rewards.motion_global_anchor_pos.params["std"] == 0.1
    assert default.rewards.motion_global_anchor_pos.params["std"] == 0.3
    assert learn.commands.motion.frame0_share == 0.2 and default.commands.motion.frame0_share == 0.0
    # everything else is the CPU learning task's
    assert type(robust.actions).__name__ == type(learn.actions).__name__
    assert robust.rewards.action_rate_l2.weight == learn.rewards.action_rate_l2.weight
    assert robust.scene.num_envs == learn.scene.num_envs
    assert robust_agent.experiment_name == "g1_mimic_cpu_robust" != learn_agent.experiment_name
    assert robust_agent.actor.distribution_cfg.init_std == learn_agent.actor.distribution_cfg.init_std

    robust.scene.num_envs = 4
    robust.seed = 0
    env = MimicRLEnv(robust)
    try:
        env.reset()
        for _ in range(5):
            env.step(torch.zeros(4, 29))
        offsets = env.scene["robot"].data.default_joint_pos
        assert not torch.allclose(offsets[0], offsets[1]), "add_joint_default_pos draws per env"
    finally:
        env.close()


def test_evaluation_noise_is_the_training_sensor_noise_scaled_and_none_on_the_anchor_terms():
    """``scripts/evaluate.py --obs_noise K``: K times the training noise on joint and root-velocity terms (what
    sim2sim's ``--obs_noise K`` adds to the sensors), none on the anchor terms, corruption on; K = 0: none."""
    from isaaclab_tasks.utils import resolve_task_config

    import g1_mimic.tasks  # noqa: F401
    from g1_mimic.rl.evaluation import configure_for_evaluation

    env_cfg, _ = resolve_task_config("Isaac-G1-Mimic-CPU-Learn-v0", "rsl_rl_cfg_entry_point", overrides=[])
    trained = {n: getattr(env_cfg.observations.policy, n).noise for n in ("joint_pos", "joint_vel", "base_lin_vel", "base_ang_vel")}
    configure_for_evaluation(env_cfg, obs_noise=0.1)
    policy = env_cfg.observations.policy
    assert policy.enable_corruption
    for name, noise in trained.items():
        scaled = getattr(policy, name).noise
        assert (scaled.n_min, scaled.n_max) == pytest.approx((0.1 * noise.n_min, 0.1 * noise.n_max)), name
    assert policy.joint_vel.noise.n_max == pytest.approx(0.05)  # 0.1 x BeyondMimic's ±0.5 rad/s
    assert policy.motion_anchor_pos_b.noise is None and policy.motion_anchor_ori_b.noise is None
    env_cfg, _ = resolve_task_config("Isaac-G1-Mimic-CPU-Learn-v0", "rsl_rl_cfg_entry_point", overrides=[])
    configure_for_evaluation(env_cfg)
    assert not env_cfg.observations.policy.enable_corruption
    with pytest.raises(ValueError, match="obs_noise must be >= 0"):
        configure_for_evaluation(env_cfg, obs_noise=-1.0)


def test_training_starts_every_episode_at_length_zero():
    """The motion command's clip time is ``start + episode_length_buf * step_dt``: the runners turn off Isaac
    Lab's random initial episode lengths, which would start every env's first episode off its reference."""
    from isaaclab_tasks.utils import resolve_task_config

    import g1_mimic.tasks  # noqa: F401

    for task in ("Isaac-G1-Mimic-v0", "Isaac-G1-Mimic-CPU-Learn-v0", "Isaac-G1-Mimic-CPU-Distill-v0"):
        _, agent_cfg = resolve_task_config(task, "rsl_rl_cfg_entry_point", overrides=[])
        assert agent_cfg.init_at_random_ep_len is False, task
