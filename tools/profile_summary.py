"""Summarise a py-spy raw profile of a training run: where the wall time of the main thread goes.

Record a running training process (it keeps running; ``--nonblocking`` does not pause it), then summarise::

    pip install py-spy
    py-spy record -p $(pgrep -f scripts/train.py | head -1) -d 60 -r 50 -f raw -o train.raw --nonblocking
    python tools/profile_summary.py train.raw --top 30

Prints, per function (``name (file)``), the share of samples in which it is on the stack (inclusive) and
at the top of the stack (self). Time in C code called from Python (MuJoCo C, Warp graph replay, torch
kernels) counts as self time of the Python function that called it.
"""

from __future__ import annotations

import argparse
import collections
import sys
from pathlib import Path

NO_FRAME = "(no Python frame)"
"""Key of the samples py-spy took while the thread had no Python frame on its stack."""


def _frame_key(frame: str) -> str:
    """``"fn (path/file.py:12)"`` -> ``"fn (file.py)"``."""
    name, _, where = frame.partition(" (")
    file = where.rsplit(":", 1)[0].rsplit("/", 1)[-1] if where else ""
    return f"{name} ({file})" if file else name


def summarise(path: Path) -> tuple[int, collections.Counter, collections.Counter]:
    """``(samples, inclusive, self)`` counters over the main thread's stacks of a py-spy ``-f raw`` file."""
    inclusive: collections.Counter = collections.Counter()
    own: collections.Counter = collections.Counter()
    total = 0
    for k, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        stack, _, count = line.rpartition(" ")
        if not stack.strip() and count.isdigit():  # a sample without a Python frame (native code only)
            total += int(count)
            own[NO_FRAME] += int(count)
            inclusive[NO_FRAME] += int(count)
            continue
        if not stack or not count.isdigit():
            raise ValueError(f"{path}:{k}: not py-spy raw output ('frame;frame;... count'); record with -f raw")
        frames = stack.split(";")
        if frames[0].startswith("thread "):  # recorded with --threads: keep the main thread's stacks
            if "MainThread" not in frames[0]:
                continue
            frames = frames[1:]
        elif frames[0].startswith("process "):  # recorded with --subprocesses
            frames = frames[1:]
        n = int(count)
        total += n
        keys = [_frame_key(f) for f in frames]
        for key in set(keys):
            inclusive[key] += n
        if keys:
            own[keys[-1]] += n
    return total, inclusive, own


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("raw", type=Path, help="py-spy record -f raw output")
    parser.add_argument("--top", type=int, default=30, help="rows per table (default 30)")
    args = parser.parse_args(argv)
    if not args.raw.is_file():
        print(f"error: {args.raw}: no such file", file=sys.stderr)
        return 2
    try:
        total, inclusive, own = summarise(args.raw)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if total == 0:
        print(f"error: {args.raw}: no samples of the main thread", file=sys.stderr)
        return 2
    print(f"{total} samples of the main thread")
    for title, counter in (("inclusive", inclusive), ("self", own)):
        print(f"--- {title}")
        for key, n in counter.most_common(args.top):
            print(f"{100.0 * n / total:5.1f} %  {key}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
