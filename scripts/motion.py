#!/usr/bin/env python3
"""Convert, inspect, validate, export, generate and render G1 reference motions.

Usage (see docs/motion_data.md):

    python scripts/motion.py convert INPUT OUTPUT.npz [--format F] [--fps HZ] [--out-fps 50] [--clamp-limits]
    python scripts/motion.py inspect FILE [--json]
    python scripts/motion.py validate FILE [--strict]
    python scripts/motion.py export FILE OUTPUT.csv [--quat-order xyzw|wxyz]
    python scripts/motion.py generate NAME OUTPUT.npz | generate --list
    python scripts/motion.py render FILE OUTPUT.(mp4|gif)

All logic lives in :mod:`g1_mimic.motion.cli`.
"""

from __future__ import annotations

import sys

from g1_mimic.motion.cli import main

if __name__ == "__main__":
    sys.exit(main())
