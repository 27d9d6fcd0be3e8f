"""Train, evaluate and sim2sim one tracker per clip of a folder; one row per clip in a JSON table.

    python scripts/learn_clips.py ../shared/data/motions/real --minutes 60 --json docs/results/real_clips.json
        [--clips JazzWalk HandsUp] [--held_out Move8 ShortMove12] [--task Isaac-G1-Mimic-CPU-Learn-v0]
        [--seed 1] [--episodes 32] [--markdown table.md] [--redo] [--together | --distill EXPERTS.json]
        [--fix fix_skating]
        [-- HYDRA_OVERRIDES...]

For every motion file of FOLDER (any format ``scripts/motion.py convert`` reads, converted with its
defaults, plus the ``--fix`` repairs, into ``<json dir>/<json stem>_motions[_<fixes>]/``; canonical
``.npz`` files are used as they are), in name order:

1. ``scripts/train.py --task TASK --max_minutes M --motion CLIP --seed S [overrides]`` (``--no_export``: step 2
   exports the checkpoint it chooses);
2. ``scripts/select_checkpoint.py`` on the run's last ``--select`` checkpoints (``--select_episodes``
   episodes each from frame 0, with the ``--noisy`` sensor noise so that they differ; the best by success,
   standing after the end, episode length, then MPKPE), exported to ``<run>/exported/``; ``--select 1`` keeps the last
   checkpoint and its export;
3. ``scripts/evaluate.py`` on the chosen checkpoint: ``--episodes`` further episodes, every one from
   frame 0, then 3 s of the held last frame (``standing_after_end``);
4. ``scripts/sim2sim.py`` on its exported policy graph in plain MuJoCo (deterministic: one episode),
   rendered to ``<run>/sim2sim.gif`` (the policy, its reference 1 m to its left; ``--no_video`` skips it);
5. with ``--noisy K`` (default 0.01; 0: skip): both again with K times the training's sensor noise
   (``--obs_noise K``: ``--episodes`` evaluation episodes, ``--noisy_sim2sim`` sim2sim episodes), so that the
   episodes differ: deterministic episodes from frame 0 are one trajectory however many are run, and a
   policy that plays its clip through on that one trajectory may fail on its neighbours (row key ``noisy``:
   success, MPKPE and its spread in each simulator);
6. ``scripts/plot_learning_curve.py`` into ``<run>/learning_curve.png``.

The row (clip, length, minutes, iterations, env steps, success, MPKPE, R-MPKPE, joint RMSE,
standing after the end, sim2sim success and MPKPE, the reference's stance-foot slide and the ``--fix``
repairs, run folder, git commit, overrides, whether the clip was held out of tuning) is written to ``--json`` atomically after each clip, so a stopped
table keeps its finished rows; clips already in the table with the same task, minutes, seed and
overrides are skipped unless ``--redo``, which replaces the rows it reruns only when the same code (commit)
trained them: a rerun after a code change is a new measurement, kept beside the old. ``--held_out`` names (substrings) only tag rows: the
recipe is the same for all clips; the tag says which clips were never used to choose it.

``--together`` trains one policy for all the clips instead (multi-clip PPO; ``--minutes`` is the whole
run's budget): on a YAML list of the clips not ``--held_out``, choosing its checkpoint on them
(``--select_episodes`` per clip), then evaluates every clip (``--episodes`` each; held-out clips
zero-shot), exports a policy graph holding every clip and sim2sims each (``<run>/sim2sim_<clip>.json``
and ``.gif``). One row per clip, all with the same run, ``"mode": "together"``; each row also has
``pelvis_protocol``: the clip played once from frame 0 under the recent literature's failure rule
(``scripts/evaluate.py --protocol pelvis``: pelvis height off by > 0.25 m or tilt > 0.8 rad).

``--distill EXPERTS.json [MORE.json ...]`` distils per-clip experts into one student instead (multi-expert DAgger,
``scripts/distill.py``; ``--minutes`` is the student's budget): the expert of each clip not
``--held_out`` is the best row of that clip in the per-clip tables (whatever its repairs;
``--fix`` applies to the held-out clips) among those whose run acts in the action map (reference lead) most
clips' best rows share, the student's; the student is trained on the experts' own clip files, then chosen, evaluated (held-out clips zero-shot),
exported and sim2simmed as with ``--together``. Rows are tagged ``"mode": "distilled"`` and carry their
expert's figures (``expert``) and the experts' training minutes in all (``experts_minutes``).

``--init CHECKPOINT`` starts every per-clip run from a checkpoint (e.g. a ``--together`` policy, so that
each clip is fine-tuned from it); its rows count iterations and env steps from there and name it (``init``).

``--stress`` adds ``sim2sim_stress`` to each row: sim2sim under a 0.5 m/s push at 30 % of the clip, a
one-step control delay and friction 0.5 (success and MPKPE each; for the robust task, issue 14).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from g1_mimic.cliargs import positive

REPO = Path(__file__).resolve().parents[1]
#: The task a ``--distill`` student trains on (scripts/distill.py's).
DISTILL_TASK = "Isaac-G1-Mimic-CPU-Distill-v0"
#: Repairs of ``scripts/motion.py convert`` that ``--fix`` may ask for (boolean ``ImportOptions`` fields).
IMPORT_FIXES = ("fix_skating", "level_feet", "smooth_glitches", "clamp_limits")
COLUMNS = (
    ("clip", "clip"),
    ("length_s", "length [s]"),
    ("minutes", "minutes"),
    ("iterations", "iterations"),
    ("env_steps", "env steps"),
    ("checkpoint", "checkpoint"),
    ("success_rate", "success"),
    ("mpkpe_m", "MPKPE [cm]"),
    ("r_mpkpe_m", "R-MPKPE [cm]"),
    ("joint_pos_rmse_rad", "joint RMSE [rad]"),
    ("sim2sim_success_rate", "sim2sim success"),
    ("noisy", "success / sim2sim, sensor noise"),
    ("standing_after_end", "standing after end"),
    ("stance_slide", "stance-slide offset [cm]"),
    ("fixes", "fixes"),
    ("commit", "commit"),
)


def parse_args(argv: list[str]) -> argparse.Namespace:
    if "--" in argv:
        k = argv.index("--")
        argv, overrides = argv[:k], argv[k + 1 :]
    else:
        overrides = []
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("folder", type=Path, help="folder of motion files (or one motion file)")
    p.add_argument("--minutes", type=positive(float), required=True, help="training budget per clip (wall clock)")
    p.add_argument("--json", type=Path, required=True, help="the table (one row per clip), rewritten after each clip")
    p.add_argument("--task", default="Isaac-G1-Mimic-CPU-Learn-v0")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--episodes", type=positive(int), default=32, help="evaluation episodes per clip (from frame 0)")
    p.add_argument("--select", type=positive(int), default=8, help="choose among the run's last N checkpoints (1: the last)")
    p.add_argument("--select_episodes", type=positive(int), default=8, help="episodes per checkpoint when choosing")
    p.add_argument("--clips", nargs="*", default=None, help="only clips whose file name contains one of these")
    p.add_argument(
        "--held_out",
        nargs="*",
        default=[],
        help="clips (name substrings) kept out of the tuning (tagged); with --together or --distill also out of training",
    )
    p.add_argument(
        "--together",
        action="store_true",
        help="one policy for all the clips (but --held_out ones, evaluated zero-shot) instead of one per clip; "
        "--minutes is then the whole run's budget",
    )
    p.add_argument(
        "--distill",
        type=Path,
        nargs="+",
        default=None,
        metavar="EXPERTS_JSON",
        help="one student distilled from the per-clip experts of these learn_clips tables (DAgger) instead of one "
        "policy per clip; --held_out clips are left out and evaluated zero-shot; --minutes is the student's budget",
    )
    p.add_argument(
        "--init",
        type=Path,
        default=None,
        metavar="CHECKPOINT",
        help="start each clip's training from this checkpoint (e.g. a --together policy: fine-tuning) instead of "
        "from scratch; rows count iterations and env steps from it and name it (init)",
    )
    p.add_argument(
        "--fix",
        nargs="*",
        default=[],
        choices=IMPORT_FIXES,
        help="convert the clips with these repairs of scripts/motion.py convert (e.g. fix_skating = --fix-skating); "
        "a fixed clip is its own row",
    )
    p.add_argument("--markdown", type=Path, default=None, help="also write the table as Markdown here")
    p.add_argument(
        "--redo",
        action="store_true",
        help="rerun clips already in the table (replacing their rows from the same commit; rows of other commits stay)",
    )
    p.add_argument(
        "--stress",
        action="store_true",
        help="also sim2sim each clip under a 0.5 m/s push (at 30 %% of the clip), a 1-step delay and friction 0.5",
    )
    p.add_argument(
        "--noisy",
        type=float,
        default=0.01,
        metavar="K",
        help="also evaluate and sim2sim with K times the training's sensor noise, so that episodes differ (0: skip)",
    )
    p.add_argument(
        "--noisy_sim2sim", type=positive(int), default=8, help="sim2sim episodes with --noisy noise (default 8)"
    )
    p.add_argument("--no_video", action="store_true", help="no GIF of the sim2sim episode (saves ~5 s per clip second)")
    p.add_argument(
        "--video_size", nargs=2, type=positive(int), default=[320, 240], metavar=("W", "H"), help="GIF size (pixels)"
    )
    args = p.parse_args(argv)
    if not args.noisy >= 0.0:
        p.error(f"--noisy must be >= 0 (a multiple of the training's sensor noise), got {args.noisy}")
    if args.together and args.distill is not None:
        p.error("--together and --distill are two ways to train one policy for the clips; choose one")
    if args.distill is not None:
        args.task = DISTILL_TASK
    if args.init is not None and (args.together or args.distill is not None):
        p.error("--init starts per-clip runs from a checkpoint; --together and --distill train from scratch")
    if args.init is not None and not args.init.is_file():
        p.error(f"--init {args.init}: no such checkpoint file (a model_<iteration>.pt)")
    args.overrides = overrides
    return args


def git_commit() -> str:
    """Short hash of HEAD, with ``+dirty`` when tracked files differ from it (``unknown`` outside git)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO, capture_output=True, text=True
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def read_rows(table: Path) -> list[dict]:
    """The rows of the ``--json`` table (none when it does not exist yet)."""
    return json.loads(table.read_text()).get("rows", []) if table.exists() else []


