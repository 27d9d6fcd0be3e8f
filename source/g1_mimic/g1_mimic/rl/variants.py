"""Named task variants (``g1_mimic/rl/variants.yaml``, package data): each a list of Hydra overrides on ``Isaac-G1-Mimic-v0``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import yaml

#: The variant table, shipped inside the package (it works installed as a wheel).
VARIANTS_FILE = Path(__file__).resolve().with_name("variants.yaml")


def load_variants(path: str | Path | None = None) -> dict[str, dict]:
    """Read the variant table: ``name -> {"source": str, "overrides": [str, ...]}``."""
    path = Path(path) if path is not None else VARIANTS_FILE
    if not path.is_file():
        raise FileNotFoundError(f"variant table {path} not found (it ships with the g1_mimic package: reinstall it)")
    table = yaml.safe_load(path.read_text()) or {}
    for name, spec in table.items():
        if not isinstance(spec, dict) or not isinstance(spec.get("overrides", []), list):
            raise ValueError(f"{path}: variant '{name}' must be a mapping with an 'overrides' list")
    return table


def variant_overrides(names: Sequence[str], path: str | Path | None = None) -> list[str]:
    """Hydra overrides of the variants ``names`` in order; their ``presets=`` entries merged into one."""
    table = load_variants(path)
    presets: list[str] = []
    others: list[str] = []
    for name in names:
        if name not in table:
            raise KeyError(f"unknown variant '{name}'; known variants: {sorted(table)} ({path or VARIANTS_FILE})")
        for item in table[name].get("overrides", []):
            if item.startswith("presets="):
                presets += [p for p in item.split("=", 1)[1].split(",") if p and p not in presets]
            else:
                others.append(item)
    return ([f"presets={','.join(presets)}"] if presets else []) + others
