"""Deterministic evaluation of a tracking policy (MimicKit's rule: every env finishes its share).

Every episode starts at frame 0 of its clip (env ``i`` plays clip ``i % num_clips``) with no pushes,
randomisation or observation noise, and the policy's mean action. The run continues until every
env has finished ``ceil(num_episodes / num_envs)`` episodes, so short (failed) episodes do not
bias the result; episodes beyond an env's share are ignored.

Per-step errors are taken after each step for envs that did not end on that step (an ending env
is reset inside the step, so its last state is not observable) and only while the clip plays (not
in the tail after it); an episode's error is the mean over its steps, and the reported errors are
means over episodes.

After the clip the reference holds its last frame for ``standing_s`` seconds (default 3 s).

Two failure rules (``protocol``): ``"task"`` (default) keeps the task's own terminations (anchor
height/orientation, end-effector height, non-finite state); ``"pelvis"`` is the rule of the recent
literature (BONES-SEED protocol): failure only when the pelvis height is off by > 0.25 m or its tilt
by > 0.8 rad (:class:`~g1_mimic.tasks.mimic.mimic_env_cfg.PelvisProtocolTerminationsCfg`).

- success: the robot reached the clip's end without a termination of the chosen rule;
- ``standing_after_end``: it also went through the ``standing_s`` tail without a termination, i.e. it
  is still standing on the held last frame (fraction of episodes);
- ``mpkpe_m``: mean over tracked bodies of the world-frame body position error (m);
- ``r_mpkpe_m``: the same after subtracting each side's root (pelvis) position (m);
- ``joint_pos_rmse_rad``: root mean square joint angle error over all joints (rad);
- ``ee_pos_error_m``: mean position error of the end effectors (ankles, wrists) (m);
- ``mpkpe_std_m``: the standard deviation of the episodes' MPKPE (m).

``obs_noise`` (:func:`configure_for_evaluation`) adds the training noise of the sensor-level observation
terms (joint positions and velocities, root velocities) times a factor, as ``scripts/sim2sim.py
--obs_noise`` does in plain MuJoCo, so that episodes differ: a policy that drifts in the world has a
world-frame MPKPE that tiny perturbations move by centimetres (``docs/deploy.md``), and one
deterministic episode is then one draw of it, to be compared with sim2sim as a mean over episodes.
"""

from __future__ import annotations

import math
import statistics
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

METRIC_KEYS = ("mpkpe_m", "r_mpkpe_m", "joint_pos_rmse_rad", "ee_pos_error_m")
PROTOCOLS = ("task", "pelvis")


#: The anchor's tilt error (rad) from which an episode counts as leaning off the reference (for
#: :attr:`Failure.leaning_from_s`); BeyondMimic's anchor-orientation termination fires near 0.8 rad.
LEAN_RAD = 0.15


@dataclass
class Failure:
    """One failed evaluation episode: when and how it ended, and the body's state one control step before."""

    clip_id: int
    time_s: float
    terms: list[str]
    """The termination terms that fired."""
    end_effector_most_off: str | None
    """The end effector farthest off the reference in height (world z)."""
    anchor_tilt_rad: float
    """Angle between the robot anchor's and the reference anchor's up axes (rad)."""
    anchor_height_error_m: float
    """Robot anchor height minus reference anchor height (m; negative: the body is low)."""
    leaning_from_s: float | None
    """When the anchor's tilt error first passed :data:`LEAN_RAD` in the episode (s), or None."""


