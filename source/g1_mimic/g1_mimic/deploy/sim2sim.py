"""Sim2sim: the policy graph driving the G1 in plain MuJoCo C, scored like ``scripts/evaluate.py``.

Each episode starts on the reference at ``start_s`` (0: the clip's first frame; root pose and
velocity and joints set to the reference there, read from the graph's reference outputs), runs the
:class:`~g1_mimic.deploy.graph_runtime.GraphRuntime` every ``control_dt`` and applies its targets
through :class:`~g1_mimic.deploy.mujoco_sim.MujocoG1`. After the clip the reference holds its last
frame for ``standing_s`` seconds (as the evaluation does). The graph holds the clips it was exported
with; a clip it does not hold needs a re-export with it (``scripts/play.py --export_only --motion``).

Metrics (same definitions as :mod:`g1_mimic.rl.evaluation`; errors are taken at every control step
after the first that does not end the episode, while the clip plays, averaged per episode, then over
episodes):

* ``success_rate``: the robot reached the clip's end with none of the env's failure conditions
  (:meth:`GraphRuntime.failures`: anchor height error > 0.25 m, anchor projected-gravity-z difference
  > 0.8, ankle/wrist height error > 0.25 m after re-anchoring, a diverged state);
* ``standing_after_end``: it also went through the ``standing_s`` tail with no failure and, at
  its end, the pelvis is above ``min_pelvis_height`` (0.5 m) and upright (its z axis within 45 deg
  of vertical);
* ``mpkpe_m``: mean over tracked bodies of the world-frame position error (m); ``r_mpkpe_m``: the
  same after subtracting each side's root position; ``joint_pos_rmse_rad``: RMS joint angle error;
  ``ee_pos_error_m``: mean position error of the end effectors;
* ``root_drift_max_m`` / ``root_drift_max_at_s`` / ``root_drift_end_m``: the root's horizontal distance
  from the reference root (m): its largest value while the clip plays, the clip time of it (s), and its
  value at the clip's end (or at the failure) — where a world-frame error comes from; each episode's
  ``root_drift`` lists ``[t, offset]`` every ``DRIFT_EVERY_S`` of clip time.

Perturbations: ``friction`` (every geom's sliding coefficient), ``delay_steps`` (PD targets reach
the robot k control steps after the measurement they come from; the first target is held
meanwhile), ``obs_noise`` (sensor noise: the training noise of the joint position and velocity and
root velocity terms, times this factor, added to the measurements the graph reads; the anchor terms'
noise has no single sensor and is not simulated), a push (``push_at_s`` after the start,
``push_vel``: root velocity change, m/s, world).
"""

from __future__ import annotations

import math
import statistics
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from g1_mimic.motion import quat as R
from g1_mimic.motion.format import Motion

from .contract import ContractError
from .graph_runtime import GraphRuntime
from .mujoco_sim import MujocoG1
from .state import RobotState

__all__ = ["Sim2SimOptions", "reference_motion", "rollout_motion", "run_sim2sim"]

METRIC_KEYS = ("mpkpe_m", "r_mpkpe_m", "joint_pos_rmse_rad", "ee_pos_error_m")
#: Clip-time spacing (s) of the root drift samples each episode reports.
DRIFT_EVERY_S = 0.2
#: Observation-term kinds whose training noise is sensor noise: the measurement it is added to.
SENSOR_OF_KIND = {
    "joint_pos_rel": "joint_pos",
    "joint_vel_rel": "joint_vel",
    "root_ang_vel_b": "root_ang_vel_w",
    "root_lin_vel_b": "root_lin_vel_w",
}


@dataclass
class Sim2SimOptions:
    """Settings of a sim2sim run (module docstring)."""

    episodes: int = 1
    start_s: float = 0.0
    standing_s: float = 3.0
    friction: float | None = None
    delay_steps: int = 0
    obs_noise: float = 0.0
    push_at_s: float | None = None
    push_vel: tuple[float, float, float] = (0.0, 0.0, 0.0)
    pd: str = "actuator"
    seed: int = 0
    min_pelvis_height: float = 0.5
    min_upright_cos: float = math.cos(math.radians(45.0))
    record: bool = False
    mjcf: str | None = None


@dataclass
class Episode:
    """One sim2sim episode's outcome; with ``record``, the robot's and the reference's ``qpos`` per control step."""

    success: bool
    standing: bool
    length_s: float
    failure: list[str]
    failure_time_s: float | None
    metrics: dict[str, float]
    root_drift: list[list[float]] = field(default_factory=list, repr=False)
    qpos: list[np.ndarray] = field(default_factory=list, repr=False)
    reference_qpos: list[np.ndarray] = field(default_factory=list, repr=False)


