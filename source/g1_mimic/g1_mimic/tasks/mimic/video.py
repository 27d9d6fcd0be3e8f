"""``--video`` without Isaac Sim: clips of env 0 and its reference drawn by MuJoCo's offscreen renderer.

Isaac Lab records ``--video`` from a visualizer (Kit, Newton GL) through
:class:`isaaclab.envs.utils.video_recorder.VideoRecorder`. The kit-less install has neither a Kit
viewport nor a GL window, so :class:`MimicRLEnv <g1_mimic.tasks.mimic.env.MimicRLEnv>` swaps each
recorder that would need one (and every ``source="mujoco"`` recorder) for :class:`MujocoVideoRecorder`:
the same :class:`~isaaclab.envs.utils.video_recorder_cfg.VideoRecorderCfg` fields (``video_length``,
``video_interval``, ``step_offset``, ``frame_stride``, ``output_dir``, ``output_filename_prefix``,
``fps``, ``keep_last_n_clips``), the same trigger rules and file names, but each step it stores env
0's root pose and joint angles and the reference's, and at the end of a clip renders them with
:func:`g1_mimic.motion.render.render_motion` (the robot, the reference as a blue ghost beside it)
into ``<output_dir>/<prefix>_<index>.mp4`` (``.gif`` when ``imageio-ffmpeg`` is missing).
"""

from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path

import numpy as np

#: Distance (m, world +y) between the robot and its reference ghost in the clips.
GHOST_OFFSET = (0.0, 1.0, 0.0)


def kit_available() -> bool:
    """True when Isaac Sim (Kit) can be imported, so Isaac Lab's own visualizer recorders work."""
    return importlib.util.find_spec("isaacsim") is not None


def wants_mujoco(source: str) -> bool:
    """Whether a recorder ``source`` is served by MuJoCo here: ``"mujoco"``, or a Kit/auto visualizer without Kit."""
    return source == "mujoco" or (source in ("visualizer", "visualizer:kit") and not kit_available())