@dataclass
class EvalResult:
    success_rate: float
    mpkpe_m: float
    r_mpkpe_m: float
    joint_pos_rmse_rad: float
    ee_pos_error_m: float
    episodes: int
    mean_episode_length_s: float
    standing_after_end: float = 0.0
    standing_s: float = 0.0
    mpkpe_std_m: float = 0.0
    per_clip: dict[str, dict[str, float]] = field(default_factory=dict)
    wall_time_s: float = 0.0
    protocol: str = "task"
    failures: dict[str, dict] = field(default_factory=dict)
    """Per clip with failed episodes (ones that did not reach the clip's end): ``count``, ``terms`` (how
    often each termination term fired), ``time_s`` (min, median, max of the failure times),
    ``end_effector_most_off`` (per end effector, how often it was the one farthest off the reference in
    height one control step before the failure), ``anchor_before`` (median tilt error, rad, and height
    error, m, of the anchor body one step before) and ``leaning`` (how many episodes had the anchor's
    tilt error past :data:`LEAN_RAD` before failing, and the median time it first did): a body that leans
    for seconds and then drops has lost its balance, whatever term ends the episode."""

    @property
    def failed_clips(self) -> list[str]:
        """Clips with at least one failed episode, in library order."""
        return [name for name, m in self.per_clip.items() if m["success_rate"] < 1.0]

    def to_dict(self) -> dict:
        return {
            "success_rate": self.success_rate,
            "mpkpe_m": self.mpkpe_m,
            "r_mpkpe_m": self.r_mpkpe_m,
            "joint_pos_rmse_rad": self.joint_pos_rmse_rad,
            "ee_pos_error_m": self.ee_pos_error_m,
            "mpkpe_std_m": self.mpkpe_std_m,
            "episodes": self.episodes,
            "mean_episode_length_s": self.mean_episode_length_s,
            "standing_after_end": self.standing_after_end,
            "standing_s": self.standing_s,
            "per_clip": self.per_clip,
            "wall_time_s": self.wall_time_s,
            "protocol": self.protocol,
            "failed_clips": self.failed_clips,
            "failures": self.failures,
        }

    def table(self) -> str:
        rows = [("clip", "episodes", "success", "standing", "MPKPE [cm]", "sd [cm]", "R-MPKPE [cm]", "joint RMSE [rad]", "EE err [cm]")]
        for name, m in self.per_clip.items():
            rows.append(
                (
                    name,
                    f"{int(m['episodes'])}",
                    f"{100 * m['success_rate']:.1f}%",
                    f"{100 * m['standing_after_end']:.1f}%",
                    f"{100 * m['mpkpe_m']:.2f}",
                    f"{100 * m['mpkpe_std_m']:.2f}",
                    f"{100 * m['r_mpkpe_m']:.2f}",
                    f"{m['joint_pos_rmse_rad']:.3f}",
                    f"{100 * m['ee_pos_error_m']:.2f}",
                )
            )
        rows.append(
            (
                "ALL",
                f"{self.episodes}",
                f"{100 * self.success_rate:.1f}%",
                f"{100 * self.standing_after_end:.1f}%",
                f"{100 * self.mpkpe_m:.2f}",
                f"{100 * self.mpkpe_std_m:.2f}",
                f"{100 * self.r_mpkpe_m:.2f}",
                f"{self.joint_pos_rmse_rad:.3f}",
                f"{100 * self.ee_pos_error_m:.2f}",
            )
        )
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
        failed = self.failed_clips
        lines.append(
            f"failure rule: {self.protocol}; failed clips ({len(failed)} of {len(self.per_clip)}): {', '.join(failed) or 'none'}"
        )
        for name, f in self.failures.items():
            terms = ", ".join(f"{t} {k}" for t, k in f["terms"].items())
            t = f["time_s"]
            line = f"  {name}: {f['count']} failed ({terms}) at {t['min']:.2f}-{t['max']:.2f} s (median {t['median']:.2f} s)"
            if f["end_effector_most_off"]:
                line += "; most off in height before: " + ", ".join(f"{b} {k}" for b, k in f["end_effector_most_off"].items())
            a, lean = f["anchor_before"], f["leaning"]
            line += f"; anchor before: tilt {a['tilt_rad']:.2f} rad, height {a['height_error_m']:+.2f} m"
            if lean["count"]:
                line += f"; leaning > {LEAN_RAD} rad from {lean['from_s']:.2f} s (median) in {lean['count']} of {f['count']}"
            lines.append(line)
        return "\n".join(lines)


