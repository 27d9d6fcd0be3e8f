"""Checkpoint files: atomic writes and resolution of the newest checkpoint of a run."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import torch

_CKPT_RE = re.compile(r"model_(\d+)\.pt$")


def atomic_torch_save(obj: object, path: str | os.PathLike) -> None:
    """``torch.save`` to a temporary file in the same folder, then rename: never a half-written checkpoint."""
    path = os.fspath(path)
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        torch.save(obj, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def install_atomic_runner_save() -> None:
    """Make rsl_rl's ``OnPolicyRunner.save`` write checkpoints atomically (idempotent)."""
    from rsl_rl.runners import OnPolicyRunner

    if getattr(OnPolicyRunner.save, "_g1_mimic_atomic", False):
        return

    def save(self, path: str, infos: dict | None = None) -> None:
        saved = self.alg.save()
        saved["iter"] = self.current_learning_iteration
        saved["infos"] = infos
        atomic_torch_save(saved, path)
        self.logger.save_model(path, self.current_learning_iteration)

    save._g1_mimic_atomic = True  # type: ignore[attr-defined]
    OnPolicyRunner.save = save


def latest_checkpoint(run_dir: str | os.PathLike) -> Path:
    """The ``model_<iter>.pt`` with the highest iteration in ``run_dir``."""
    run_dir = Path(run_dir)
    ckpts = [(int(m.group(1)), p) for p in run_dir.glob("model_*.pt") if (m := _CKPT_RE.search(p.name))]
    if not ckpts:
        raise FileNotFoundError(f"no model_<iteration>.pt checkpoint in {run_dir}")
    return max(ckpts)[1]


def latest_run(experiment_dir: str | os.PathLike) -> Path:
    """The newest run folder (by name, Isaac Lab's timestamps sort) that holds a checkpoint."""
    experiment_dir = Path(experiment_dir)
    runs = sorted(p for p in experiment_dir.iterdir() if p.is_dir() and any(p.glob("model_*.pt")))
    if not runs:
        raise FileNotFoundError(f"no run with checkpoints under {experiment_dir}")
    return runs[-1]


RUN_RECORD = "g1_mimic_run.json"


def write_run_record(run_dir: str | os.PathLike, record: dict) -> Path:
    """Write ``record`` as ``<run_dir>/g1_mimic_run.json`` atomically."""
    path = Path(run_dir) / RUN_RECORD
    tmp = path.with_suffix(f".tmp-{os.getpid()}")
    tmp.write_text(json.dumps(record, indent=2) + "\n")
    os.replace(tmp, path)
    return path


def recorded_overrides(checkpoint: str | os.PathLike) -> list[str]:
    """The Hydra overrides recorded by ``scripts/train.py`` for the run holding ``checkpoint`` (or [])."""
    path = Path(checkpoint).resolve().parent / RUN_RECORD
    if not path.is_file():
        return []
    return list(json.loads(path.read_text()).get("hydra_overrides", []))


def recorded_task(checkpoint: str | os.PathLike) -> str | None:
    """The task id recorded by ``scripts/train.py`` for the run holding ``checkpoint`` (or None)."""
    path = Path(checkpoint).resolve().parent / RUN_RECORD
    if not path.is_file():
        return None
    return json.loads(path.read_text()).get("task")


def merge_overrides(recorded: list[str], given: list[str]) -> list[str]:
    """Hydra ``key=value`` overrides: the recorded ones, replaced key by key by the given ones."""
    merged: dict[str, str] = {}
    for item in [*recorded, *given]:
        key = item.split("=", 1)[0]
        merged.pop(key, None)
        merged[key] = item
    return list(merged.values())
