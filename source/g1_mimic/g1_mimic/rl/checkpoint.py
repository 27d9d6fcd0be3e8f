"""Checkpoint files: atomic writes, loading without running code from the file, the newest checkpoint of a run."""

from __future__ import annotations

import json
import os
import pickle
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


class CheckpointError(ValueError):
    """A checkpoint that cannot be used; the message names the file and why (scripts print it as one line)."""


class UnsafeCheckpointError(CheckpointError):
    """A checkpoint that ``torch.load(weights_only=True)`` refuses (a pickled payload) or that is not one."""


class CheckpointMismatchError(CheckpointError):
    """A checkpoint whose network sizes differ from the task's policy (another task, variant or robot)."""


def _io_sizes(state: dict) -> tuple[int | None, int | None]:
    """(input size, output size) of an MLP state dict: the first and last 2-D weight."""
    weights = [v for k, v in state.items() if k.endswith("weight") and getattr(v, "ndim", 0) == 2]
    return (int(weights[0].shape[1]), int(weights[-1].shape[0])) if weights else (None, None)


def check_sizes(path: str | os.PathLike, loaded: dict, current: dict) -> None:
    """Raise :class:`CheckpointMismatchError` when ``loaded``'s tensors differ in shape from ``current``'s.

    ``loaded`` and ``current`` are rsl_rl save dicts (``actor_state_dict``, ``critic_state_dict``, ...);
    the message says which sizes differ (observations, actions, or hidden layers).
    """
    for part in ("actor_state_dict", "critic_state_dict"):
        if part not in loaded or part not in current:
            continue
        old, new = loaded[part], current[part]
        bad = [k for k in new if k in old and tuple(old[k].shape) != tuple(new[k].shape)]
        if not bad:
            continue
        (o_in, o_out), (n_in, n_out) = _io_sizes(old), _io_sizes(new)
        who = "policy" if part == "actor_state_dict" else "critic"
        what = []
        if o_in != n_in:
            what.append(f"observation size {o_in} vs {n_in} here")
        if o_out != n_out and part == "actor_state_dict":
            what.append(f"action size {o_out} vs {n_out} here")
        if not what:
            what.append(f"layer {bad[0]} {tuple(old[bad[0]].shape)} vs {tuple(new[bad[0]].shape)} here")
        raise CheckpointMismatchError(
            f"{path}: the checkpoint's {who} does not fit this task ({'; '.join(what)}): it was trained with another "
            "task, variant or network size. Pass the run's --task/--variant (play, evaluate and --resume re-apply "
            "a run's own record when its g1_mimic_run.json is beside the checkpoint)."
        )


def load_checkpoint(path: str | os.PathLike, map_location: str | None = None) -> dict:
    """An rsl_rl checkpoint loaded with ``torch.load(..., weights_only=True)``: tensors and plain data only.

    torch's restricted unpickler refuses any other class or function, so no code from the file runs.
    Raises :class:`UnsafeCheckpointError` naming the file for a refused payload, a file that is not a
    torch checkpoint, or one without rsl_rl's keys.
    """
    path = Path(path)
    if not path.is_file():
        raise UnsafeCheckpointError(f"{path}: no such checkpoint file" + (" (it is a folder)" if path.is_dir() else ""))
    with path.open("rb") as fh:
        if fh.read(4) != b"PK\x03\x04":
            raise UnsafeCheckpointError(f"{path}: not a readable torch checkpoint (torch.save writes a zip file; this is not one)")
    try:
        loaded = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        found = re.search(r"Unsupported global: GLOBAL (\S+)", str(exc))
        what = f"it asks for {found.group(1)}" if found else str(exc).strip().splitlines()[0]
        raise UnsafeCheckpointError(
            f"{path}: refused: the checkpoint holds pickled Python objects beyond tensors and plain data ({what}). "
            "Checkpoints are loaded with torch.load(weights_only=True) so that no code from a file runs; use a "
            "checkpoint written by scripts/train.py."
        ) from None
    except (RuntimeError, EOFError, OSError) as exc:
        raise UnsafeCheckpointError(f"{path}: not a readable torch checkpoint ({type(exc).__name__}: {exc})") from None
    if not isinstance(loaded, dict) or not ({"actor_state_dict", "student_state_dict"} & set(loaded)):
        keys = sorted(map(str, loaded))[:8] if isinstance(loaded, dict) else type(loaded).__name__
        raise UnsafeCheckpointError(
            f"{path}: not an rsl_rl checkpoint (expected 'actor_state_dict' or a distilled 'student_state_dict', "
            f"'iter', ...; found {keys})"
        )
    return loaded


