"""``--checkpoint`` selectors (``latest``, a run folder, a file) and ``--policy`` for sim2sim, on real folders."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from g1_mimic.rl.checkpoint import (
    RUN_RECORD,
    CheckpointSelectionError,
    RunRecordError,
    read_run_record,
    recorded_overrides,
    recorded_task,
    resolve_checkpoint,
)

REPO = Path(__file__).resolve().parents[1]


def _run(root: Path, experiment: str, name: str, iters: list[int]) -> Path:
    run = root / experiment / name
    run.mkdir(parents=True)
    for i in iters:
        (run / f"model_{i}.pt").write_bytes(b"")
    return run


def test_latest_run_folder_and_file(tmp_path):
    root = tmp_path / "logs" / "rsl_rl"
    old = _run(root, "g1_mimic", "2026-12-01_10-00-00", [0, 50, 100])
    new = _run(root, "g1_mimic", "2026-12-02_10-00-00", [0, 9, 10])
    _run(root, "g1_mimic", "2026-12-03_10-00-00", [])  # a run that never saved: skipped
    cpu = _run(root, "g1_mimic_cpu_learn", "2026-12-02_12-00-00", [0, 200])
    assert resolve_checkpoint("latest", "Isaac-G1-Mimic-v0", root) == new / "model_10.pt"  # numeric, not text order
    assert resolve_checkpoint("latest", "Isaac-G1-Mimic-CPU-Learn-v0", root) == cpu / "model_200.pt"
    assert resolve_checkpoint("latest", None, root) == cpu / "model_200.pt"  # newest of every experiment
    assert resolve_checkpoint(old, None, root) == old / "model_100.pt"
    assert resolve_checkpoint(old / "model_50.pt", None, root) == old / "model_50.pt"


def test_selectors_that_name_nothing_say_what_was_looked_for(tmp_path):
    root = tmp_path / "logs" / "rsl_rl"
    with pytest.raises(CheckpointSelectionError, match=r"no run with a model_<iter>\.pt under .*g1_mimic"):
        resolve_checkpoint("latest", "Isaac-G1-Mimic-v0", root)
    empty = root / "g1_mimic" / "run"
    empty.mkdir(parents=True)
    with pytest.raises(CheckpointSelectionError, match="a folder with no model_<iter>.pt"):
        resolve_checkpoint(empty, None, root)
    with pytest.raises(CheckpointSelectionError, match="no such file or run folder"):
        resolve_checkpoint(tmp_path / "nope.pt", None, root)
    with pytest.raises(CheckpointSelectionError, match="not a registered g1_mimic task"):
        resolve_checkpoint("latest", "Isaac-Nope-v0", root)


def test_evaluate_and_sim2sim_answer_a_bad_selector_in_one_line(tmp_path):
    for script, flag in (("evaluate.py", "--checkpoint"), ("play.py", "--checkpoint"), ("sim2sim.py", "--policy")):
        args = [sys.executable, str(REPO / "scripts" / script), flag, "latest"]
        if script == "sim2sim.py":
            args += ["--motion", "wave"]
        proc = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert proc.returncode != 0
        assert "Traceback" not in proc.stderr, proc.stderr
        assert "latest: no run with" in proc.stderr.strip().splitlines()[-1], proc.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"task": 3}', "field 'task' must be a task id string"),
        ('{"task": "Isaac-G1-Mimic-v0", "hydra_overrides": "env.x=1"}', "field 'hydra_overrides' must be a list"),
        ('{"hydra_overrides": ["no_equals_sign"]}', "field 'hydra_overrides' must be a list"),
    ],
)
def test_a_corrupt_run_record_is_refused_naming_file_and_field(tmp_path, content, message):
    run = _run(tmp_path, "g1_mimic", "run", [0])
    (run / RUN_RECORD).write_text(content)
    with pytest.raises(RunRecordError, match=message) as info:
        recorded_overrides(run / "model_0.pt")
    assert str(run / RUN_RECORD) in str(info.value) and "fix or delete it" in str(info.value)


def test_run_record_folder_and_missing_record(tmp_path):
    run = _run(tmp_path, "g1_mimic", "run", [0])
    assert read_run_record(run / "model_0.pt") == {} and recorded_task(run / "model_0.pt") is None
    (run / RUN_RECORD).write_text('{"task": "Isaac-G1-Mimic-CPU-Learn-v0", "hydra_overrides": ["presets=assist"]}')
    assert recorded_task(run / "model_0.pt") == "Isaac-G1-Mimic-CPU-Learn-v0"
    assert recorded_overrides(run / "model_0.pt") == ["presets=assist"]
    (run / RUN_RECORD).unlink()
    (run / RUN_RECORD).mkdir()
    with pytest.raises(RunRecordError, match="a folder where the run record file is expected"):
        recorded_task(run / "model_0.pt")


def test_evaluate_answers_a_corrupt_run_record_in_one_line(tmp_path):
    run = _run(tmp_path, "g1_mimic", "run", [0])
    (run / RUN_RECORD).write_text("{truncated")
    out = tmp_path / "eval.json"
    args = [sys.executable, str(REPO / "scripts" / "evaluate.py"), "--checkpoint", str(run), "--json", str(out)]
    proc = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr, proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("[evaluate] ") and "g1_mimic_run.json: not valid JSON" in last, proc.stderr
    assert not out.exists()


def _select_checkpoint_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("select_checkpoint", REPO / "scripts" / "select_checkpoint.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_select_checkpoint_ranks_failing_checkpoints_by_how_far_they_play():
    """Among checkpoints that all fail, the one that plays longer wins even with a higher MPKPE (its MPKPE covers
    more of the clip); where success differs, success decides; where all succeed, MPKPE decides."""
    rank_key = _select_checkpoint_module().rank_key

    def result(name: str, success: float, length_s: float, mpkpe_m: float) -> dict:
        return {"checkpoint": name, "success_rate": success, "standing_after_end": success,
                "mean_episode_length_s": length_s, "mpkpe_m": mpkpe_m}

    falls_early = result("model_100.pt", 0.0, 1.2, 0.08)
    falls_late = result("model_200.pt", 0.0, 2.8, 0.12)
    assert min([falls_early, falls_late], key=rank_key)["checkpoint"] == "model_200.pt"
    some_succeed = result("model_300.pt", 0.25, 2.0, 0.20)
    assert min([falls_early, falls_late, some_succeed], key=rank_key)["checkpoint"] == "model_300.pt"
    precise = result("model_400.pt", 1.0, 7.5, 0.05)
    sloppy = result("model_500.pt", 1.0, 7.5, 0.07)
    assert min([sloppy, precise], key=rank_key)["checkpoint"] == "model_400.pt"
