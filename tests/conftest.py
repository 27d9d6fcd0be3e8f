"""Shared pytest setup: CPU threads, and a helper that builds the real Isaac Lab env on Newton (CPU)."""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