def _upright_cos(quat_xyzw: np.ndarray) -> float:
    """Cosine of the angle between a body's z axis and the world z axis."""
    x, y, _, _ = quat_xyzw
    return float(1.0 - 2.0 * (x * x + y * y))


def _draw(noise: Mapping[str, Any], shape: tuple[int, ...], scale: float, rng: np.random.Generator) -> np.ndarray:
    """One draw of an Isaac Lab noise cfg (as the contract records it), times ``scale``; additive only."""
    kind, op = noise.get("type"), noise.get("operation", "add")
    if op != "add":
        raise ContractError("observation.terms[].noise.operation", f"sim2sim simulates additive noise only, not {op!r}")
    if kind == "uniform":
        return rng.uniform(float(noise["n_min"]) * scale, float(noise["n_max"]) * scale, size=shape)
    if kind == "gaussian":
        return scale * (float(noise.get("mean", 0.0)) + float(noise["std"]) * rng.standard_normal(shape))
    if kind == "constant":
        return np.full(shape, float(noise["bias"]) * scale)
    raise ContractError("observation.terms[].noise.type", f"cannot simulate noise of type {kind!r}")


def noisy_state(state: RobotState, contract: Mapping[str, Any], scale: float, rng: np.random.Generator) -> RobotState:
    """``state`` with the contract's training noise of the sensor-level observation terms times ``scale``
    added to the measurements (joint terms by joint name; root velocities drawn in the root frame)."""
    if scale == 0.0:
        return state
    names = list(state.joint_names or contract["joint_names"])
    values = {k: np.array(getattr(state, k), dtype=np.float64) for k in set(SENSOR_OF_KIND.values())}
    for term in contract["observation"]["terms"]:
        sensor, noise = SENSOR_OF_KIND.get(term["kind"]), term.get("noise")
        if sensor is None or not noise:
            continue
        if sensor.startswith("joint_"):
            cols = [names.index(j) for j in term["joint_names"]]
            values[sensor][cols] += _draw(noise, (len(cols),), scale, rng)
        else:
            values[sensor] += R.rotate(state.root_quat_w, _draw(noise, (3,), scale, rng))
    return replace(state, **values)


def _reset_on_reference(runtime: GraphRuntime, sim: MujocoG1, t: float, ref_cols: list[int]) -> None:
    """Put the robot on the reference at clip time ``t`` (root pose and velocity, joints)."""
    ref = runtime.reference_at(t, sim.state())
    r = runtime.body_names.index(sim.root_body)
    sim.reset(
        ref.reference_body_pos_w[r],
        ref.reference_body_quat_w[r],
        ref.reference_body_lin_vel_w[r],
        ref.reference_body_ang_vel_w[r],
        ref.reference_joint_pos[ref_cols],
        ref.reference_joint_vel[ref_cols],
    )