def merge_rows(rows: list[dict], new: list[dict], same_recipe: Callable[[dict], bool]) -> list[dict]:
    """The table after a run: ``rows`` without the rows of the same recipe (``same_recipe``, from ``same_as``)
    that the same commit trained as ``new``, then ``new``. A rerun after a code change keeps the old rows beside the
    new: they measure other code (an A/B of a change needs both)."""
    commits = {r["commit"] for r in new}
    return [r for r in rows if not (same_recipe(r) and r.get("commit") in commits)] + new


def write_rows(table: Path, new: list[dict], same_recipe: Callable[[dict], bool], command: str) -> list[dict]:
    """Add ``new`` to the ``--json`` table as it is on disk now (rows another run or the user wrote while this one
    trained are kept), replacing the rows ``same_recipe`` selects as :func:`merge_rows` does; written atomically.
    Returns the table's rows."""
    from g1_mimic.fileio import atomic_write_json

    rows = merge_rows(read_rows(table), new, same_recipe)
    atomic_write_json(table, {"rows": rows, "command": command})
    return rows


def motion_files(folder: Path, only: list[str] | None) -> list[Path]:
    """The motion files of ``folder`` (or ``[folder]`` for a file), filtered by name substrings."""
    from g1_mimic.motion.cli import folder_files

    files = [folder] if folder.is_file() else folder_files(folder)
    if only:
        files = [f for f in files if any(s in f.name for s in only)]
        if not files:
            raise SystemExit(f"[learn_clips] --clips {only}: no file of {folder} matches")
    return files


