#!/usr/bin/env bash
# One-command install of g1_mimic on a fresh machine: creates .venv/ at the repo root with Isaac Lab
# 3.0 kit-less (Newton), its runtime dependencies (every version from requirements.lock), this
# package (editable), and the local G1 assets. Idempotent: a second run checks and skips.
#
# Usage: tools/install.sh [--force]        (PYTHON=python3.12 tools/install.sh to pick the interpreter)
# Works on Python 3.11 (CPU; torch 2.13.0+cpu) and Python 3.12 (CUDA; torch 2.11.0).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
venv="$repo/.venv"
lock="$repo/requirements.lock"
stamp="$venv/.g1_mimic_install_stamp"
force=0
[ "${1:-}" = "--force" ] && force=1

say() { printf '[install] %s\n' "$*"; }
# pip, without the per-package "Location ... is ignored" noise of find-links folders that do not exist
pipq() { "$vpy" -m pip "$@" 2>&1 | { grep -v "^WARNING: Location '" || true; }; return "${PIPESTATUS[0]}"; }
die() { printf '[install] ERROR: %s\n' "$*" >&2; exit 1; }

py=${PYTHON:-}
if [ -z "$py" ]; then
  for cand in python3.11 python3.12 python3; do
    if command -v "$cand" >/dev/null 2>&1; then py=$cand; break; fi
  done
fi
[ -n "$py" ] || die "no python3 found. Install Python 3.11 or 3.12 (with venv and pip) and run again."
ver=$("$py" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
case "$ver" in
  3.11|3.12) ;;
  *) die "$py is Python $ver; g1_mimic needs Python 3.11 or 3.12 (set PYTHON=/path/to/python3.11).";;
esac
"$py" -c 'import venv, ensurepip' 2>/dev/null || die "$py lacks the venv/ensurepip modules (Debian: apt-get install python3-venv)."

if [ ! -x "$venv/bin/python" ]; then
  say "creating virtual environment $venv with $py (Python $ver)"
  "$py" -m venv "$venv"
fi
vpy="$venv/bin/python"
want=$( (cat "$lock"; "$vpy" -c 'import sys; print(sys.version)') | sha256sum | cut -d' ' -f1)
if [ $force -eq 0 ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && "$vpy" -c 'import isaaclab, isaaclab_newton, g1_mimic, torch, mujoco, warp' 2>/dev/null; then
  say "dependencies already installed (requirements.lock unchanged): skipping pip"
else
  say "upgrading pip"
  pipq install -q --upgrade pip
  isaaclab_pin=$(grep -E '^isaaclab==' "$lock")
  say "installing $isaaclab_pin (no deps; its runtime deps come from requirements.lock)"
  pipq install -q --no-deps --ignore-requires-python "$isaaclab_pin"
  say "installing pinned dependencies from requirements.lock (first run: a few minutes)"
  grep -vE '^isaaclab==' "$lock" > "$venv/.requirements-deps.txt"
  pipq install -q -r "$venv/.requirements-deps.txt" || die "pip could not install requirements.lock (see the messages above)."
  say "installing g1_mimic (editable)"
  pipq install -q --no-deps -e "$repo" || die "pip install -e . failed"
  echo "$want" > "$stamp"
fi

say "building the local G1 assets (MJCF, USD, ground plane)"
"$vpy" -m g1_mimic.assets.build

# The C batched MuJoCo step of the mujoco_cpu physics preset (compiled once with the system C compiler and
# cached in ~/.cache/g1_mimic/native; without a compiler the preset steps envs in Python threads, slower).
"$vpy" - <<'PY'
from g1_mimic.physics import native
ok, where = native.available()
print(f"[install] C batched MuJoCo step: {where}" if ok else
      f"[install] warning: C batched MuJoCo step unavailable ({where}); mujoco_cpu uses Python threads (slower)")
PY

# Offscreen rendering (scripts/motion.py render) uses MuJoCo with OSMesa on machines without a GPU.
if ! ldconfig -p 2>/dev/null | grep -q libOSMesa; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    say "installing libosmesa6 (offscreen rendering of motions)"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libosmesa6 >/dev/null) \
      || say "warning: could not install libosmesa6; 'scripts/motion.py render' will need EGL or OSMesa"
  else
    say "note: libOSMesa not found; install libosmesa6 (or use EGL) to render motions offscreen"
  fi
fi

"$vpy" - <<'PY'
import isaaclab, mujoco, torch, warp, newton
import g1_mimic
from g1_mimic import assets
assets.require(assets.G1_USD)
print(f"[install] ok: python {__import__('sys').version.split()[0]}, torch {torch.__version__}, "
      f"warp {warp.__version__}, newton {newton.__version__}, mujoco {mujoco.__version__}, "
      f"cuda={'yes' if torch.cuda.is_available() else 'no'}")
PY
say "done. Activate with: source .venv/bin/activate"
