"""The budgeted training loop's progress line (scripts/train.py --max_minutes)."""

from __future__ import annotations

from collections import deque

import pytest

from g1_mimic.rl.train_loop import budget_progress, install_learn_hooks


def test_budget_progress_counts_down_to_the_budget_not_max_iterations():
    line = budget_progress(120, 185.0, 600.0, deque([80.0, 100.0, 120.0]))
    assert line == "[train] iteration 120: 3.1 of 10.0 min, ETA 6:55, mean episode 100 steps"


def test_budget_progress_before_any_episode_ended_and_past_the_budget():
    assert budget_progress(3, 700.0, 600.0, deque()) == "[train] iteration 3: 11.7 of 10.0 min, ETA 0:00"


def test_a_non_positive_budget_is_refused():
    with pytest.raises(ValueError, match="max_seconds must be positive, got 0"):
        install_learn_hooks(max_seconds=0)

