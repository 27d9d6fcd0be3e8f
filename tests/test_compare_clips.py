"""scripts/compare_clips.py: per clip, the best expert beside the newest multi-clip and distilled rows."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _row(clip: str, mode: str, success: float, mpkpe: float, **extra) -> dict:
    row = {"clip": clip, "mode": mode, "success_rate": success, "mpkpe_m": mpkpe, "sim2sim_success_rate": success,
           "minutes": 60.0, "commit": "abc1234", "fixes": {}, "held_out": False, "date": "2026-12-06"}
    return {**row, **extra}


def _compare(tmp_path: Path, *tables: list[dict]) -> subprocess.CompletedProcess:
    paths = []
    for k, rows in enumerate(tables):
        paths.append(tmp_path / f"t{k}.json")
        paths[-1].write_text(json.dumps({"rows": rows}))
    out = tmp_path / "cmp.md"
    cmd = [sys.executable, str(REPO / "scripts" / "compare_clips.py"), *map(str, paths), "--markdown", str(out)]
    return subprocess.run(cmd, capture_output=True, text=True)


def test_best_expert_and_newest_multi_clip_rows_per_clip(tmp_path):
    experts = [
        _row("dance", "per_clip", 1.0, 0.103),
        _row("dance", "per_clip", 1.0, 0.065, fixes={"fix_skating": True}, minutes=50.0),  # the best: lower MPKPE
        _row("dance", "per_clip", 0.0, 0.020),  # lower error but fails
        _row("walk", "per_clip", 1.0, 0.137, held_out=True),
    ]
    multi = [
        _row("dance", "together", 0.5, 0.300, date="2026-12-05"),
        _row("dance", "together", 0.75, 0.200),  # newer: replaces the row above
        _row("walk", "together", 0.25, 0.400, held_out=True, mean_episode_length_s=3.14, length_s=5.02),
        _row("dance", "distilled", 1.0, 0.090, expert={"success_rate": 1.0, "mpkpe_m": 0.103, "commit": "def5678"}),
    ]
    proc = _compare(tmp_path, experts, multi)
    assert proc.returncode == 0, proc.stderr
    lines = (tmp_path / "cmp.md").read_text().splitlines()
    assert lines[0].startswith("| clip | expert (one policy per clip): success |") and len(lines) == 4
    assert lines[2] == "| dance | 100 % | 6.5 | 100 % | 50 min, fix_skating, `abc1234` | 75 % | 20.0 | 75 % | 100 % | 9.0 | 100 % | 100 %, 10.3 cm, `def5678` |"
    assert lines[3] == "| walk (held out) | 100 % | 13.7 | 100 % | 60 min, none, `abc1234` | 25 % | 40.0 (to 3.1 of 5.0 s) | 25 % | – | – | – | – |"
    assert proc.stdout.startswith(lines[0])


def test_tables_without_multi_clip_rows_or_missing_are_refused(tmp_path):
    proc = _compare(tmp_path, [_row("dance", "per_clip", 1.0, 0.1)])
    assert proc.returncode != 0 and "no --together or --distill rows" in proc.stderr
    cmd = [sys.executable, str(REPO / "scripts" / "compare_clips.py"), str(tmp_path / "nope.json")]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode != 0 and "nope.json: no such file" in proc.stderr and not (tmp_path / "cmp.md").exists()


def test_targets_lists_every_clip_of_the_folder_with_its_closest_row(tmp_path):
    folder = tmp_path / "clips"
    folder.mkdir()
    for name in ("dance.csv", "walk.csv", "jump.pkl", "notes.txt"):
        (folder / name).write_text("")
    rows = [
        _row("dance", "per_clip", 1.0, 0.0502, r_mpkpe_m=0.025, task="Isaac-G1-Mimic-CPU-Learn-v0"),
        _row("dance", "per_clip", 1.0, 0.049, sim2sim_success_rate=0.0),  # lower error, but misses sim2sim
        _row("dance", "per_clip", 1.0, 0.045, r_mpkpe_m=0.02, task="Isaac-G1-Mimic-CPU-Robust-v0", commit="fed9876",
             overrides=["agent.algorithm.noise_anneal_from=0.5"]),
        _row("dance", "together", 1.0, 0.010),  # not a per-clip row: not counted
        _row("walk", "per_clip", 0.875, 0.203, sim2sim_success_rate=1.0, held_out=True),
        _row("walk", "per_clip", 0.0, 0.100),
        _row("other", "per_clip", 1.0, 0.01),  # not in the folder
    ]
    table = tmp_path / "t.json"
    table.write_text(json.dumps({"rows": rows}))
    out = tmp_path / "targets.md"
    cmd = [sys.executable, str(REPO / "scripts" / "compare_clips.py"), str(table), "--targets", str(folder),
           "--markdown", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    lines = out.read_text().splitlines()
    assert [line.split(" | ")[0] for line in lines[2:5]] == ["| dance", "| jump", "| walk (held out)"]
    assert lines[2] == "| dance | 100 % | 4.5 | 2.0 | 100 % | met | CPU-Robust, 60 min, no fixes, `agent.algorithm.noise_anneal_from=0.5`, `fed9876` |"
    assert lines[3] == "| jump | – | – | – | – | untried | – |"
    assert "missed: success 88 % < 90 %; MPKPE 20.30 > 5 cm |" in lines[4]
    assert lines[-1].startswith("1 of 3 clips meet all targets") and lines[-1].endswith("2 tried, 1 untried")

    rows[2]["mpkpe_m"] = 0.0502 + 1e-6  # now every dance row misses one target: the best success, then MPKPE
    table.write_text(json.dumps({"rows": rows}))
    proc = subprocess.run(cmd, capture_output=True, text=True)
    lines = out.read_text().splitlines()
    assert "| dance | 100 % | 4.9 |" in lines[2] and "missed: sim2sim 0 % < 90 %" in lines[2]
    assert lines[-1].startswith("0 of 3 clips meet all targets")

    proc = subprocess.run(cmd[:-4] + ["--targets", str(tmp_path / "none")], capture_output=True, text=True)
    assert proc.returncode != 0 and "--targets" in proc.stderr and "no such folder" in proc.stderr


def test_plot_draws_a_bar_per_mode_and_clip_and_marks_the_played_part(tmp_path):
    """--plot: one colour per mode (expert, multi-clip PPO, student), the figure widening with the clips; a
    policy's MPKPE is the error of a part only where its episodes end, on average, before the clip's end."""
    import numpy as np
    from PIL import Image

    sys.path.insert(0, str(REPO / "scripts"))
    import compare_clips

    rows = [
        _row("dance", "per_clip", 1.0, 0.065),
        _row("dance", "together", 0.0, 0.200, mean_episode_length_s=3.1, length_s=14.0),
        _row("dance", "distilled", 1.0, 0.070),
        _row("g1moves_M_Move18_29dof_60hz", "per_clip", 0.875, 0.203, mean_episode_length_s=18.7, length_s=16.7),
        _row("g1moves_M_Move18_29dof_60hz", "together", 0.0, 0.150, held_out=True),
    ]
    assert compare_clips.played_s(rows[1]) == 3.1  # fell at 3.1 s of 14 s
    assert compare_clips.played_s(rows[3]) is None  # 88 %: the mean holds the standing after the clip's end
    assert compare_clips.played_s(rows[0]) is None
    assert compare_clips.short_name("g1moves_M_Move18_29dof_60hz") == "Move18"
    assert compare_clips.short_name("asap_walk_23dof_30hz") == "asap_walk"

    table = tmp_path / "t.json"
    table.write_text(json.dumps({"rows": rows}))
    out = tmp_path / "cmp.png"
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / "compare_clips.py"), str(table), "--plot", str(out)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert f"wrote {out}" in proc.stdout and "| g1moves_M_Move18_29dof_60hz (held out) | 88 % | 20.3 | 88 % |" in proc.stdout
    with Image.open(out) as img:
        pixels = np.asarray(img.convert("RGB")).reshape(-1, 3)
        assert img.size == (660, 660)  # 6 x 6 inches at 110 dpi: two clips
    for colour in ((0x1F, 0x77, 0xB4), (0xFF, 0x7F, 0x0E), (0x2C, 0xA0, 0x2C)):  # C0, C1, C2: each mode drew bars
        assert (np.abs(pixels.astype(int) - colour).sum(-1) < 10).sum() > 200, colour

    folder = tmp_path / "clips"
    folder.mkdir()
    for k in range(12):
        (folder / f"clip{k}.csv").write_text("")
    table.write_text(json.dumps({"rows": [_row("clip0", "per_clip", 1.0, 0.04)]}))
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / "compare_clips.py"), str(table), "--targets",
                           str(folder), "--plot", str(out)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    with Image.open(out) as img:
        assert img.size == (int(110 * (0.75 * 12 + 2.0)), 660)  # twelve clips, eleven of them untried
