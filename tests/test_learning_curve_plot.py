"""scripts/plot_learning_curve.py on event files written here: the per-clip figure of a multi-clip run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from torch.utils.tensorboard import SummaryWriter

REPO = Path(__file__).resolve().parents[1]


def _write_run(run: Path, clips: list[str]) -> None:
    writer = SummaryWriter(str(run))
    for it in range(3):
        writer.add_scalar("Train/mean_episode_length", 50.0 + 10 * it, it)
        for k, name in enumerate(clips):
            writer.add_scalar(f"Metrics/motion/clip/{name}/success_rate", 0.1 * (it + k), it)
            writer.add_scalar(f"Metrics/motion/clip/{name}/error", 0.2 - 0.05 * it, it)
            writer.add_scalar(f"Metrics/motion/clip/{name}/prob", 0.5, it)  # not plotted
    writer.close()


def _plot(run: Path, out: Path) -> subprocess.CompletedProcess:
    cmd = [sys.executable, str(REPO / "scripts" / "plot_learning_curve.py"), str(run), "--out", str(out), "--json", str(out.with_suffix(".json"))]
    return subprocess.run(cmd, capture_output=True, text=True, check=True)


def test_a_multi_clip_run_gets_a_per_clip_figure(tmp_path):
    run = tmp_path / "run"
    _write_run(run, ["dance", "walk"])
    proc = _plot(run, tmp_path / "curve.png")
    assert (tmp_path / "curve.png").stat().st_size > 5_000
    assert (tmp_path / "curve_clips.png").stat().st_size > 5_000
    assert f"wrote {tmp_path / 'curve_clips.png'}" in proc.stdout
    series = json.loads((tmp_path / "curve.json").read_text())
    assert [round(p["value"], 4) for p in series["Metrics/motion/clip/walk/success_rate"]] == [0.1, 0.2, 0.3]
    assert [round(p["value"], 4) for p in series["Metrics/motion/clip/dance/error"]] == [0.2, 0.15, 0.1]
    assert "Metrics/motion/clip/dance/prob" not in series


def test_a_single_clip_run_gets_no_per_clip_figure(tmp_path):
    run = tmp_path / "run"
    _write_run(run, ["wave"])
    _plot(run, tmp_path / "curve.png")
    assert (tmp_path / "curve.png").exists() and not (tmp_path / "curve_clips.png").exists()


def test_what_ended_the_episodes_is_plotted_and_printed_for_the_terms_that_ended_any(tmp_path):
    run = tmp_path / "run"
    writer = SummaryWriter(str(run))
    for it in range(20):
        writer.add_scalar("Train/mean_episode_length", 50.0 + it, it)
        writer.add_scalar("Episode_Termination/body_drift", 0.9 if it < 10 else 0.3, it)
        writer.add_scalar("Episode_Termination/motion_finished", 0.1 if it < 10 else 0.7, it)
        writer.add_scalar("Episode_Termination/anchor_pos", 0.0, it)  # never ends an episode: not drawn
    writer.close()
    proc = _plot(run, tmp_path / "curve.png")
    # the last tenth of 20 points: the last two
    assert "[plot] episodes ended by (share of envs, last tenth of the run): motion_finished 0.70, body_drift 0.30\n" in proc.stdout
    series = json.loads((tmp_path / "curve.json").read_text())
    assert [round(p["value"], 2) for p in series["Episode_Termination/body_drift"]][9:11] == [0.9, 0.3]


def test_compare_draws_runs_on_the_same_panels_and_prints_each_runs_episode_ends(tmp_path):
    for name, drift in (("a", 0.8), ("b", 0.2)):
        writer = SummaryWriter(str(tmp_path / name))
        for it in range(10):
            writer.add_scalar("Train/mean_episode_length", 50.0 + it, it)
            writer.add_scalar("Curriculum/tracking_std/motion_body_pos", 0.3 if it < 5 else 0.06, it)
            writer.add_scalar("Episode_Termination/body_drift", drift, it)
            writer.add_scalar("Episode_Termination/motion_finished", 1.0 - drift, it)
        writer.close()
    script = str(REPO / "scripts" / "plot_learning_curve.py")
    out = tmp_path / "cmp.png"
    cmd = [sys.executable, script, str(tmp_path / "a"), "--compare", str(tmp_path / "b"), "--labels", "gate 0.5", "gate 1 s",
           "--out", str(out), "--json", str(tmp_path / "a.json")]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
    assert out.stat().st_size > 5_000
    assert "[plot] gate 0.5: episodes ended by (share of envs, last tenth of the run): body_drift 0.80, motion_finished 0.20" in proc.stdout
    assert "[plot] gate 1 s: episodes ended by (share of envs, last tenth of the run): motion_finished 0.80, body_drift 0.20" in proc.stdout
    # --json is the first run's: the curriculum's std is one of its series
    series = json.loads((tmp_path / "a.json").read_text())
    assert [round(p["value"], 2) for p in series["Curriculum/tracking_std/motion_body_pos"]][4:6] == [0.3, 0.06]
    bad = subprocess.run([*cmd[:5], "--labels", "only one"], capture_output=True, text=True)
    assert bad.returncode != 0 and "--labels: 1 names for 2 runs" in bad.stderr