def canonical(path: Path, out_dir: Path, fixes: list[str] = ()) -> Path:
    """``path`` itself when it is a canonical ``.npz`` and no ``fixes`` are asked for, else its conversion
    (default import options plus the ``fixes``, :data:`IMPORT_FIXES`) in ``out_dir``."""
    from g1_mimic.motion.format import is_canonical
    from g1_mimic.motion.importers import ImportOptions, convert_motion

    if path.suffix == ".npz" and is_canonical(path) and not fixes:
        return path
    out = out_dir / f"{path.stem}.npz"
    if not out.exists() or out.stat().st_mtime < path.stat().st_mtime:
        out_dir.mkdir(parents=True, exist_ok=True)
        _, report = convert_motion(path, out, ImportOptions(**{f: True for f in fixes}))
        for line in report.warnings:
            print(f"[learn_clips] warning: {line}", flush=True)
    return out


def run(cmd: list[str], log: Path) -> tuple[int, str]:
    """Run ``cmd`` with its output teed into ``log``; returns (exit status, the whole output). Prints the
    command, and when it ends its wall time (where a clip's hour goes: training, choosing, evaluating)."""
    print("[learn_clips] $ " + " ".join(cmd), flush=True)
    t0 = time.monotonic()
    lines: list[str] = []
    with (
        log.open("a") as fh,
        subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc,
    ):
        assert proc.stdout is not None
        for line in proc.stdout:
            fh.write(line)
            lines.append(line)
            if line.startswith(("[train]", "[select]", "[evaluate]", "[sim2sim]", "[budget]")) or "Learning iteration" in line:
                print("    " + line.rstrip(), flush=True)
        status = proc.wait()
    print(f"[learn_clips] {Path(cmd[1]).name}: exit {status} after {time.monotonic() - t0:.0f} s", flush=True)
    return status, "".join(lines)


def checkpoint_index(checkpoint: Path) -> int:
    """The ``N`` of ``model_N.pt``: the index of the PPO iteration whose update it holds (rsl_rl counts from 0)."""
    return int(re.search(r"model_(\d+)\.pt$", checkpoint.name).group(1))


def iterations_and_steps(run_dir: Path, checkpoint: Path, since: Path | None = None) -> tuple[int, int]:
    """(PPO iterations done, env steps collected) by the run up to ``checkpoint``, from its number and the run's
    saved cfgs. rsl_rl names a checkpoint by the index of the iteration that wrote it, so ``model_N`` holds N + 1
    updates; a run started from checkpoint ``since`` (``--init``: rsl_rl goes on at that checkpoint's index)
    did N - S + 1 of them."""
    iterations = checkpoint_index(checkpoint) + 1 - (0 if since is None else checkpoint_index(since))
    # the saved cfgs carry Python tags (not safe-loadable): read the two numbers as text
    steps = re.search(r"^num_steps_per_env:\s*(\d+)", (run_dir / "params" / "agent.yaml").read_text(), re.M)
    envs = re.search(r"^\s+num_envs:\s*(\d+)", (run_dir / "params" / "env.yaml").read_text(), re.M)
    if steps is None or envs is None:
        raise SystemExit(f"[learn_clips] {run_dir}/params: no num_steps_per_env / num_envs in the saved cfgs")
    return iterations, iterations * int(steps.group(1)) * int(envs.group(1))


def train_run(motion: Path, args: argparse.Namespace, log: Path, export: bool) -> tuple[Path, Path, dict]:
    """Train on ``motion`` (a clip or a YAML list), exporting the last checkpoint if ``export`` (not where a
    chosen checkpoint or a graph of more clips is exported afterwards); returns (run folder, last checkpoint, the
    run's facts for its rows: minutes, iterations, env steps, run folder, the commit that trained, date)."""
    train = [sys.executable, str(REPO / "scripts" / "train.py"), "--task", args.task, "--max_minutes", f"{args.minutes:g}"]
    train += ["--motion", str(motion), "--seed", str(args.seed), "--headless", *([] if export else ["--no_export"])]
    train += args.overrides
    if args.init is not None:  # train.py re-applies the checkpoint run's overrides; --motion replaces its clips
        train += ["--checkpoint", str(args.init.resolve())]
    return _train(train, f"training on {motion}", log, args)


