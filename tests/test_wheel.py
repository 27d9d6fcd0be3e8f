"""The package works installed as a wheel: what it reads at run time ships inside it, and nothing is
read from the repository around it (the variant table, the bundled clips, the C stepping source)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_wheel_carries_its_data_and_runs_outside_the_repository(tmp_path):
    src = tmp_path / "src"
    (src / "source" / "g1_mimic").mkdir(parents=True)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    shutil.copytree(REPO / "source" / "g1_mimic" / "g1_mimic", src / "source" / "g1_mimic" / "g1_mimic",
                    ignore=shutil.ignore_patterns("__pycache__", "generated"))
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "--no-build-isolation",
                           "-w", str(tmp_path / "dist"), "-q"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (wheel,) = (tmp_path / "dist").glob("g1_mimic-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in ("g1_mimic/rl/variants.yaml", "g1_mimic/data/motions/wave.npz", "g1_mimic/physics/native/batch_step.c"):
        assert needed in names, needed
    target = tmp_path / "site"
    with zipfile.ZipFile(wheel) as zf:  # a wheel is a zip of the install tree
        zf.extractall(target)
    code = ("import g1_mimic.rl.variants as v, g1_mimic.data as d; "
            "print(v.VARIANTS_FILE); print(sorted(v.load_variants())); print(d.bundled_motion('wave'))")
    run = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(target)})
    assert run.returncode == 0, run.stderr[-3000:]
    variants_file, table, wave = run.stdout.strip().splitlines()
    assert Path(variants_file).is_relative_to(target) and Path(wave).is_relative_to(target)
    assert "deepmimic" in table
