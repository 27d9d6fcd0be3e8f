"""Evaluate a G1 tracking checkpoint: success rate, MPKPE, R-MPKPE, joint and end-effector errors per clip.

    python scripts/evaluate.py --checkpoint logs/rsl_rl/g1_mimic/<run>/model_300.pt
        [--motion PATH] [--num_envs 16] [--num_episodes 64] [--standing_s 3] [--protocol task|pelvis]
        [--obs_noise 0.01] [--json report.json]

``--motion`` may be a folder (or YAML list) of clips: one row per clip, the overall figures and the
failed clips. ``--protocol pelvis`` judges failure by the recent literature's rule (pelvis height off
by > 0.25 m or tilt > 0.8 rad) instead of the task's own terminations.

Deterministic (mean action, no pushes/randomisation/noise), every episode from frame 0, and every
env finishes its share of episodes (see :mod:`g1_mimic.rl.evaluation` for the metric definitions).
``--obs_noise K`` adds K times the training noise of the sensor-level observations (as
``scripts/sim2sim.py --obs_noise K`` does), so that episodes differ: compare a drifting policy's MPKPE
with sim2sim's as means over such episodes (``docs/deploy.md``).
"""

from __future__ import annotations

import argparse
import os
import sys

from g1_mimic.cliargs import positive
from g1_mimic.fileio import atomic_write_json
from g1_mimic.rl.evaluation import PROTOCOLS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default=None, help="task id (default: the one the checkpoint's run was trained on)")
    parser.add_argument("--checkpoint", required=True, help="model_<iter>.pt, a run folder (its last checkpoint) or latest")
    parser.add_argument("--motion", default=None, help="motion file, folder or YAML list (default: the task's)")
    parser.add_argument("--num_envs", type=positive(int), default=None, help="parallel envs (default: min(num_episodes, 16))")
    parser.add_argument("--num_episodes", type=positive(int), default=None, help="episodes in all (default: 4 per clip, at least num_envs)")
    parser.add_argument("--standing_s", type=float, default=3.0, help="seconds the reference holds its last frame after the clip; standing_after_end reports whether the robot stayed up")
    parser.add_argument(
        "--protocol", choices=PROTOCOLS, default="task",
        help="failure rule: the task's terminations (default) or the literature's pelvis rule (height 0.25 m, tilt 0.8 rad)",
    )
    parser.add_argument(
        "--obs_noise", type=float, default=0.0,
        help="sensor observation noise as a multiple of the training noise (default 0: deterministic episodes)",
    )
    parser.add_argument("--device", default=None)
    parser.add_argument("--json", default=None, help="write the report as JSON here")
    args, overrides = parser.parse_known_args(argv)
    if not args.obs_noise >= 0.0:
        parser.error(f"--obs_noise must be >= 0 (a multiple of the training noise), got {args.obs_noise}")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from g1_mimic.rl.checkpoint import resolve_play_target

    ckpt, args.task = resolve_play_target(args.checkpoint, args.task, args.motion, overrides, "evaluate")

    from g1_mimic.device import default_device
    from g1_mimic.rl.evaluation import configure_for_evaluation, evaluate
    from g1_mimic.rl.session import policy_session

    num_episodes = args.num_episodes or 16
    num_envs = args.num_envs or min(num_episodes, 16)
    device = args.device or default_device()
    with policy_session(
        args.task,
        str(ckpt),
        num_envs=num_envs,
        device=device,
        overrides=overrides,
        env_cfg_hook=lambda cfg: configure_for_evaluation(
            cfg, standing_s=args.standing_s, protocol=args.protocol, obs_noise=args.obs_noise
        ),
    ) as s:
        n_clips = s.unwrapped.command_manager.get_term("motion").library.num_clips
        if args.num_episodes is None:
            num_episodes = max(num_envs, 4 * n_clips)
        print(
            f"[evaluate] {num_episodes} episodes on {num_envs} envs, {n_clips} clip(s), failure rule {args.protocol}, "
            f"sensor noise x{args.obs_noise:g} of training's, device {device}",
            flush=True,
        )
        result = evaluate(s, num_episodes, protocol=args.protocol)
    print(result.table())
    report = result.to_dict()
    report.update({"checkpoint": str(ckpt), "task": args.task, "num_envs": num_envs, "obs_noise": args.obs_noise})
    if args.json:
        out = atomic_write_json(args.json, report)
        print(f"[evaluate] wrote {out}")
    return 0


if __name__ == "__main__":
    from g1_mimic.rl.checkpoint import CheckpointError

    try:
        sys.exit(main())
    except CheckpointError as exc:  # a refused, unreadable or mismatched checkpoint: one line, no traceback
        sys.exit(f"[evaluate] {exc}")