def distill_run(experts: list[Path], motion_list: Path, args: argparse.Namespace, log: Path) -> tuple[Path, Path, dict]:
    """``scripts/distill.py`` with ``experts`` (checkpoints, one per clip; their clips written to ``motion_list``);
    returns what :func:`train_run` returns. The student is not exported here: a graph of every clip is, afterwards."""
    cmd = [sys.executable, str(REPO / "scripts" / "distill.py"), "--experts", *map(str, experts)]
    cmd += ["--motion_list", str(motion_list), "--max_minutes", f"{args.minutes:g}", "--seed", str(args.seed)]
    return _train([*cmd, "--headless", "--no_export", *args.overrides], "distilling the experts", log, args)


def _train(cmd: list[str], what: str, log: Path, args: argparse.Namespace) -> tuple[Path, Path, dict]:
    """Run a training command (``scripts/train.py`` or a script built on it) and collect its run's facts."""
    from g1_mimic.rl.checkpoint import latest_checkpoint

    t0 = dt.datetime.now(dt.UTC)
    commit = git_commit()  # the code that trains (the tree may change while the run goes)
    status, text = run(cmd, log)
    m = re.search(r"\[train\] run folder: (\S+)", text)
    if status != 0 or m is None:
        raise SystemExit(f"[learn_clips] {what} failed (exit {status}); log: {log}")
    run_dir = Path(m.group(1)).resolve()  # relative to the working directory, like logs/
    last = latest_checkpoint(run_dir)
    iterations, env_steps = iterations_and_steps(run_dir, last, since=args.init)  # what this run did
    facts = {"minutes": args.minutes, "iterations": iterations, "env_steps": env_steps}
    if args.init is not None:
        facts["init"] = {"checkpoint": os.path.relpath(args.init.resolve()), "iterations": checkpoint_index(args.init) + 1}
    facts.update(run_dir=os.path.relpath(run_dir), commit=commit, date=t0.strftime("%Y-%m-%d"))
    return run_dir, last, facts


def choose_checkpoint(
    run_dir: Path, last: Path, args: argparse.Namespace, log: Path, episodes: int, export: bool
) -> tuple[Path, list]:
    """The checkpoint to report (``select_checkpoint.py`` over the last ``--select``, exported to
    ``<run>/exported/`` if ``export``; the last one with ``--select 1``) and the candidates it was chosen among."""
    if args.select <= 1:
        return last, []
    selection = run_dir / "selection.json"
    status, _ = run(
        [
            sys.executable,
            str(REPO / "scripts" / "select_checkpoint.py"),
            str(run_dir),
            "--last",
            str(args.select),
            "--episodes",
            str(episodes),
            "--obs_noise",
            str(args.noisy),
            "--json",
            str(selection),
            *(["--export"] if export else []),
        ],
        log,
    )
    if status != 0:
        raise SystemExit(f"[learn_clips] choosing a checkpoint of {run_dir} failed (exit {status}); log: {log}")
    chosen = json.loads(selection.read_text())
    return Path(chosen["chosen"]).resolve(), chosen["candidates"]


def evaluate_run(
    ckpt: Path, motion: Path | None, episodes: int, out: Path, log: Path, protocol: str = "task", obs_noise: float = 0.0
) -> dict:
    """``scripts/evaluate.py`` on ``ckpt`` (every episode from frame 0; ``motion`` None: the run's clips) with
    the failure rule ``protocol`` (``task`` or the literature's ``pelvis``) and ``obs_noise`` times the
    training's sensor noise."""
    cmd = [sys.executable, str(REPO / "scripts" / "evaluate.py"), "--checkpoint", str(ckpt)]
    cmd += ["--num_episodes", str(episodes), "--json", str(out), "--protocol", protocol, "--obs_noise", str(obs_noise)]
    if motion is not None:
        cmd += ["--motion", str(motion)]
    status, _ = run(cmd, log)
    if status != 0:
        raise SystemExit(f"[learn_clips] evaluation of {ckpt} failed (exit {status}); log: {log}")
    return json.loads(out.read_text())


#: ``--stress`` checks: name -> sim2sim arguments (the push lands at STRESS_PUSH_AT of the clip's length).
STRESS = {
    "push_0.5": ["--push_vel", "0.5"],
    "delay_1": ["--delay_steps", "1"],
    "friction_0.5": ["--friction", "0.5"],
}
STRESS_PUSH_AT = 0.3


