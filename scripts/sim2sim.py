"""Sim2sim: run an exported policy graph on the G1 in plain MuJoCo C (no Isaac Lab, no torch).

    python scripts/sim2sim.py --policy logs/rsl_rl/g1_mimic/<run>[/exported/policy_graph.onnx] [--motion CLIP] [--start_s S]
        [--episodes 1] [--standing_s 3] [--json report.json] [--render out.mp4|out.gif [--beside] [--width 480 --height 360 --fps 20 --no_shadows]]
        [--friction F] [--delay_steps K] [--obs_noise S] [--push_at T --push_vel VX[,VY[,VZ]]] [--pd actuator|torque]

The policy graph (``exported/policy_graph.onnx``) holds the clips it was trained on; ``--motion``
picks one of them by name, or by a file whose name (stem) is a baked clip's (default: the first).
A clip the graph does not hold: export a graph with it first
(``scripts/play.py --checkpoint CKPT --motion FILE --export_only``). Every episode starts on the
reference at ``--start_s`` (default: the first frame); metrics follow ``scripts/evaluate.py``
(``success_rate``, ``standing_after_end``, ``mpkpe_m``, ``r_mpkpe_m``, ``joint_pos_rmse_rad``,
``ee_pos_error_m``, ``mpkpe_std_m``; see :mod:`g1_mimic.deploy.sim2sim` and ``docs/deploy.md``).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from g1_mimic.cliargs import positive

GRAPH = "policy_graph.onnx"


def _vector(text: str) -> tuple[float, float, float]:
    parts = [float(p) for p in text.replace(" ", "").split(",") if p]
    if not 1 <= len(parts) <= 3:
        raise argparse.ArgumentTypeError(f"expected VX[,VY[,VZ]] (m/s), got {text!r}")
    return tuple(parts + [0.0] * (3 - len(parts)))  # type: ignore[return-value]


def _graph_path(text: str) -> Path:
    """The policy graph a ``--policy`` argument names: the graph file, ``policy.onnx`` beside it, a run folder,
    an ``exported/`` folder, or ``latest`` (the newest run under ``logs/rsl_rl/*/`` with an exported graph)."""
    if text == "latest":
        runs = [p.parent.parent for p in Path("logs/rsl_rl").glob(f"*/*/exported/{GRAPH}")]
        if not runs:
            raise SystemExit(f"[sim2sim] --policy latest: no run with exported/{GRAPH} under logs/rsl_rl/; train first")
        return max(runs, key=lambda r: r.name) / "exported" / GRAPH
    path = Path(text)
    if path.is_dir():
        for candidate in (path / "exported" / GRAPH, path / GRAPH):
            if candidate.is_file():
                return candidate
        raise SystemExit(
            f"[sim2sim] --policy {path}: a folder with no exported/{GRAPH} or {GRAPH}; "
            "export it with scripts/play.py --checkpoint CKPT --export_only"
        )
    if not path.is_file():
        raise SystemExit(f"[sim2sim] --policy {path}: no such file or run folder (or give 'latest')")
    if path.name != GRAPH and (path.parent / GRAPH).is_file():
        return path.parent / GRAPH  # policy.onnx named: the graph exported beside it
    return path


def _clip(motion: str | None, clip_names: list[str]) -> str | int:
    """The baked clip ``--motion`` names (a clip name or a file whose stem is one); the first without it."""
    if motion is None:
        return 0
    for name in (motion, Path(motion).stem):
        if name in clip_names:
            return name
    raise SystemExit(
        f"[sim2sim] --motion {motion}: the policy graph holds the clips {clip_names}, not this one; export a graph "
        f"with it: scripts/play.py --checkpoint CKPT --motion {motion} --export_only"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--policy", required=True, help=f"exported {GRAPH} (or policy.onnx beside it), a run folder, or latest"
    )
    parser.add_argument("--motion", default=None, help="a clip baked into the graph, by name or file (default: the first)")
    parser.add_argument("--start_s", type=float, default=0.0, help="start every episode on the reference at this clip time (s)")
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
    from g1_mimic.deploy.graph_runtime import GraphRuntime
    from g1_mimic.deploy.sim2sim import Sim2SimOptions, reference_motion, rollout_motion, run_sim2sim

    graph = _graph_path(args.policy)
    try:
        clip = _clip(args.motion, GraphRuntime(graph).clip_names)
    except (ContractError, FileNotFoundError) as exc:
        print(f"[sim2sim] refused: {exc}", file=sys.stderr)
        return 2
    opts = Sim2SimOptions(
        episodes=args.episodes,
        start_s=args.start_s,
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
    print(f"[sim2sim] {graph}, clip {clip!r} from {args.start_s:g} s ({args.episodes} episode(s), {args.pd} PD)", flush=True)
    try:
        report, episodes, runtime = run_sim2sim(graph, clip, opts, progress=lambda s: print(s, flush=True))
    except (ContractError, ValueError) as exc:
        print(f"[sim2sim] refused: {exc}", file=sys.stderr)
        return 2
    report.update({"policy": str(graph), "motion": runtime.clip_name})
    print(
        f"[sim2sim] success {100 * report['success_rate']:.1f}%, standing after end {100 * report['standing_after_end']:.1f}%, "
        f"MPKPE {100 * report['mpkpe_m']:.2f} cm"
        + (f" (sd {100 * report['mpkpe_std_m']:.2f} cm over {report['episodes']})" if report["episodes"] > 1 else "")
        + f", joint RMSE {report['joint_pos_rmse_rad']:.3f} rad",
        flush=True,
    )
    if args.json:
        print(f"[sim2sim] wrote {write_json_atomic(report, args.json)}", flush=True)
    if args.render:
        from g1_mimic.deploy.mujoco_sim import MujocoG1
        from g1_mimic.motion.render import render_motion

        sim = MujocoG1(runtime.contract)
        out = render_motion(
            rollout_motion(runtime, sim, episodes[0].qpos),
            args.render,
            width=args.width,
            height=args.height,
            fps=args.fps,
            shadows=not args.no_shadows,
            reference=reference_motion(runtime, sim, episodes[0]),
            reference_offset=(0.0, 1.0 if args.beside else 0.0, 0.0),
            progress=True,
        )
        print(f"[sim2sim] rendered {out}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
