"""Run a trained G1 tracker, export it (ONNX + TorchScript + metadata) and optionally save the rollout.

    python scripts/play.py --checkpoint logs/rsl_rl/g1_mimic/<run>/model_300.pt [--motion PATH]
        [--num_envs 1] [--steps 500] [--save_motion OUT.npz] [--video [--video_length N]] [--export_only] [--viz kit|newton]
        [--real-time]

Exports to ``<checkpoint folder>/exported/``. With ``--save_motion`` the robot's rollout of env 0 is
written as a canonical motion file, so it can be rendered beside its reference
(``scripts/motion.py render``). The play cfg is used: few envs, no randomisation or pushes,
episodes from frame 0, reference markers on when a visualizer is open. Headless, it plays one episode
(or ``--steps``); with a visualizer (``--viz``) and no ``--steps``/``--save_motion``/``--video`` it plays
until Ctrl-C, through Isaac Lab's own playback loop (``isaaclab_rl.entrypoints.common.run_playback``, as
Isaac Lab's play entry point does). ``--real-time`` paces the steps to the control period. ``--video`` records env 0
with its reference beside it into ``<checkpoint folder>/videos/play/model_<N>_0000.mp4`` (MuJoCo's
offscreen renderer when Isaac Sim is absent; see :mod:`g1_mimic.tasks.mimic.video`).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

from g1_mimic.cliargs import positive


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default=None, help="task id (default: the one the checkpoint's run was trained on)")
    parser.add_argument("--checkpoint", required=True, help="model_<iter>.pt, a run folder (its last checkpoint) or latest")
    parser.add_argument("--motion", default=None, help="motion file, folder or YAML list (default: the task's)")
    parser.add_argument("--num_envs", type=positive(int), default=1)
    parser.add_argument("--device", default=None)
    parser.add_argument("--steps", type=positive(int), default=None, help="steps to play (default: one episode)")
    parser.add_argument("--export_only", action="store_true", help="export and exit without playing")
    parser.add_argument("--save_motion", default=None, help="write env 0's rollout as a canonical motion .npz")
    parser.add_argument("--viz", default=None, help="visualizer (kit, newton, rerun, viser); default headless")
    parser.add_argument(
        "--video", action="store_true", help="record env 0 and its reference to <run>/videos/play/ (MuJoCo renderer without Isaac Sim)"
    )
    parser.add_argument("--video_length", type=positive(int), default=None, help="env steps per video (default: --steps)")
    parser.add_argument(
        "--real-time", dest="real_time", action="store_true", help="pace the steps to the control period (Isaac Lab's flag)"
    )
    parser.add_argument("--headless", action="store_true", help="accepted for habit; headless is the default")
    args, overrides = parser.parse_known_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from g1_mimic.rl.checkpoint import resolve_play_target

    ckpt, args.task = resolve_play_target(args.checkpoint, args.task, args.motion, overrides, "play")

    import torch

    from g1_mimic.device import default_device
    from g1_mimic.rl.export import export_policy
    from g1_mimic.rl.session import policy_session

    device = args.device or default_device()
    launcher = argparse.Namespace(device=device, visualizer=args.viz)
    hook = None
    if args.video:
        from isaaclab.envs.utils.video_recorder_cfg import VideoRecorderCfg

        from g1_mimic.tasks.mimic.video import kit_available

        def hook(env_cfg) -> None:
            length = args.video_length or args.steps or int(env_cfg.episode_length_s / (env_cfg.sim.dt * env_cfg.decimation))
            env_cfg.video_recorders = [
                VideoRecorderCfg(
                    source="visualizer" if (args.viz and kit_available()) else "mujoco",
                    video_length=length,
                    output_dir=str(ckpt.parent / "videos" / "play"),
                    output_filename_prefix=ckpt.stem,
                )
            ]

    with policy_session(
        args.task, str(ckpt), num_envs=args.num_envs, device=device, overrides=overrides, launcher_args=launcher, env_cfg_hook=hook
    ) as s:
        paths = export_policy(s.runner, s.unwrapped, ckpt.parent / "exported")
        for p in paths.values():
            print(f"[play] exported {p}", flush=True)
        if args.export_only:
            return 0
        uenv = s.unwrapped
        robot = uenv.scene["robot"]
        frames: dict[str, list[np.ndarray]] = {"root_pos": [], "root_quat": [], "joint_pos": []}
        obs = s.env.get_observations()
        episode_over = False

        def step() -> None:
            nonlocal obs, episode_over
            obs, _, dones, _ = s.env.step(s.policy(obs))
            if args.save_motion and not episode_over:
                if bool(dones[0]) and frames["root_pos"]:
                    episode_over = True  # the rollout file holds env 0's first episode
                    return
                origin = uenv.scene.env_origins[0].cpu().numpy()
                frames["root_pos"].append(robot.data.root_pos_w.torch[0].cpu().numpy() - origin)
                frames["root_quat"].append(robot.data.root_quat_w.torch[0].cpu().numpy())
                frames["joint_pos"].append(robot.data.joint_pos.torch[0].cpu().numpy())

        if args.viz and not (args.steps or args.save_motion or args.video):
            from isaaclab_rl.entrypoints.common import run_playback

            playback = argparse.Namespace(video=False, video_length=None, real_time=args.real_time)
            run_playback(step, dt=uenv.step_dt, args_cli=playback, env_cfg=uenv.cfg)  # until Ctrl-C
        else:
            steps = args.steps or int(uenv.max_episode_length)
            played = 0
            start = time.perf_counter()
            with torch.inference_mode():
                while played < steps and not episode_over:
                    t0 = time.perf_counter()
                    step()
                    played += 1
                    if args.real_time:
                        time.sleep(max(0.0, uenv.step_dt - (time.perf_counter() - t0)))
            wall = time.perf_counter() - start
            print(f"[play] {played} steps ({played * uenv.step_dt:.2f} s of simulated time) in {wall:.2f} s", flush=True)
        if args.save_motion:
            from g1_mimic.motion.format import motion_from_root_and_joints

            motion = motion_from_root_and_joints(
                fps=1.0 / uenv.step_dt,
                root_pos=np.stack(frames["root_pos"]),
                root_quat_xyzw=np.stack(frames["root_quat"]),
                joint_pos=np.stack(frames["joint_pos"]),
                joint_names=list(robot.joint_names),
                source={"rollout_of": str(ckpt), "task": args.task},
            )
            out = motion.save(args.save_motion)
            print(f"[play] saved rollout ({motion.num_frames} frames) to {out}", flush=True)
    return 0


if __name__ == "__main__":
    from g1_mimic.rl.checkpoint import CheckpointError

    try:
        sys.exit(main())
    except CheckpointError as exc:  # a refused, unreadable or mismatched checkpoint: one line, no traceback
        sys.exit(f"[play] {exc}")