def as_policy_checkpoint(loaded: dict) -> tuple[dict, dict | None]:
    """A PPO runner's view of a loaded checkpoint, and the ``load_cfg`` to load it with.

    A PPO checkpoint is returned as it is (load everything). A distilled one (rsl_rl ``Distillation``:
    ``student_state_dict``, no actor) gives its student as ``actor_state_dict`` and loads only the actor
    and the iteration: play, evaluation, export and sim2sim need the policy, not a critic it never had.
    """
    if "actor_state_dict" in loaded:
        return loaded, None
    policy = {"actor_state_dict": loaded["student_state_dict"], "iter": loaded.get("iter", 0), "infos": loaded.get("infos")}
    return policy, {"actor": True, "critic": False, "optimizer": False, "iteration": True, "rnd": False}


def install_safe_runner_load(exit_prefix: str | None = None) -> None:
    """Make rsl_rl's ``OnPolicyRunner.load`` read checkpoints through :func:`load_checkpoint` (idempotent).

    rsl_rl 5.5 calls ``torch.load(weights_only=False)``, which runs whatever a pickled file asks for;
    train resume, play, evaluate and export all load through this method. The loaded sizes are checked
    against the runner's networks (:func:`check_sizes`). With ``exit_prefix`` (a script inside Isaac Lab's
    entry point, whose launch context prints a traceback for exceptions), a refusal exits with
    ``"<exit_prefix> <message>"`` instead of raising :class:`CheckpointError`.
    """
    from rsl_rl.runners import OnPolicyRunner

    if getattr(OnPolicyRunner.load, "_g1_mimic_safe", False):
        OnPolicyRunner.load._g1_mimic_exit_prefix = exit_prefix  # type: ignore[attr-defined]
        return

    def load(self, path: str, load_cfg: dict | None = None, strict: bool = True, map_location: str | None = None) -> dict:
        try:
            loaded = load_checkpoint(path, map_location)
            current = self.alg.save()
            if "actor_state_dict" in current:  # a PPO runner: a distilled student loads as its policy
                loaded, student_cfg = as_policy_checkpoint(loaded)
                load_cfg = student_cfg or load_cfg
            check_sizes(path, loaded, current)
        except CheckpointError as exc:
            prefix = getattr(OnPolicyRunner.load, "_g1_mimic_exit_prefix", None)
            if prefix is None:
                raise
            raise SystemExit(f"{prefix} {exc}") from None
        if self.alg.load(loaded, load_cfg, strict):
            self.current_learning_iteration = loaded["iter"]
        return loaded.get("infos")

    load._g1_mimic_safe = True  # type: ignore[attr-defined]
    load._g1_mimic_exit_prefix = exit_prefix  # type: ignore[attr-defined]
    OnPolicyRunner.load = load


def run_checkpoints(run_dir: str | os.PathLike) -> list[Path]:
    """The ``model_<iter>.pt`` files of ``run_dir``, by iteration (raises FileNotFoundError when there are none)."""
    run_dir = Path(run_dir)
    ckpts = sorted((int(m.group(1)), p) for p in run_dir.glob("model_*.pt") if (m := _CKPT_RE.search(p.name)))
    if not ckpts:
        raise FileNotFoundError(f"no model_<iteration>.pt checkpoint in {run_dir}")
    return [p for _, p in ckpts]


def latest_checkpoint(run_dir: str | os.PathLike) -> Path:
    """The ``model_<iter>.pt`` with the highest iteration in ``run_dir``."""
    return run_checkpoints(run_dir)[-1]


#: Where Isaac Lab's rsl_rl training writes runs: ``<LOG_ROOT>/<experiment>/<run>/model_<iter>.pt``.
LOG_ROOT = Path("logs") / "rsl_rl"


def task_experiment(task: str) -> str:
    """The rsl_rl experiment name (log folder) of a registered task's agent cfg (its distillation agent's
    for a distillation task, whose runs are all distillation runs)."""
    import importlib

    import gymnasium as gym

    import g1_mimic.tasks  # noqa: F401  (registers the tasks)

    try:
        kwargs = gym.spec(task).kwargs
        entry = kwargs.get(DISTILL_AGENT) or kwargs["rsl_rl_cfg_entry_point"]
    except (gym.error.Error, KeyError):
        raise CheckpointSelectionError(f"task {task!r} is not a registered g1_mimic task with an rsl_rl agent") from None
    module, name = entry.split(":")
    return getattr(importlib.import_module(module), name)().experiment_name


