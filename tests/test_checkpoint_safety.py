"""Checkpoints never run code: every load goes through torch.load(weights_only=True)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


def test_checkpoint_with_a_pickled_payload_is_refused_before_it_runs(tmp_path):
    """Issue 15 point 6: every checkpoint load (train resume, play, evaluate, export) goes through weights_only."""
    import torch
    from rsl_rl.runners import OnPolicyRunner

    from g1_mimic.rl.checkpoint import UnsafeCheckpointError, install_safe_runner_load, load_checkpoint

    marker = tmp_path / "payload_ran"

    class Payload:
        def __reduce__(self):
            return (Path.touch, (marker,))

    bad = tmp_path / "model_7.pt"
    torch.save({"actor_state_dict": {}, "iter": 7, "infos": Payload()}, bad)
    good = tmp_path / "model_8.pt"
    torch.save({"actor_state_dict": {"w": torch.ones(2)}, "iter": 8, "infos": None}, good)
    with pytest.raises(UnsafeCheckpointError, match=r"model_7\.pt: refused: the checkpoint holds pickled Python objects"):
        load_checkpoint(bad)
    assert load_checkpoint(good)["iter"] == 8
    install_safe_runner_load()
    with pytest.raises(UnsafeCheckpointError, match="refused"):
        OnPolicyRunner.load(object(), str(bad))  # the patched method refuses before touching the runner
    assert not marker.exists(), "the payload must never run"
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(UnsafeCheckpointError, match="not a readable torch checkpoint"):
        load_checkpoint(tmp_path / "junk.pt")
    with pytest.raises(UnsafeCheckpointError, match="it is a folder"):
        load_checkpoint(tmp_path)


def test_the_saved_action_map_is_pinned_when_a_run_is_played_again(tmp_path):
    """A run saved before the reference lead existed plays with one control step; a later run with its own lead."""
    from g1_mimic.rl.checkpoint import CheckpointError, pinned_action_overrides, recorded_policy_overrides

    def run(name: str, action_yaml: str) -> Path:
        params = tmp_path / name / "params"
        params.mkdir(parents=True)
        (params / "env.yaml").write_text(
            "decimation: 4\nactions:\n  joint_pos:\n" + action_yaml
            + "    delay_range: !!python/tuple\n    - 0\n    - 0\nevents:\n  push_robot: null\n"
        )
        return tmp_path / name / "model_10.pt"

    ref = "    class_type: g1_mimic.tasks.mimic.mdp.actions:ReferenceJointPositionAction\n    command_name: motion\n"
    old = run("old", ref)
    new = run("new", ref + "    lead_s: 0.08366197723675814\n")
    plain = run("plain", "    class_type: g1_mimic.tasks.mimic.mdp.actions:RealisticJointPositionAction\n")
    assert pinned_action_overrides(old) == ["env.actions.joint_pos.lead_s=null"]
    assert pinned_action_overrides(new) == ["env.actions.joint_pos.lead_s=0.08366197723675814"]
    assert pinned_action_overrides(plain) == [] and pinned_action_overrides(tmp_path / "none" / "model_1.pt") == []
    (old.parent / "g1_mimic_run.json").write_text(json.dumps({"task": "X", "hydra_overrides": ["presets=ref_actions"]}))
    assert recorded_policy_overrides(old) == ["presets=ref_actions", "env.actions.joint_pos.lead_s=null"]
    (old.parent / "params" / "env.yaml").write_text("actions: [unclosed\n")
    with pytest.raises(CheckpointError, match=r"env\.yaml: not readable as YAML"):
        pinned_action_overrides(old)
