"""Sim2sim: the deploy runtime driving the G1 in plain MuJoCo C, scored like ``scripts/evaluate.py``.

Each episode starts on the clip's first frame (root pose/velocity and joints set to the reference
at t = 0), runs the :class:`~g1_mimic.deploy.runtime.PolicyRuntime` every ``control_dt`` and
applies its targets through :class:`~g1_mimic.deploy.mujoco_sim.MujocoG1`. After the clip the
reference holds its last frame for ``standing_s`` seconds (as the evaluation does).

Metrics (same definitions as :mod:`g1_mimic.rl.evaluation`; errors are taken after every control
step that does not end the episode, while the clip plays, averaged per episode, then over episodes):

* ``success_rate``: the robot reached the clip's end with none of the env's failure conditions
  (:class:`~g1_mimic.deploy.failures.FailureChecker`: anchor height error > 0.25 m, anchor
  projected-gravity-z difference > 0.8, ankle/wrist height error > 0.25 m after re-anchoring, a
  diverged state);
* ``standing_after_end``: it also went through the ``standing_s`` tail with no failure and, at
  its end, the pelvis is above ``min_pelvis_height`` (0.5 m) and upright (its z axis within 45 deg
  of vertical);
* ``mpkpe_m``: mean over tracked bodies of the world-frame position error (m); ``r_mpkpe_m``: the
  same after subtracting each side's root position; ``joint_pos_rmse_rad``: RMS joint angle error;
  ``ee_pos_error_m``: mean position error of the end effectors.

Perturbations: ``friction`` (every geom's sliding coefficient), ``delay_steps`` (PD targets reach
the robot k control steps after the observation they come from; the first target is held
meanwhile), ``obs_noise`` (the training observation noise times this factor), a push
(``push_at_s``, ``push_vel``: root velocity change, m/s, world).
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from g1_mimic.motion.format import Motion, load_motion

from .failures import BEYONDMIMIC_TERMINATIONS, FailureChecker
from .mujoco_sim import MujocoG1
from .runtime import PolicyRuntime

__all__ = ["Sim2SimOptions", "run_sim2sim"]

METRIC_KEYS = ("mpkpe_m", "r_mpkpe_m", "joint_pos_rmse_rad", "ee_pos_error_m")


@dataclass
class Sim2SimOptions:
    """Settings of a sim2sim run (module docstring)."""

    episodes: int = 1
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
    """One sim2sim episode's outcome."""

    success: bool
    standing: bool
    length_s: float
    failure: list[str]
    failure_time_s: float | None
    metrics: dict[str, float]
    qpos: list[np.ndarray] = field(default_factory=list, repr=False)


def _upright_cos(quat_xyzw: np.ndarray) -> float:
    """Cosine of the angle between a body's z axis and the world z axis."""
    x, y, _, _ = quat_xyzw
    return float(1.0 - 2.0 * (x * x + y * y))


def run_episode(runtime: PolicyRuntime, sim: MujocoG1, opts: Sim2SimOptions, rng: np.random.Generator) -> Episode:
    """Run one episode from the clip's first frame (see the module docstring)."""
    c = runtime.contract
    ref_motion = runtime.reference
    root, tracked = c["robot"]["root_body"], list(c["robot"]["tracked_bodies"])
    ee = [b for b in runtime.failures.ee_bodies if b in tracked]
    root_idx = tracked.index(root) if root in tracked else 0
    ee_idx = [tracked.index(b) for b in ee]
    dt = runtime.control_dt
    clip_end = ref_motion.duration
    end_time = clip_end + opts.standing_s
    # reference joints onto the policy joints by name
    ref_cols = [list(ref_motion.joint_names).index(j) for j in runtime.joint_names]
    first = ref_motion.at(0.0)
    sim.reset(
        first.pos(root),
        first.quat(root),
        first.body_lin_vel_w[first.body_index[root]],
        first.body_ang_vel_w[first.body_index[root]],
        first.joint_pos[ref_cols],
        first.joint_vel[ref_cols],
    )
    runtime.reset()
    runtime.obs_noise_scale = opts.obs_noise
    runtime.rng = rng
    queue: deque[np.ndarray] = deque()
    acc = dict.fromkeys(METRIC_KEYS, 0.0)
    steps = 0
    reached_end = False
    failure: list[str] = []
    failure_time = None
    pushed = opts.push_at_s is None
    qpos = [sim.qpos] if opts.record else []
    k = 0
    t = 0.0
    while True:
        out = runtime.step(sim.state(), t)
        queue.append(out.joint_pos_target)
        # delay k: the target of step i - k is applied at step i; the first one is held until then
        target = queue.popleft() if len(queue) > opts.delay_steps else queue[0]
        sim.step(target)
        k += 1
        t = k * dt
        if not pushed and t >= opts.push_at_s - 0.5 * dt:
            sim.push(opts.push_vel)
            pushed = True
        if opts.record:
            qpos.append(sim.qpos)
        ref = ref_motion.at(t)
        if not sim.is_finite():
            failure, failure_time = ["nonfinite_state"], t
            break
        anchor_pos = sim.body_pos([c["robot"]["anchor_body"]])[0]
        anchor_quat = sim.body_quat(c["robot"]["anchor_body"])
        body = dict(zip(runtime.failures.bodies, sim.body_pos(runtime.failures.bodies), strict=True))
        failed = runtime.failures.check(ref, anchor_pos, anchor_quat, body)
        if failed:
            failure, failure_time = failed, t
            break
        if t >= clip_end - 0.5 * dt:
            reached_end = True
        finished = t >= end_time - 0.5 * dt
        if not finished and t <= clip_end + 0.5 * dt:
            ref_pos = np.stack([ref.pos(b) for b in tracked])
            rob_pos = sim.body_pos(tracked)
            err = np.linalg.norm(ref_pos - rob_pos, axis=-1)
            acc["mpkpe_m"] += float(err.mean())
            rel = (ref_pos - ref_pos[root_idx]) - (rob_pos - rob_pos[root_idx])
            acc["r_mpkpe_m"] += float(np.linalg.norm(rel, axis=-1).mean())
            q = sim.state().joint_pos
            acc["joint_pos_rmse_rad"] += float(np.sqrt(np.mean((ref.joint_pos[ref_cols] - q) ** 2)))
            if ee_idx:
                acc["ee_pos_error_m"] += float(err[ee_idx].mean())
            steps += 1
        if finished:
            break
    n = max(steps, 1)
    metrics = {key: acc[key] / n for key in METRIC_KEYS}
    success = reached_end
    standing = False
    if success and not failure:
        pelvis_z = float(sim.body_pos([root])[0, 2])
        standing = pelvis_z > opts.min_pelvis_height and _upright_cos(sim.body_quat(root)) > opts.min_upright_cos
    return Episode(
        success=success,
        standing=standing,
        length_s=t,
        failure=failure,
        failure_time_s=failure_time,
        metrics=metrics,
        qpos=qpos,
    )