def sim2sim_clip(
    run_dir: Path,
    clip: Path,
    out: Path,
    video: Path | None,
    args: argparse.Namespace,
    log: Path,
    extra: list[str] = (),
) -> dict:
    """``scripts/sim2sim.py`` on the run's exported policy graph for ``clip`` (optionally rendered to ``video``;
    ``extra``: further sim2sim arguments, e.g. a push)."""
    graph = run_dir / "exported" / "policy_graph.onnx"
    cmd = [sys.executable, str(REPO / "scripts" / "sim2sim.py"), "--policy", str(graph), "--motion", str(clip)]
    cmd += ["--json", str(out), *extra]
    if video is not None:
        cmd += ["--render", str(video), "--beside", "--no_shadows", "--fps", "12"]
        cmd += ["--width", str(args.video_size[0]), "--height", str(args.video_size[1])]
    status, _ = run(cmd, log)
    if status != 0:
        raise SystemExit(f"[learn_clips] sim2sim of {graph} on {clip.stem} failed (exit {status}); log: {log}")
    return json.loads(out.read_text())


def stress_clip(run_dir: Path, clip: Path, length_s: float, args: argparse.Namespace, log: Path) -> dict:
    """sim2sim of ``clip`` under each :data:`STRESS` condition (one episode each): name -> success, MPKPE, and
    for a failure its time and term. Reports in ``<run>/sim2sim_<clip>_<name>.json``."""
    out = {}
    for name, extra in STRESS.items():
        if name.startswith("push"):
            extra = ["--push_at", f"{STRESS_PUSH_AT * length_s:.2f}", *extra]
        rep = sim2sim_clip(run_dir, clip, run_dir / f"sim2sim_{clip.stem}_{name}.json", None, args, log, extra)
        out[name] = {k: rep.get(k) for k in ("success_rate", "mpkpe_m")}
    return out


#: What a ``noisy`` row entry keeps of each report.
NOISY_KEYS = ("success_rate", "mpkpe_m", "mpkpe_std_m", "r_mpkpe_m", "joint_pos_rmse_rad", "episodes")


def noisy_clip(run_dir: Path, clip: Path, ev_noisy: dict, args: argparse.Namespace, log: Path) -> dict:
    """The row's ``noisy`` entry for ``clip``: its figures in ``ev_noisy`` (an evaluation report with
    ``--obs_noise``, :func:`evaluate_run`) and a sim2sim of ``--noisy_sim2sim`` episodes with the same noise
    (report in ``<run>/sim2sim_<clip>_noisy.json``)."""
    extra = ["--obs_noise", str(args.noisy), "--episodes", str(args.noisy_sim2sim), "--seed", str(args.seed)]
    s2s = sim2sim_clip(run_dir, clip, run_dir / f"sim2sim_{clip.stem}_noisy.json", None, args, log, extra)
    return {
        "obs_noise": args.noisy,
        "eval": {k: ev_noisy["per_clip"][clip.stem].get(k) for k in NOISY_KEYS},
        "sim2sim": {k: s2s.get(k) for k in NOISY_KEYS},
    }


def plot_curve(run_dir: Path, log: Path) -> None:
    """``scripts/plot_learning_curve.py`` into ``<run>/learning_curve.png``."""
    plot = [sys.executable, str(REPO / "scripts" / "plot_learning_curve.py"), str(run_dir)]
    run([*plot, "--out", str(run_dir / "learning_curve.png")], log)


def clip_row(
    clip: Path, ev: dict, failures: dict | None, s2s: dict, video: Path | None, common: dict, args: argparse.Namespace
) -> dict:
    """One table row: the clip, its evaluation (``failures``: what ended its failed episodes, when) and
    sim2sim figures, and what produced them (``common``)."""
    from g1_mimic.motion.format import load_motion

    motion = load_motion(clip)
    return {
        "clip": clip.stem,
        "file": str(clip),
        "length_s": round(float(motion.duration), 2),
        **{k: common[k] for k in ("minutes", "iterations", "env_steps", "checkpoint", "select", "selection")},
        "select_obs_noise": args.noisy if args.select > 1 else None,  # the noise the checkpoint was chosen under
        "success_rate": ev["success_rate"],
        "mpkpe_m": ev["mpkpe_m"],
        "r_mpkpe_m": ev["r_mpkpe_m"],
        "joint_pos_rmse_rad": ev["joint_pos_rmse_rad"],
        "standing_after_end": ev["standing_after_end"],
        "mean_episode_length_s": ev["mean_episode_length_s"],
        "eval_episodes": int(ev["episodes"]),
        "eval_failures": failures,
        "sim2sim_failure": next(
            ({"terms": e["failure"], "time_s": e["failure_time_s"]} for e in s2s["per_episode"] if not e["success"]), None
        ),
        "sim2sim_success_rate": s2s["success_rate"],
        "sim2sim_mpkpe_m": s2s["mpkpe_m"],
        "sim2sim_r_mpkpe_m": s2s["r_mpkpe_m"],
        # where the world-frame error comes from: the root's horizontal offset from the reference's
        "sim2sim_root_drift": {k: s2s["per_episode"][0][k] for k in ("root_drift_max_m", "root_drift_max_at_s", "root_drift_end_m")},
        "video": None if video is None else os.path.relpath(video),
        "held_out": any(s in clip.stem for s in args.held_out),
        # the reference's own stance-foot slide (what a robot whose feet hold falls behind), and the repairs
        "stance_slide": motion.source.get("stance_slide"),
        "fixes": {f: motion.source.get(f, True) for f in args.fix},
        "task": args.task,
        "seed": args.seed,
        "overrides": list(args.overrides),
        **{k: common[k] for k in ("run_dir", "commit", "date", "mode")},
        "init": common.get("init"),
    }