class CheckpointSelectionError(FileNotFoundError):
    """A ``--checkpoint`` selector that names no checkpoint (the message says what was looked for)."""


def resolve_checkpoint(selector: str | os.PathLike, task: str | None = None, log_root: str | os.PathLike = LOG_ROOT) -> Path:
    """The checkpoint a ``--checkpoint`` argument names, as Isaac Lab's selectors do.

    - ``latest``: the last checkpoint of the newest run (by folder name: Isaac Lab's timestamps)
      under ``log_root/<experiment of task>/``, or under every experiment of ``log_root`` when
      ``task`` is None;
    - a run folder: its last ``model_<iter>.pt``;
    - a file: itself.

    Raises :class:`CheckpointSelectionError` naming what was looked for when nothing matches.
    """
    text = str(selector)
    if text == "latest":
        root = Path(log_root)
        experiments = [root / task_experiment(task)] if task else sorted(p for p in root.glob("*") if p.is_dir())
        runs = [r for e in experiments if e.is_dir() for r in e.iterdir() if r.is_dir() and any(r.glob("model_*.pt"))]
        if not runs:
            where = " or ".join(str(e) for e in experiments) or str(root)
            raise CheckpointSelectionError(f"--checkpoint latest: no run with a model_<iter>.pt under {where}; train first")
        return latest_checkpoint(max(runs, key=lambda r: r.name))
    path = Path(selector)
    if path.is_dir():
        try:
            return latest_checkpoint(path)
        except FileNotFoundError:
            raise CheckpointSelectionError(f"--checkpoint {path}: a folder with no model_<iter>.pt checkpoint") from None
    if path.is_file():
        return path
    raise CheckpointSelectionError(f"--checkpoint {path}: no such file or run folder (or give 'latest')")


RUN_RECORD = "g1_mimic_run.json"


def write_run_record(run_dir: str | os.PathLike, record: dict) -> Path:
    """Write ``record`` as ``<run_dir>/g1_mimic_run.json`` atomically."""
    path = Path(run_dir) / RUN_RECORD
    tmp = path.with_suffix(f".tmp-{os.getpid()}")
    tmp.write_text(json.dumps(record, indent=2) + "\n")
    os.replace(tmp, path)
    return path


class RunRecordError(CheckpointSelectionError, CheckpointError):
    """A run record (``g1_mimic_run.json`` beside a checkpoint) that cannot be read; the message names the file,
    the field and the fix (caught both where checkpoints are selected and where they are loaded)."""


def read_run_record(checkpoint: str | os.PathLike) -> dict:
    """The run record written by ``scripts/train.py`` beside ``checkpoint`` ({} when the run has none).

    Raises :class:`RunRecordError` for a record that is a folder, is not JSON, is not an object, or whose
    ``task`` is not a string or ``hydra_overrides`` not a list of ``key=value`` strings.
    """
    path = Path(checkpoint).resolve().parent / RUN_RECORD
    if not path.exists():
        return {}
    fix = "fix or delete it (without it, pass the run's --task and overrides yourself)"
    if not path.is_file():
        raise RunRecordError(f"{path}: a folder where the run record file is expected; {fix}")
    try:
        record = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RunRecordError(f"{path}: not valid JSON ({exc}); {fix}") from None
    if not isinstance(record, dict):
        raise RunRecordError(f"{path}: expected a JSON object with 'task' and 'hydra_overrides', found {type(record).__name__}; {fix}")
    task = record.get("task")
    if task is not None and not isinstance(task, str):
        raise RunRecordError(f"{path}: field 'task' must be a task id string, found {task!r}; {fix}")
    overrides = record.get("hydra_overrides", [])
    if not isinstance(overrides, list) or not all(isinstance(o, str) and "=" in o for o in overrides):
        raise RunRecordError(f"{path}: field 'hydra_overrides' must be a list of 'key=value' strings, found {overrides!r}; {fix}")
    return record


def recorded_overrides(checkpoint: str | os.PathLike) -> list[str]:
    """The Hydra overrides recorded by ``scripts/train.py`` for the run holding ``checkpoint`` (or [])."""
    return list(read_run_record(checkpoint).get("hydra_overrides", []))


DISTILL_AGENT = "rsl_rl_distill_cfg_entry_point"


