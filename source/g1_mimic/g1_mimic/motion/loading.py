"""Loading clips for the motion library: a canonical ``.npz``, a folder of them, or a ``.yaml`` motion list.

The yaml form (paths relative to the yaml's folder; ``weight`` optional, default 1.0; ``name`` optional,
default the file stem)::

    motions:
      - file: wave.npz
        weight: 2.0

Clip names are the file stems (made unique with a ``_<i>`` suffix if two stems collide).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from g1_mimic.motion.clips import MotionLibraryError, check_clip_names
from g1_mimic.motion.format import Motion, MotionFormatError, load_motion
from g1_mimic.motion.sampling import check_weight

__all__ = ["LoadedClips", "load_clips", "parse_motion_list"]

_YAML_EXAMPLE = (
    "motions:\n  - file: wave.npz   # relative to the yaml's folder\n    weight: 2.0      # optional, default 1.0"
)


@dataclass
class LoadedClips:
    """Clips read from a motion path: the motions, their unique names, and the yaml's weights (None otherwise)."""

    motions: list[Motion]
    names: list[str]
    weights: list[float] | None


def load_clips(path: str | Path, joint_names: Sequence[str], body_names: Sequence[str]) -> LoadedClips:
    """Read every clip of ``path`` (``.npz``, folder of ``.npz`` sorted by name, or ``.yaml`` list), checking
    that each has the requested joints and bodies.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        MotionLibraryError: empty folder, malformed yaml, bad weight, or a clip lacking a requested joint/body.
        MotionFormatError: a clip file is not a readable canonical motion.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(
            f"{path}: no such motion file, folder or .yaml list. Pass a canonical .npz file "
            "(scripts/motion.py convert), a folder of .npz files, or a .yaml with a 'motions:' list."
        )
    weights = None
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix == ".npz")
        if not files:
            raise MotionLibraryError(
                f"{path}: folder holds no .npz motion files. Convert clips into it with "
                "scripts/motion.py convert INPUT OUTPUT.npz, or pass a .npz file or .yaml list."
            )
        entries: list[tuple[Path, float | None, str | None]] = [(f, None, None) for f in files]
    elif path.suffix in (".yaml", ".yml"):
        entries = parse_motion_list(path)
        weights = [1.0 if w is None else w for _, w, _ in entries]
    elif path.suffix == ".npz":
        entries = [(path, None, None)]
    else:
        raise MotionLibraryError(
            f"{path}: unsupported motion path suffix '{path.suffix}'; expected a .npz file, a folder or a .yaml/.yml list."
        )
    motions = []
    for i, (file, _, _) in enumerate(entries):
        try:
            motion = load_motion(file)
        except MotionFormatError as exc:
            if path.suffix in (".yaml", ".yml"):
                raise MotionLibraryError(f"{path}: motions[{i}].file: {exc}") from exc
            raise
        check_clip_names(motion, joint_names, body_names, str(file))
        motions.append(motion)
    names = [name or file.stem for file, _, name in entries]
    names = [n if names.count(n) == 1 else f"{n}_{i}" for i, n in enumerate(names)]
    return LoadedClips(motions, names, weights)


def parse_motion_list(path: Path) -> list[tuple[Path, float | None, str | None]]:
    """Entries ``(file, weight, name)`` of a yaml motion list; raise naming the field and the fix."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise MotionLibraryError(f"{path}: not valid YAML ({exc}). Expected:\n{_YAML_EXAMPLE}") from exc
    if not isinstance(data, dict) or "motions" not in data:
        raise MotionLibraryError(f"{path}: missing top-level field 'motions'. Expected:\n{_YAML_EXAMPLE}")
    items = data["motions"]
    if not isinstance(items, list) or not items:
        raise MotionLibraryError(
            f"{path}: field 'motions' must be a non-empty list of entries. Expected:\n{_YAML_EXAMPLE}"
        )
    entries = []
    for i, item in enumerate(items):
        where = f"{path}: motions[{i}]"
        if isinstance(item, str):
            item = {"file": item}
        if not isinstance(item, dict) or "file" not in item:
            raise MotionLibraryError(f"{where}: each entry needs a 'file' field. Expected:\n{_YAML_EXAMPLE}")
        unknown = sorted(set(item) - {"file", "weight", "name"})
        if unknown:
            raise MotionLibraryError(f"{where}: unknown field(s) {unknown}; allowed: file, weight, name.")
        file = Path(str(item["file"]))
        if not file.is_absolute():
            file = path.parent / file
        if not file.is_file():
            raise MotionLibraryError(
                f"{where}.file: {file} does not exist (paths are relative to the yaml's folder {path.parent})."
            )
        weight = check_weight(item["weight"], f"{where}.weight") if "weight" in item else None
        name = str(item["name"]) if "name" in item else None
        entries.append((file, weight, name))
    return entries
