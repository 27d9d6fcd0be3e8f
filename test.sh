#!/usr/bin/env bash
# The test suite, from a fresh clone: install if needed, then pytest (real Isaac Lab env on Newton, CPU).
# Extra arguments go to pytest (e.g. ./test.sh -m "not slow").
set -euo pipefail
repo=$(cd "$(dirname "$0")" && pwd)
cd "$repo"
bash tools/install.sh
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
# one pytest worker per core (pytest-xdist), each test file on one worker: its module fixtures (a built env,
# a trained run) are made once; most of the suite's time is subprocesses (train, evaluate, sim2sim) that
# each need a core of their own
exec "$repo/.venv/bin/python" -m pytest -q --durations=15 -n auto --dist loadfile tests "$@"
