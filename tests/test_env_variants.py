"""Selectable parts of the task: reference-offset actions, and overrides recorded with a run."""

from __future__ import annotations

import pytest
import torch
from envutil import make_env


def test_reference_offset_actions_target_the_reference():
    env = make_env(num_envs=3, play=True, overrides=["presets=ref_actions"])
    try:
        env.reset()
        term = env.action_manager.get_term("joint_pos")
        cmd = env.command_manager.get_term("motion")
        assert type(term).__name__ == "ReferenceJointPositionAction"
        ref_cols = [cmd.joint_names.index(n) for n in term._joint_names]
        expected = cmd.joint_pos[:, ref_cols] + env.step_dt * cmd.joint_vel[:, ref_cols]
        term.process_actions(torch.zeros(3, 29))
        assert torch.allclose(term.processed_actions, expected, atol=1e-6)
        # a unit action moves each target by that joint's action scale
        term.process_actions(torch.ones(3, 29))
        scale = term._scale if isinstance(term._scale, torch.Tensor) else torch.full((3, 29), term._scale)
        assert torch.allclose(term.processed_actions - expected, scale.expand(3, 29), atol=1e-6)
        # zero actions under ref-offset PD keep the robot on the reference for a while
        for _ in range(10):
            env.step(torch.zeros(3, 29))
        err = torch.norm(cmd.body_pos_w - cmd.robot_body_pos_w, dim=-1).mean(-1)
        assert (err < 0.05).all(), err
    finally:
        env.close()


def _zero_action_trail(overrides: list[str], steps: int = 60) -> tuple[float, float]:
    """How far (rad) reference-offset PD under zero actions trails the reference along its velocity, averaged
    over the joints moving faster than 0.3 rad/s (the bundled wave's first 1.2 s), and the term's lead (s)."""
    env = make_env(num_envs=2, play=True, overrides=["presets=ref_actions", *overrides])
    try:
        env.reset()
        cmd = env.command_manager.get_term("motion")
        term = env.action_manager.get_term("joint_pos")
        trails = []
        for _ in range(steps):
            env.step(torch.zeros(2, 29))
            moving = cmd.joint_vel.abs() > 0.3
            if moving.any():
                trail = (cmd.joint_pos - cmd.robot.data.joint_pos.torch) * cmd.joint_vel.sign()
                trails.append(trail[moving].mean().item())
        assert len(trails) > 10, "the clip should move in its first 1.2 s"
        return sum(trails) / len(trails), term.lead_s
    finally:
        env.close()


def test_reference_lead_feeds_the_velocity_forward():
    from g1_mimic.robots.g1_constants import PD_LAG_S

    plain, lead_plain = _zero_action_trail([])
    fed, lead_fed = _zero_action_trail([f"env.actions.joint_pos.lead_s={0.02 + PD_LAG_S}"])
    assert lead_plain == pytest.approx(0.02) and lead_fed == pytest.approx(0.02 + PD_LAG_S)
    # the servos trail a moving target by D/K times its speed; leading the target by that much removes that
    # part (measured: 0.061 -> 0.029 rad; the rest is gravity and inertia, which the policy's action covers)
    assert plain > 0.04 and fed < 0.6 * plain, (fed, plain)


def test_cpu_preset_leads_the_reference_by_the_servo_lag():
    from g1_mimic.robots.g1_constants import PD_LAG_S
    from g1_mimic.tasks.mimic.config.g1.env_cfg import G1MimicCPULearnEnvCfg

    cfg = G1MimicCPULearnEnvCfg()
    assert cfg.actions.default.joint_pos.lead_s == pytest.approx(cfg.decimation * cfg.sim.dt + PD_LAG_S)


def test_negative_reference_lead_is_refused():
    with pytest.raises(ValueError, match="lead_s must be >= 0"):
        make_env(num_envs=1, play=True, overrides=["presets=ref_actions", "env.actions.joint_pos.lead_s=-0.1"])


def test_a_bad_displaced_start_is_refused_by_name():
    with pytest.raises(ValueError, match=r"displaced_share must be a share in \[0, 1\] and displacement_range"):
        make_env(num_envs=1, play=False, overrides=["env.commands.motion.displaced_share=1.5"])


def test_sampling_state_is_logged_during_training():
    env = make_env(num_envs=4, play=False)
    try:
        env.reset()
        keys: set[str] = set()
        torch.manual_seed(0)
        for _ in range(60):
            _, _, _, _, extras = env.step(2.0 * torch.randn(4, 29))
            keys |= set(extras.get("log", {}))
        assert any(k.startswith("Metrics/motion/sampling/") for k in keys), sorted(keys)
        assert any(k.startswith("Metrics/motion/clip/wave/") for k in keys)
        # random actions end episodes: the clip's error EMA is the episode-mean body position error (m) of
        # the robot falling away from the reference: known, positive, well below a metre after ~1 s
        library = env.unwrapped.command_manager.get_term("motion").library
        error = float(library.clip_error[0])
        assert int(library.clip_episode_count[0]) > 0 and 0.005 < error < 0.5, error
        assert "Metrics/motion/clip/wave/error" in keys
    finally:
        env.close()


def test_recorded_overrides_are_merged_key_by_key():
    from g1_mimic.rl.checkpoint import merge_overrides

    recorded = ["presets=ref_actions", "env.commands.motion.motion_file=/a.npz"]
    given = ["env.commands.motion.motion_file=/b.npz", "env.scene.num_envs=2"]
    assert merge_overrides(recorded, given) == ["presets=ref_actions", "env.commands.motion.motion_file=/b.npz", "env.scene.num_envs=2"]


def test_total_reward_clipped_at_zero_only_when_asked():
    torch.manual_seed(0)
    mins = {}
    for clip in (False, True):
        def edit(cfg, clip=clip):
            cfg.clip_reward_at_zero = clip

        e = make_env(num_envs=4, play=True, edit=edit)
        try:
            e.reset()
            lowest = float("inf")
            for _ in range(6):
                _, rew, *_ = e.step(8.0 * torch.randn(4, 29))  # violent actions: action-rate penalty dominates
                lowest = min(lowest, float(rew.min()))
            mins[clip] = lowest
        finally:
            e.close()
    assert mins[False] < 0.0
    assert mins[True] >= 0.0
