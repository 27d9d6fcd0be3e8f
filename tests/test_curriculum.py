"""The curricula on the real env: termination thresholds loose at first, tighter while training succeeds;
reward stds that shrink to the tracking error reached."""

from __future__ import annotations

import pytest
import torch
from envutil import make_env


def _curriculum_env(preset: str, term: str):
    """The task with curriculum ``preset`` on 2 envs, its term ``term`` updating at every call."""

    def edit(cfg):
        getattr(cfg.curriculum, term).params["interval_steps"] = 0

    return make_env(num_envs=2, play=False, edit=edit, overrides=[f"presets={preset}"])


def test_adaptive_termination_starts_loose_and_tightens_to_the_cfg_thresholds():
    env = _curriculum_env("adaptive_termination", "termination")
    try:
        tm = env.termination_manager
        lib = env.command_manager.get_term("motion").library
        assert tm.get_term_cfg("anchor_pos").params["threshold"] == pytest.approx(0.5)
        assert tm.get_term_cfg("ee_body_pos").params["threshold"] == pytest.approx(0.5)
        term = env.curriculum_manager._term_cfgs[0].func
        lib.clip_success_rate[:] = 0.9  # succeeding: tighten by 10 % of the (2x - 1x) gap per update
        for k in range(1, 4):
            env.curriculum_manager.compute(env_ids=[0])
            assert term.scale == pytest.approx(2.0 - 0.1 * k)
        assert tm.get_term_cfg("ee_body_pos").params["threshold"] == pytest.approx(0.25 * 1.7)
        lib.clip_success_rate[:] = 0.45  # between the bounds: hold
        env.curriculum_manager.compute(env_ids=[0])
        assert term.scale == pytest.approx(1.7)
        lib.clip_success_rate[:] = 0.1  # failing: loosen again
        env.curriculum_manager.compute(env_ids=[0])
        assert term.scale == pytest.approx(1.8)
        lib.clip_success_rate[:] = 1.0
        for _ in range(30):
            env.curriculum_manager.compute(env_ids=[0])
        assert term.scale == 1.0 and tm.get_term_cfg("anchor_pos").params["threshold"] == pytest.approx(0.25)
    finally:
        env.close()


def test_default_task_has_no_curriculum_and_the_strict_thresholds():
    env = make_env(num_envs=1, play=False)
    try:
        assert env.curriculum_manager.active_terms == []
        assert env.termination_manager.get_term_cfg("ee_body_pos").params["threshold"] == pytest.approx(0.25)
    finally:
        env.close()


def test_adaptive_tracking_shrinks_the_reward_std_to_the_error_reached():
    env = _curriculum_env("adaptive_tracking", "tracking_std")
    try:
        rm = env.reward_manager
        cmd = env.command_manager.get_term("motion")
        lib = cmd.library
        pos, ori = rm.get_term_cfg("motion_body_pos"), rm.get_term_cfg("motion_body_ori")
        assert (pos.params["std"], ori.params["std"]) == (pytest.approx(0.3), pytest.approx(0.4))

        def end_episodes(body_pos, body_rot, lengths):
            cmd.metrics["error_body_pos"][:] = torch.tensor(body_pos)
            cmd.metrics["error_body_rot"][:] = torch.tensor(body_rot)
            env.episode_length_buf[:] = torch.tensor(lengths)
            return env.curriculum_manager.compute(env_ids=torch.tensor([0, 1]))

        env.common_step_counter = 1_000
        lib.clip_success_rate[:] = 0.8  # episodes longer than the 1,000 steps taken began at a random length: left out
        end_episodes([0.01, 0.01], [0.01, 0.01], [1_500, 2_000])
        assert pos.params["std"] == pytest.approx(0.3)
        lib.clip_success_rate[:] = 0.2  # failing: errors of short falls are no target, the std holds
        end_episodes([0.05, 0.05], [0.2, 0.2], [10, 10])
        assert pos.params["std"] == pytest.approx(0.3)
        lib.clip_success_rate[:] = 0.8  # succeeding, but the episodes that ended since the last update were short
        tracking = env.curriculum_manager._term_cfgs[0]
        tracking.params["min_episode_s"] = 1.0
        short = round(0.5 / env.step_dt)
        end_episodes([0.05, 0.05], [0.2, 0.2], [short - 5, short + 5])
        assert pos.params["std"] == pytest.approx(0.3)
        tracking.params["min_episode_s"] = 0.0
        lib.clip_success_rate[:] = 0.8  # succeeding: the std becomes the step-weighted mean error
        end_episodes([0.10, 0.20], [0.3, 0.6], [300, 100])
        assert pos.params["std"] == pytest.approx((0.10 * 300 + 0.20 * 100) / 400)
        assert ori.params["std"] == pytest.approx((0.3 * 300 + 0.6 * 100) / 400)
        end_episodes([0.5, 0.5], [1.0, 1.0], [100, 100])  # a worse error does not loosen it
        assert pos.params["std"] == pytest.approx(0.125)
        end_episodes([0.01, 0.01], [0.01, 0.01], [100, 100])  # the floors
        assert (pos.params["std"], ori.params["std"]) == (pytest.approx(0.03), pytest.approx(0.1))
        # the reward pays with the std the curriculum set: exp(-err^2 / std^2)
        env.step(torch.zeros(2, env.action_manager.total_action_dim))
        err2 = cmd.tracking().body_mean("body_pos_err2")
        assert torch.allclose(rm._term_cfgs[rm.active_terms.index("motion_body_pos")].func(env, **pos.params), torch.exp(-err2 / 0.03**2))
    finally:
        env.close()


