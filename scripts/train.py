"""Train a G1 motion tracker with rsl_rl PPO through Isaac Lab 3.0's training CLI.

    python scripts/train.py --task Isaac-G1-Mimic-v0 --num_envs 64 --max_iterations 300 [--motion PATH]
    isaaclab.sh -p scripts/train.py --task Isaac-G1-Mimic-v0 presets=physx      (Isaac Sim PhysX, GUI with --viz kit)

Thin wrapper around ``python -m isaaclab train --rl_library rsl_rl``: every Isaac Lab argument
(``--num_envs``, ``--max_iterations``, ``--seed``, ``--device``, ``--checkpoint``, ``--distributed``,
``--video``, ``--logger wandb``, Hydra overrides such as ``env.rewards.action_rate_l2.weight=-0.05``,
``presets=...``) is passed through. Added here:

- ``--motion PATH``: a canonical motion ``.npz``, a folder of them, or a YAML list with weights;
- ``--variant NAME`` (repeatable): a task variant from ``g1_mimic/rl/variants.yaml`` (``deepmimic``,
  ``mimickit``, ``future_obs``, ``history``, ``no_state_estimation``, ``actuation``,
  ``success_sampling``, ``ref_actions``; see ``docs/variants.md``);
- ``--resume``: continue the newest run (of ``--task``'s experiment when given; same as ``--checkpoint latest``); with
  ``--checkpoint`` (``latest``, a run folder or a ``model_<iter>.pt``) the run's recorded motion,
  variants and overrides are re-applied unless the command line gives others;
- ``--headless``: accepted for habit (Isaac Lab 3.0 is headless unless ``--viz`` is given);
- ``--no_export``: skip the ONNX/TorchScript export after training;
- ``--max_minutes M``: a wall-clock budget for the learning loop; training stops after the iteration
  that crosses it (or at ``--max_iterations``, whichever comes first) and saves a checkpoint.

Ctrl-C (SIGINT) or SIGTERM while learning: the iteration finishes, a checkpoint is saved and exported,
and the paths are printed; a second Ctrl-C exits at once.

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
    from g1_mimic.cliargs import positive

    parser = argparse.ArgumentParser(prog="scripts/train.py", add_help=False)
    # Isaac Lab's own, checked here so that 0 or a negative count is refused instead of crashing or ignored
    parser.add_argument("--num_envs", type=positive(int), default=None)
    parser.add_argument("--max_iterations", type=positive(int), default=None)
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
    from g1_mimic.device import cuda_available

    ours, rest = _parse(argv)
    out = ["--rl_library", "rsl_rl", "--task", ours.task, *rest]
    for flag in ("num_envs", "max_iterations"):
        if getattr(ours, flag) is not None:
            out += [f"--{flag}", str(getattr(ours, flag))]
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
    out = reapply_run_record(out, ours, task_given=any(a == "--task" or a.startswith("--task=") for a in argv))
    if "--device" not in rest and not cuda_available():
        out += ["--device", "cpu"]
    check_logger(out)
    return out, ours


def check_logger(il_argv: list[str]) -> None:
    """Refuse ``--logger wandb`` in one line, with the install command, when the package is missing.

    rsl_rl imports wandb lazily and would fail after the env is built, inside a traceback. The optional
    install is pinned in ``pyproject.toml``'s ``wandb`` extra.
    """
    import importlib.util

    value = next((il_argv[i + 1] for i, a in enumerate(il_argv[:-1]) if a == "--logger"), None)
    value = next((a.split("=", 1)[1] for a in il_argv if a.startswith("--logger=")), value)
    if value == "wandb" and importlib.util.find_spec("wandb") is None:
        raise SystemExit(
            "[train] --logger wandb: the wandb package is not installed. Install it with "
            "`.venv/bin/pip install -e '.[wandb]'` (the version pyproject.toml pins), then `wandb login` "
            "(or WANDB_MODE=offline to log locally); or use the default TensorBoard logger"
        )
    if value == "wandb":
        import wandb.util

        if not hasattr(wandb.util, "generate_id"):
            # Isaac Lab 3.0's isaaclab_rl/utils/wandb.py calls wandb.util.generate_id, which newer wandb
            # releases (the pinned 0.31.0 among them) keep only in wandb.sdk.lib.runid
            from wandb.sdk.lib.runid import generate_id

            wandb.util.generate_id = generate_id


def _hydra(argv: list[str]) -> list[str]:
    return [a for a in argv if "=" in a and not a.startswith("-")]


def reapply_run_record(il_argv: list[str], ours: argparse.Namespace, task_given: bool) -> list[str]:
    """With ``--checkpoint`` (or ``--resume``): resolve it to a file and re-apply its run's record.

    The recorded Hydra overrides (motion, presets/variants, term edits) come first and the command
    line's replace them key by key, and the recorded task is used unless ``--task`` was given, so
    ``--resume`` continues on the run's own task, motion and variant unless told otherwise; what was
    re-applied is printed.
    """
    args = [x for a in il_argv for x in (a.split("=", 1) if a.startswith("--checkpoint=") else [a])]
    if "--checkpoint" not in args:
        return il_argv
    from g1_mimic.rl.checkpoint import (
        CheckpointSelectionError,
        merge_overrides,
        recorded_overrides,
        recorded_task,
        resolve_checkpoint,
    )

    k = args.index("--checkpoint")
    if k + 1 >= len(args) or args[k + 1].startswith("-"):
        raise SystemExit("[train] --checkpoint needs a value: model_<iter>.pt, a run folder or latest")
    try:
        # without --task, 'latest' is the newest run of any experiment; its own task is then re-applied
        ckpt = resolve_checkpoint(args[k + 1], ours.task if task_given else None)
    except CheckpointSelectionError as exc:
        raise SystemExit(f"[train] {exc}") from None
    args[k + 1] = str(ckpt.resolve())
    print(f"[train] resuming from {ckpt.resolve()}", flush=True)
    task = recorded_task(ckpt)
    if task and not task_given and task != ours.task:
        args[args.index("--task") + 1] = ours.task = task
        print(f"[train] re-applying the run's task: {task}", flush=True)
    given = _hydra(args)
    merged = merge_overrides(recorded_overrides(ckpt), given)
    reapplied = [o for o in merged if o not in given]
    if reapplied:
        print(f"[train] re-applying the run's recorded overrides: {reapplied}", flush=True)
    return [a for a in args if a not in given] + merged


def run_recorder(task: str, il_argv: list[str], found: list[Path]):
    """A callback for the runner's start: writes ``<run>/g1_mimic_run.json`` (task, Hydra overrides, argv).

    ``scripts/play.py``, ``scripts/evaluate.py`` and ``--resume`` re-apply the overrides when they load
    a checkpoint of this run, so a policy is never evaluated with another action parameterisation or
    motion set. Written before the first iteration, so an interrupted run keeps it; the folder is
    appended to ``found`` (the run folder, taken from the runner itself).
    """
    from g1_mimic.rl.checkpoint import RUN_RECORD, write_run_record

    def record(log_dir: str) -> None:
        run_dir = Path(log_dir)
        found.append(run_dir)
        if int(os.environ.get("RANK", "0")) != 0:
            return
        hydra = _hydra(il_argv)
        write_run_record(run_dir, {"task": task, "hydra_overrides": hydra, "argv": il_argv})
        print(f"[train] run folder: {run_dir}\n[train] recorded overrides in {run_dir / RUN_RECORD}: {hydra}", flush=True)

    return record


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if any(a in ("-h", "--help") for a in argv):
        print(__doc__)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    il_argv, ours = build_argv(argv)

    from isaaclab_rl.entrypoints import run_train_cli

    import g1_mimic.tasks  # noqa: F401  (registers Isaac-G1-Mimic-v0)
    from g1_mimic.rl.checkpoint import install_atomic_runner_save, install_safe_runner_load, latest_checkpoint
    from g1_mimic.rl.train_loop import install_learn_hooks

    install_atomic_runner_save()
    install_safe_runner_load(exit_prefix="[train]")
    if "--video" in il_argv:
        from g1_mimic.tasks.mimic.video import install_kitless_video

        install_kitless_video()
    if ours.max_minutes is not None:
        if ours.max_minutes <= 0:
            raise SystemExit(f"[train] --max_minutes must be positive, got {ours.max_minutes}")
        if "--distributed" in il_argv:
            raise SystemExit("[train] --max_minutes is single-process only: use --max_iterations with --distributed")
    runs: list[Path] = []
    install_learn_hooks(
        max_seconds=None if ours.max_minutes is None else 60.0 * ours.max_minutes,
        on_start=run_recorder(ours.task, il_argv, runs),
    )
    print("[train] isaaclab train " + " ".join(il_argv), flush=True)
    status = run_train_cli(il_argv)
    if status not in (0, None):
        return int(status)
    if any(a in ("-h", "--help") for a in argv):
        return 0
    if not runs:
        print("[train] the runner never started: no run folder", file=sys.stderr)
        return 1
    run_dir = runs[-1]
    ckpt = latest_checkpoint(run_dir)
    print(f"[train] last checkpoint: {ckpt}", flush=True)
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
    from g1_mimic.rl.checkpoint import CheckpointError

    try:
        sys.exit(main())
    except CheckpointError as exc:  # a refused, unreadable or mismatched checkpoint: one line, no traceback
        sys.exit(f"[train] {exc}")
