"""tools/profile_summary.py on a small py-spy raw profile: shares per function, the main thread only, bad input refused."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location("profile_summary", Path(__file__).parents[1] / "tools" / "profile_summary.py")
profile_summary = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(profile_summary)

RAW = """thread (10): MainThread;learn (runner.py:5);step (env.py:9);_run_all (solver.py:50) 6
thread (10): MainThread;learn (runner.py:5);step (env.py:9) 1
thread (10): MainThread;learn (runner.py:5);update (ppo.py:7) 3
thread (11): Thread-1;worker (pool.py:3) 40
"""

#: py-spy writes a sample without any Python frame (native code only) as a bare count
NO_FRAME_RAW = """learn (runner.py:5);step (env.py:9) 3
 2
"""


def test_shares_of_the_main_thread(tmp_path, capsys):
    raw = tmp_path / "train.raw"
    raw.write_text(RAW)
    total, inclusive, own = profile_summary.summarise(raw)
    assert total == 10  # the other thread's 40 samples are not the training loop's wall time
    assert inclusive["learn (runner.py)"] == 10 and inclusive["step (env.py)"] == 7
    assert own["_run_all (solver.py)"] == 6 and own["step (env.py)"] == 1 and own["update (ppo.py)"] == 3
    assert profile_summary.main([str(raw), "--top", "2"]) == 0
    out = capsys.readouterr().out
    assert "10 samples" in out and " 60.0 %  _run_all (solver.py)" in out


def test_samples_without_a_python_frame_count_under_their_own_key(tmp_path):
    raw = tmp_path / "train.raw"
    raw.write_text(NO_FRAME_RAW)
    total, inclusive, own = profile_summary.summarise(raw)
    assert total == 5 and own["(no Python frame)"] == 2 and inclusive["learn (runner.py)"] == 3


@pytest.mark.parametrize("text", ["not a profile\n", "a;b c\n"])
def test_not_a_raw_profile_is_refused(tmp_path, capsys, text):
    raw = tmp_path / "x.raw"
    raw.write_text(text)
    assert profile_summary.main([str(raw)]) == 2
    err = capsys.readouterr().err
    assert str(raw) in err and "-f raw" in err
