"""Argument types shared by the command-line scripts: counts and durations that must be positive."""

from __future__ import annotations

import argparse
from collections.abc import Callable


def positive(kind: type = int) -> Callable[[str], int | float]:
    """An argparse ``type=`` that parses ``kind`` (int or float) and refuses values <= 0 (never a silent default)."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {'an integer' if kind is int else 'a number'}") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
        return value

    parse.__name__ = f"positive {kind.__name__}"
    return parse
