"""End to end on the CPU: a 2-iteration training run writes a checkpoint and an ONNX policy, --resume
continues it, the ONNX policy matches the torch one, and evaluate.py writes its JSON report."""

from __future__ import annotations

import json
import math
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
    from g1_mimic.data import bundled_motion

    work = tmp_path_factory.mktemp("train")
    proc = _run([str(REPO / "scripts" / "train.py"), "--task", "Isaac-G1-Mimic-v0", "--num_envs", "8", "--max_iterations", "2",
                 "--headless", "--seed", "1", "--motion", str(bundled_motion("squat")), "env.rewards.action_rate_l2.weight=-0.05"], cwd=work)
    runs = sorted((work / "logs" / "rsl_rl" / "g1_mimic").iterdir())
    assert len(runs) == 1
    # the run folder is reported from the runner itself, before the first iteration
    (line,) = [x for x in proc.stdout.splitlines() if x.startswith("[train] run folder: ")]
    assert Path(line.split(": ", 1)[1]).resolve() == runs[0].resolve()
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


def test_resume_continues_from_the_checkpoint_on_the_runs_own_motion(trained_run):
    from g1_mimic.data import bundled_motion
    from g1_mimic.rl.checkpoint import recorded_overrides

    work, run = trained_run
    proc = _run([str(REPO / "scripts" / "train.py"), "--num_envs", "8", "--max_iterations", "1", "--resume", "--no_export"], cwd=work)
    assert "Loading model checkpoint from" in proc.stdout
    assert f"[train] resuming from {(run / 'model_1.pt').resolve()}" in proc.stdout
    motion = f"env.commands.motion.motion_file={bundled_motion('squat').resolve()}"
    assert "[train] re-applying the run's recorded overrides" in proc.stdout and motion in proc.stdout
    runs = sorted((work / "logs" / "rsl_rl" / "g1_mimic").iterdir())
    assert len(runs) == 2
    # the resumed run trained on the first run's motion, with its reward edit, and records them in turn
    assert set(recorded_overrides(runs[1] / "model_1.pt")) == {motion, "env.rewards.action_rate_l2.weight=-0.05"}
    assert "squat" in (runs[1] / "params" / "env.yaml").read_text()
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
    # a run folder selects its last checkpoint
    proc = _run([str(REPO / "scripts" / "evaluate.py"), "--checkpoint", str(run), "--num_envs", "4", "--num_episodes", "4", "--json", str(out)], cwd=work)
    assert f"--checkpoint {run}: {run / 'model_1.pt'}" in proc.stdout
    report = json.loads(out.read_text())
    assert report["checkpoint"] == str(run / "model_1.pt")
    for key in ("success_rate", "mpkpe_m", "r_mpkpe_m", "joint_pos_rmse_rad", "episodes", "standing_after_end"):
        assert key in report, key
    assert report["episodes"] == 4
    assert report["obs_noise"] == 0.0 and report["mpkpe_std_m"] < 1e-6  # four deterministic episodes from frame 0
    assert 0.0 <= report["success_rate"] <= 1.0
    assert 0.0 < report["mpkpe_m"] < 2.0


def test_evaluate_a_folder_of_clips_with_the_pelvis_protocol(trained_run, tmp_path):
    import shutil

    from g1_mimic.data import bundled_motion

    work, run = trained_run
    clips = tmp_path / "clips"
    clips.mkdir()
    for name in ("wave", "squat"):
        shutil.copy(bundled_motion(name), clips / f"{name}.npz")
    out = tmp_path / "report.json"
    proc = _run([str(REPO / "scripts" / "evaluate.py"), "--checkpoint", str(run), "--motion", str(clips), "--num_envs", "2",
                 "--num_episodes", "2", "--protocol", "pelvis", "--json", str(out)], cwd=work)
    report = json.loads(out.read_text())
    assert report["protocol"] == "pelvis" and "failure rule pelvis" in proc.stdout
    assert sorted(report["per_clip"]) == ["squat", "wave"]  # env i plays clip i % 2: one episode each
    assert all(m["episodes"] == 1 for m in report["per_clip"].values())
    assert report["failed_clips"] == [n for n, m in report["per_clip"].items() if m["success_rate"] < 1.0]
    # every failed clip says what ended its episodes (the pelvis rule's terms) and when
    assert sorted(report["failures"]) == sorted(report["failed_clips"])
    for f in report["failures"].values():
        assert f["count"] == 1 and set(f["terms"]) <= {"pelvis_height", "pelvis_tilt", "nonfinite_state"} and f["terms"]
        assert 0.0 < f["time_s"]["min"] <= f["time_s"]["max"] < 11.0
    assert f"failed clips ({len(report['failed_clips'])} of 2)" in proc.stdout


