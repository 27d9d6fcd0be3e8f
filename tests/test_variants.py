"""Every task variant of g1_mimic/rl/variants.yaml builds on the CPU, steps, and has its observation layout."""

from __future__ import annotations

import pytest
import torch
from envutil import make_env


def test_variant_table_and_override_merging():
    from g1_mimic.rl.variants import load_variants, variant_overrides

    table = load_variants()
    assert {"beyondmimic", "deepmimic", "mimickit", "future_obs", "history", "no_state_estimation", "actuation", "success_sampling", "ref_actions", "contacts"} <= set(table)
    assert all(spec.get("source") for spec in table.values())
    assert variant_overrides(["beyondmimic"]) == []
    merged = variant_overrides(["mimickit", "ref_actions"])
    assert merged[0] == "presets=deepmimic,future_obs,ref_actions"
    with pytest.raises(KeyError, match="unknown variant 'nope'"):
        variant_overrides(["nope"])


@pytest.mark.parametrize(
    ("variants", "policy_dim"),
    [
        (["mimickit"], 160 + 3 * 38),  # + 3 future frames x (29 joints + 3 pos + 6 rot)
        (["history"], 160 + 3 * (3 + 29 + 29 + 29)),  # 4 frames of ang vel, joint pos/vel, actions
        (["no_state_estimation"], 160 - 3 - 3),
        (["actuation", "success_sampling", "ref_actions"], 160),
    ],
)
def test_variant_builds_and_steps(variants, policy_dim):
    from g1_mimic.rl.variants import variant_overrides

    env = make_env(num_envs=3, play=False, overrides=variant_overrides(variants))
    try:
        obs, _ = env.reset()
        assert obs["policy"].shape == (3, policy_dim)
        for _ in range(5):
            obs, rew, *_ = env.step(0.2 * torch.randn(3, 29))
            assert torch.isfinite(obs["policy"]).all() and torch.isfinite(obs["critic"]).all() and torch.isfinite(rew).all()
        if "actuation" in variants:
            term = env.action_manager.get_term("joint_pos")
            assert type(term).__name__ == "ReferenceJointPositionAction"
            assert ((term.delay_steps >= 0) & (term.delay_steps <= 2)).all()
            assert env.command_manager.get_term("motion").library.clip_weighting == "success_rate"
            assert "actuator_gains" in env.event_manager.active_terms["startup"]
    finally:
        env.close()