def test_adaptive_world_tracking_also_shrinks_the_global_anchor_std():
    """presets=adaptive_world_tracking: the global anchor position reward's std follows the anchor error reached,
    beside the body terms' (the body rewards compare re-anchored bodies; only the anchor terms see the drift)."""
    env = _curriculum_env("adaptive_world_tracking", "tracking_std")
    try:
        rm = env.reward_manager
        cmd = env.command_manager.get_term("motion")
        anchor, pos = rm.get_term_cfg("motion_global_anchor_pos"), rm.get_term_cfg("motion_body_pos")
        assert anchor.params["std"] == pytest.approx(0.3)  # BeyondMimic's (the default task)
        env.common_step_counter = 1_000
        cmd.library.clip_success_rate[:] = 0.8
        for metric, values in (("anchor_pos", [0.06, 0.12]), ("body_pos", [0.05, 0.05]), ("body_rot", [0.2, 0.2])):
            cmd.metrics[f"error_{metric}"][:] = torch.tensor(values)
        env.episode_length_buf[:] = torch.tensor([300, 100])
        env.curriculum_manager.compute(env_ids=torch.tensor([0, 1]))
        assert anchor.params["std"] == pytest.approx((0.06 * 300 + 0.12 * 100) / 400)
        assert pos.params["std"] == pytest.approx(0.05)
        cmd.metrics["error_anchor_pos"][:] = 0.001
        env.curriculum_manager.compute(env_ids=torch.tensor([0, 1]))
        assert anchor.params["std"] == pytest.approx(0.03)  # its floor
    finally:
        env.close()


def test_drift_threshold_follows_the_share_of_episodes_the_rule_ends():
    """presets=adaptive_tracking_drift: the drift rule starts at 0.5 m and tightens toward its 0.2 m while it ends
    under 30 % of the episodes that ended since the last update, loosens while it ends over 60 %, whatever the
    success rate (a long clip's stays low)."""

    def edit(cfg):
        cfg.curriculum.drift_threshold.params["interval_steps"] = 0

    env = make_env(num_envs=4, play=False, edit=edit, overrides=["presets=adaptive_tracking_drift,drift_termination"])
    try:
        tm = env.termination_manager
        drift = tm.get_term_cfg("body_drift")
        term = env.curriculum_manager._term_cfgs[env.curriculum_manager.active_terms.index("drift_threshold")].func
        assert drift.params["threshold"] == pytest.approx(0.5)  # 2.5 x 0.2 m
        env.command_manager.get_term("motion").library.clip_success_rate[:] = 0.0  # ignored by this signal
        flags = tm._term_dones[:, tm.active_terms.index("body_drift")]

        def end(drifted: list[bool]):
            flags[:] = torch.tensor(drifted)
            env.curriculum_manager.compute(env_ids=torch.arange(4))

        env.reset()  # the reset of every env at once (a slice of env ids): no episode ended, nothing counted
        env.curriculum_manager.compute(env_ids=slice(None))
        assert term.scale == pytest.approx(2.5)
        end([True, False, False, False])  # 25 % < 30 %: tighten by a tenth of the 0.5 - 0.2 m gap
        assert term.scale == pytest.approx(2.35) and drift.params["threshold"] == pytest.approx(0.47)
        end([True, True, False, False])  # 50 %: hold
        assert term.scale == pytest.approx(2.35)
        end([True, True, True, False])  # 75 % > 60 %: loosen
        assert term.scale == pytest.approx(2.5)
        for _ in range(20):
            end([False] * 4)
        assert term.scale == 1.0 and drift.params["threshold"] == pytest.approx(0.2)
    finally:
        env.close()
    with pytest.raises(ValueError, match="no termination term 'body_drift'.*presets=drift_termination"):
        make_env(num_envs=1, play=False, overrides=["presets=adaptive_tracking_drift"])