def learn_one(clip: Path, args: argparse.Namespace, work: Path) -> dict:
    """Train, evaluate and sim2sim ``clip``; returns its row (raises SystemExit on a failed step)."""
    log = work / f"{clip.stem}.log"
    log.write_text("")
    run_dir, last, facts = train_run(clip, args, log, export=args.select <= 1)
    ckpt, candidates = choose_checkpoint(run_dir, last, args, log, args.select_episodes, export=True)
    ev = evaluate_run(ckpt, None, args.episodes, run_dir / "eval.json", log)
    video = None if args.no_video else run_dir / "sim2sim.gif"
    s2s = sim2sim_clip(run_dir, clip, run_dir / "sim2sim.json", video, args, log)
    plot_curve(run_dir, log)
    common = {**facts, "checkpoint": ckpt.name, "select": [args.select, args.select_episodes], "selection": candidates}
    common["mode"] = "per_clip"
    row = clip_row(clip, ev, ev.get("failures", {}).get(clip.stem), s2s, video, common, args)
    if args.noisy > 0.0:
        ev_noisy = evaluate_run(ckpt, None, args.episodes, run_dir / "eval_noisy.json", log, obs_noise=args.noisy)
        row["noisy"] = noisy_clip(run_dir, clip, ev_noisy, args, log)
    if args.stress:
        row["sim2sim_stress"] = stress_clip(run_dir, clip, row["length_s"], args, log)
    return row


def write_motion_list(path: Path, clips: list[Path]) -> Path:
    """A YAML motion list of ``clips`` (absolute paths, weight 1), written atomically."""
    from g1_mimic.fileio import atomic_write_text

    lines = ["motions:"] + [f"  - file: {json.dumps(str(c.resolve()))}" for c in clips]
    return atomic_write_text(path, "\n".join(lines) + "\n")


TOGETHER_CLIP_WEIGHTING = "success_rate"
"""Clip choice of a --together run unless its overrides set one: weight x max(1 - success EMA, 0.1)."""


#: An expert's figures a ``--distill`` row carries beside the student's (``expert``).
EXPERT_KEYS = (
    "run_dir", "checkpoint", "commit", "minutes", "iterations", "fixes", "success_rate", "mpkpe_m", "r_mpkpe_m",
    "joint_pos_rmse_rad", "sim2sim_success_rate",
)


def expert_rows(clips: list[Path], args: argparse.Namespace) -> dict[str, dict]:
    """Per clip stem, the per-clip row of ``--distill``'s tables that teaches it: the best of that clip's rows
    (success, then MPKPE), whatever repairs its clip file had (the student learns from that file), among the
    rows whose expert acts in the student's action map: the reference lead most of the clips' best rows were
    trained with (a teacher's actions mean PD targets only in its own map; ``scripts/distill.py`` refuses
    experts in two maps). Exits naming the fix when a clip has no such row or its checkpoint or clip file is
    gone."""
    from collections import Counter

    from g1_mimic.rl.checkpoint import pinned_action_overrides

    rows = []
    for table in args.distill:
        if not table.is_file():
            raise SystemExit(
                f"[learn_clips] --distill {table}: no such table; train the experts first: "
                f"python scripts/learn_clips.py FOLDER --minutes M --json {table}"
            )
        rows += json.loads(table.read_text()).get("rows", [])
    table = " ".join(map(str, args.distill))
    ranked = {}
    for clip in clips:
        rows_of_clip = [r for r in rows if r["clip"] == clip.stem and r.get("mode", "per_clip") == "per_clip"]
        if not rows_of_clip:
            raise SystemExit(
                f"[learn_clips] --distill {table}: no per-clip row of {clip.stem}; train its expert first: "
                f"python scripts/learn_clips.py FOLDER --clips {clip.stem} --minutes M --json {table}"
            )
        ranked[clip.stem] = sorted(rows_of_clip, key=lambda r: (r["success_rate"], -r["mpkpe_m"]), reverse=True)

    def action_map(row: dict) -> tuple[str, ...]:
        return tuple(pinned_action_overrides(Path(row["run_dir"]) / row["checkpoint"]))

    votes = Counter(action_map(r[0]) for r in ranked.values())
    target = max(votes, key=lambda m: (votes[m], m == action_map(next(iter(ranked.values()))[0])))
    print(f"[learn_clips] --distill: the student acts in the action map {' '.join(target) or 'of the preset default'}", flush=True)
    out = {}
    for stem, candidates in ranked.items():
        best = next((r for r in candidates if action_map(r) == target), None)
        if best is None:
            raise SystemExit(
                f"[learn_clips] --distill {table}: no expert of {stem} acts in the action map {' '.join(target)} of "
                f"the other clips' experts; retrain it with today's preset: python scripts/learn_clips.py FOLDER "
                f"--clips {stem} --minutes M --json {args.distill[0]}"
            )
        if best is not candidates[0]:
            print(
                f"[learn_clips] --distill: {stem}: its best row ({candidates[0]['commit']}) acts in another action map; "
                f"its expert is the row of {best['commit']}",
                flush=True,
            )
        checkpoint = Path(best["run_dir"]) / best["checkpoint"]
        for what, path in (("checkpoint", checkpoint), ("clip file", Path(best["file"]))):
            if not path.is_file():
                raise SystemExit(
                    f"[learn_clips] --distill {table}: the expert of {stem} has no {what} {path} (run folders are "
                    "relative to where learn_clips ran; run it from there, or retrain the expert)"
                )
        out[stem] = best
    return out


