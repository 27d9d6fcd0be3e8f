"""Throughput of Isaac-G1-Mimic-v0 against the bare physics of the same scene and plain MuJoCo C.

    python scripts/benchmark.py [--presets newton_mjwarp mujoco_cpu] [--num_envs 16 64 256] [--steps 100]
                                [--repeats 3] [--ppo] [--json out.json]

For each physics preset (default: every Newton preset of the task that runs on the current device:
``newton_mjwarp``, ``newton_mjwarp_cpu_graph`` and ``mujoco_cpu`` on CPU; ``newton_mjwarp`` on CUDA) and
each env count (default 16, 64, 256 on CPU, 64, 128, 256 with ``--ppo``; 1024, 4096 on CUDA) a fresh
process builds the task on the current device, warms it up, then measures:

- task: ``env.step`` with random actions (managers, motion library, physics): env-steps/s;
- bare physics: the same scene stepped with the same substeps (``decimation`` physics steps per
  env step, actions written, scene updated) and no managers, from wherever the task left the robots
  (a settled scene: fallen or standing robots, no resets): env-steps/s;
- same-actions bare physics: one task pass with random actions is recorded (start state, the joint
  targets of every step, which envs the task reset and to what state) and replayed without
  managers: the same physics load as the task (the robots move, fall and restart as in the task),
  so task / same-actions bare is the cost of our managers and motion library alone;
- MuJoCo C: one ``MjData`` of the same G1 model (``g1_sim.xml``: floor, 29 PD position actuators,
  dt 0.005 s) stepped by ``mj_step`` on one core (best of 5 windows), reported as env-steps/s
  (= physics steps/s / decimation) for one env; it does not scale with the env count. It is
  measured once at the start and again in each worker right before its task timing; each row's
  ratio uses the higher of the two, so a machine that slows down between measurements (shared
  virtual machines do, by 20-40 % within minutes) cannot inflate ``task_over_mujoco_c``.
- MuJoCo C on all cores: the same, one ``MjData`` per thread, on as many threads as the batched
  MuJoCo-C solver steps envs in (the cores this process may use): the real CPU limit.
- MuJoCo C making the task's calls (``mujoco_cpu`` preset): the MuJoCo C calls of the recorded task
  pass (below; each env's input state, controls and applied forces per call, and its ``mj_step``
  count) replayed by ``mj_setState`` and ``mj_step`` alone on the solver's own per-env models, the envs
  split over the same threads: the CPU limit for the physics the task asks for (a robot under random
  actions, falling and restarting, makes more contacts and solver iterations than a standing one; the
  models may differ from ``g1_sim.xml`` in solver settings). Keys ``mujoco_c_task_load_env_steps_per_s``,
  ``task_over_mujoco_c_task_load`` (what the Newton/Isaac Lab path and our managers keep of it) and
  ``mujoco_c_task_load_state_gap`` (the replay's final states against the task's: 0, the same calls).

All env timings (and the warm-up) run under ``torch.inference_mode()``, as rsl_rl's runner
collects its rollouts (autograd bookkeeping off; ~4 % of a 64-env CPU step).

Reported per preset and env count: min and median over repeats; ratios task / bare physics,
task / same-actions bare, task / MuJoCo C (one core) and task / MuJoCo C on all cores
(``task_over_mujoco_c_all_cores``). The ``--json`` rows carry ``preset`` besides the keys above.

``--ppo`` also times whole PPO iterations of the CPU learning preset (``Isaac-G1-Mimic-CPU-Learn-v0``,
its runner cfg, rsl_rl's ``OnPolicyRunner.learn`` without logging) in a fresh process per env count:
``ppo_samples_per_s`` (samples of an iteration over its wall time, median), ``ppo_collect_s`` (the
rollout: env steps and policy inference), ``ppo_inference_s`` (``alg.act`` within the rollout),
``ppo_update_s`` (returns and the PPO epochs) and ``ppo_over_mujoco_c_all_cores``; on ``mujoco_cpu`` also
``mujoco_c_ppo_load_env_steps_per_s``: plain MuJoCo C making the timed rollouts' own physics calls (as
above for the task), ``ppo_over_mujoco_c_ppo_load`` and ``mujoco_c_ppo_load_state_gap``.

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
import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def mujoco_c_env_steps_per_s(decimation: int = 4, seconds: float = 3.0, threads: int = 1) -> float:
    """Plain MuJoCo C: G1 standing under PD at the default pose, one ``MjData`` per thread, summed over
    ``threads`` threads stepping at once (``mj_step`` releases the GIL), in env-steps/s."""
    import threading

    import mujoco
    import numpy as np

    from g1_mimic import assets
    from g1_mimic.robots.g1_constants import DEFAULT_ROOT_HEIGHT, default_joint_pos

    model = mujoco.MjModel.from_xml_path(str(assets.require(assets.G1_DIR / "g1_sim.xml")))
    datas = [mujoco.MjData(model) for _ in range(threads)]
    names = [model.joint(i).name for i in range(1, model.njnt)]
    q0 = np.array([default_joint_pos(n) for n in names])

    def stand(data) -> None:
        mujoco.mj_resetData(model, data)
        data.qpos[2] = DEFAULT_ROOT_HEIGHT
        data.qpos[7:] = q0
        data.ctrl[:] = q0

    def window(data, counts: list[int], k: int, t_end: float) -> None:
        # restart from standing every 1 s of simulated time (as episodes do): PD alone does not keep the
        # G1 up for long, and a fallen robot has other contacts
        stand(data)
        n = 0
        while time.perf_counter() < t_end:
            for _ in range(200):
                mujoco.mj_step(model, data)
            n += 200
            stand(data)
        counts[k] = n

    # best of 5 windows: on a shared (virtual) machine a single window can be slowed by neighbours, and
    # the best window is the machine's limit
    best = 0.0
    for _ in range(5):
        counts = [0] * threads
        t0 = time.perf_counter()
        t_end = t0 + seconds / 5
        workers = [threading.Thread(target=window, args=(d, counts, k, t_end)) for k, d in enumerate(datas[1:], 1)]
        for w in workers:
            w.start()
        window(datas[0], counts, 0, t_end)
        for w in workers:
            w.join()
        best = max(best, sum(counts) / (time.perf_counter() - t0) / decimation)
    return best


def solver_threads() -> int:
    """The threads the batched MuJoCo-C solver steps the envs in by default (the cores this process may use)."""
    from g1_mimic.physics.mujoco_cpu_solver import default_num_threads

    return default_num_threads()


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
    ("sim", "step", "physics: sim.step (x decimation, once when folded)"),
    ("scene", "update", "scene.update: asset and sensor data (x decimation, once when folded)"),
    ("scene", "write_data_to_sim", "scene.write_data_to_sim (x decimation, once when folded)"),
    ("action_manager", "apply_action", "action apply (x decimation, once when folded)"),
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


def _robot_state(robot, ids=None) -> tuple:
    """Root link pose and velocity, joint positions and velocities of ``robot`` (world frame), cloned."""
    parts = (robot.data.root_link_pose_w, robot.data.root_link_vel_w, robot.data.joint_pos, robot.data.joint_vel)
    return tuple((p.torch if ids is None else p.torch[ids]).clone() for p in parts)


def _write_robot_state(robot, state: tuple, ids) -> None:
    pose, vel, joint_pos, joint_vel = state
    robot.write_root_pose_to_sim_index(root_pose=pose, env_ids=ids)
    robot.write_root_link_velocity_to_sim_index(root_velocity=vel, env_ids=ids)
    robot.write_joint_state_to_sim_index(position=joint_pos, velocity=joint_vel, env_ids=ids)


@contextlib.contextmanager
def recording_mujoco_c_calls(env) -> Iterator[dict | None]:
    """Record every MuJoCo C call the batched solver of ``env`` makes inside the block (``mujoco_cpu`` preset;
    yields None on other physics): the per-env models, the state layouts, the calls per env step, per call
    each env's input state (``mj_getState`` of state, controls, applied forces) and its ``mj_step`` count,
    and the outputs of the last call. :func:`_mujoco_c_replay` makes them again in plain MuJoCo C."""
    from isaaclab_newton.physics import NewtonManager

    from g1_mimic.physics.mujoco_cpu_solver import BatchedMuJoCoSolver

    solver = getattr(NewtonManager, "_solver", None)
    if not isinstance(solver, BatchedMuJoCoSolver):
        yield None
        return
    run_all = solver._run_all
    calls = {
        "models": solver.env_models, "spec_in": solver._spec_in, "spec_out": solver._spec_out,
        "calls_per_env_step": env.cfg.decimation // env.physics_steps_per_call, "calls": [], "last_out": None,
    }

    def recording_run_all(substeps: int = 1) -> None:
        calls["calls"].append((solver._state_in.copy(), substeps))
        run_all(substeps)
        calls["last_out"] = solver._state_out.copy()

    solver._run_all = recording_run_all
    try:
        yield calls
    finally:
        del solver._run_all  # the class's method again


def _record_task_pass(env, actions) -> dict:
    """Step the task with ``actions`` (steps, envs, dims) untimed and record what its physics saw: the
    robot's state at the start, the joint position targets of every step and, per step, the envs the
    task reset and the state it reset them to; on the ``mujoco_cpu`` preset also every MuJoCo C call
    (``mujoco_c``, :func:`recording_mujoco_c_calls`)."""
    import torch

    robot = env.scene["robot"]
    terms = [env.action_manager.get_term(name) for name in env.action_manager.active_terms]
    record = {"start": _robot_state(robot), "targets": [], "resets": []}
    with recording_mujoco_c_calls(env) as calls:
        for a in actions:
            env.step(a)
            record["targets"].append([(t.processed_actions.clone(), t._joint_ids) for t in terms])
            ids = torch.nonzero(env.reset_buf, as_tuple=False).flatten()
            record["resets"].append((ids, _robot_state(robot, ids)) if ids.numel() else None)
    record["mujoco_c"] = calls
    return record


def _replay_rate(env, record: dict, device: str) -> float:
    """Env-steps/s of the bare physics driven by a recorded task pass: the same start state, joint
    targets and resets, ``decimation`` physics substeps per env step, no managers."""
    import torch

    scene, sim, robot = env.scene, env.sim, env.scene["robot"]
    per_call = env.physics_steps_per_call  # a folded control period: one sim.step per env step
    all_ids = torch.arange(env.num_envs, device=device)
    _write_robot_state(robot, record["start"], all_ids)
    steps = len(record["targets"])
    t0 = time.perf_counter()
    for targets, reset in zip(record["targets"], record["resets"], strict=True):
        for target, joint_ids in targets:
            robot.set_joint_position_target_index(target=target, joint_ids=joint_ids)
        for _ in range(env.cfg.decimation // per_call):
            scene.write_data_to_sim()
            sim.step(render=False)
            scene.update(dt=env.physics_dt * per_call)
        if reset is not None:
            _write_robot_state(robot, reset[1], reset[0])
    if device != "cpu":
        torch.cuda.synchronize()
    return steps * env.num_envs / (time.perf_counter() - t0)


def _mujoco_c_replay(calls: dict, threads: int) -> tuple[float, float]:
    """Plain MuJoCo C making the task's own physics calls: the MuJoCo C calls recorded by
    :func:`recording_mujoco_c_calls` (per call, each env's input state, i.e. state, controls and applied
    forces, and its ``mj_step`` count) replayed on the solver's own per-env
    models by ``mj_setState`` and ``mj_step`` alone, one ``MjData`` per thread, each thread taking its share
    of the envs through every call. Returns env-steps/s on all ``threads`` together and the largest
    difference of the envs' final state (``mj_getState`` of the solver's outputs) from the task's own after
    its last call (0: the same calls on the same models)."""
    import threading

    import mujoco
    import numpy as np

    models, spec_in, spec_out = calls["models"], calls["spec_in"], calls["spec_out"]
    num_envs = len(models)
    final = np.zeros_like(calls["last_out"])

    def work(envs: list[int]) -> None:
        data = mujoco.MjData(models[0])
        set_state, step, get_state = mujoco.mj_setState, mujoco.mj_step, mujoco.mj_getState
        for i in envs:
            model = models[i]
            for rows_in, substeps in calls["calls"]:
                set_state(model, data, rows_in[i], spec_in)
                for _ in range(substeps):
                    step(model, data)
            get_state(model, data, final[i], spec_out)

    shares = [list(range(t, num_envs, threads)) for t in range(threads)]
    workers = [threading.Thread(target=work, args=(share,)) for share in shares[1:]]
    t0 = time.perf_counter()
    for w in workers:
        w.start()
    work(shares[0])
    for w in workers:
        w.join()
    env_steps = len(calls["calls"]) / calls["calls_per_env_step"] * num_envs
    return env_steps / (time.perf_counter() - t0), float(np.max(np.abs(final - calls["last_out"])))


def _measure_one(num_envs: int, steps: int, warmup: int, repeats: int, device: str, preset: str | None = None,
                 breakdown: bool = False, floor: bool = False, extra_overrides: list[str] | None = None) -> dict:
    """Build the env with physics ``preset`` (the task's default when None) in this process and time
    task and bare-physics steps (with ``breakdown``, also the parts of the task step, ms per step; with
    ``floor``, also the task with constant terms, see the module docstring)."""
    import torch
    from isaaclab_tasks.utils import resolve_task_config

    import g1_mimic.tasks  # noqa: F401
    from g1_mimic.rl.session import use_device
    from g1_mimic.tasks.mimic.env import MimicRLEnv

    overrides = ([f"presets={preset}"] if preset else []) + list(extra_overrides or [])
    env_cfg, _ = resolve_task_config("Isaac-G1-Mimic-v0", "rsl_rl_cfg_entry_point", overrides=overrides)
    env_cfg.scene.num_envs = num_envs
    use_device(env_cfg, device)
    env = MimicRLEnv(env_cfg)
    env.reset()
    act_dim = env.action_manager.total_action_dim
    mujoco_c = mujoco_c_env_steps_per_s(env.cfg.decimation)
    mujoco_c_all = mujoco_c_env_steps_per_s(env.cfg.decimation, threads=solver_threads())

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
        scene, sim, per_call = env.scene, env.sim, env.physics_steps_per_call
        t0 = time.perf_counter()
        for _ in range(steps):
            for _ in range(env.cfg.decimation // per_call):
                scene.write_data_to_sim()
                sim.step(render=False)
                scene.update(dt=env.physics_dt * per_call)
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
        # the same physics load without managers: replay one recorded task pass (random actions, resets)
        record = _record_task_pass(env, 0.5 * torch.randn(steps, num_envs, act_dim, device=device))
        same = [_replay_rate(env, record, device) for _ in range(repeats)]
        calls = record["mujoco_c"]
        task_load = [_mujoco_c_replay(calls, solver_threads()) for _ in range(repeats)] if calls else []
        env.reset()
        bare = [bare_rate() for _ in range(repeats)]
        out = {"task": task, "bare": bare, "same_actions_bare": same, "mujoco_c": mujoco_c,
               "mujoco_c_task_load": [r for r, _ in task_load],
               "mujoco_c_task_load_gap": task_load[0][1] if task_load else None,
               "mujoco_c_all_cores": mujoco_c_all, "threads": solver_threads()}
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


#: The task whose PPO iterations ``--ppo`` times: the CPU learning preset (its runner cfg, its env sizes).
PPO_TASK = "Isaac-G1-Mimic-CPU-Learn-v0"


def _measure_ppo(num_envs: int, iterations: int, warmup: int, device: str, preset: str | None = None,
                 extra_overrides: list[str] | None = None) -> dict:
    """Run ``warmup + iterations`` PPO iterations of :data:`PPO_TASK` with rsl_rl's runner (no logging, no
    checkpoints) in this process and return, per timed iteration, the wall time of the rollout
    (``collect``: env steps and policy inference), of the policy inference within it (``inference``:
    ``alg.act``) and of the update (``update``: returns and the PPO epochs), in seconds."""
    import torch
    from isaaclab_rl.rsl_rl import (
        RslRlVecEnvWrapper,
        check_rsl_rl_version,
        create_rsl_rl_runner,
        handle_deprecated_rsl_rl_cfg,
    )
    from isaaclab_tasks.utils import resolve_task_config

    import g1_mimic.tasks  # noqa: F401
    from g1_mimic.rl.session import use_device
    from g1_mimic.tasks.mimic.env import MimicRLEnv

    overrides = ([f"presets={preset}"] if preset else []) + list(extra_overrides or [])
    env_cfg, agent_cfg = resolve_task_config(PPO_TASK, "rsl_rl_cfg_entry_point", overrides=overrides)
    env_cfg.scene.num_envs = num_envs
    use_device(env_cfg, device, agent_cfg)
    agent_cfg = handle_deprecated_rsl_rl_cfg(agent_cfg, check_rsl_rl_version())
    env = MimicRLEnv(env_cfg)
    runner = create_rsl_rl_runner(RslRlVecEnvWrapper(env, clip_actions=agent_cfg.clip_actions), agent_cfg)

    inference = [0.0]
    act = runner.alg.act

    def timed_act(obs):
        t0 = time.perf_counter()
        try:
            return act(obs)
        finally:
            inference[0] += time.perf_counter() - t0

    runner.alg.act = timed_act
    its: list[dict] = []

    with recording_mujoco_c_calls(env) as calls:

        def log(collect_time: float, learn_time: float, **_kw) -> None:  # replaces the runner's console/TensorBoard log
            its.append({"collect": collect_time, "update": learn_time, "inference": inference[0]})
            inference[0] = 0.0
            if calls is not None and len(its) == warmup:
                calls["calls"].clear()  # keep the timed iterations' MuJoCo C calls

        runner.logger.log = log
        runner.learn(warmup + iterations)
    out = {"iterations": its[warmup:], "samples_per_iteration": num_envs * agent_cfg.num_steps_per_env,
           "torch_threads": torch.get_num_threads(), "update_threads": getattr(runner.alg, "update_threads", None)}
    if calls is not None:  # plain MuJoCo C making the rollouts' physics calls
        out["mujoco_c_ppo_load"], out["mujoco_c_ppo_load_gap"] = _mujoco_c_replay(calls, solver_threads())
    env.close()
    return out


def _run_worker(cmd: list[str], what: str) -> dict:
    """Run one measurement in a fresh process and return its ``BENCH_RESULT`` dict (exit with its output on failure)."""
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("BENCH_RESULT ")), None)
    if proc.returncode != 0 or line is None:
        print(proc.stdout[-3000:], proc.stderr[-3000:], file=sys.stderr)
        raise SystemExit(f"[benchmark] worker for {what} failed (exit {proc.returncode})")
    return json.loads(line[len("BENCH_RESULT "):])


def ppo_row(res: dict, mujoco_c_all_cores: float) -> dict:
    """JSON keys of a PPO measurement (medians over the timed iterations, seconds per iteration)."""
    its = res["iterations"]
    samples = res["samples_per_iteration"]
    rate = statistics.median(samples / (it["collect"] + it["update"]) for it in its)
    return {
        "ppo_task": PPO_TASK,
        "ppo_samples_per_iteration": samples,
        "ppo_iterations_timed": len(its),
        "ppo_samples_per_s": rate,
        "ppo_collect_s": statistics.median(it["collect"] for it in its),
        "ppo_inference_s": statistics.median(it["inference"] for it in its),
        "ppo_update_s": statistics.median(it["update"] for it in its),
        "ppo_over_mujoco_c_all_cores": rate / mujoco_c_all_cores,
        "ppo_torch_threads": res["torch_threads"],
        "ppo_update_threads": res["update_threads"],
        # plain MuJoCo C making the timed rollouts' own physics calls (mujoco_cpu preset; None for the others)
        "mujoco_c_ppo_load_env_steps_per_s": res.get("mujoco_c_ppo_load"),
        "ppo_over_mujoco_c_ppo_load": rate / res["mujoco_c_ppo_load"] if res.get("mujoco_c_ppo_load") else None,
        "mujoco_c_ppo_load_state_gap": res.get("mujoco_c_ppo_load_gap"),
    }


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
    parser.add_argument("--ppo", action="store_true",
                        help=f"also time whole PPO iterations of {PPO_TASK} (rollout, policy inference, update) "
                             "at each env count (default counts 64 128 256 on CPU)")
    parser.add_argument("--ppo_iterations", type=int, default=5, help="timed PPO iterations per env count")
    parser.add_argument("--ppo_warmup", type=int, default=2, help="PPO iterations run before timing")
    parser.add_argument("--_preset", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--_ppo", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    for name in ("steps", "repeats", "ppo_iterations"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be >= 1, got {getattr(args, name)}")
    if args.warmup < 0 or args.ppo_warmup < 0 or any(n < 1 for n in args.num_envs or []):
        parser.error("--warmup and --ppo_warmup must be >= 0 and every --num_envs >= 1")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from g1_mimic.device import default_device

    device = args.device or default_device()
    if args._worker is not None and args._ppo:
        res = _measure_ppo(args._worker, args.ppo_iterations, args.ppo_warmup, device, args._preset, args.override)
        print("BENCH_RESULT " + json.dumps(res), flush=True)
        return 0
    if args._worker is not None:
        res = _measure_one(args._worker, args.steps, args.warmup, args.repeats, device, args._preset, args.breakdown,
                           args.floor, args.override)
        print("BENCH_RESULT " + json.dumps(res), flush=True)
        return 0

    counts = args.num_envs or ([1024, 4096] if device.startswith("cuda") else [64, 128, 256] if args.ppo else [16, 64, 256])
    presets = args.presets or default_presets(device)
    threads = solver_threads()
    mj = mujoco_c_env_steps_per_s()
    mj_all = mujoco_c_env_steps_per_s(threads=threads)
    print(f"[benchmark] MuJoCo C (1 MjData, 1 core): {mj:,.0f} env-steps/s ({4 * mj:,.0f} physics steps/s); "
          f"on {threads} core(s) at once (the solver's threads): {mj_all:,.0f} env-steps/s", flush=True)
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
            res = _run_worker(cmd, f"{preset}, {n} envs")
            task_med, bare_med = statistics.median(res["task"]), statistics.median(res["bare"])
            same_med = statistics.median(res["same_actions_bare"])
            load_med = statistics.median(res["mujoco_c_task_load"]) if res["mujoco_c_task_load"] else None
            mj_row = max(mj, res["mujoco_c"])
            mj_all_row = max(mj_all, res["mujoco_c_all_cores"])
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
                "solver_threads": res["threads"],
                "mujoco_c_all_cores_env_steps_per_s": mj_all_row,
                "task_over_mujoco_c_all_cores": task_med / mj_all_row,
                "same_actions_bare_env_steps_per_s": same_med,
                "task_over_same_actions_bare": task_med / same_med,
                # MuJoCo C making the task's own calls (mujoco_cpu preset only; None for the others)
                "mujoco_c_task_load_env_steps_per_s": load_med,
                "task_over_mujoco_c_task_load": task_med / load_med if load_med else None,
                "mujoco_c_task_load_state_gap": res["mujoco_c_task_load_gap"],
                "device": device,
                "overrides": list(args.override),
            }
            if "floor" in res:
                row["manager_floor_env_steps_per_s"] = statistics.median(res["floor"])
                row["manager_floor_over_bare_physics"] = row["manager_floor_env_steps_per_s"] / bare_med
            if "breakdown_ms_per_step" in res:
                row["step_ms"] = res["step_ms"]
                row["breakdown_ms_per_step"] = res["breakdown_ms_per_step"]
            if args.ppo:
                print(f"[benchmark] {preset}, {n} envs: {args.ppo_warmup} + {args.ppo_iterations} PPO iterations of "
                      f"{PPO_TASK}...", flush=True)
                ppo_cmd = [sys.executable, __file__, "--_worker", str(n), "--_ppo", "--_preset", preset, "--device", device,
                           "--ppo_iterations", str(args.ppo_iterations), "--ppo_warmup", str(args.ppo_warmup)]
                if args.override:
                    ppo_cmd += ["--override", *args.override]
                row.update(ppo_row(_run_worker(ppo_cmd, f"PPO {preset}, {n} envs"), mj_all_row))
            rows.append(row)
            print(
                f"[benchmark] {preset:>24s} {n:5d} envs: task {task_med:8.1f} env-steps/s (min {min(res['task']):.1f}), "
                f"bare physics {bare_med:8.1f}, task/bare {row['task_over_bare_physics']:.2f}, "
                f"task/MuJoCo-C {row['task_over_mujoco_c']:.3f} (MuJoCo C {mj_row:,.0f})",
                flush=True,
            )
            print(
                f"[benchmark]     same-actions bare {same_med:8.1f} env-steps/s, task/same-actions bare "
                f"{row['task_over_same_actions_bare']:.2f}; MuJoCo C on {res['threads']} core(s) {mj_all_row:,.0f}, "
                f"task/MuJoCo-C all cores {row['task_over_mujoco_c_all_cores']:.3f}", flush=True,
            )
            if load_med:
                print(
                    f"[benchmark]     MuJoCo C making the task's calls ({res['threads']} core(s)) {load_med:8.1f} "
                    f"env-steps/s, task/it {row['task_over_mujoco_c_task_load']:.3f} (final states within "
                    f"{row['mujoco_c_task_load_state_gap']:.1e} of the task's)", flush=True,
                )
            if "ppo_samples_per_s" in row:
                print(
                    f"[benchmark]     PPO {row['ppo_samples_per_s']:8.1f} samples/s ({row['ppo_samples_per_iteration']} "
                    f"per iteration: rollout {row['ppo_collect_s']:.3f} s, of which policy inference "
                    f"{row['ppo_inference_s']:.3f} s; update {row['ppo_update_s']:.3f} s on "
                    f"{row['ppo_update_threads'] or row['ppo_torch_threads']} torch thread(s), rollout on "
                    f"{row['ppo_torch_threads']}), PPO/MuJoCo-C all cores {row['ppo_over_mujoco_c_all_cores']:.3f}",
                    flush=True,
                )
                if row["mujoco_c_ppo_load_env_steps_per_s"]:
                    print(
                        f"[benchmark]     MuJoCo C making the rollouts' calls "
                        f"{row['mujoco_c_ppo_load_env_steps_per_s']:8.1f} env-steps/s, PPO/it "
                        f"{row['ppo_over_mujoco_c_ppo_load']:.3f} (final states within "
                        f"{row['mujoco_c_ppo_load_state_gap']:.1e} of the rollout's)", flush=True,
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
    print("\n| preset | envs | task env-steps/s (median, min) | bare physics env-steps/s | task / bare | task / MuJoCo C "
          "| same-actions bare | task / same-actions bare | task / MuJoCo C all cores | MuJoCo C, the task's calls "
          "| task / it | PPO samples/s | PPO / MuJoCo C all cores |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        ppo = (f"{r['ppo_samples_per_s']:.0f} | {r['ppo_over_mujoco_c_all_cores']:.3f}" if "ppo_samples_per_s" in r
               else "- | -")
        load = (f"{r['mujoco_c_task_load_env_steps_per_s']:.0f} | {r['task_over_mujoco_c_task_load']:.3f}"
                if r["mujoco_c_task_load_env_steps_per_s"] else "- | -")
        print(f"| {r['preset']} | {r['num_envs']} | {r['env_steps_per_s']:.0f} ({r['env_steps_per_s_min']:.0f}) | "
              f"{r['bare_physics_env_steps_per_s']:.0f} | {r['task_over_bare_physics']:.2f} | {r['task_over_mujoco_c']:.3f} | "
              f"{r['same_actions_bare_env_steps_per_s']:.0f} | {r['task_over_same_actions_bare']:.2f} | "
              f"{r['task_over_mujoco_c_all_cores']:.3f} | {load} | {ppo} |")
    if args.json:
        out = {"device": device, "mujoco_c_env_steps_per_s": mj, "mujoco_c_all_cores_env_steps_per_s": mj_all,
               "solver_threads": threads, "results": rows}
        tmp = Path(args.json).with_name(Path(args.json).name + ".tmp")
        tmp.write_text(json.dumps(out, indent=2))
        os.replace(tmp, args.json)
        print(f"[benchmark] wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