def run_episode(runtime: GraphRuntime, sim: MujocoG1, opts: Sim2SimOptions, rng: np.random.Generator) -> Episode:
    """Run one episode from the reference at ``opts.start_s`` (see the module docstring)."""
    c = runtime.contract
    root, tracked = c["robot"]["root_body"], list(c["robot"]["tracked_bodies"])
    rows = [runtime.body_names.index(b) for b in tracked]
    root_idx = tracked.index(root) if root in tracked else 0
    ee_idx = [tracked.index(b) for b in runtime.ee_bodies if b in tracked]
    missing = [j for j in sim.joint_names if j not in runtime.reference_joint_names]
    if missing:
        raise ContractError("policy_graph.reference_joint_names", f"the reference has no joints {missing}")
    ref_cols = [runtime.reference_joint_names.index(j) for j in sim.joint_names]
    model_cols = [runtime.reference_joint_names.index(j) if j in runtime.reference_joint_names else -1 for j in sim.model_joint_names]
    sdk_cols = [list(runtime.sdk_joint_names).index(j) for j in sim.joint_names]
    dt = runtime.control_dt
    clip_end = runtime.clip_duration_s
    end_time = clip_end + opts.standing_s
    if not 0.0 <= opts.start_s < clip_end:
        raise ValueError(f"start_s must be in [0, {clip_end:.2f}) s (the clip's length), got {opts.start_s}")
    _reset_on_reference(runtime, sim, opts.start_s, ref_cols)
    runtime.reset()
    queue: deque[np.ndarray] = deque()
    acc = dict.fromkeys(METRIC_KEYS, 0.0)
    drift_max, drift_max_at, drift_end = 0.0, opts.start_s, 0.0
    drift_samples: list[list[float]] = []
    steps = 0
    reached_end = False
    failure: list[str] = []
    failure_time = None
    pushed = opts.push_at_s is None
    qpos, ref_qpos = [], []
    k = 0
    t = opts.start_s
    while True:
        if not sim.is_finite():
            failure, failure_time = ["nonfinite_state"], t
            break
        state = sim.state()
        out = runtime.step(noisy_state(state, c, opts.obs_noise, rng), t)
        if opts.record:
            qpos.append(sim.qpos)
            r = runtime.body_names.index(root)
            q = out.reference_body_quat_w[r]
            joints = np.array([out.reference_joint_pos[i] if i >= 0 else 0.0 for i in model_cols])
            ref_qpos.append(np.concatenate([out.reference_body_pos_w[r], q[3:4], q[:3], joints]))
        if k > 0:
            failed = runtime.failures(out)
            if failed:
                failure, failure_time = failed, t
                break
            if t >= clip_end - 0.5 * dt:
                reached_end = True
            finished = t >= end_time - 0.5 * dt
            if not finished and t <= clip_end + 0.5 * dt:
                ref_pos = out.reference_body_pos_w[rows]
                rob_pos = sim.body_pos(tracked)
                err = np.linalg.norm(ref_pos - rob_pos, axis=-1)
                acc["mpkpe_m"] += float(err.mean())
                rel = (ref_pos - ref_pos[root_idx]) - (rob_pos - rob_pos[root_idx])
                acc["r_mpkpe_m"] += float(np.linalg.norm(rel, axis=-1).mean())
                acc["joint_pos_rmse_rad"] += float(np.sqrt(np.mean((out.reference_joint_pos[ref_cols] - state.joint_pos) ** 2)))
                if ee_idx:
                    acc["ee_pos_error_m"] += float(err[ee_idx].mean())
                drift = float(np.linalg.norm(ref_pos[root_idx, :2] - rob_pos[root_idx, :2]))
                if drift > drift_max:
                    drift_max, drift_max_at = drift, t
                drift_end = drift
                if (k - 1) % max(1, round(DRIFT_EVERY_S / dt)) == 0:
                    drift_samples.append([round(t, 4), drift])
                steps += 1
            if finished:
                break
        queue.append(out.joint_pos_target_sdk[sdk_cols])
        # delay k: the target of step i - k is applied at step i; the first one is held until then
        target = queue.popleft() if len(queue) > opts.delay_steps else queue[0]
        sim.step(target)
        k += 1
        t = opts.start_s + k * dt
        if not pushed and k * dt >= opts.push_at_s - 0.5 * dt:
            sim.push(opts.push_vel)
            pushed = True
    n = max(steps, 1)
    metrics = {key: acc[key] / n for key in METRIC_KEYS}
    metrics.update(root_drift_max_m=drift_max, root_drift_max_at_s=drift_max_at, root_drift_end_m=drift_end)
    success = reached_end
    standing = False
    if success and not failure:
        pelvis_z = float(sim.body_pos([root])[0, 2])
        standing = pelvis_z > opts.min_pelvis_height and _upright_cos(sim.body_quat(root)) > opts.min_upright_cos
    return Episode(
        success=success,
        standing=standing,
        length_s=t - opts.start_s,
        failure=failure,
        failure_time_s=failure_time,
        metrics=metrics,
        root_drift=drift_samples,
        qpos=qpos,
        reference_qpos=ref_qpos,
    )


