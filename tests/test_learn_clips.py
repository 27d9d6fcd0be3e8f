"""scripts/learn_clips.py, one clip at a time: the whole pipeline on a real clip (train, choose, evaluate,
sim2sim, then a student distilled from it) and the table's row logic.

The multi-clip pipeline (``--together``, ``--init``) is in ``test_learn_clips_together.py``: a file of its own,
so that ``./test.sh``'s workers (one file each) run the two slow pipelines side by side.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from learn_clips_cmd import learn_clips_cmd
from PIL import Image

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_learn_clips_trains_evaluates_and_sim2sims_a_real_clip(tmp_path):
    """The smoke run of the per-clip table: a few seconds of training on a real clip, then the whole pipeline."""
    table = tmp_path / "table.json"
    cmd = learn_clips_cmd(table, "--clips", "HandsUp", "--episodes", "2", "--select", "2", "--select_episodes", "2",
                           "--noisy_sim2sim", "2", "--markdown", str(tmp_path / "table.md"))
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    # each step says how long it took: training, choosing, evaluating, sim2sim, the curve
    steps = re.findall(r"^\[learn_clips\] (\S+): exit 0 after (\d+) s$", proc.stdout, re.M)
    assert [s for s, _ in steps[:4]] == ["train.py", "select_checkpoint.py", "evaluate.py", "sim2sim.py"]
    assert int(steps[0][1]) >= 1  # building the env and 4 PPO iterations take more than a second
    rows = json.loads(table.read_text())["rows"]
    assert len(rows) == 1
    row = rows[0]
    assert row["clip"] == "g1moves_B_HandsUp_29dof_60hz" and row["length_s"] == pytest.approx(7.34, abs=0.02)
    assert row["iterations"] == 4 and row["env_steps"] == row["iterations"] * 24 * 8
    assert row["eval_episodes"] == 2 and 0.0 <= row["success_rate"] <= 1.0 and row["mpkpe_m"] > 0.0
    assert row["sim2sim_success_rate"] in (0.0, 1.0) and row["sim2sim_mpkpe_m"] > 0.0
    # --noisy 0.01 (the default): evaluation and sim2sim again with a hundredth of the training's sensor noise
    noisy = row["noisy"]
    assert noisy["obs_noise"] == 0.01 and noisy["eval"]["episodes"] == 2 and noisy["sim2sim"]["episodes"] == 2
    assert 0.0 <= noisy["eval"]["success_rate"] <= 1.0 and noisy["eval"]["mpkpe_m"] > 0.0
    assert noisy["sim2sim"]["mpkpe_std_m"] > 0.0  # the noise makes the two sim2sim episodes differ
    assert json.loads((tmp_path / row["run_dir"] / "eval_noisy.json").read_text())["obs_noise"] == 0.01
    drift = row["sim2sim_root_drift"]
    assert 0.0 <= drift["root_drift_end_m"] <= drift["root_drift_max_m"] and 0.0 <= drift["root_drift_max_at_s"] <= 7.4
    # a failed evaluation or sim2sim episode says what ended it and when
    if row["success_rate"] < 1.0:
        assert row["eval_failures"]["count"] >= 1 and row["eval_failures"]["terms"]
    if row["sim2sim_success_rate"] == 0.0:
        assert row["sim2sim_failure"]["terms"] and row["sim2sim_failure"]["time_s"] > 0.0
    run = tmp_path / row["run_dir"]
    assert (run / "exported" / "policy_graph.onnx").is_file() and (run / "learning_curve.png").is_file()
    video = tmp_path / row["video"]
    assert video == run / "sim2sim.gif" and video.read_bytes()[:6] == b"GIF89a"
    with Image.open(video) as gif:  # the policy beside its reference, one frame per 1/12 s of the episode
        assert gif.size == (64, 48) and gif.n_frames >= 2
    # the checkpoint was chosen among the last two by their evaluation from frame 0, and is the one reported
    selection = json.loads((run / "selection.json").read_text())
    assert len(selection["candidates"]) == 2 and selection["episodes"] == 2
    assert selection["obs_noise"] == row["select_obs_noise"] == 0.01  # chosen on episodes that differ
    assert Path(selection["chosen"]).name == row["checkpoint"] in [Path(c["checkpoint"]).name for c in selection["candidates"]]
    assert row["select"] == [2, 2]
    assert row["selection"] == selection["candidates"]  # the table keeps what the choice was made on
    assert (tmp_path / "table_motions" / "g1moves_B_HandsUp_29dof_60hz.npz").is_file()
    assert "| g1moves_B_HandsUp_29dof_60hz |" in (tmp_path / "table.md").read_text()
    assert " (x0.01) |" in (tmp_path / "table.md").read_text()
    # a second call finds the row and skips the clip
    again = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and "in the table already" in again.stdout

    # --distill: that run is the expert of HandsUp; a student learns from it, asap_walk is held out (zero-shot)
    student_table = tmp_path / "student.json"
    distill = learn_clips_cmd(student_table, "--clips", "HandsUp", "asap_walk", "--held_out", "asap_walk",
                               "--distill", str(table), "--episodes", "1", "--select", "1", "--no_video", "--noisy", "0")
    proc = subprocess.run(distill, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    students = {r["clip"]: r for r in json.loads(student_table.read_text())["rows"]}
    hands, walk = students["g1moves_B_HandsUp_29dof_60hz"], students["asap_walk_23dof_30hz"]
    assert hands["mode"] == walk["mode"] == "distilled" and hands["task"] == "Isaac-G1-Mimic-CPU-Distill-v0"
    assert hands["expert"]["checkpoint"] == row["checkpoint"] and hands["expert"]["mpkpe_m"] == row["mpkpe_m"]
    assert walk["expert"] is None and walk["held_out"] and hands["experts_minutes"] == 2.0
    assert hands["file"] == row["file"]  # the student learnt the clip from the file its expert learnt it on
    student_run = tmp_path / hands["run_dir"]
    assert (student_run / "exported" / "policy_graph.onnx").is_file() and hands["sim2sim_mpkpe_m"] > 0.0
    assert json.loads((student_run / "g1_mimic_run.json").read_text())["task"] == "Isaac-G1-Mimic-CPU-Distill-v0"
    # a clip without an expert in the table is refused, naming the command that trains one
    missing = learn_clips_cmd(student_table, "--clips", "HandsUp", "asap_walk", "--distill", str(table))
    proc = subprocess.run(missing, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    assert "no per-clip row of asap_walk_23dof_30hz; train its expert first" in proc.stderr
    assert "learn_clips.py FOLDER --clips asap_walk_23dof_30hz" in proc.stderr




def test_distill_experts_share_the_students_action_map(tmp_path, capsys):
    """learn_clips --distill: per clip the best row whose expert acts in the action map most clips' best rows
    share (the reference lead saved with each run); a clip without one is refused, naming the retraining."""
    import argparse

    sys.path.insert(0, str(REPO / "scripts"))
    import learn_clips

    def row(clip: str, name: str, lead: str, success: float, mpkpe: float) -> dict:
        run = tmp_path / name
        (run / "params").mkdir(parents=True)
        (run / "params" / "env.yaml").write_text(
            "actions:\n  joint_pos:\n    class_type: g1_mimic.tasks.mimic.mdp.actions:ReferenceJointPositionAction\n"
            f"    lead_s: {lead}\n"
        )
        (run / "model_1.pt").write_bytes(b"")
        (tmp_path / f"{clip}.npz").write_bytes(b"")
        return {"clip": clip, "run_dir": str(run), "checkpoint": "model_1.pt", "file": str(tmp_path / f"{clip}.npz"),
                "success_rate": success, "mpkpe_m": mpkpe, "commit": name, "mode": "per_clip"}

    rows = [row("a", "a_old", "null", 1.0, 0.05), row("a", "a_new", "0.08", 1.0, 0.07), row("b", "b_new", "0.08", 1.0, 0.1),
            row("c", "c_new", "0.08", 0.9, 0.1), row("c", "c_worse", "0.08", 0.5, 0.1)]
    table = tmp_path / "t.json"
    table.write_text(json.dumps({"rows": rows}))
    args = argparse.Namespace(distill=[table])
    clips = [tmp_path / f"{c}.npz" for c in "abc"]
    chosen = learn_clips.expert_rows(clips, args)
    # a's best row (5 cm) acts with one step of lead; b and c's best with 0.08 s: a is taught by its 7 cm expert
    assert {k: v["commit"] for k, v in chosen.items()} == {"a": "a_new", "b": "b_new", "c": "c_new"}
    assert "a: its best row (a_old) acts in another action map" in capsys.readouterr().out
    table.write_text(json.dumps({"rows": [rows[0], *rows[2:]]}))
    with pytest.raises(SystemExit, match=r"no expert of a acts in the action map env\.actions\.joint_pos\.lead_s=0\.08"):
        learn_clips.expert_rows(clips, args)


def test_redo_replaces_rows_of_the_same_commit_and_keeps_other_commits():
    """learn_clips --redo: a rerun by the same code replaces its row; a rerun after a code change (another commit)
    is a new measurement and stays beside the old one (an A/B of the change needs both)."""
    sys.path.insert(0, str(REPO / "scripts"))
    import learn_clips

    old_a, old_b, other = ({"clip": "a", "commit": "c1"}, {"clip": "a", "commit": "c2"}, {"clip": "b", "commit": "c1"})
    rows = [old_a, old_b, other]
    def same_recipe(r: dict) -> bool:  # what same_as finds for clip a
        return r["clip"] == "a"

    assert learn_clips.merge_rows(rows, [{"clip": "a", "commit": "c2", "new": 1}], same_recipe) == [
        old_a, other, {"clip": "a", "commit": "c2", "new": 1}]
    assert learn_clips.merge_rows(rows, [{"clip": "a", "commit": "c3"}], same_recipe) == [*rows, {"clip": "a", "commit": "c3"}]
    assert learn_clips.merge_rows([], [old_a], same_recipe) == [old_a]


def test_rows_written_while_a_run_trained_are_kept(tmp_path):
    """learn_clips writes its row into the table as it is on disk when the run ends: a row another run (or the
    user) added while this one trained stays; the same recipe's row from the same commit is replaced."""
    sys.path.insert(0, str(REPO / "scripts"))
    import learn_clips

    table = tmp_path / "t.json"
    table.write_text(json.dumps({"rows": [{"clip": "a", "commit": "c1", "old": True}]}))
    # ... a long run starts, reads the table; meanwhile another run writes its row for clip b
    table.write_text(json.dumps({"rows": [{"clip": "a", "commit": "c1", "old": True}, {"clip": "b", "commit": "c1"}]}))
    rows = learn_clips.write_rows(table, [{"clip": "a", "commit": "c1"}], lambda r: r["clip"] == "a", "cmd")
    on_disk = json.loads(table.read_text())
    assert on_disk["rows"] == rows == [{"clip": "b", "commit": "c1"}, {"clip": "a", "commit": "c1"}]
    assert on_disk["command"] == "cmd"
    assert learn_clips.read_rows(tmp_path / "none.json") == []
