"""The adaptive termination curriculum on the real env: loose at first, tighter while training succeeds."""

from __future__ import annotations

import pytest
from envutil import make_env


def test_adaptive_termination_starts_loose_and_tightens_to_the_cfg_thresholds():
    def edit(cfg):
        cfg.curriculum.termination.params["interval_steps"] = 0  # update at every call

    env = make_env(num_envs=2, play=False, edit=edit, overrides=["presets=adaptive_termination"])
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
