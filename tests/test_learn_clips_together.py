"""scripts/learn_clips.py --together: one policy for several real clips, held-out clips zero-shot, and a
per-clip run fine-tuned from it (``--init``).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from learn_clips_cmd import learn_clips_cmd


@pytest.mark.slow
def test_learn_clips_together_trains_one_policy_and_evaluates_held_out_clips_zero_shot(tmp_path):
    """--together: one run on the clips not held out, every clip evaluated and sim2simmed with it."""
    table = tmp_path / "multi.json"
    cmd = learn_clips_cmd(table, "--clips", "HandsUp", "asap_walk", "--held_out", "asap_walk", "--together", "--episodes", "1",
                           "--select", "2", "--select_episodes", "1", "--stress", "--fix", "fix_skating", "--noisy", "0")
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    rows = {r["clip"]: r for r in json.loads(table.read_text())["rows"]}
    assert all("noisy" not in r for r in rows.values())  # --noisy 0: no evaluation under noise
    for row in rows.values():  # --stress: a push, a delay and low friction, each reported
        stress = row["sim2sim_stress"]
        assert sorted(stress) == ["delay_1", "friction_0.5", "push_0.5"]
        assert all(0.0 <= v["success_rate"] <= 1.0 and v["mpkpe_m"] > 0.0 for v in stress.values())
    assert sorted(rows) == ["asap_walk_23dof_30hz", "g1moves_B_HandsUp_29dof_60hz"]
    hands, walk = rows["g1moves_B_HandsUp_29dof_60hz"], rows["asap_walk_23dof_30hz"]
    assert hands["mode"] == walk["mode"] == "together" and hands["run_dir"] == walk["run_dir"]
    assert not hands["held_out"] and walk["held_out"]
    assert hands["overrides"][-1] == "env.commands.motion.clip_weighting=success_rate"  # --together's default
    # each clip also played once by the literature's rule (pelvis height 0.25 m, tilt 0.8 rad)
    pelvis = json.loads((tmp_path / hands["run_dir"] / "eval_pelvis.json").read_text())
    assert pelvis["protocol"] == "pelvis" and pelvis["episodes"] == 2
    for clip, row in rows.items():
        assert row["pelvis_protocol"]["success_rate"] == pelvis["per_clip"][clip]["success_rate"] in (0.0, 1.0)
        assert row["pelvis_protocol"]["mpkpe_m"] == pelvis["per_clip"][clip]["mpkpe_m"] > 0.0
    assert hands["eval_episodes"] == walk["eval_episodes"] == 1
    assert walk["length_s"] == pytest.approx(5.02, abs=0.02) and hands["length_s"] == pytest.approx(7.34, abs=0.02)
    run = tmp_path / hands["run_dir"]
    # trained on the clip that is not held out only; the exported graph holds both (sim2sim ran on each)
    trained = (tmp_path / "multi_motions_fix_skating" / "multi_trained.yaml").read_text()
    assert "HandsUp" in trained and "asap_walk" not in trained
    assert "multi_trained.yaml" in (run / "g1_mimic_run.json").read_text()
    for clip, row in rows.items():
        assert json.loads((run / f"sim2sim_{clip}.json").read_text())["mpkpe_m"] == row["sim2sim_mpkpe_m"] > 0.0
        assert (tmp_path / row["video"]).read_bytes()[:6] == b"GIF89a"
    selection = json.loads((run / "selection.json").read_text())
    assert len(selection["candidates"]) == 2 and hands["checkpoint"] == Path(selection["chosen"]).name
    # --fix fix_skating: the clips were converted with --fix-skating; the walk's stance foot slid (it is planted now)
    assert walk["fixes"]["fix_skating"]["max_shift_m"] == pytest.approx(0.65, abs=0.03)
    assert walk["stance_slide"]["max_offset_m"] < 0.05 and hands["stance_slide"]["max_offset_m"] < 0.05

    # --init: a per-clip run fine-tuned from the multi-clip policy counts its own iterations and names it
    together_ckpt = run / hands["checkpoint"]
    tuned_table = tmp_path / "tuned.json"
    tune = learn_clips_cmd(tuned_table, "--clips", "HandsUp", "--init", str(together_ckpt), "--fix", "fix_skating",
                            "--episodes", "1", "--select", "1", "--no_video", "--noisy", "0")
    proc = subprocess.run(tune, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    (tuned,) = json.loads(tuned_table.read_text())["rows"]
    start = int(together_ckpt.stem.split("_")[1])
    assert tuned["init"] == {"checkpoint": os.path.relpath(together_ckpt, tmp_path), "iterations": start + 1}
    last = int(tuned["checkpoint"].split("_")[1].split(".")[0])
    # rsl_rl goes on at the loaded checkpoint's index: model_<start> .. model_<start + 3> for 4 iterations
    assert last == start + 3 and tuned["iterations"] == 4 and tuned["env_steps"] == 4 * 24 * 8
    assert tuned["mode"] == "per_clip" and 0.0 <= tuned["success_rate"] <= 1.0