def test_learning_curve_plot_and_summary_from_the_runs_events(trained_run, tmp_path):
    _, run = trained_run
    png, series_json = tmp_path / "curve.png", tmp_path / "curve.json"
    proc = _run([str(REPO / "scripts" / "plot_learning_curve.py"), str(run), "--out", str(png), "--json", str(series_json), "--summary"],
                cwd=tmp_path)
    assert png.stat().st_size > 10_000
    series = json.loads(series_json.read_text())
    for tag in ("Train/mean_episode_length", "Loss/learning_rate", "Policy/mean_std"):
        assert [p["iteration"] for p in series[tag]] == [0, 1], tag  # two iterations were trained
        (line,) = [x for x in proc.stdout.splitlines() if x.startswith(f"{tag}: ")]
        first, last = series[tag][0]["value"], series[tag][-1]["value"]
        assert f"first {first:.4g}," in line and f"last {last:.4g} (2 points)" in line, line
    # the adaptive schedule starts from lr 1e-3 and moves by a factor 1.5 per minibatch, within rsl_rl's [1e-5, 1e-2]
    ratio = series["Loss/learning_rate"][0]["value"] / 1e-3
    assert 1e-5 <= ratio * 1e-3 <= 1e-2
    assert abs(math.log(ratio) / math.log(1.5) - round(math.log(ratio) / math.log(1.5))) < 1e-3


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


def test_sigint_saves_exports_and_exits_promptly(tmp_path):
    import signal
    import time

    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = [sys.executable, str(REPO / "scripts" / "train.py"), "--num_envs", "4", "--max_iterations", "100000", "--headless", "--seed", "3"]
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    try:
        for line in proc.stdout:
            lines.append(line)
            if "Learning iteration 3/" in line:
                break
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=180)
        elapsed = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
    text = "".join(lines) + out
    assert proc.returncode == 0, text[-3000:]
    assert "SIGINT: stopping after this iteration" in text and "SIGINT received after iteration" in text
    (run,) = sorted((tmp_path / "logs" / "rsl_rl" / "g1_mimic").iterdir())
    saved = sorted(run.glob("model_*.pt"))
    assert saved and f"[train] saved {(run / saved[-1].name).resolve()}" in text.replace(str(tmp_path), str(tmp_path.resolve()))
    assert (run / "exported" / "policy.onnx").is_file() and not list(run.glob("*.tmp*"))
    assert (run / "g1_mimic_run.json").is_file()
    assert elapsed < 60, f"took {elapsed:.0f} s from SIGINT to exit (export included)"


def test_video_without_isaac_sim_records_with_mujoco(trained_run, tmp_path):
    """``--video`` on the kit-less install: training and play write MP4s of env 0 beside its reference."""
    from g1_mimic.tasks.mimic.video import kit_available

    if kit_available():
        pytest.skip("Isaac Sim is installed: --video records from its viewport, not MuJoCo")
    proc = _run([str(REPO / "scripts" / "train.py"), "--num_envs", "4", "--max_iterations", "2", "--video", "--video_length", "20",
                 "--video_interval", "30", "--no_export", "--seed", "4"], cwd=tmp_path)
    assert "recording with MuJoCo's offscreen renderer" in proc.stdout
    (run,) = sorted((tmp_path / "logs" / "rsl_rl" / "g1_mimic").iterdir())
    clips = sorted((run / "videos" / "train").glob("clip_*.mp4"))
    assert [c.name for c in clips] == ["clip_0000.mp4", "clip_0001.mp4"]  # steps 1-20 and 31-48 (2 x 24 steps)
    assert all(c.stat().st_size > 10_000 for c in clips)

    work, trained = trained_run
    _run([str(REPO / "scripts" / "play.py"), "--checkpoint", str(trained), "--steps", "25", "--video"], cwd=work)
    (clip,) = (trained / "videos" / "play").glob("model_1_*.mp4")
    import imageio_ffmpeg

    frames, _ = imageio_ffmpeg.count_frames_and_secs(str(clip))
    assert frames == 15  # 25 steps at 50 Hz rendered at 30 fps