class MujocoVideoRecorder:
    """A drop-in for Isaac Lab's ``VideoRecorder`` (``step()`` each env step, ``close()``) rendering with MuJoCo."""

    def __init__(self, cfg, env) -> None:
        self.cfg = cfg
        self._env = env
        self._step_count = 0
        self._joint_names: list[str] = []  # read at the first frame: close() runs after the managers are gone
        self._frames_step_count = 0
        self._recording = False
        self._robot: dict[str, list[np.ndarray]] = {}
        self._ref: dict[str, list[np.ndarray]] = {}
        self._suffix = ".mp4" if importlib.util.find_spec("imageio_ffmpeg") is not None else ".gif"
        self._clip_index = self._next_clip_index()
        self.written: list[Path] = []

    # --- Isaac Lab's recorder interface -------------------------------------------------------
    def step(self) -> None:
        """Advance by one env step: start, extend or close a clip by the cfg's trigger rules."""
        self._step_count += 1
        if self._step_count <= self.cfg.step_offset:
            return
        effective = self._step_count - self.cfg.step_offset
        interval = self.cfg.video_interval
        if (effective == 1) if interval <= 0 else ((effective - 1) % interval == 0):
            if self._recording:
                self._close_clip()
            self._recording = True
            self._frames_step_count = 0
            self._robot = {"root_pos": [], "root_quat": [], "joint_pos": []}
            self._ref = {"root_pos": [], "root_quat": [], "joint_pos": []}
        if self._recording:
            self._frames_step_count += 1
            if self._frames_step_count % self.cfg.frame_stride == 0:
                self._capture()
            if self._frames_step_count >= self.cfg.video_length:
                self._close_clip()

    def close(self) -> None:
        """Write the clip in progress, if any."""
        if self._recording:
            self._close_clip()

    # --- internals -------------------------------------------------------------------------------
    def _capture(self) -> None:
        env = self._env
        command = env.command_manager.get_term("motion")
        robot = command.robot
        origin = env.scene.env_origins[0]
        ref = command.ref
        if not self._joint_names:
            self._joint_names = list(robot.joint_names)
        self._robot["root_pos"].append((robot.data.root_link_pos_w.torch[0] - origin).cpu().numpy())
        self._robot["root_quat"].append(robot.data.root_link_quat_w.torch[0].cpu().numpy())
        self._robot["joint_pos"].append(robot.data.joint_pos.torch[0].cpu().numpy())
        self._ref["root_pos"].append((ref.body_pos_w[0, command.root_index] - origin).cpu().numpy())
        self._ref["root_quat"].append(ref.body_quat_w[0, command.root_index].cpu().numpy())
        self._ref["joint_pos"].append(ref.joint_pos[0].cpu().numpy())

    def _motion(self, frames: dict[str, list[np.ndarray]], fps: float):
        from g1_mimic.motion.format import motion_from_root_and_joints

        return motion_from_root_and_joints(
            fps=fps,
            root_pos=np.stack(frames["root_pos"]),
            root_quat_xyzw=np.stack(frames["root_quat"]),
            joint_pos=np.stack(frames["joint_pos"]),
            joint_names=self._joint_names,
        )

    def _close_clip(self) -> None:
        self._recording = False
        if len(self._robot.get("root_pos", [])) < 2:
            return
        from g1_mimic.motion.render import render_motion

        fps = float(self.cfg.fps or 1.0 / (self._env.step_dt * self.cfg.frame_stride))
        path = self._clip_path(self._clip_index)
        robot, ref = self._motion(self._robot, fps), self._motion(self._ref, fps)
        out = render_motion(robot, path, reference=ref, reference_offset=GHOST_OFFSET)
        print(f"[g1_mimic] video: wrote {out} ({robot.num_frames} steps of env 0, reference beside it)", flush=True)
        self.written.append(out)
        self._clip_index += 1
        keep = self.cfg.keep_last_n_clips
        if keep is not None:
            for index in sorted(self._existing_clip_indices())[:-keep]:
                self._clip_path(index).unlink(missing_ok=True)

    def _output_dir(self) -> Path:
        return Path(self.cfg.output_dir or "videos")

    def _clip_path(self, index: int) -> Path:
        return self._output_dir() / f"{self.cfg.output_filename_prefix}_{index:04d}{self._suffix}"

    def _existing_clip_indices(self) -> list[int]:
        folder = self._output_dir()
        if not folder.is_dir():
            return []
        pattern = re.compile(rf"^{re.escape(str(self.cfg.output_filename_prefix))}_(\d+){re.escape(self._suffix)}$")
        return [int(m.group(1)) for name in os.listdir(folder) if (m := pattern.match(name))]

    def _next_clip_index(self) -> int:
        return max(self._existing_clip_indices(), default=-1) + 1


def install_kitless_video() -> None:
    """Make Isaac Lab's training entry point record ``--video`` with MuJoCo when Isaac Sim is absent.

    Isaac Lab's ``pre_launch_video_config`` would add a headless Kit viewport (which cannot start
    without Isaac Sim); this declares a ``source="mujoco"`` recorder instead (every 2000 env steps,
    Isaac Lab's default cadence; ``--video_length`` and ``--video_interval`` still apply), which
    :class:`~g1_mimic.tasks.mimic.env.MimicRLEnv` serves with :class:`MujocoVideoRecorder`. No-op
    with Isaac Sim installed, or when ``--viz`` names a visualizer.
    """
    if kit_available():
        return
    from isaaclab.envs.utils.video_recorder_cfg import VideoRecorderCfg
    from isaaclab_rl.entrypoints.backends import train_rsl_rl

    original = getattr(train_rsl_rl.pre_launch_video_config, "_g1_mimic_original", train_rsl_rl.pre_launch_video_config)

    def pre_launch_video_config(env_cfg, args_cli) -> None:
        viz = getattr(args_cli, "visualizer", None)
        if getattr(args_cli, "video", False) and not getattr(env_cfg, "video_recorders", None) and not viz:
            env_cfg.video_recorders = [VideoRecorderCfg(source="mujoco", video_interval=2000)]
        original(env_cfg, args_cli)

    pre_launch_video_config._g1_mimic_original = original  # type: ignore[attr-defined]
    train_rsl_rl.pre_launch_video_config = pre_launch_video_config
