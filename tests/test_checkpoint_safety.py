"""Checkpoints never run code: every load goes through torch.load(weights_only=True)."""

from __future__ import annotations

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
