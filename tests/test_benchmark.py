"""scripts/benchmark.py end to end on a tiny configuration: it exits 0 and writes every documented key
with consistent values."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_benchmark_json_keys_and_floor(tmp_path):
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, "scripts/benchmark.py", "--presets", "mujoco_cpu", "--num_envs", "4", "--steps", "5",
         "--warmup", "2", "--repeats", "1", "--floor", "--ppo", "--ppo_iterations", "1", "--ppo_warmup", "0",
         "--json", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "task/bare" in proc.stdout and "task/MuJoCo-C" in proc.stdout and "manager floor" in proc.stdout
    data = json.loads(out.read_text())
    rows = data["results"]
    assert len(rows) == 1
    row = rows[0]
    for key in ("num_envs", "env_steps_per_s", "bare_physics_env_steps_per_s", "mujoco_c_env_steps_per_s",
                "task_over_bare_physics", "task_over_mujoco_c", "manager_floor_env_steps_per_s",
                "manager_floor_over_bare_physics", "mujoco_c_all_cores_env_steps_per_s", "task_over_mujoco_c_all_cores",
                "same_actions_bare_env_steps_per_s", "task_over_same_actions_bare", "mujoco_c_task_load_env_steps_per_s",
                "task_over_mujoco_c_task_load", "mujoco_c_task_load_state_gap", "ppo_samples_per_s",
                "ppo_collect_s", "ppo_update_s", "ppo_inference_s"):
        assert key in row, key
    assert row["num_envs"] == 4 and row["preset"] == "mujoco_cpu"
    assert row["env_steps_per_s"] > 0 and row["bare_physics_env_steps_per_s"] > 0
    assert row["task_over_bare_physics"] == row["env_steps_per_s"] / row["bare_physics_env_steps_per_s"]
    assert row["manager_floor_env_steps_per_s"] > 0
    # the ratio's MuJoCo C figure is the higher of the start-up and the worker's own measurement
    assert row["mujoco_c_env_steps_per_s"] >= data["mujoco_c_env_steps_per_s"] > 0
    assert row["task_over_mujoco_c"] == row["env_steps_per_s"] / row["mujoco_c_env_steps_per_s"]
    assert row["same_actions_bare_env_steps_per_s"] > 0
    assert row["task_over_same_actions_bare"] == row["env_steps_per_s"] / row["same_actions_bare_env_steps_per_s"]
    assert row["task_over_mujoco_c_all_cores"] == row["env_steps_per_s"] / row["mujoco_c_all_cores_env_steps_per_s"]
    # plain MuJoCo C making the task's own calls ends in exactly the task's states (the same calls, the same models)
    assert row["mujoco_c_task_load_env_steps_per_s"] > 0 and row["mujoco_c_task_load_state_gap"] == 0.0
    assert row["task_over_mujoco_c_task_load"] == row["env_steps_per_s"] / row["mujoco_c_task_load_env_steps_per_s"]
    assert "MuJoCo C making the task's calls" in proc.stdout
    # one timed iteration of the CPU learning preset: 4 envs x its rollout length, over collection + update
    assert row["ppo_samples_per_iteration"] == 4 * 24 and row["ppo_iterations_timed"] == 1
    assert 0 < row["ppo_inference_s"] < row["ppo_collect_s"] and row["ppo_update_s"] > 0
    assert abs(row["ppo_samples_per_s"] - 96 / (row["ppo_collect_s"] + row["ppo_update_s"])) < 1e-6 * row["ppo_samples_per_s"]
    assert "PPO" in proc.stdout and "same-actions bare" in proc.stdout
    # and MuJoCo C making the timed rollout's calls ends where the rollout did
    assert row["mujoco_c_ppo_load_env_steps_per_s"] > 0 and row["mujoco_c_ppo_load_state_gap"] == 0.0
    assert row["ppo_over_mujoco_c_ppo_load"] == row["ppo_samples_per_s"] / row["mujoco_c_ppo_load_env_steps_per_s"]
    # the CPU learning preset's update runs on every core the process may use (G1MimicPPO)
    assert row["ppo_update_threads"] == len(os.sched_getaffinity(0))