def configure_for_evaluation(env_cfg, standing_s: float = 3.0, protocol: str = "task", obs_noise: float = 0.0) -> None:
    """Evaluation settings on top of the play cfg: frame-0 starts, one clip per env in turn, no noise
    (or ``obs_noise`` times the training noise of the sensor-level terms: :func:`scale_sensor_noise`),
    the reference held for ``standing_s`` after the clip, no episode time limit before that, and the
    failure rule ``protocol`` (``"task"``: the task's terminations; ``"pelvis"``: the literature's)."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"evaluation protocol must be one of {PROTOCOLS}, got {protocol!r}")
    if not obs_noise >= 0.0:
        raise ValueError(f"obs_noise must be >= 0 (a multiple of the training noise), got {obs_noise!r}")
    env_cfg.play_mode()
    if obs_noise > 0.0:
        scale_sensor_noise(env_cfg.observations.policy, obs_noise)
    if protocol == "pelvis":
        from g1_mimic.tasks.mimic.mimic_env_cfg import PelvisProtocolTerminationsCfg

        env_cfg.terminations = PelvisProtocolTerminationsCfg()
    cmd = env_cfg.commands.motion
    cmd.start_at_zero = True
    cmd.sequential_clips = True
    cmd.debug_vis = False
    cmd.tail_s = standing_s
    cmd.tail_mode = "hold"
    env_cfg.episode_length_s = 1.0e4  # episodes end at clip end + standing_s (motion_finished) or on failure


def scale_sensor_noise(group_cfg, scale: float) -> None:
    """Turn on ``group_cfg``'s observation noise with the noise of its sensor-level terms (joint positions
    and velocities relative to the default, root linear and angular velocity in the root frame) times
    ``scale`` and no noise on the other terms: what ``scripts/sim2sim.py --obs_noise`` adds to the
    measurements in plain MuJoCo (the anchor terms' noise has no single sensor there). Additive uniform
    and Gaussian noise are scaled; other noise on a sensor term is refused (ValueError)."""
    from isaaclab.utils.noise import GaussianNoiseCfg, UniformNoiseCfg

    from g1_mimic.deploy.sim2sim import SENSOR_OF_KIND
    from g1_mimic.rl.export import observation_kinds

    sensor_terms = {func for func, kind in observation_kinds().items() if kind in SENSOR_OF_KIND}
    group_cfg.enable_corruption = True
    for name, term in vars(group_cfg).items():
        noise = getattr(term, "noise", None)
        if noise is None or not callable(getattr(term, "func", None)):
            continue
        if term.func not in sensor_terms:
            term.noise = None
        elif isinstance(noise, UniformNoiseCfg) and noise.operation == "add":
            term.noise = noise.replace(n_min=noise.n_min * scale, n_max=noise.n_max * scale)
        elif isinstance(noise, GaussianNoiseCfg) and noise.operation == "add":
            term.noise = noise.replace(mean=noise.mean * scale, std=noise.std * scale)
        else:
            raise ValueError(f"observation term {name!r}: cannot scale noise {type(noise).__name__} ({noise.operation})")


def evaluate(
    session, num_episodes: int, progress: bool = True, max_steps: int | None = None, protocol: str = "task"
) -> EvalResult:
    """Run the evaluation on an open :class:`~g1_mimic.rl.session.PolicySession` whose env was set up by
    :func:`configure_for_evaluation` with the failure rule ``protocol`` (recorded in the result)."""
    env = session.env
    uenv = env.unwrapped
    cmd = uenv.command_manager.get_term("motion")
    robot = cmd.robot
    n = uenv.num_envs
    device = uenv.device
    share = max(1, math.ceil(num_episodes / n))
    standing_s = float(cmd.cfg.tail_s)
    clip_steps = int(math.ceil((float(cmd.library.clip_duration.max()) + standing_s) / uenv.step_dt)) + 2
    ee_idx = [cmd.body_names.index(b) for b in uenv.cfg.bodies.end_effectors if b in cmd.body_names]
    ee_names = [cmd.body_names[i] for i in ee_idx]
    tm = uenv.termination_manager
    failure_terms = [t for t in tm.active_terms if not tm.get_term_cfg(t).time_out]
    root_idx = cmd.body_names.index(cmd.cfg.root_body_name) if cmd.cfg.root_body_name in cmd.body_names else 0

    done_count = torch.zeros(n, dtype=torch.long, device=device)
    acc = {k: torch.zeros(n, device=device) for k in METRIC_KEYS}
    steps = torch.zeros(n, device=device)
    reached_end = torch.zeros(n, dtype=torch.bool, device=device)
    ep_steps = torch.zeros(n, dtype=torch.long, device=device)
    episodes: list[tuple[int, bool, bool, float, dict[str, float]]] = []
    from isaaclab.utils.math import quat_apply

    from g1_mimic.tasks.mimic.mdp.terminations import body_distance, mean_body_distance

    fails: list[Failure] = []
    ee_z_err = torch.zeros(n, len(ee_idx), device=device)  # |z| error of each end effector at the last step
    anchor_err = torch.zeros(n, 2, device=device)  # anchor tilt error (rad) and height error (m) at the last step
    lean_from = torch.full((n,), -1.0, device=device)  # episode time the anchor tilt error first passed LEAN_RAD
    up = torch.tensor([0.0, 0.0, 1.0], device=device).expand(n, 3)

    obs = env.get_observations()
    t0 = time.time()
    max_steps = max_steps or share * clip_steps
    last_print = t0
    with torch.inference_mode():
        for step in range(max_steps):
            clips_before = cmd.clip_ids.clone()
            obs, _, dones, _ = env.step(session.policy(obs))
            dones = dones.bool()
            # per-step errors of envs still running, while their clip plays
            clip_end = cmd.library.clip_duration[cmd.clip_ids]
            reached_end |= ~dones & (cmd.time_s >= clip_end - 0.5 * uenv.step_dt)
            alive = ~dones & (cmd.time_s <= clip_end + 0.5 * uenv.step_dt)
            ref_pos = cmd.body_pos_w
            rob_pos = cmd.robot_body_pos_w
            err = body_distance(ref_pos, rob_pos)
            acc["mpkpe_m"] += torch.where(alive, err.mean(-1), 0.0)
            rel_mpkpe = mean_body_distance(ref_pos - ref_pos[:, root_idx : root_idx + 1], rob_pos - rob_pos[:, root_idx : root_idx + 1])
            acc["r_mpkpe_m"] += torch.where(alive, rel_mpkpe, 0.0)
            jerr = torch.sqrt(torch.mean(torch.square(cmd.joint_pos - robot.data.joint_pos.torch), dim=-1))
            acc["joint_pos_rmse_rad"] += torch.where(alive, jerr, 0.0)
            if ee_idx:
                acc["ee_pos_error_m"] += torch.where(alive, err[:, ee_idx].mean(-1), 0.0)
            steps += alive.float()
            ep_steps += 1
            if ee_idx:  # kept from the step before for the envs that end now (theirs is a new episode's)
                z_err = (ref_pos[:, ee_idx, 2] - rob_pos[:, ee_idx, 2]).abs()
                ee_z_err = torch.where(dones.unsqueeze(-1), ee_z_err, z_err)
            cos = (quat_apply(cmd.robot_anchor_quat_w, up) * quat_apply(cmd.anchor_quat_w, up)).sum(-1)
            tilt = torch.acos(cos.clamp(-1.0, 1.0))
            now = torch.stack([tilt, cmd.robot_anchor_pos_w[:, 2] - cmd.anchor_pos_w[:, 2]], dim=-1)
            anchor_err = torch.where(dones.unsqueeze(-1), anchor_err, now)
            lean_from = torch.where(~dones & (lean_from < 0) & (tilt > LEAN_RAD), ep_steps.float() * uenv.step_dt, lean_from)
            # finished episodes
            if dones.any():
                time_outs = uenv.termination_manager.time_outs
                ended = dones.nonzero().flatten().tolist()
                for i in ended:
                    if done_count[i] < share:
                        s = max(float(steps[i]), 1.0)
                        metrics = {k: float(acc[k][i]) / s for k in METRIC_KEYS}
                        length = float(ep_steps[i]) * uenv.step_dt
                        success = bool(reached_end[i]) or (standing_s == 0.0 and bool(time_outs[i]))
                        standing = success and bool(time_outs[i])
                        episodes.append((int(clips_before[i]), success, standing, length, metrics))
                        if not success:
                            fired = [t for t in failure_terms if bool(tm.get_term(t)[i])]
                            worst = ee_names[int(ee_z_err[i].argmax())] if ee_names else None
                            lean = float(lean_from[i])
                            fails.append(
                                Failure(int(clips_before[i]), length, fired, worst, float(anchor_err[i, 0]),
                                        float(anchor_err[i, 1]), lean if lean >= 0.0 else None)
                            )
                    done_count[i] += 1
                    lean_from[i] = -1.0
                    reached_end[i] = False
                    ep_steps[i] = 0
                    for k in METRIC_KEYS:
                        acc[k][i] = 0.0
                    steps[i] = 0.0
            if progress and time.time() - last_print > 10.0:
                finished = int(torch.clamp(done_count, max=share).sum())
                print(f"[evaluate] step {step}: {finished}/{share * n} episodes finished", flush=True)
                last_print = time.time()
            if bool((done_count >= share).all()):
                break
    return summarize(
        episodes,
        cmd.library.clip_names,
        wall_time_s=time.time() - t0,
        standing_s=standing_s,
        protocol=protocol,
        fails=fails,
    )


def summarize(
    episodes: list[tuple[int, bool, bool, float, dict[str, float]]],
    clip_names: list[str],
    wall_time_s: float = 0.0,
    standing_s: float = 0.0,
    protocol: str = "task",
    fails: Sequence[Failure] = (),
) -> EvalResult:
    """Aggregate ``(clip_id, success, standing, length_s, metrics)`` episode records into an :class:`EvalResult`;
    ``fails``: the failed episodes (:attr:`EvalResult.failures`)."""
    if not episodes:
        raise RuntimeError("evaluation finished no episode: increase the step budget or the number of envs")

    def agg(recs) -> dict[str, float]:
        k = len(recs)
        out = {"episodes": float(k), "success_rate": sum(r[1] for r in recs) / k}
        out["standing_after_end"] = sum(r[2] for r in recs) / k
        out["mean_episode_length_s"] = sum(r[3] for r in recs) / k
        for key in METRIC_KEYS:
            out[key] = sum(r[4][key] for r in recs) / k
        out["mpkpe_std_m"] = statistics.pstdev(r[4]["mpkpe_m"] for r in recs)
        return out

    per_clip = {}
    for cid, name in enumerate(clip_names):
        recs = [e for e in episodes if e[0] == cid]
        if recs:
            per_clip[name] = agg(recs)
    total = agg(episodes)
    return EvalResult(
        success_rate=total["success_rate"],
        mpkpe_m=total["mpkpe_m"],
        r_mpkpe_m=total["r_mpkpe_m"],
        joint_pos_rmse_rad=total["joint_pos_rmse_rad"],
        ee_pos_error_m=total["ee_pos_error_m"],
        mpkpe_std_m=total["mpkpe_std_m"],
        episodes=len(episodes),
        mean_episode_length_s=total["mean_episode_length_s"],
        standing_after_end=total["standing_after_end"],
        standing_s=standing_s,
        per_clip=per_clip,
        wall_time_s=wall_time_s,
        protocol=protocol,
        failures=summarize_failures(fails, clip_names),
    )


def summarize_failures(fails: Sequence[Failure], clip_names: list[str]) -> dict[str, dict]:
    """Per clip: how many episodes failed, which terms ended them, when, which end effector was most off,
    the anchor's tilt and height error before, and how many leaned off the reference first (from when)."""
    out: dict[str, dict] = {}
    for cid, name in enumerate(clip_names):
        recs = [f for f in fails if f.clip_id == cid]
        if not recs:
            continue
        times = sorted(f.time_s for f in recs)
        leaned = [f.leaning_from_s for f in recs if f.leaning_from_s is not None]
        out[name] = {
            "count": len(recs),
            "terms": dict(Counter(t for f in recs for t in f.terms).most_common()),
            "time_s": {"min": times[0], "median": statistics.median(times), "max": times[-1]},
            "end_effector_most_off": dict(Counter(f.end_effector_most_off for f in recs if f.end_effector_most_off).most_common()),
            "anchor_before": {
                "tilt_rad": statistics.median(f.anchor_tilt_rad for f in recs),
                "height_error_m": statistics.median(f.anchor_height_error_m for f in recs),
            },
            "leaning": {"count": len(leaned), "from_s": statistics.median(leaned) if leaned else None},
        }
    return out
