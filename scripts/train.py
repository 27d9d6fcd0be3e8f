"""Train a G1 motion tracker with rsl_rl PPO through Isaac Lab 3.0's training CLI.

    python scripts/train.py --task Isaac-G1-Mimic-v0 --num_envs 64 --max_iterations 300 [--motion PATH]
    isaaclab.sh -p scripts/train.py --task Isaac-G1-Mimic-v0 presets=physx      (Isaac Sim PhysX, GUI with --viz kit)

Thin wrapper around ``python -m isaaclab train --rl_library rsl_rl``: every Isaac Lab argument
(``--num_envs``, ``--max_iterations``, ``--seed``, ``--device``, ``--checkpoint``, ``--distributed``,
``--video``, ``--logger wandb``, Hydra overrides such as ``env.rewards.action_rate_l2.weight=-0.05``,
``presets=...``) is passed through. Added here:

- ``--motion PATH``: a canonical motion ``.npz``, a folder of them, or a YAML list with weights;
- ``--variant NAME`` (repeatable): a task variant from ``config/variants.yaml`` (``deepmimic``,
  ``mimickit``, ``future_obs``, ``history``, ``no_state_estimation``, ``actuation``,
  ``success_sampling``, ``ref_actions``; see ``docs/variants.md``);
- ``--resume``: continue the newest run of the experiment (same as ``--checkpoint latest``);
- ``--headless``: accepted for habit (Isaac Lab 3.0 is headless unless ``--viz`` is given);
- ``--no_export``: skip the ONNX/TorchScript export after training;
- ``--max_minutes M``: a wall-clock budget for the learning loop; training stops after the iteration
  that crosses it (or at ``--max_iterations``, whichever comes first) and saves a checkpoint.

Runs go to ``logs/rsl_rl/<experiment>/<timestamp>/``; checkpoints are written atomically; after
training the last checkpoint is exported to ``<run>/exported/policy.onnx`` (+ ``policy.pt``, ``policy.json``).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _parse(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--motion", default=None)
    parser.add_argument("--variant", action="append", default=[])
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--headless", action="store_true")
    parser.add_argument("--no_export", action="store_true")
    parser.add_argument("--task", default="Isaac-G1-Mimic-v0")
    parser.add_argument("--experiment_name", default=None)
    parser.add_argument("--max_minutes", type=float, default=None)
    return parser.parse_known_args(argv)


def build_argv(argv: list[str]) -> tuple[list[str], argparse.Namespace]:
    """Translate our arguments into Isaac Lab's train CLI arguments."""
    import torch

    ours, rest = _parse(argv)
    out = ["--rl_library", "rsl_rl", "--task", ours.task, *rest]
    if ours.experiment_name:
        out += ["--experiment_name", ours.experiment_name]
    if ours.variant:
        from g1_mimic.rl.variants import variant_overrides

        try:
            extra = variant_overrides(ours.variant)
        except KeyError as exc:
            raise SystemExit(f"[train] {exc.args[0]}") from None
        given = [a for a in rest if a.startswith("presets=")]
        if given and any(e.startswith("presets=") for e in extra):
            # one presets= list: the variants' then the user's
            merged = extra[0].split("=", 1)[1].split(",") + [p for g in given for p in g.split("=", 1)[1].split(",")]
            out = [a for a in out if not a.startswith("presets=")]
            extra = [f"presets={','.join(dict.fromkeys(merged))}", *extra[1:]]
        out += extra
    if ours.motion:
        path = Path(ours.motion).expanduser().resolve()
        if not path.exists():
            raise SystemExit(f"[train] --motion {ours.motion}: no such file or folder")
        out.append(f"env.commands.motion.motion_file={path}")
    if ours.resume and "--checkpoint" not in rest:
        out += ["--checkpoint", "latest"]
    if "--device" not in rest and not torch.cuda.is_available():
        out += ["--device", "cpu"]
    return out, ours


def record_run_overrides(run_dir: Path, task: str, il_argv: list[str]) -> None:
    """Write the run's Hydra overrides (presets, motion, term edits) to ``<run>/g1_mimic_run.json``.

    ``scripts/play.py`` and ``scripts/evaluate.py`` re-apply them when they load a checkpoint of
    this run, so a policy is never evaluated with another action parameterisation or motion set.
    """
    from g1_mimic.rl.checkpoint import RUN_RECORD, write_run_record

    hydra = [a for a in il_argv if "=" in a and not a.startswith("-")]
    write_run_record(run_dir, {"task": task, "hydra_overrides": hydra, "argv": il_argv})
    print(f"[train] recorded overrides in {run_dir / RUN_RECORD}: {hydra}", flush=True)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if any(a in ("-h", "--help") for a in argv):
        print(__doc__)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    il_argv, ours = build_argv(argv)

    from isaaclab_rl.entrypoints import run_train_cli

    import g1_mimic.tasks  # noqa: F401  (registers Isaac-G1-Mimic-v0)
    from g1_mimic.rl.checkpoint import install_atomic_runner_save, install_safe_runner_load, latest_checkpoint

    install_atomic_runner_save()
    install_safe_runner_load()
    if ours.max_minutes is not None:
        if ours.max_minutes <= 0:
            raise SystemExit(f"[train] --max_minutes must be positive, got {ours.max_minutes}")
        if "--distributed" in il_argv:
            raise SystemExit("[train] --max_minutes is single-process only: use --max_iterations with --distributed")
        from g1_mimic.rl.budget import install_time_budget

        install_time_budget(60.0 * ours.max_minutes)
    logs = Path("logs") / "rsl_rl"

    def run_dirs() -> set[Path]:
        return {p for p in logs.glob("*/*") if p.is_dir()} if logs.exists() else set()

    before = run_dirs()
    print("[train] isaaclab train " + " ".join(il_argv), flush=True)
    status = run_train_cli(il_argv)
    if status not in (0, None):
        return int(status)
    if any(a in ("-h", "--help") for a in argv):
        return 0
    new_runs = sorted(run_dirs() - before, key=lambda p: p.name)
    if not new_runs:
        print("[train] no new run folder was created", file=sys.stderr)
        return 1
    run_dir = new_runs[-1]
    ckpt = latest_checkpoint(run_dir)
    print(f"[train] run folder: {run_dir}\n[train] last checkpoint: {ckpt}", flush=True)
    if int(os.environ.get("RANK", "0")) == 0:
        record_run_overrides(run_dir, ours.task, il_argv)
    if ours.no_export:
        return 0
    if int(os.environ.get("RANK", "0")) != 0:
        return 0  # multi-GPU: rank 0 exports
    cmd = [sys.executable, str(REPO / "scripts" / "play.py"), "--task", ours.task, "--checkpoint", str(ckpt), "--export_only"]
    if ours.motion:
        cmd += ["--motion", ours.motion]
    print("[train] exporting: " + " ".join(cmd), flush=True)
    return subprocess.call(cmd)


if __name__ == "__main__":
    from g1_mimic.rl.checkpoint import UnsafeCheckpointError

    try:
        sys.exit(main())
    except UnsafeCheckpointError as exc:  # a refused or unreadable checkpoint: one line, no traceback
        sys.exit(f"[train] {exc}")
