"""Selectable parts of the task: reference-offset actions, and overrides recorded with a run."""

from __future__ import annotations

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