def learn_together(clips: list[Path], args: argparse.Namespace, work: Path) -> list[dict]:
    """One policy for all ``clips`` but the held-out ones (issue 16), by multi-clip PPO (``--together``) or by
    distilling per-clip experts (``--distill``).

    ``--together`` trains on the YAML list of the trained clips (clips drawn by success rate,
    :data:`TOGETHER_CLIP_WEIGHTING`, unless the overrides choose ``clip_weighting``); ``--distill`` trains a
    student with each trained clip's expert (:func:`expert_rows`), on the experts' own clip files. Then both
    choose a checkpoint on the trained clips, evaluate every clip (held-out ones zero-shot) with
    ``--episodes`` episodes each and once more by the literature's rule (``pelvis_protocol``), export a policy graph holding every clip and sim2sim each. One row per clip."""
    mode = "together" if args.distill is None else "distilled"
    trained = [c for c in clips if not any(s in c.stem for s in args.held_out)]
    if not trained:
        raise SystemExit(f"[learn_clips] --{mode}: every clip is held out ({args.held_out}); nothing to train on")
    experts = {} if args.distill is None else expert_rows(trained, args)
    stem = args.json.stem
    log = work / f"{stem}_{mode}.log"
    log.write_text("")
    if experts:  # the student learns each clip from the file its expert learnt it on
        clips = [Path(experts[c.stem]["file"]) if c.stem in experts else c for c in clips]
        trained = [Path(experts[c.stem]["file"]) for c in trained]
    elif not any("clip_weighting" in o for o in args.overrides):
        # the clips that fail are drawn more often (VideoMimic), so that none stops learning
        args.overrides = [*args.overrides, f"env.commands.motion.clip_weighting={TOGETHER_CLIP_WEIGHTING}"]
    all_list = write_motion_list(work / f"{stem}_all.yaml", clips)
    how = "distilling their experts into one student" if experts else "one policy"
    print(
        f"[learn_clips] --{mode}: {how} on {len(trained)} clip(s), {len(clips) - len(trained)} held out "
        f"(evaluated zero-shot); training {args.minutes:g} min",
        flush=True,
    )
    if experts:
        checkpoints = [Path(r["run_dir"]) / r["checkpoint"] for r in experts.values()]
        run_dir, last, facts = distill_run(checkpoints, work / f"{stem}_experts.yaml", args, log)
    else:
        run_dir, last, facts = train_run(write_motion_list(work / f"{stem}_trained.yaml", trained), args, log, export=False)
    # the chosen checkpoint is exported below, with every clip in its graph
    ckpt, candidates = choose_checkpoint(run_dir, last, args, log, args.select_episodes * len(trained), export=False)
    ev = evaluate_run(ckpt, all_list, args.episodes * len(clips), run_dir / "eval.json", log)
    # the recent literature's protocol beside ours: every clip once from frame 0, failure by the pelvis alone
    pelvis = evaluate_run(ckpt, all_list, len(clips), run_dir / "eval_pelvis.json", log, protocol="pelvis")
    ev_noisy = None
    if args.noisy > 0.0:
        ev_noisy = evaluate_run(
            ckpt, all_list, args.episodes * len(clips), run_dir / "eval_noisy.json", log, obs_noise=args.noisy
        )
    # a graph holding every clip (the held-out ones too) for sim2sim
    export = [sys.executable, str(REPO / "scripts" / "play.py"), "--checkpoint", str(ckpt), "--motion", str(all_list)]
    status, _ = run([*export, "--export_only"], log)
    if status != 0:
        raise SystemExit(f"[learn_clips] exporting {ckpt} with every clip failed (exit {status}); log: {log}")
    plot_curve(run_dir, log)
    common = {**facts, "checkpoint": ckpt.name, "select": [args.select, args.select_episodes], "selection": candidates}
    common["mode"] = mode
    rows = []
    for clip in clips:
        if clip.stem not in ev["per_clip"]:
            raise SystemExit(f"[learn_clips] {run_dir / 'eval.json'} has no row for {clip.stem}; log: {log}")
        video = None if args.no_video else run_dir / f"sim2sim_{clip.stem}.gif"
        s2s = sim2sim_clip(run_dir, clip, run_dir / f"sim2sim_{clip.stem}.json", video, args, log)
        row = clip_row(clip, ev["per_clip"][clip.stem], ev.get("failures", {}).get(clip.stem), s2s, video, common, args)
        if ev_noisy is not None:
            row["noisy"] = noisy_clip(run_dir, clip, ev_noisy, args, log)
        if args.stress:
            row["sim2sim_stress"] = stress_clip(run_dir, clip, row["length_s"], args, log)
        played_once = pelvis["per_clip"][clip.stem]
        row["pelvis_protocol"] = {k: played_once[k] for k in ("success_rate", "mpkpe_m", "r_mpkpe_m")}
        if experts:
            expert = experts.get(clip.stem)
            row["expert"] = None if expert is None else {k: expert.get(k) for k in EXPERT_KEYS}
            row["experts_minutes"] = sum(r["minutes"] for r in experts.values())
        rows.append(row)
    return rows