def pinned_action_overrides(checkpoint: str | os.PathLike) -> list[str]:
    """Overrides that rebuild the checkpoint's action map as it was trained, from the env cfg Isaac Lab saved
    with the run (``<run>/params/env.yaml``), for settings whose defaults have changed since.

    Today: the reference lead of reference-offset actions (``lead_s``; a run saved before it existed led by one
    control step, ``null``). Without it a policy trained with one lead would be played with another and its
    PD targets would be off by ``(lead difference) x (reference joint speed)``. [] when the run has no
    saved env cfg or no reference-offset action.
    """
    import yaml

    path = Path(checkpoint).resolve().parent / "params" / "env.yaml"
    if not path.is_file():
        return []

    class _Loader(yaml.SafeLoader):
        """Reads Isaac Lab's dump (``!!python/tuple`` and the like become plain lists, or None)."""

    _Loader.add_multi_constructor(
        "tag:yaml.org,2002:python/", lambda loader, suffix, node: loader.construct_sequence(node)
        if isinstance(node, yaml.SequenceNode) else None
    )
    try:
        cfg = yaml.load(path.read_text(), Loader=_Loader)
    except yaml.YAMLError as exc:
        raise CheckpointError(f"{path}: not readable as YAML ({exc}); fix or delete it") from None
    actions = cfg.get("actions") if isinstance(cfg, dict) else None
    out = []
    for name, term in (actions or {}).items():
        if isinstance(term, dict) and str(term.get("class_type", "")).endswith(":ReferenceJointPositionAction"):
            lead = term.get("lead_s")
            out.append(f"env.actions.{name}.lead_s={'null' if lead is None else repr(float(lead))}")
    return out


def recorded_policy_overrides(checkpoint: str | os.PathLike) -> list[str]:
    """The recorded overrides that apply to the checkpoint's policy run in a PPO runner (play, evaluate, export),
    with :func:`pinned_action_overrides` after them.

    For a distillation run (``--agent rsl_rl_distill_cfg_entry_point``) the student's settings become the
    actor's (``agent.student.X`` -> ``agent.actor.X``) and the teacher's and algorithm's are dropped; a PPO
    run's overrides are returned as recorded.
    """
    record = read_run_record(checkpoint)
    overrides = merge_overrides(list(record.get("hydra_overrides", [])), pinned_action_overrides(checkpoint))
    argv = [str(a) for a in record.get("argv", [])]
    agent = next((argv[i + 1] for i, a in enumerate(argv[:-1]) if a == "--agent"), None)
    agent = next((a.split("=", 1)[1] for a in argv if a.startswith("--agent=")), agent)
    if agent != DISTILL_AGENT:
        return overrides
    out = []
    for item in overrides:
        if item.startswith("agent.student."):
            out.append("agent.actor." + item[len("agent.student.") :])
        elif not item.startswith("agent."):
            out.append(item)
    return out


def resolve_play_target(
    checkpoint: str, task: str | None, motion: str | None, overrides: list[str], tag: str
) -> tuple[Path, str]:
    """The checkpoint and task a play-side script (``play.py``, ``evaluate.py``) runs, from its arguments.

    ``checkpoint`` is resolved as :func:`resolve_checkpoint` does (printing what a selector named); the task
    is ``task`` or else the one recorded for the checkpoint's run (default ``Isaac-G1-Mimic-v0``); a
    ``motion`` file is appended to ``overrides`` as the motion command's ``motion_file`` (absolute path).
    Exits with ``[tag]`` and the reason when the selector names no checkpoint."""
    try:
        ckpt = resolve_checkpoint(checkpoint, task)
    except CheckpointSelectionError as exc:
        raise SystemExit(f"[{tag}] {exc}") from None
    if str(ckpt) != checkpoint:
        print(f"[{tag}] --checkpoint {checkpoint}: {ckpt}", flush=True)
    if task is None:
        task = recorded_task(ckpt) or "Isaac-G1-Mimic-v0"
    if motion:
        overrides.append(f"env.commands.motion.motion_file={Path(motion).resolve()}")
    return ckpt, task


def recorded_task(checkpoint: str | os.PathLike) -> str | None:
    """The task id recorded by ``scripts/train.py`` for the run holding ``checkpoint`` (or None)."""
    return read_run_record(checkpoint).get("task")


def merge_overrides(recorded: list[str], given: list[str]) -> list[str]:
    """Hydra ``key=value`` overrides: the recorded ones, replaced key by key by the given ones."""
    merged: dict[str, str] = {}
    for item in [*recorded, *given]:
        key = item.split("=", 1)[0]
        merged.pop(key, None)
        merged[key] = item
    return list(merged.values())
