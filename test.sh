#!/usr/bin/env bash
# The test suite, from a fresh clone: install if needed, then pytest (real Isaac Lab env on Newton, CPU).
# Extra arguments go to pytest (e.g. ./test.sh -m "not slow").
set -euo pipefail
repo=$(cd "$(dirname "$0")" && pwd)
cd "$repo"
bash tools/install.sh
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
exec "$repo/.venv/bin/python" -m pytest -q --durations=15 tests "$@"
