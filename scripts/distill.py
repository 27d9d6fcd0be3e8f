"""Distil per-clip PPO experts into one student policy (DAgger) through Isaac Lab's training CLI.

    python scripts/distill.py --experts RUN_OR_CHECKPOINT [RUN_OR_CHECKPOINT ...] [--max_minutes M]
        [--motion_list OUT.yaml] [any scripts/train.py argument or Hydra override]

Each expert is a ``scripts/train.py`` run folder (its last checkpoint), a ``model_<iter>.pt``, or
``latest``; its clip is the motion file recorded with its run (``g1_mimic_run.json``). The clips are
written, in the experts' order, to a motion list (``--motion_list``; default
``logs/rsl_rl/g1_mimic_cpu_distill/experts_<time>.yaml``), so that clip ``i`` of the student's env is
taught by expert ``i``; then ``scripts/train.py`` trains ``Isaac-G1-Mimic-CPU-Distill-v0`` with the
distillation agent (``--agent rsl_rl_distill_cfg_entry_point``,
``agent.teacher.experts=[...]``). The student is saved, exported, evaluated and sim2simmed like any
policy: ``scripts/evaluate.py --checkpoint <run>`` (the run records its task and motion list).
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TASK = "Isaac-G1-Mimic-CPU-Distill-v0"
MOTION_KEY = "env.commands.motion.motion_file="


def expert_clip(checkpoint: Path) -> Path:
    """The single motion file the expert's run trained on (from its run record); exits naming the fix."""
    from g1_mimic.rl.checkpoint import recorded_overrides

    motions = [o[len(MOTION_KEY) :] for o in recorded_overrides(checkpoint) if o.startswith(MOTION_KEY)]
    if not motions:
        raise SystemExit(
            f"[distill] expert {checkpoint}: its run records no motion file (g1_mimic_run.json beside it, "
            "env.commands.motion.motion_file); train each expert with scripts/train.py --motion CLIP.npz"
        )
    clip = Path(motions[-1])
    if clip.suffix != ".npz":
        raise SystemExit(
            f"[distill] expert {checkpoint}: trained on {clip}, not on one clip (.npz); an expert teaches one clip"
        )
    if not clip.is_file():
        raise SystemExit(f"[distill] expert {checkpoint}: its clip {clip} no longer exists; restore it or retrain the expert")
    return clip


def write_motion_list(clips: list[Path], path: Path) -> Path:
    """A motion list (yaml, absolute paths, weight 1) of ``clips`` in their order, written atomically."""
    from g1_mimic.fileio import atomic_write_text

    names = [c.stem for c in clips]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise SystemExit(f"[distill] two experts teach the same clip ({', '.join(dup)}); pass one expert per clip")
    lines = ["# written by scripts/distill.py: clip i is taught by expert i", "motions:"]
    lines += [f"  - file: {c.resolve()}" for c in clips]
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, "\n".join(lines) + "\n")
    return path


def experts_action_map(checkpoints: list[Path]) -> list[str]:
    """The overrides that pin the experts' common action map (the reference lead their runs saved), for the
    student: a teacher's actions mean PD targets only in its own map. Exits naming each expert's map when they
    differ."""
    from g1_mimic.rl.checkpoint import pinned_action_overrides

    maps = [pinned_action_overrides(c) for c in checkpoints]
    if any(m != maps[0] for m in maps[1:]):
        listed = "; ".join(f"{c}: {' '.join(m) or 'the preset default'}" for c, m in zip(checkpoints, maps, strict=True))
        raise SystemExit(
            f"[distill] --experts: the experts act in different action maps ({listed}); a student learns one map: "
            "choose experts trained with the same reference lead, or retrain the others with today's preset"
        )
    return maps[0]


def build_train_argv(experts: list[Path], motion_list: Path, rest: list[str]) -> list[str]:
    """``scripts/train.py`` arguments: the distillation task and agent, the motion list, the experts' action map
    (:func:`experts_action_map`), ``rest``, the experts."""
    listed = ",".join(f"'{p.resolve()}'" for p in experts)
    task = [] if "--task" in rest else ["--task", TASK]
    keys = {a.split("=", 1)[0] for a in rest if "=" in a}
    pins = [p for p in experts_action_map(experts) if p.split("=", 1)[0] not in keys]  # an explicit setting wins
    return [
        *task, "--agent", "rsl_rl_distill_cfg_entry_point", "--motion", str(motion_list), *rest, *pins,
        f"agent.teacher.experts=[{listed}]",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--experts", nargs="+", required=True, help="expert runs or checkpoints, one per clip")
    parser.add_argument("--motion_list", type=Path, default=None, help="where to write the experts' motion list (yaml)")
    args, rest = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    if "--motion" in rest or any(a.startswith("--motion=") for a in rest):
        raise SystemExit("[distill] --motion: the clips are the experts' own (see --motion_list)")
    from g1_mimic.rl.checkpoint import CheckpointSelectionError, resolve_checkpoint

    checkpoints = []
    for selector in args.experts:
        try:
            checkpoints.append(resolve_checkpoint(selector))
        except CheckpointSelectionError as exc:
            raise SystemExit(f"[distill] --experts {selector}: {exc}") from None
    clips = [expert_clip(c) for c in checkpoints]
    stamp = datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    motion_list = args.motion_list or REPO / "logs" / "rsl_rl" / "g1_mimic_cpu_distill" / f"experts_{stamp}.yaml"
    write_motion_list(clips, motion_list)
    for i, (c, k) in enumerate(zip(clips, checkpoints, strict=True)):
        print(f"[distill] clip {i}: {c.stem} <- expert {k}", flush=True)
    sys.path.insert(0, str(REPO / "scripts"))
    import train

    return train.main(build_train_argv(checkpoints, motion_list, rest))


if __name__ == "__main__":
    from g1_mimic.rl.checkpoint import CheckpointError

    try:
        sys.exit(main())
    except CheckpointError as exc:
        sys.exit(f"[distill] {exc}")