def markdown(rows: list[dict]) -> str:
    """The table as Markdown (percentages for rates, cm for MPKPE)."""

    def cell(key: str, row: dict) -> str:
        v = row.get(key)
        if v is None:
            return "–"
        if key in ("success_rate", "sim2sim_success_rate", "standing_after_end"):
            return f"{100 * v:.0f} %"
        if key in ("mpkpe_m", "r_mpkpe_m"):
            return f"{100 * v:.1f}"
        if key == "joint_pos_rmse_rad":
            return f"{v:.3f}"
        if key == "env_steps":
            return f"{v / 1e6:.1f} M"
        if key == "clip":
            return f"{v}{' (held out)' if row.get('held_out') else ''}"
        if key == "stance_slide":  # how far a robot with planted feet falls behind this reference (largest)
            return f"{100 * v['max_offset_m']:.0f}"
        if key == "fixes":
            return ", ".join(v) or "–"
        if key == "noisy":  # success under sensor noise in evaluation and in sim2sim (episodes differ)
            ev, s2s = v["eval"], v["sim2sim"]
            return f"{100 * ev['success_rate']:.0f} % / {100 * s2s['success_rate']:.0f} % (x{v['obs_noise']:g})"
        return f"{v:g}" if isinstance(v, float) else str(v)

    head = "| " + " | ".join(t for _, t in COLUMNS) + " |"
    sep = "|" + "---|" * len(COLUMNS)
    body = ["| " + " | ".join(cell(k, r) for k, _ in COLUMNS) + " |" for r in rows]
    return "\n".join([head, sep, *body])


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from g1_mimic.fileio import atomic_write_text
    from g1_mimic.motion.format import MotionFormatError

    if not args.folder.exists():
        raise SystemExit(f"[learn_clips] {args.folder}: no such file or folder")
    if args.json.is_dir():
        raise SystemExit(f"[learn_clips] --json {args.json}: is a folder; give a file name")
    rows = read_rows(args.json)
    work = args.json.parent / "_".join([f"{args.json.stem}_motions", *sorted(args.fix)])
    try:
        files = motion_files(args.folder, args.clips)
    except MotionFormatError as exc:
        raise SystemExit(f"[learn_clips] {exc}") from None
    work.mkdir(parents=True, exist_ok=True)  # converted clips and per-clip logs
    command = "python scripts/learn_clips.py " + " ".join(sys.argv[1:] if argv is None else argv)
    mode = "together" if args.together else "distilled" if args.distill is not None else "per_clip"

    def same_as(row: dict, clip: Path) -> bool:
        return (
            row["clip"] == clip.stem
            # the same clip from another file (levelled, trimmed) is another row; a student learns from its experts' files
            and (mode == "distilled" or row.get("file", str(clip)) == str(clip))
            and row["task"] == args.task
            and row["minutes"] == args.minutes
            and row["seed"] == args.seed
            and row["overrides"] == list(args.overrides)
            and row.get("select", [1, 0])[0] == args.select
            and row.get("mode", "per_clip") == mode
            and (row.get("init") or {}).get("checkpoint") == (None if args.init is None else os.path.relpath(args.init.resolve()))
        )

    try:
        clips = [canonical(path, work, args.fix) for path in files]
    except MotionFormatError as exc:
        raise SystemExit(f"[learn_clips] {exc}") from None
    if mode != "per_clip":
        if all(any(same_as(r, c) for r in rows) for c in clips) and not args.redo:
            print(f"[learn_clips] --{mode}: every clip is in the table already (--redo reruns it)", flush=True)
        else:
            new = learn_together(clips, args, work)
            rows = write_rows(args.json, new, lambda r: any(same_as(r, c) for c in clips), command)
            for row in new:
                print(
                    f"[learn_clips] {row['clip']}{' (held out)' if row['held_out'] else ''}: success "
                    f"{100 * row['success_rate']:.0f} %, MPKPE {100 * row['mpkpe_m']:.1f} cm, sim2sim "
                    f"{100 * row['sim2sim_success_rate']:.0f} %",
                    flush=True,
                )
            print(f"[learn_clips] wrote {args.json}", flush=True)
        clips = []  # done: one run for all of them
    for i, clip in enumerate(clips, 1):
        same = [r for r in rows if same_as(r, clip)]
        if same and not args.redo:
            print(f"[learn_clips] {i}/{len(clips)} {clip.stem}: in the table already (--redo reruns it)", flush=True)
            continue
        print(
            f"[learn_clips] {i}/{len(clips)} {clip.stem}: training {args.minutes:g} min, then evaluation and sim2sim",
            flush=True,
        )
        row = learn_one(clip, args, work)
        rows = write_rows(args.json, [row], lambda r, clip=clip: same_as(r, clip), command)
        print(
            f"[learn_clips] {clip.stem}: success {100 * row['success_rate']:.0f} %, MPKPE {100 * row['mpkpe_m']:.1f} cm, "
            f"sim2sim {100 * row['sim2sim_success_rate']:.0f} % ({row['iterations']} iterations); wrote {args.json}",
            flush=True,
        )
    print(markdown(rows))
    if args.markdown:
        atomic_write_text(args.markdown, markdown(rows) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
