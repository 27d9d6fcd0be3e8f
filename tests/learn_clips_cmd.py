"""The ``scripts/learn_clips.py`` command line the pipeline tests run (``test_learn_clips*.py``)."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data" / "real_motions"


def learn_clips_cmd(table: Path, *args: str) -> list[str]:
    """``learn_clips.py`` on the test clips: 4 PPO iterations with 8 envs (the 2-minute budget only caps a machine
    too busy to make them; a budget of seconds made none there), 64x48 GIFs, rows into ``table``."""
    return [sys.executable, str(REPO / "scripts" / "learn_clips.py"), str(DATA), *args, "--minutes", "2",
            "--json", str(table), "--video_size", "64", "48", "--", "--num_envs", "8", "--max_iterations", "4"]