def run_sim2sim(
    graph: str | Path,
    clip: str | int = 0,
    opts: Sim2SimOptions | None = None,
    progress: Callable[[str], None] | None = print,
) -> tuple[dict[str, Any], list[Episode], GraphRuntime]:
    """Run ``opts.episodes`` sim2sim episodes of the policy graph ``graph`` on its baked clip ``clip`` (name or index).

    Returns ``(report, episodes, runtime)``: the JSON-able report (metrics, options, per-episode
    outcomes), the episodes (with recorded ``qpos`` when ``opts.record``) and the runtime used.
    """
    opts = opts or Sim2SimOptions()
    if opts.episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {opts.episodes}")
    if opts.delay_steps < 0:
        raise ValueError(f"delay_steps must be >= 0, got {opts.delay_steps}")
    runtime = GraphRuntime(graph, clip=clip)
    sim = MujocoG1(runtime.contract, mjcf=opts.mjcf, pd=opts.pd, friction=opts.friction)
    rng = np.random.default_rng(opts.seed)
    episodes: list[Episode] = []
    t0 = time.time()
    for e in range(opts.episodes):
        ep = run_episode(runtime, sim, opts, rng)
        episodes.append(ep)
        if progress is not None:
            outcome = (
                "reached the clip end"
                if ep.success
                else f"failed ({', '.join(ep.failure)}) at {ep.failure_time_s:.2f} s"
            )
            stand = ", standing after the tail" if ep.standing else ""
            progress(
                f"[sim2sim] episode {e + 1}/{opts.episodes}: {outcome}{stand}; MPKPE {100 * ep.metrics['mpkpe_m']:.2f} cm, "
                f"joint RMSE {ep.metrics['joint_pos_rmse_rad']:.3f} rad; root {100 * ep.metrics['root_drift_max_m']:.1f} cm "
                f"off the reference's at most (at {ep.metrics['root_drift_max_at_s']:.2f} s), "
                f"{100 * ep.metrics['root_drift_end_m']:.1f} cm at the end ({time.time() - t0:.1f} s)"
            )
    k = len(episodes)
    terms = runtime.terminations
    report: dict[str, Any] = {
        "success_rate": sum(ep.success for ep in episodes) / k,
        "standing_after_end": sum(ep.standing for ep in episodes) / k,
        **{key: sum(ep.metrics[key] for ep in episodes) / k for key in METRIC_KEYS},
        **{key: sum(ep.metrics[key] for ep in episodes) / k for key in ("root_drift_max_m", "root_drift_end_m")},
        "mpkpe_std_m": statistics.pstdev(ep.metrics["mpkpe_m"] for ep in episodes),
        "episodes": k,
        "mean_episode_length_s": sum(ep.length_s for ep in episodes) / k,
        "clip": runtime.clip_name,
        "clip_duration_s": runtime.clip_duration_s,
        "standing_s": opts.standing_s,
        "per_episode": [
            {
                "success": ep.success,
                "standing": ep.standing,
                "length_s": ep.length_s,
                "failure": ep.failure,
                "failure_time_s": ep.failure_time_s,
                **ep.metrics,
                "root_drift": ep.root_drift,
            }
            for ep in episodes
        ],
        "options": {
            key: (list(v) if isinstance(v, tuple) else v) for key, v in asdict(opts).items() if key != "record"
        },
        "failure_conditions": {
            "source": runtime.failure_source,
            "anchor_pos": terms.get("anchor_pos", {}).get("threshold"),
            "anchor_ori": terms.get("anchor_ori", {}).get("threshold"),
            "ee_body_pos": terms.get("ee_body_pos", {}).get("threshold"),
            "ee_bodies": runtime.ee_bodies,
        },
        "simulator": f"mujoco {__import__('mujoco').__version__} (g1_sim.xml, {opts.pd} PD)",
        "task": runtime.contract.get("task"),
        "wall_time_s": time.time() - t0,
    }
    return report, episodes, runtime


def _as_motion(runtime: GraphRuntime, sim: MujocoG1, qpos: list[np.ndarray], what: str) -> Motion:
    from g1_mimic.motion.format import motion_from_root_and_joints

    arr = np.stack(qpos)
    return motion_from_root_and_joints(
        fps=1.0 / runtime.control_dt,
        root_pos=arr[:, 0:3],
        root_quat_xyzw=np.concatenate([arr[:, 4:7], arr[:, 3:4]], axis=-1),
        joint_pos=arr[:, 7:],
        joint_names=list(sim.model_joint_names),
        source={"sim2sim": runtime.contract.get("task"), "what": what, "clip": runtime.clip_name},
    )


def rollout_motion(runtime: GraphRuntime, sim: MujocoG1, qpos: list[np.ndarray]) -> Motion:
    """A recorded episode (``sim``'s ``qpos`` per control step) as a canonical :class:`Motion` at the control rate."""
    return _as_motion(runtime, sim, qpos, "robot")


def reference_motion(runtime: GraphRuntime, sim: MujocoG1, episode: Episode) -> Motion:
    """The reference the graph played during a recorded episode, as a canonical :class:`Motion` at the control rate."""
    return _as_motion(runtime, sim, episode.reference_qpos, "reference")
