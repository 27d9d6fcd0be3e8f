"""Sim2sim: run an exported policy through the deploy runtime on the G1 in plain MuJoCo C (no Isaac Lab, no torch).

    python scripts/sim2sim.py --policy logs/rsl_rl/g1_mimic/<run>/exported/policy.onnx --motion wave
        [--contract policy.json] [--episodes 1] [--standing_s 3] [--json report.json] [--render out.mp4|out.gif [--beside] [--width 480 --height 360 --fps 20 --no_shadows]]
        [--friction F] [--delay_steps K] [--obs_noise S] [--push_at T --push_vel VX[,VY[,VZ]]] [--pd actuator|torque]

Every episode starts on the clip's first frame; metrics follow ``scripts/evaluate.py``
(``success_rate``, ``standing_after_end``, ``mpkpe_m``, ``r_mpkpe_m``, ``joint_pos_rmse_rad``,
``ee_pos_error_m``; see :mod:`g1_mimic.deploy.sim2sim` and ``docs/deploy.md``). ``--motion`` takes
a canonical ``.npz`` or the name of a bundled clip.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from g1_mimic.cliargs import positive


def _vector(text: str) -> tuple[float, float, float]:
    parts = [float(p) for p in text.replace(" ", "").split(",") if p]
    if not 1 <= len(parts) <= 3:
        raise argparse.ArgumentTypeError(f"expected VX[,VY[,VZ]] (m/s), got {text!r}")
    return tuple(parts + [0.0] * (3 - len(parts)))  # type: ignore[return-value]


def _motion_path(text: str) -> Path:
    path = Path(text)
    if path.is_file():
        return path
    from g1_mimic.data import bundled_motion

    try:
        return bundled_motion(text)
    except FileNotFoundError as exc:
        raise SystemExit(f"[sim2sim] --motion {text}: no such file, and {exc}") from exc


def _policy_path(text: str) -> Path:
    """The exported ONNX policy a ``--policy`` argument names: a file, a run folder, an ``exported/`` folder,
    or ``latest`` (the newest run under ``logs/rsl_rl/*/`` with an exported policy)."""
    if text == "latest":
        runs = [p.parent.parent for p in Path("logs/rsl_rl").glob("*/*/exported/policy.onnx")]
        if not runs:
            raise SystemExit("[sim2sim] --policy latest: no run with exported/policy.onnx under logs/rsl_rl/; train first")
        return max(runs, key=lambda r: r.name) / "exported" / "policy.onnx"
    path = Path(text)
    if path.is_dir():
        for candidate in (path / "exported" / "policy.onnx", path / "policy.onnx"):
            if candidate.is_file():
                return candidate
        raise SystemExit(f"[sim2sim] --policy {path}: a folder with no exported/policy.onnx or policy.onnx")
    if not path.is_file():
        raise SystemExit(f"[sim2sim] --policy {path}: no such file or run folder (or give 'latest')")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--policy", required=True, help="exported policy.onnx, a run folder (its exported/policy.onnx) or latest"
    )
    parser.add_argument(
        "--motion", required=True, help="canonical motion .npz, or a bundled clip name (wave, squat, ...)"
    )
    parser.add_argument("--contract", default=None, help="deploy contract (default: policy.json beside the ONNX file)")
    parser.add_argument("--episodes", type=positive(int), default=1, help="episodes to run (differ only with --obs_noise)")
    parser.add_argument(
        "--standing_s", type=float, default=3.0, help="seconds the reference holds its last frame after the clip"
    )
    parser.add_argument(
        "--friction", type=float, default=None, help="sliding friction of every geom (default: the model's, 1.0)"
    )
    parser.add_argument(
        "--delay_steps", type=int, default=0, help="control steps between an observation and its PD target"
    )
    parser.add_argument(
        "--obs_noise", type=float, default=0.0, help="observation noise as a multiple of the training noise"
    )
    parser.add_argument("--push_at", type=float, default=None, help="time (s) of a push")
    parser.add_argument(
        "--push_vel", type=_vector, default=(0.5, 0.0, 0.0), help="root velocity change of the push, m/s, world"
    )
    parser.add_argument(
        "--pd",
        choices=("actuator", "torque"),
        default="actuator",
        help="PD by MuJoCo position actuators or explicit torques",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=None, help="write the report here")
    parser.add_argument("--render", default=None, help="render episode 1 (robot, reference as a ghost) to .mp4 or .gif")
    parser.add_argument(
        "--beside", action="store_true", help="draw the reference ghost 1 m to the robot's left instead of overlaid"
    )
    parser.add_argument("--width", type=positive(int), default=480)
    parser.add_argument("--height", type=positive(int), default=360)
    parser.add_argument("--fps", type=positive(float), default=None, help="frame rate of --render (default 20 for .gif, 30 for .mp4)")
    parser.add_argument("--no_shadows", action="store_true", help="render without shadows (about twice as fast without a GPU)")
    args = parser.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")

    from g1_mimic.deploy.contract import ContractError, write_json_atomic
    from g1_mimic.deploy.sim2sim import Sim2SimOptions, rollout_motion, run_sim2sim

    args.policy = str(_policy_path(args.policy))
    motion = _motion_path(args.motion)
    opts = Sim2SimOptions(
        episodes=args.episodes,
        standing_s=args.standing_s,
        friction=args.friction,
        delay_steps=args.delay_steps,
        obs_noise=args.obs_noise,
        push_at_s=args.push_at,
        push_vel=args.push_vel,
        pd=args.pd,
        seed=args.seed,
        record=args.render is not None,
    )
    print(f"[sim2sim] {args.policy} on {motion} ({args.episodes} episode(s), {args.pd} PD)", flush=True)
    try:
        report, episodes, runtime = run_sim2sim(
            args.policy, motion, opts, contract=args.contract, progress=lambda s: print(s, flush=True)
        )
    except ContractError as exc:
        print(f"[sim2sim] refused: {exc}", file=sys.stderr)
        return 2
    except FileNotFoundError as exc:
        print(f"[sim2sim] {exc}", file=sys.stderr)
        return 2
    report.update({"policy": str(args.policy), "motion": str(motion)})
    print(
        f"[sim2sim] success {100 * report['success_rate']:.1f}%, standing after end {100 * report['standing_after_end']:.1f}%, "
        f"MPKPE {100 * report['mpkpe_m']:.2f} cm, joint RMSE {report['joint_pos_rmse_rad']:.3f} rad",
        flush=True,
    )
    if args.json:
        print(f"[sim2sim] wrote {write_json_atomic(report, args.json)}", flush=True)
    if args.render:
        from g1_mimic.deploy.mujoco_sim import MujocoG1
        from g1_mimic.motion.render import render_motion

        sim = MujocoG1(runtime.contract)
        rollout = rollout_motion(runtime, sim, episodes[0].qpos)
        out = render_motion(
            rollout,
            args.render,
            width=args.width,
            height=args.height,
            fps=args.fps,
            shadows=not args.no_shadows,
            reference=runtime.motion,
            reference_offset=(0.0, 1.0 if args.beside else 0.0, 0.0),
            progress=True,
        )
        print(f"[sim2sim] rendered {out}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
