"""Wrong input answers in one line with a non-zero exit and leaves nothing behind: canonical motion files
with bad values (every tool that reads them applies the importer's checks), bad selectors and counts."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from g1_mimic.data import bundled_motion
from g1_mimic.motion.format import MotionFormatError, load_motion

REPO = Path(__file__).resolve().parents[1]


def _fields() -> dict:
    with np.load(bundled_motion("wave"), allow_pickle=False) as src:
        return {k: src[k] for k in src.files}


def _bad_file(tmp_path: Path, kind: str) -> Path:
    d = _fields()
    T = d["joint_pos"].shape[0]
    if kind == "nan":
        d["joint_pos"] = d["joint_pos"].copy()
        d["joint_pos"][5, 3] = np.nan
    elif kind == "fps":
        d["fps"] = np.array(1.0e6)
    elif kind == "one_frame":
        d = {k: (v[:1] if isinstance(v, np.ndarray) and v.ndim >= 1 and v.shape[0] == T else v) for k, v in d.items()}
    elif kind == "text":
        d["fps"] = np.array("fifty")
    elif kind == "object":
        d["joint_pos"] = np.array([None, 1, "x"], dtype=object)
    path = tmp_path / f"{kind}.npz"
    np.savez(path, **d)
    return path


CASES = {
    "nan": r"field 'joint_pos' has NaN values in column\(s\) left_knee_joint at frame 5",
    "fps": r"field 'fps' is 1e\+06 Hz, outside the accepted range \[1, 1000\] Hz",
    "one_frame": r"1 frame\(s\) in the file; a motion needs at least 2 frames",
    "text": r"field 'fps' holds <U5 values where float64 belong \(e\.g\. 'fifty'\)",
    "object": r"field 'joint_pos' holds Python objects \(an object array\)",
}


@pytest.mark.parametrize("kind", sorted(CASES))
def test_load_motion_applies_the_importers_value_checks(tmp_path, kind):
    with pytest.raises(MotionFormatError, match=CASES[kind]):
        load_motion(_bad_file(tmp_path, kind))


def test_load_motion_refuses_a_folder(tmp_path):
    with pytest.raises(MotionFormatError, match="a folder, not a motion file"):
        load_motion(tmp_path)


def test_motion_cli_answers_a_folder_where_a_file_belongs(tmp_path):
    for command in ("inspect", "render"):
        args = [sys.executable, str(REPO / "scripts" / "motion.py"), command, str(tmp_path)]
        if command == "render":
            args.append(str(tmp_path / "out.gif"))
        proc = subprocess.run(args, capture_output=True, text=True, timeout=120)
        assert proc.returncode != 0 and "Traceback" not in proc.stderr, proc.stderr
        assert proc.stderr.strip().splitlines()[-1] == f"error: {tmp_path}: a folder, not a motion file (convert and validate also take a folder)"
        assert not (tmp_path / "out.gif").exists()


@pytest.mark.parametrize("command", ["inspect", "validate", "render"])
def test_motion_cli_answers_bad_files_in_one_line_and_writes_nothing(tmp_path, command):
    for kind in ("text", "object"):
        path = _bad_file(tmp_path, kind)
        args = [sys.executable, str(REPO / "scripts" / "motion.py"), command, str(path)]
        out = tmp_path / "out.gif"
        if command == "render":
            args.append(str(out))
        proc = subprocess.run(args, capture_output=True, text=True, timeout=120)
        assert proc.returncode != 0, proc.stdout
        assert "Traceback" not in proc.stderr, proc.stderr
        last = proc.stderr.strip().splitlines()[-1]  # validate says "<file>: INVALID" first
        assert last.startswith("error: ") and path.name in last, proc.stderr
        assert not out.exists()


@pytest.mark.parametrize(
    ("script", "args", "message"),
    [
        ("train.py", ["--num_envs", "0"], "argument --num_envs: must be > 0, got 0"),
        ("train.py", ["--max_iterations", "-1"], "argument --max_iterations: must be > 0, got -1"),
        ("evaluate.py", ["--checkpoint", "latest", "--num_episodes", "0"], "argument --num_episodes: must be > 0, got 0"),
        ("play.py", ["--checkpoint", "latest", "--num_envs", "-2"], "argument --num_envs: must be > 0, got -2"),
        ("sim2sim.py", ["--policy", "latest", "--motion", "wave", "--episodes", "0"], "argument --episodes: must be > 0, got 0"),
        ("learn_clips.py", [".", "--json", "t.json", "--minutes", "0"], "argument --minutes: must be > 0, got 0"),
        ("learn_clips.py", [".", "--json", "t.json", "--minutes", "1", "--noisy", "-1"], "--noisy must be >= 0"),
        ("evaluate.py", ["--checkpoint", "latest", "--obs_noise", "-0.5"], "--obs_noise must be >= 0"),
        ("select_checkpoint.py", [".", "--obs_noise", "-1"], "--obs_noise must be >= 0"),
    ],
)
def test_non_positive_counts_are_refused_not_replaced(tmp_path, script, args, message):
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / script), *args], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert not (tmp_path / "logs").exists()


def test_sim2sim_refuses_a_corrupt_onnx_in_one_line(tmp_path):
    run = tmp_path / "run" / "exported"
    run.mkdir(parents=True)
    (run / "policy_graph.onnx").write_bytes(b"not a model")
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "sim2sim.py"), "--policy", str(tmp_path / "run"), "--motion", "wave",
         "--json", str(tmp_path / "r.json")],
        capture_output=True, text=True, timeout=300,
    )
    last = proc.stderr.strip().splitlines()[-1]
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert last.startswith("[sim2sim] refused:") and "is not a loadable ONNX model" in last
    assert not (tmp_path / "r.json").exists()


def test_onnx_without_a_contract_is_refused_naming_the_file(tmp_path):
    """An ONNX model that export_policy did not write (no contract in its metadata) is refused with the
    file and the fix, not decoded into a partial contract."""
    import onnx
    from onnx import TensorProto, helper

    from g1_mimic.deploy.contract import ContractError
    from g1_mimic.rl.export import read_onnx_metadata

    graph = helper.make_graph(
        [helper.make_node("Identity", ["obs"], ["actions"])], "foreign",
        [helper.make_tensor_value_info("obs", TensorProto.FLOAT, [1, 29])],
        [helper.make_tensor_value_info("actions", TensorProto.FLOAT, [1, 29])],
    )
    model = helper.make_model(graph)
    helper.set_model_props(model, {"author": "someone else"})
    path = tmp_path / "foreign.onnx"
    onnx.save(model, str(path))
    with pytest.raises(ContractError, match="carries no g1_mimic deploy contract") as info:
        read_onnx_metadata(path)
    assert str(path) in str(info.value) and "--export_only" in str(info.value)


@pytest.mark.skipif(importlib.util.find_spec("wandb") is not None, reason="wandb is installed here: the refusal cannot happen")
@pytest.mark.parametrize("form", [["--logger", "wandb"], ["--logger=wandb"]])
def test_train_logger_wandb_without_the_package_says_how_to_install_it(tmp_path, form):
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / "train.py"), "--max_iterations", "1", *form],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    last = proc.stderr.strip().splitlines()[-1]
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert last.startswith("[train] --logger wandb: the wandb package is not installed") and "pip install -e '.[wandb]'" in last, last
    assert not (tmp_path / "logs").exists()


@pytest.mark.skipif(importlib.util.find_spec("wandb") is None, reason="wandb is not installed (pip install -e '.[wandb]')")
def test_train_logger_wandb_offline_run(tmp_path):
    # the optional extra's wandb through Isaac Lab 3.0's own wandb hook (offline: no account or network)
    env = dict(os.environ, WANDB_MODE="offline", WANDB_DIR=str(tmp_path), OMP_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / "train.py"), "--task", "Isaac-G1-Mimic-v0", "--num_envs", "4",
                           "--max_iterations", "1", "--logger", "wandb", "--no_export"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert list((tmp_path / "wandb").glob("offline-run-*/run-*.wandb"))
    assert list((tmp_path / "logs" / "rsl_rl" / "g1_mimic").glob("*/model_0.pt"))
