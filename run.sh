#!/usr/bin/env bash
# The main job, from a fresh clone: install if needed, train a tracker of the default bundled clip (wave) with
# the CPU learning preset Isaac-G1-Mimic-CPU-Learn-v0 (128 envs, MuJoCo C physics) for 10 minutes, export the
# policy (ONNX + TorchScript + deploy contract), evaluate it in the training simulator and run it in plain
# MuJoCo through the Isaac-Lab-free deploy runtime (sim2sim).
# Outputs: logs/rsl_rl/g1_mimic_cpu_learn/<run>/model_<iter>.pt, <run>/exported/policy.onnx, <run>/eval.json, <run>/sim2sim.json,
# <run>/policy.gif (the policy beside its reference, MuJoCo offscreen), <run>/learning_curve.png
# Knobs: G1_MIMIC_MINUTES (training budget, default 10), G1_MIMIC_ITERATIONS (a cap on PPO iterations, default
# none), G1_MIMIC_NUM_ENVS (default: the preset's, 128 on CPU), G1_MIMIC_MOTION (default: bundled wave),
# G1_MIMIC_TASK (default Isaac-G1-Mimic-CPU-Learn-v0; Isaac-G1-Mimic-v0 is the full task with pushes and
# randomisation, which needs far more samples than 10 CPU minutes give).
set -euo pipefail
repo=$(cd "$(dirname "$0")" && pwd)
cd "$repo"
bash tools/install.sh
py="$repo/.venv/bin/python"
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
task=${G1_MIMIC_TASK:-Isaac-G1-Mimic-CPU-Learn-v0}
minutes=${G1_MIMIC_MINUTES:-10}
train_args=(--task "$task" --max_minutes "$minutes" --headless)
[ -n "${G1_MIMIC_ITERATIONS:-}" ] && train_args+=(--max_iterations "$G1_MIMIC_ITERATIONS")
[ -n "${G1_MIMIC_NUM_ENVS:-}" ] && train_args+=(--num_envs "$G1_MIMIC_NUM_ENVS")
motion_args=()
[ -n "${G1_MIMIC_MOTION:-}" ] && motion_args=(--motion "$G1_MIMIC_MOTION")
echo "[run] training $task for $minutes min${G1_MIMIC_ITERATIONS:+ (at most $G1_MIMIC_ITERATIONS iterations)} on ${G1_MIMIC_MOTION:-the bundled wave}"
start=$(date +%s)
train_log=$(mktemp)
trap 'rm -f "$train_log"' EXIT
"$py" scripts/train.py "${train_args[@]}" "${motion_args[@]}" | tee "$train_log"
# the run folder as the trainer reports it (no guessing from logs/, which a concurrent run would confuse)
run_dir="$(sed -n 's/^\[train\] run folder: //p' "$train_log" | tail -n 1)/"
ckpt=$("$py" -c "from g1_mimic.rl.checkpoint import latest_checkpoint; print(latest_checkpoint('$run_dir'))")
echo "[run] evaluating $ckpt"
"$py" scripts/evaluate.py --checkpoint "$ckpt" --num_envs 16 --num_episodes 16 --json "${run_dir}eval.json" "${motion_args[@]}"
echo "[run] sim2sim: the exported policy in plain MuJoCo (no Isaac Lab)"
"$py" scripts/sim2sim.py --policy "${run_dir}exported/policy_graph.onnx" --motion "${G1_MIMIC_MOTION:-wave}" --json "${run_dir}sim2sim.json" \
  --render "${run_dir}policy.gif" --beside --width 320 --height 240 --fps 12 --no_shadows
"$py" scripts/plot_learning_curve.py "$run_dir" --out "${run_dir}learning_curve.png"
echo "[run] done in $(( $(date +%s) - start )) s (after install)."
echo "[run] checkpoint: $ckpt"
echo "[run] exported:   ${run_dir}exported/ (policy_graph.onnx: sensors to PD targets, the clip baked in; policy.onnx, policy.json, deploy.yaml)"
echo "[run] report:     ${run_dir}eval.json"
echo "[run] sim2sim:    ${run_dir}sim2sim.json"
echo "[run] video:      ${run_dir}policy.gif (the policy in plain MuJoCo, the reference beside it in blue)"
echo "[run] curve:      ${run_dir}learning_curve.png"
