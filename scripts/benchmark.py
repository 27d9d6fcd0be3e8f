"""Throughput of Isaac-G1-Mimic-v0 against the bare physics of the same scene and plain MuJoCo C.

    python scripts/benchmark.py [--presets newton_mjwarp mujoco_cpu] [--num_envs 16 64 256] [--steps 100]
                                [--repeats 3] [--json out.json]

For each physics preset (default: every Newton preset of the task that runs on the current device:
``newton_mjwarp``, ``newton_mjwarp_cpu_graph`` and ``mujoco_cpu`` on CPU; ``newton_mjwarp`` on CUDA) and
each env count (default 16, 64, 256 on CPU; 1024, 4096 on CUDA) a fresh process builds the task on
the current device, warms it up, then measures:

- task: ``env.step`` with random actions (managers, motion library, physics): env-steps/s;
- bare physics: the same scene stepped with the same substeps (``decimation`` physics steps per
  env step, actions written, scene updated) and no managers: env-steps/s;
- MuJoCo C: one ``MjData`` of the same G1 model (``g1_sim.xml``: floor, 29 PD position actuators,
  dt 0.005 s) stepped by ``mj_step`` on one core (best of 5 windows), reported as env-steps/s
  (= physics steps/s / decimation) for one env; it does not scale with the env count. It is
  measured once at the start and again in each worker right before its task timing; each row's
  ratio uses the higher of the two, so a machine that slows down between measurements (shared
  virtual machines do, by 20-40 % within minutes) cannot inflate ``task_over_mujoco_c``.

All three env timings (and the warm-up) run under ``torch.inference_mode()``, as rsl_rl's runner
collects its rollouts (autograd bookkeeping off; ~4 % of a 64-env CPU step).

Reported per preset and env count: min and median over repeats; ratios task / bare physics (the
cost of our managers and motion library) and task / MuJoCo C (distance to the single-core CPU limit).
The ``--json`` rows carry ``preset`` besides the keys above.

``--floor`` also measures the floor of Isaac Lab's manager machinery in the same process: the task
with every reward, termination and observation term replaced by a precomputed constant of the
right shape (no observation noise, no tracking metrics, hence no resets), stepped with zero
actions: what ``ManagerBasedRLEnv.step`` costs around the physics before any term of ours runs
(action processing and application, manager bookkeeping, episode statistics). Keys
``manager_floor_env_steps_per_s`` and ``manager_floor_over_bare_physics``: task / bare physics
cannot exceed the latter with Isaac Lab's managers.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def mujoco_c_env_steps_per_s(decimation: int = 4, seconds: float = 3.0) -> float:
    """Plain MuJoCo C: G1 standing under PD at the default pose, one MjData, one core."""
    import mujoco
    import numpy as np

    from g1_mimic import assets
    from g1_mimic.robots.g1_constants import DEFAULT_ROOT_HEIGHT, default_joint_pos

    model = mujoco.MjModel.from_xml_path(str(assets.require(assets.G1_DIR / "g1_sim.xml")))
    data = mujoco.MjData(model)
    names = [model.joint(i).name for i in range(1, model.njnt)]
    q0 = np.array([default_joint_pos(n) for n in names])

    def stand() -> None:
        mujoco.mj_resetData(model, data)
        data.qpos[2] = DEFAULT_ROOT_HEIGHT
        data.qpos[7:] = q0
        data.ctrl[:] = q0

    # restart from standing every 1 s of simulated time (as episodes do): PD alone does not keep the
    # G1 up for long, and a fallen robot has other contacts
    # best of 5 windows: on a shared (virtual) machine a single window can be slowed by neighbours, and
    # the best window is the machine's limit
    best = 0.0
    for _ in range(5):
        stand()
        n = 0
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < seconds / 5:
            for _ in range(200):
                mujoco.mj_step(model, data)
            n += 200
            stand()
        best = max(best, n / (time.perf_counter() - t0) / decimation)
    return best


#: Presets that run on the CPU only (skipped by default on CUDA).
CPU_ONLY_PRESETS = ("mujoco_cpu", "newton_mjwarp_cpu_graph")


def default_presets(device: str) -> list[str]:
    """Every Newton physics preset of the task that runs on ``device`` (in declaration order)."""
    from isaaclab_newton.physics import NewtonCfg

    from g1_mimic.tasks.mimic.mimic_env_cfg import MimicPhysicsCfg

    physics = MimicPhysicsCfg()
    names = [
        name for name in physics.__dataclass_fields__
        if name != "default" and isinstance(getattr(physics, name), NewtonCfg)
    ]
    if device.startswith("cuda"):
        names = [name for name in names if name not in CPU_ONLY_PRESETS]
    return names


#: The parts of ``ManagerBasedRLEnv.step`` timed by ``--breakdown``: (owner attribute or "" for the env, method, label).
BREAKDOWN_PARTS = (
    ("sim", "step", "physics: sim.step (x decimation)"),
    ("scene", "update", "scene.update: asset and sensor data (x decimation)"),
    ("scene", "write_data_to_sim", "scene.write_data_to_sim (x decimation)"),
    ("action_manager", "apply_action", "action apply (x decimation)"),
    ("action_manager", "process_action", "action process"),
    ("termination_manager", "compute", "terminations (first state reads)"),
    ("reward_manager", "compute", "rewards"),
    ("", "_reset_idx", "resets (reference-state init, events, manager resets)"),
    ("command_manager", "compute", "command: reference and episode metrics"),
    ("observation_manager", "compute", "observations (actor + critic)"),
    ("event_manager", "apply", "events"),
)


def _install_breakdown(env) -> dict[str, float]:
    """Wrap the parts of ``env.step`` with wall-clock timers; returns the (label -> seconds) accumulator."""
    acc: dict[str, float] = {}
    for owner_name, method, label in BREAKDOWN_PARTS:
        owner = getattr(env, owner_name) if owner_name else env
        inner = getattr(owner, method)
        acc[label] = 0.0

        def timed(*args, _inner=inner, _label=label, **kwargs):
            t0 = time.perf_counter()
            try:
                return _inner(*args, **kwargs)
            finally:
                acc[_label] += time.perf_counter() - t0

        setattr(owner, method, timed)
    return acc


def _stub_terms(env) -> None:
    """Replace every reward, termination and observation term of ``env`` by a constant of its shape (for ``--floor``)."""
    import torch

    n, dev = env.num_envs, env.device
    for cfg in env.reward_manager._term_cfgs:
        cfg.func = lambda env, _z=torch.zeros(n, device=dev), **kw: _z
    for cfg in env.termination_manager._term_cfgs:
        cfg.func = lambda env, _z=torch.zeros(n, dtype=torch.bool, device=dev), **kw: _z
    om = env.observation_manager
    for group, cfgs in om._group_obs_term_cfgs.items():
        for cfg, dims in zip(cfgs, om._group_obs_term_dim[group], strict=True):
            cfg.func = lambda env, _z=torch.zeros(n, *dims, device=dev), **kw: _z
            cfg.noise = None
    for name in env.command_manager.active_terms:
        env.command_manager.get_term(name)._update_metrics = lambda: None


def _measure_one(num_envs: int, steps: int, warmup: int, repeats: int, device: str, preset: str | None = None,
                 breakdown: bool = False, floor: bool = False, extra_overrides: list[str] | None = None) -> dict:
    """Build the env with physics ``preset`` (the task's default when None) in this process and time
    task and bare-physics steps (with ``breakdown``, also the parts of the task step, ms per step; with
    ``floor``, also the task with constant terms, see the module docstring)."""
    import torch
    from isaaclab_tasks.utils import resolve_task_config

    import g1_mimic.tasks  # noqa: F401
    from g1_mimic.tasks.mimic.env import MimicRLEnv

    overrides = ([f"presets={preset}"] if preset else []) + list(extra_overrides or [])
    env_cfg, _ = resolve_task_config("Isaac-G1-Mimic-v0", "rsl_rl_cfg_entry_point", overrides=overrides)
    env_cfg.scene.num_envs = num_envs
    env_cfg.sim.device = device
    if device == "cpu":
        env_cfg.sim.physics.use_cuda_graph = False
    env = MimicRLEnv(env_cfg)
    env.reset()
    act_dim = env.action_manager.total_action_dim
    mujoco_c = mujoco_c_env_steps_per_s(env.cfg.decimation)

    def task_rate() -> float:
        actions = 0.5 * torch.randn(steps, num_envs, act_dim, device=device)
        t0 = time.perf_counter()
        for i in range(steps):
            env.step(actions[i])
        if device != "cpu":
            torch.cuda.synchronize()
        return steps * num_envs / (time.perf_counter() - t0)

    def bare_rate() -> float:
        # the physics part of env.step: write actuator targets, `decimation` physics steps, scene update
        scene, sim = env.scene, env.sim
        t0 = time.perf_counter()
        for _ in range(steps):
            for _ in range(env.cfg.decimation):
                scene.write_data_to_sim()
                sim.step(render=False)
                scene.update(dt=env.physics_dt)
        if device != "cpu":
            torch.cuda.synchronize()
        return steps * num_envs / (time.perf_counter() - t0)

    with torch.inference_mode():  # as rsl_rl's runner steps the env while collecting rollouts
        for _ in range(warmup):
            env.step(torch.zeros(num_envs, act_dim, device=device))
        acc = _install_breakdown(env) if breakdown else None
        task = [task_rate() for _ in range(repeats)]
        parts = {k: 1e3 * v / (steps * repeats) for k, v in acc.items()} if acc is not None else None
        step_ms = 1e3 * sum(steps * num_envs / r for r in task) / (steps * repeats)  # mean wall time of one env.step
        env.reset()
        bare = [bare_rate() for _ in range(repeats)]
        out = {"task": task, "bare": bare, "mujoco_c": mujoco_c}
        if floor:
            _stub_terms(env)
            env.reset()
            zero = torch.zeros(num_envs, act_dim, device=device)

            def floor_rate() -> float:
                t0 = time.perf_counter()
                for _ in range(steps):
                    env.step(zero)
                if device != "cpu":
                    torch.cuda.synchronize()
                return steps * num_envs / (time.perf_counter() - t0)

            out["floor"] = [floor_rate() for _ in range(repeats)]
    env.close()
    if parts is not None:
        out["breakdown_ms_per_step"] = parts
        out["step_ms"] = step_ms
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", default=None,
                        help="physics presets to measure (default: every Newton preset that runs on the device)")
    parser.add_argument("--num_envs", type=int, nargs="+", default=None)
    parser.add_argument("--steps", type=int, default=100, help="env steps per timed repeat")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default=None)
    parser.add_argument("--json", default=None, help="write the results here")
    parser.add_argument("--_worker", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--breakdown", action="store_true",
                        help="also time the parts of the task step (physics, scene data, each manager, resets), ms per step; "
                             "the timers add a little overhead to the task figure")
    parser.add_argument("--floor", action="store_true",
                        help="also measure the task with every term a constant (Isaac Lab's manager machinery alone)")
    parser.add_argument("--override", nargs="+", default=[], metavar="KEY=VALUE",
                        help="Hydra overrides of the task config for every measurement, e.g. "
                             "env.sim.physics.solver_cfg.native_step=false (recorded in the JSON rows)")
    parser.add_argument("--_preset", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch

    device = args.device or ("cuda:0" if torch.cuda.is_available() else "cpu")
    if args._worker is not None:
        res = _measure_one(args._worker, args.steps, args.warmup, args.repeats, device, args._preset, args.breakdown,
                           args.floor, args.override)
        print("BENCH_RESULT " + json.dumps(res), flush=True)
        return 0

    counts = args.num_envs or ([1024, 4096] if device.startswith("cuda") else [16, 64, 256])
    presets = args.presets or default_presets(device)
    mj = mujoco_c_env_steps_per_s()
    print(f"[benchmark] MuJoCo C (1 MjData, 1 core): {mj:,.0f} env-steps/s ({4 * mj:,.0f} physics steps/s)", flush=True)
    rows = []
    for preset in presets:
        for n in counts:
            print(f"[benchmark] {preset}, {n} envs on {device}: building and timing ({args.repeats} x {args.steps} steps)...",
                  flush=True)
            cmd = [sys.executable, __file__, "--_worker", str(n), "--_preset", preset, "--steps", str(args.steps),
                   "--warmup", str(args.warmup), "--repeats", str(args.repeats), "--device", device]
            if args.breakdown:
                cmd.append("--breakdown")
            if args.floor:
                cmd.append("--floor")
            if args.override:
                cmd += ["--override", *args.override]
            proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
            line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("BENCH_RESULT ")), None)
            if proc.returncode != 0 or line is None:
                print(proc.stdout[-3000:], proc.stderr[-3000:], file=sys.stderr)
                raise SystemExit(f"[benchmark] worker for {preset}, {n} envs failed (exit {proc.returncode})")
            res = json.loads(line[len("BENCH_RESULT "):])
            task_med, bare_med = statistics.median(res["task"]), statistics.median(res["bare"])
            mj_row = max(mj, res["mujoco_c"])
            row = {
                "preset": preset,
                "num_envs": n,
                "env_steps_per_s": task_med,
                "env_steps_per_s_min": min(res["task"]),
                "bare_physics_env_steps_per_s": bare_med,
                "bare_physics_env_steps_per_s_min": min(res["bare"]),
                "mujoco_c_env_steps_per_s": mj_row,
                "task_over_bare_physics": task_med / bare_med,
                "task_over_mujoco_c": task_med / mj_row,
                "device": device,
                "overrides": list(args.override),
            }
            if "floor" in res:
                row["manager_floor_env_steps_per_s"] = statistics.median(res["floor"])
                row["manager_floor_over_bare_physics"] = row["manager_floor_env_steps_per_s"] / bare_med
            if "breakdown_ms_per_step" in res:
                row["step_ms"] = res["step_ms"]
                row["breakdown_ms_per_step"] = res["breakdown_ms_per_step"]
            rows.append(row)
            print(
                f"[benchmark] {preset:>24s} {n:5d} envs: task {task_med:8.1f} env-steps/s (min {min(res['task']):.1f}), "
                f"bare physics {bare_med:8.1f}, task/bare {row['task_over_bare_physics']:.2f}, "
                f"task/MuJoCo-C {row['task_over_mujoco_c']:.3f} (MuJoCo C {mj_row:,.0f})",
                flush=True,
            )
            if "manager_floor_env_steps_per_s" in row:
                print(f"[benchmark]     manager floor (constant terms): {row['manager_floor_env_steps_per_s']:8.1f} "
                      f"env-steps/s, floor/bare {row['manager_floor_over_bare_physics']:.2f}", flush=True)
            if "breakdown_ms_per_step" in row:
                parts = row["breakdown_ms_per_step"]
                for label, ms in sorted(parts.items(), key=lambda kv: -kv[1]):
                    print(f"[benchmark]     {ms:7.2f} ms/step  {label}", flush=True)
                print(f"[benchmark]     {row['step_ms'] - sum(parts.values()):7.2f} ms/step  rest of env.step "
                      f"(of {row['step_ms']:.2f} ms)", flush=True)
    print("\n| preset | envs | task env-steps/s (median, min) | bare physics env-steps/s | task / bare | task / MuJoCo C |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['preset']} | {r['num_envs']} | {r['env_steps_per_s']:.0f} ({r['env_steps_per_s_min']:.0f}) | "
              f"{r['bare_physics_env_steps_per_s']:.0f} | {r['task_over_bare_physics']:.2f} | {r['task_over_mujoco_c']:.3f} |")
    if args.json:
        Path(args.json).write_text(json.dumps({"device": device, "mujoco_c_env_steps_per_s": mj, "results": rows}, indent=2))
        print(f"[benchmark] wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
