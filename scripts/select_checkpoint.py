"""Pick the checkpoint of a run that plays its clips best from frame 0: evaluate the last K, keep the best.

    python scripts/select_checkpoint.py logs/rsl_rl/g1_mimic_cpu_learn/<run> [--last 8] [--episodes 8]
        [--obs_noise 0.01] [--json selection.json] [--export]

A PPO tracker's quality swings between checkpoints late in a run (on the real DWG dance, checkpoints
100 iterations apart go from every episode playing the clip through to every one falling;
``docs/performance.md``, section 5), so the last checkpoint is a poor default. Each of the run's last
``--last`` checkpoints is evaluated like ``scripts/evaluate.py`` (``--episodes`` episodes from frame
0, the task's failure rule, 3 s standing after the clip) in one env, and ranked by success rate,
then standing after the end, then the mean episode length (how far the failing episodes played), then
MPKPE (lower is better). Prints the ranking and the chosen
checkpoint; ``--json`` writes them; ``--export`` exports the chosen one to ``<run>/exported/`` (as
``scripts/play.py --export_only``). This chooses among checkpoints on the clips the run trained on:
report the chosen checkpoint with a separate evaluation (``scripts/learn_clips.py`` does).

Episodes from frame 0 are deterministic, so without noise the ``--episodes`` episodes of a checkpoint
are one trajectory repeated, and the choice favours a checkpoint whose one trajectory happens to play
the clip through. ``--obs_noise K`` adds K times the training's sensor noise (as ``scripts/evaluate.py
--obs_noise``), so that the episodes differ and the ranking says how often each checkpoint plays it through.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from g1_mimic.cliargs import positive
from g1_mimic.fileio import atomic_write_json

REPO = Path(__file__).resolve().parents[1]


def rank_key(result: dict) -> tuple[float, float, float, float]:
    """Sort key, best first: success rate, standing after the end, mean episode length (s; longer is better),
    then MPKPE (m; lower is better).

    The episode length comes before MPKPE because a failed episode's MPKPE covers only the frames before its fall:
    among checkpoints that fail, the one that falls at 1 s can have a lower MPKPE than the one that plays 4 s of
    the clip. Where all episodes succeed, the lengths are equal (clip plus tail) and MPKPE decides.
    """
    return (
        -result["success_rate"],
        -result["standing_after_end"],
        -round(result["mean_episode_length_s"], 2),
        result["mpkpe_m"],
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="run folder with model_<iteration>.pt checkpoints")
    parser.add_argument("--last", type=positive(int), default=8, help="how many of the newest checkpoints to compare")
    parser.add_argument("--episodes", type=positive(int), default=8, help="evaluation episodes per checkpoint (from frame 0)")
    parser.add_argument(
        "--obs_noise", type=float, default=0.0,
        help="sensor noise as a multiple of the training's, so that the episodes differ (default 0: deterministic)",
    )
    parser.add_argument("--json", default=None, help="write the ranking and the choice here")
    parser.add_argument("--export", action="store_true", help="export the chosen checkpoint to <run>/exported/")
    args, overrides = parser.parse_known_args(argv)
    if not args.obs_noise >= 0.0:
        parser.error(f"--obs_noise must be >= 0 (a multiple of the training noise), got {args.obs_noise}")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from g1_mimic.rl.checkpoint import CheckpointError, install_safe_runner_load, recorded_task, run_checkpoints

    try:
        candidates = run_checkpoints(args.run)[-args.last :]
    except FileNotFoundError as exc:
        raise SystemExit(f"[select] {exc}") from None
    task = recorded_task(candidates[-1]) or "Isaac-G1-Mimic-v0"
    import torch

    from g1_mimic.device import default_device
    from g1_mimic.rl.evaluation import configure_for_evaluation, evaluate
    from g1_mimic.rl.session import policy_session

    noise = f", sensor noise x{args.obs_noise:g} of training's" if args.obs_noise > 0.0 else ""
    print(f"[select] {len(candidates)} checkpoint(s) of {args.run}, {args.episodes} episodes each{noise}", flush=True)
    results: list[dict] = []
    with policy_session(
        task,
        str(candidates[-1]),
        num_envs=min(args.episodes, 16),
        device=default_device(),
        overrides=overrides,
        env_cfg_hook=lambda cfg: configure_for_evaluation(cfg, standing_s=3.0, protocol="task", obs_noise=args.obs_noise),
    ) as s:
        install_safe_runner_load()
        for ckpt in candidates:
            try:
                s.runner.load(str(ckpt), map_location=s.agent_cfg.device)
            except CheckpointError as exc:
                raise SystemExit(f"[select] {exc}") from None
            s.policy = s.runner.get_inference_policy(device=s.agent_cfg.device)
            with torch.inference_mode():  # the evaluation's tensors are inference tensors
                s.env.reset()
            r = evaluate(s, args.episodes, progress=False).to_dict()
            r = {"checkpoint": str(ckpt), **{k: r[k] for k in ("success_rate", "standing_after_end", "mpkpe_m", "r_mpkpe_m", "joint_pos_rmse_rad", "mean_episode_length_s")}}
            results.append(r)
            print(
                f"[select] {ckpt.name}: success {100 * r['success_rate']:.0f} %, standing {100 * r['standing_after_end']:.0f} %, "
                f"MPKPE {100 * r['mpkpe_m']:.1f} cm, episode {r['mean_episode_length_s']:.1f} s",
                flush=True,
            )
    best = min(results, key=rank_key)
    print(f"[select] chosen: {best['checkpoint']}", flush=True)
    if args.json:
        atomic_write_json(
            args.json,
            {"chosen": best["checkpoint"], "episodes": args.episodes, "obs_noise": args.obs_noise, "candidates": results},
        )
    if args.export:
        status = subprocess.call([sys.executable, str(REPO / "scripts" / "play.py"), "--checkpoint", best["checkpoint"], "--export_only", *overrides])
        if status != 0:
            raise SystemExit(f"[select] exporting {best['checkpoint']} failed (exit {status})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
