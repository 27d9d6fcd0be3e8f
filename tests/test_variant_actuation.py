"""Actuation realism of the joint-position action: control delay, low-pass filter, action noise."""

from __future__ import annotations

import pytest
import torch
from envutil import make_env


@pytest.fixture(scope="module")
def env():
    e = make_env(num_envs=4, play=True)
    e.reset()
    yield e
    e.close()


def _term(env, **kwargs):
    from g1_mimic.robots.g1 import G1_ACTION_SCALE
    from g1_mimic.tasks.mimic import mdp

    cfg = mdp.RealisticJointPositionActionCfg(asset_name="robot", joint_names=[".*"], scale=dict(G1_ACTION_SCALE), use_default_offset=True, **kwargs)
    return cfg.class_type(cfg, env)


def test_default_action_is_isaac_labs_affine_map(env):
    term = env.action_manager.get_term("joint_pos")
    assert type(term).__name__ == "RealisticJointPositionAction"
    a = torch.randn(4, 29)
    term.process_actions(a)
    assert torch.allclose(term.processed_actions, term._offset + term._scale * a)


def test_delay_of_k_steps_shifts_applied_actions_by_k(env):
    term = _term(env, delay_range=(2, 2))
    term.reset()
    assert (term.delay_steps == 2).all()
    sent = [torch.full((4, 29), float(t + 1)) for t in range(6)]
    applied = []
    for a in sent:
        term.process_actions(a)
        applied.append(term.applied_actions.clone())
    assert torch.equal(applied[0], torch.zeros(4, 29)) and torch.equal(applied[1], torch.zeros(4, 29))
    for t in range(2, 6):
        assert torch.equal(applied[t], sent[t - 2]), t
    # targets follow the delayed actions
    assert torch.allclose(term.processed_actions, term._offset + term._scale * sent[3])


def test_delay_is_drawn_per_env_within_range_at_reset(env):
    term = _term(env, delay_range=(0, 3))
    seen = set()
    for _ in range(20):
        term.reset()
        d = term.delay_steps
        assert ((d >= 0) & (d <= 3)).all()
        seen |= set(d.tolist())
    assert seen == {0, 1, 2, 3}


def test_low_pass_filter_step_response(env):
    alpha = 0.3
    term = _term(env, filter_alpha=alpha)
    term.reset()
    one = torch.ones(4, 29)
    for t in range(1, 8):
        term.process_actions(one)
        expected = 1.0 - (1.0 - alpha) ** t
        assert torch.allclose(term.applied_actions, torch.full((4, 29), expected), atol=1e-6), t


def test_action_noise_has_the_configured_std(env):
    term = _term(env, noise_std=0.1)
    torch.manual_seed(0)
    diffs = []
    for _ in range(50):
        a = torch.zeros(4, 29)
        term.process_actions(a)
        diffs.append(term.applied_actions - a)
    d = torch.stack(diffs)
    assert abs(float(d.std()) - 0.1) < 0.005 and abs(float(d.mean())) < 0.005


def test_bad_actuation_settings_are_refused(env):
    with pytest.raises(ValueError, match="delay_range"):
        _term(env, delay_range=(3, 1))
    with pytest.raises(ValueError, match="filter_alpha"):
        _term(env, filter_alpha=0.0)
