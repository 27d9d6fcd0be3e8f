"""``scripts/motion.py``: convert/inspect/validate/export in-process, one run as a real script, and the
generate/render subcommands when their modules are installed."""

from __future__ import annotations

import importlib.util
import io
import json
import subprocess
import sys
from pathlib import Path

import motion_fixtures as F
import numpy as np
import pytest

from g1_mimic.motion.cli import main
from g1_mimic.motion.format import load_motion

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "motion.py"
INSPECT_KEYS = {
    "frames",
    "duration_s",
    "fps",
    "num_joints",
    "num_bodies",
    "joint_names",
    "body_names",
    "root_height_min_m",
    "root_height_max_m",
    "max_joint_speed_rad_s",
    "limit_violations",
    "foot_height_min_m",
}


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main([str(a) for a in argv], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def _inspect_json(path: Path) -> dict:
    code, out, err = _run("inspect", path, "--json")
    assert code == 0, err
    return json.loads(out)


@pytest.mark.parametrize(
    ("writer", "fps_in", "frames_in", "frames_out", "duration"),
    [(F.write_23dof_csv, 60.0, 121, 101, 2.0), (F.write_lafan_csv, 30.0, 91, 151, 3.0)],
    ids=["23dof_60hz", "lafan_30hz"],
)
def test_convert_then_inspect_json(tmp_path, writer, fps_in, frames_in, frames_out, duration):
    src = writer(tmp_path / "clip.csv", fps=fps_in, num_frames=frames_in)
    out = tmp_path / "clip.npz"
    code, stdout, stderr = _run("convert", src, out)
    assert code == 0, stderr
    assert f"wrote {out}: {frames_out} frames at 50 Hz" in stdout
    assert f"resampling {frames_in} frames at {fps_in:g} Hz -> {frames_out} frames at 50 Hz" in stderr  # progress
    assert f"assuming {fps_in:g} Hz" in stderr
    stats = _inspect_json(out)
    assert INSPECT_KEYS <= set(stats)
    assert stats["frames"] == frames_out and stats["fps"] == 50.0
    assert stats["duration_s"] == pytest.approx(duration)
    assert stats["num_joints"] == 29 and stats["num_bodies"] == 30 and stats["joint_names"][0] == "left_hip_pitch_joint"
    assert 0.75 <= stats["root_height_min_m"] <= stats["root_height_max_m"] <= 0.80
    assert abs(stats["foot_height_min_m"]) < 5e-3
    assert stats["limit_violations"] == []
    assert 0.5 < stats["max_joint_speed_rad_s"] < 1.5  # 0.3 rad at pi rad/s: ~0.94 rad/s


def test_inspect_text_and_foreign_files(tmp_path):
    src = F.write_lafan_csv(tmp_path / "clip.csv")
    code, out, err = _run("inspect", src)  # a CSV is imported at its own rate
    assert code == 0, err
    assert "frames:           91 at 30 Hz (3.000 s)" in out and "limit violations: none" in out
    stats = _inspect_json(src)
    assert stats["frames"] == 91 and stats["report"]["notes"]


def test_inspect_reports_limit_violations(tmp_path):
    rp, rq, jp = F.standing_trajectory(30.0, 31)
    jp[4:6, 3] = 3.0  # left knee beyond 2.88 rad
    src = F.write_csv(tmp_path / "knee.csv", rp, rq, jp)
    stats = _inspect_json(src)
    (viol,) = stats["limit_violations"]
    assert viol["joint"] == "left_knee_joint" and viol["frames"] == [4, 5]
    assert viol["max_excess_rad"] == pytest.approx(3.0 - 2.8798, abs=1e-4)


def test_longest_stride_is_the_travel_of_one_foot_between_two_rests():
    from g1_mimic.motion.validate import longest_stride

    fps, t = 50.0, np.arange(150) / 50.0
    feet = np.zeros((150, 2, 2))
    feet[:, 1, 1] = -0.2  # the right foot stands 0.2 m to the side throughout
    # the left foot rests, moves 0.6 m forward in 0.5 s (1-1.5 s, 1.2 m/s), rests again
    feet[:, 0, 0] = np.clip((t - 1.0) / 0.5, 0.0, 1.0) * 0.6
    stride = longest_stride(feet, fps, ("left", "right"))
    assert stride["foot"] == "left" and stride["length_m"] == pytest.approx(0.6, abs=0.03)
    assert 0.95 <= stride["from_s"] <= 1.0 and 1.5 <= stride["to_s"] <= 1.55
    assert longest_stride(np.zeros((50, 2, 2)), fps, ("left", "right")) is None  # standing: no stride


def test_inspect_reports_how_far_a_real_walk_travels():
    walk = REPO / "tests" / "data" / "real_motions" / "asap_walk_23dof_30hz.pkl"
    code, out, err = _run("inspect", walk)
    assert code == 0, err
    stats = _inspect_json(walk)
    assert stats["pelvis_path_m"] > 1.0 and stats["widest_stance_m"] > 0.2
    stride = stats["longest_stride"]
    assert 0.5 < stride["length_m"] < 1.5 and stride["from_s"] < stride["to_s"] <= stats["duration_s"]
    assert f"longest stride {stride['length_m']:.2f} m ({stride['foot']}" in out
    hands = _inspect_json(REPO / "tests" / "data" / "real_motions" / "g1moves_B_HandsUp_29dof_60hz.csv")
    assert hands["pelvis_path_m"] < 0.5 and hands["widest_stance_m"] < 0.35 and hands["longest_stride"] is None


def test_validate_exit_codes(tmp_path):
    good = F.write_lafan_csv(tmp_path / "good.csv")
    code, out, _ = _run("validate", good)
    assert code == 0 and "good.csv: OK (csv_lafan_xyzw" in out
    rp, rq, jp = F.standing_trajectory(30.0, 31)
    jp[7, 3] = np.nan
    bad = F.write_csv(tmp_path / "bad.csv", rp, rq, jp)
    code, out, err = _run("validate", bad)
    assert code == 1 and "bad.csv: INVALID" in err and "NaN" in err and "frame 7" in err
    rp[:, 2] += 0.2
    floating = F.write_csv(tmp_path / "floating.csv", rp, rq, F.standing_trajectory(30.0, 31)[2])
    assert _run("validate", floating)[0] == 0
    code, out, err = _run("validate", floating, "--strict")
    assert code == 1 and "never touch the floor" in err and "INVALID (--strict)" in out


def test_convert_of_a_bad_file_writes_nothing(tmp_path):
    rp, rq, jp = F.standing_trajectory(30.0, 31)
    rp[3, 2] = -0.5
    bad = F.write_csv(tmp_path / "under.csv", rp, rq, jp)
    out = tmp_path / "under.npz"
    code, _, err = _run("convert", bad, out)
    assert code == 1 and "under.csv" in err and "below the floor" in err and "frame 3" in err
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["under.csv"]
    code, _, err = _run("convert", F.write_lafan_csv(tmp_path / "ok.csv"), tmp_path / "ok.txt")
    assert code == 1 and "must end in .npz" in err and not (tmp_path / "ok.txt").exists()


def test_export_and_convert_back(tmp_path):
    canonical = F.standing_motion(fps=50.0, num_frames=40).save(tmp_path / "m.npz")
    csv = tmp_path / "m.csv"
    code, out, err = _run("export", canonical, csv, "--quat-order", "wxyz")
    assert code == 0 and "--fps 50" in out, err
    code, _, err = _run("convert", csv, tmp_path / "back.npz", "--format", "csv_wxyz", "--fps", "50")
    assert code == 0, err
    a, b = load_motion(canonical), load_motion(tmp_path / "back.npz")
    np.testing.assert_allclose(b.body_pos_w, a.body_pos_w, atol=1e-5)


def test_script_runs_as_a_program(tmp_path):
    src = F.write_23dof_csv(tmp_path / "g1.csv")
    out = tmp_path / "g1.npz"
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "convert", str(src), str(out), "--out-fps", "30", "--quiet"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert load_motion(out).num_frames == 61
    proc = subprocess.run([sys.executable, str(SCRIPT), "validate", str(tmp_path / "missing.csv")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "missing.csv: no such file" in proc.stderr


def _require(module: str) -> None:
    if importlib.util.find_spec(f"g1_mimic.motion.{module}") is None:
        pytest.skip(f"g1_mimic.motion.{module} is not installed yet (written by another worker)")


def test_generate_subcommand(tmp_path):
    _require("generate")
    from g1_mimic.motion.generate import CLIP_NAMES

    code, out, _ = _run("generate", "--list")
    assert code == 0 and out.split() == list(CLIP_NAMES)
    target = tmp_path / f"{CLIP_NAMES[0]}.npz"
    code, out, err = _run("generate", CLIP_NAMES[0], target)
    assert code == 0, err
    stats = _inspect_json(target)
    assert stats["frames"] > 2 and stats["num_joints"] == 29
    code, _, err = _run("generate", "no_such_clip", tmp_path / "x.npz")
    assert code == 1 and "unknown clip 'no_such_clip'" in err and not (tmp_path / "x.npz").exists()


def test_render_subcommand(tmp_path):
    _require("render")
    clip = F.standing_motion(fps=10.0, num_frames=3).save(tmp_path / "short.npz")
    gif = tmp_path / "short.gif"
    code, out, err = _run("render", clip, gif, "--width", "64", "--height", "48")
    if code != 0 and "RenderBackendError" in err:
        pytest.skip(f"no offscreen OpenGL backend: {err.strip()}")
    assert code == 0, err
    assert gif.exists() and gif.stat().st_size > 0
    code, _, err = _run("render", clip, tmp_path / "short.avi")
    assert code == 1 and "render writes .mp4 or .gif" in err
