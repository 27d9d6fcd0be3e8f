"""End to end on the CPU: a 2-iteration training run writes a checkpoint and an ONNX policy, --resume
continues it, the ONNX policy matches the torch one, and evaluate.py writes its JSON report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def _run(args: list[str], cwd: Path, timeout: int = 900) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError(f"{args} exited {proc.returncode}\n--- stdout ---\n{proc.stdout[-4000:]}\n--- stderr ---\n{proc.stderr[-4000:]}")
    return proc


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    work = tmp_path_factory.mktemp("train")
    _run([str(REPO / "scripts" / "train.py"), "--task", "Isaac-G1-Mimic-v0", "--num_envs", "8", "--max_iterations", "2", "--headless", "--seed", "1"], cwd=work)
    runs = sorted((work / "logs" / "rsl_rl" / "g1_mimic").iterdir())
    assert len(runs) == 1
    return work, runs[0]


def test_training_writes_checkpoint_and_exported_policy(trained_run):
    _, run = trained_run
    assert (run / "model_1.pt").is_file()
    for name in ("policy.onnx", "policy.pt", "policy.json"):
        assert (run / "exported" / name).is_file(), name
    meta = json.loads((run / "exported" / "policy.json").read_text())
    assert meta["observation_dim"] == 160 and meta["action_dim"] == 29
    assert len(meta["joint_names"]) == 29 and meta["control_dt"] == pytest.approx(0.02)
    assert not list(run.glob("*.tmp*")), "no temporary checkpoint files may remain"


def test_onnx_policy_matches_torch_policy(trained_run):
    import onnxruntime as ort
    import torch

    from g1_mimic.rl.export import read_onnx_metadata

    _, run = trained_run
    onnx_path = run / "exported" / "policy.onnx"
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    jit = torch.jit.load(str(run / "exported" / "policy.pt"))
    rng = np.random.default_rng(0)
    obs = rng.normal(size=(5, 160)).astype(np.float32)
    inp = sess.get_inputs()[0].name
    out_onnx = np.concatenate([sess.run(None, {inp: obs[i : i + 1]})[0] for i in range(5)])
    with torch.no_grad():
        out_torch = jit(torch.from_numpy(obs)).numpy()
    assert out_onnx.shape == (5, 29)
    np.testing.assert_allclose(out_onnx, out_torch, atol=1e-5)
    meta = read_onnx_metadata(onnx_path)
    assert meta["joint_names"] == json.loads((run / "exported" / "policy.json").read_text())["joint_names"]


def test_resume_continues_from_the_checkpoint(trained_run):
    work, run = trained_run
    proc = _run([str(REPO / "scripts" / "train.py"), "--num_envs", "8", "--max_iterations", "1", "--resume", "--no_export"], cwd=work)
    assert "Loading model checkpoint from" in proc.stdout
    runs = sorted((work / "logs" / "rsl_rl" / "g1_mimic").iterdir())
    assert len(runs) == 2
    # a fresh run saves model_0.pt at its first iteration; the resumed run starts at the loaded
    # iteration (rsl_rl re-enters the checkpoint's iteration index), so it has model_1.pt and no model_0.pt
    names = sorted(p.name for p in runs[1].iterdir())
    assert (run / "model_0.pt").is_file()
    assert "model_1.pt" in names and "model_0.pt" not in names, names
    import torch

    first = torch.load(run / "model_1.pt", weights_only=False)
    resumed = torch.load(runs[1] / "model_1.pt", weights_only=False)
    assert resumed["iter"] == first["iter"] == 1
    # training went on from the loaded weights: the parameters moved, but stayed close to the first run's
    key = next(k for k in first["actor_state_dict"] if k.startswith("mlp") and k.endswith("weight"))
    delta = (resumed["actor_state_dict"][key] - first["actor_state_dict"][key]).abs().max()
    assert 0 < float(delta) < 0.5


def test_evaluate_writes_report(trained_run):
    work, run = trained_run
    out = work / "report.json"
    _run([str(REPO / "scripts" / "evaluate.py"), "--checkpoint", str(run / "model_1.pt"), "--num_envs", "4", "--num_episodes", "4", "--json", str(out)], cwd=work)
    report = json.loads(out.read_text())
    for key in ("success_rate", "mpkpe_m", "r_mpkpe_m", "joint_pos_rmse_rad", "episodes", "standing_after_end"):
        assert key in report, key
    assert report["episodes"] == 4
    assert 0.0 <= report["success_rate"] <= 1.0
    assert 0.0 < report["mpkpe_m"] < 2.0


def test_wall_clock_budget_stops_training_with_a_checkpoint(tmp_path):
    proc = _run([str(REPO / "scripts" / "train.py"), "--num_envs", "4", "--max_iterations", "50", "--max_minutes", "0.001",
                 "--headless", "--no_export", "--seed", "2"], cwd=tmp_path)
    assert "wall-clock budget of 0.0 min reached after iteration 0" in proc.stdout
    (run,) = sorted((tmp_path / "logs" / "rsl_rl" / "g1_mimic").iterdir())
    assert sorted(p.name for p in run.glob("model_*.pt")) == ["model_0.pt"]
    assert not list(run.glob("*.tmp*"))


def test_wall_clock_budget_must_be_positive(tmp_path):
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / "train.py"), "--max_minutes", "0"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0 and "--max_minutes must be positive" in proc.stderr