def run_sim2sim(
    policy: str | Path,
    motion: str | Path | Motion,
    opts: Sim2SimOptions | None = None,
    contract: str | Path | None = None,
    progress: Callable[[str], None] | None = print,
) -> tuple[dict[str, Any], list[Episode], PolicyRuntime]:
    """Run ``opts.episodes`` sim2sim episodes of ``policy`` on ``motion``.

    Returns ``(report, episodes, runtime)``: the JSON-able report (metrics, options, per-episode
    outcomes), the episodes (with recorded ``qpos`` when ``opts.record``) and the runtime used.
    """
    opts = opts or Sim2SimOptions()
    if opts.episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {opts.episodes}")
    if opts.delay_steps < 0:
        raise ValueError(f"delay_steps must be >= 0, got {opts.delay_steps}")
    motion_obj = motion if isinstance(motion, Motion) else load_motion(motion)
    runtime = PolicyRuntime(policy, motion_obj, contract=contract, tail_mode="hold")
    failure_source = "contract (the policy's env)"
    if not any(k in runtime.contract["terminations"] for k in ("anchor_pos", "anchor_ori", "ee_body_pos")):
        runtime.failures = FailureChecker(
            {"robot": runtime.contract["robot"], "terminations": BEYONDMIMIC_TERMINATIONS}
        )
        failure_source = "BeyondMimic defaults (the policy's env had none of these conditions)"
    failures = runtime.failures
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
                f"joint RMSE {ep.metrics['joint_pos_rmse_rad']:.3f} rad ({time.time() - t0:.1f} s)"
            )
    k = len(episodes)
    report: dict[str, Any] = {
        "success_rate": sum(ep.success for ep in episodes) / k,
        "standing_after_end": sum(ep.standing for ep in episodes) / k,
        **{key: sum(ep.metrics[key] for ep in episodes) / k for key in METRIC_KEYS},
        "episodes": k,
        "mean_episode_length_s": sum(ep.length_s for ep in episodes) / k,
        "clip_duration_s": runtime.reference.duration,
        "standing_s": opts.standing_s,
        "per_episode": [
            {
                "success": ep.success,
                "standing": ep.standing,
                "length_s": ep.length_s,
                "failure": ep.failure,
                "failure_time_s": ep.failure_time_s,
                **ep.metrics,
            }
            for ep in episodes
        ],
        "options": {
            key: (list(v) if isinstance(v, tuple) else v) for key, v in asdict(opts).items() if key != "record"
        },
        "failure_conditions": {
            "source": failure_source,
            "anchor_pos": failures.anchor_pos,
            "anchor_ori": failures.anchor_ori,
            "ee_body_pos": failures.ee_threshold,
            "ee_bodies": failures.ee_bodies,
        },
        "simulator": f"mujoco {__import__('mujoco').__version__} (g1_sim.xml, {opts.pd} PD)",
        "task": runtime.contract.get("task"),
        "wall_time_s": time.time() - t0,
    }
    return report, episodes, runtime


def rollout_motion(runtime: PolicyRuntime, sim: MujocoG1, qpos: list[np.ndarray]) -> Motion:
    """A recorded episode (``sim``'s ``qpos`` per control step) as a canonical :class:`Motion` at the control rate."""
    from g1_mimic.motion.format import motion_from_root_and_joints

    arr = np.stack(qpos)
    root_pos = arr[:, 0:3]
    root_quat = np.concatenate([arr[:, 4:7], arr[:, 3:4]], axis=-1)
    return motion_from_root_and_joints(
        fps=1.0 / runtime.control_dt,
        root_pos=root_pos,
        root_quat_xyzw=root_quat,
        joint_pos=arr[:, 7:],
        joint_names=list(sim.model_joint_names),
        source={"sim2sim": runtime.contract.get("task")},
    )