def test_play_saves_the_rollout_and_keeps_real_time(trained_run, tmp_path):
    """``--save_motion`` writes env 0's rollout as a motion file; ``--real-time`` paces steps to the control period."""
    import re

    import numpy as np

    from g1_mimic.motion.format import load_motion

    work, trained = trained_run
    out = tmp_path / "rollout.npz"
    proc = _run([str(REPO / "scripts" / "play.py"), "--checkpoint", str(trained), "--steps", "30", "--save_motion", str(out),
                 "--real-time"], cwd=work)
    played, sim_s, wall_s = re.search(r"\[play\] (\d+) steps \(([\d.]+) s of simulated time\) in ([\d.]+) s", proc.stdout).groups()
    assert 0 < int(played) <= 30 and float(sim_s) == pytest.approx(int(played) * 0.02, abs=0.01)
    assert float(wall_s) >= 0.95 * float(sim_s), proc.stdout  # never faster than real time
    motion = load_motion(out)
    assert motion.num_frames in (int(played), int(played) - 1)  # the step that ends the episode is not recorded
    assert motion.fps == pytest.approx(50.0)
    z = motion.root_pos_w[:, 2]
    assert 0.5 < z[0] < 1.0 and np.isfinite(motion.joint_pos).all()  # the robot's own pelvis, standing at the start


def test_checkpoint_of_another_observation_size_is_refused_naming_the_sizes(trained_run):
    work, run = trained_run
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / "evaluate.py"), "--checkpoint", str(run), "--num_envs", "2",
                           "--num_episodes", "2", "--json", str(work / "mismatch.json"), "presets=future_obs"],
                          cwd=work, capture_output=True, text=True, timeout=600)
    last = proc.stderr.strip().splitlines()[-1]
    assert proc.returncode != 0 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert "the checkpoint's policy does not fit this task (observation size 160 vs 274 here)" in last, last
    assert not (work / "mismatch.json").exists()
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / "train.py"), "--resume", "--num_envs", "4", "--max_iterations", "1",
                           "--no_export", "presets=future_obs"], cwd=work, capture_output=True, text=True, timeout=600)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert "[train]" in proc.stderr and "observation size 160 vs 274 here" in proc.stderr.strip().splitlines()[-1], proc.stderr[-3000:]


def test_noise_anneal_lowers_the_policy_std_over_the_run(tmp_path):
    """``agent.algorithm.noise_anneal_from=0``: the learning loop passes the run's progress to the PPO,
    whose noise bound falls from the std of the first iteration to 0.1 at the last (a third of the way per
    iteration here), in the std the run logs."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    _run([str(REPO / "scripts" / "train.py"), "--num_envs", "4", "--max_iterations", "3", "--headless", "--no_export",
          "--seed", "3", "agent.algorithm.noise_anneal_from=0.0", "agent.algorithm.noise_anneal_to_std=0.1"], cwd=tmp_path)
    (run,) = sorted((tmp_path / "logs" / "rsl_rl" / "g1_mimic").iterdir())
    events = EventAccumulator(str(run))
    events.Reload()
    std = [s.value for s in events.Scalars("Policy/mean_std")]
    assert len(std) == 3
    assert std[0] == pytest.approx(0.5, abs=0.02)  # the CPU preset's initial std, before any bound applies
    # after iteration k the bound is s0 + (k + 1) / 3 * (0.1 - s0), s0 the largest std after iteration 0
    assert std[1] <= 0.52 - (0.52 - 0.1) / 3 + 1e-6 and std[2] <= 0.52 - 2 * (0.52 - 0.1) / 3 + 1e-6
    assert std[2] < std[1] < std[0]
