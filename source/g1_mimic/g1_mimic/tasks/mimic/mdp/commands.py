"""The motion command: the reference state the robot must track, from the motion library.

Per env it holds a clip id and a start time; the reference time is
``t = start + episode_length * step_dt`` so the reference and the simulated robot always refer to
the same instant (after a reset, after every step, at start-up). The reference is computed lazily,
once per env step, when the first term asks for it.

Frames: ``*_w`` are world frame (motion file frame shifted by the env origin); the anchor body is
BeyondMimic's ``torso_link``. :meth:`MotionCommand.relative_body_pose_w` gives the reference
bodies re-anchored to the robot: the reference is translated so its anchor sits at the robot
anchor's xy (reference height kept) and rotated by the yaw difference between the anchors.
Quaternions are xyzw (Isaac Lab 3.0).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import MISSING
from typing import TYPE_CHECKING

import isaaclab.utils.math as math_utils
import torch
from isaaclab.managers import CommandTerm, CommandTermCfg
from isaaclab.utils import configclass

from g1_mimic.motion.library import MotionLibrary, MotionState

from .tracking import TrackingFrame, compute_tracking_frame

#: Tracking-error metrics of the command (``Metrics/<command>/error_<name>``), in table order.
METRIC_NAMES: tuple[str, ...] = (
    "anchor_pos", "anchor_rot", "joint_pos", "joint_vel", "body_pos", "body_rot", "body_lin_vel", "body_ang_vel",
)

_BODY_POS = METRIC_NAMES.index("body_pos")
"""Column of the body position error in the metric table (what ended episodes report to the library)."""

if TYPE_CHECKING:
    from isaaclab.assets import Articulation
    from isaaclab.envs import ManagerBasedRLEnv


class MotionCommand(CommandTerm):
    """Reference-motion command term (BeyondMimic's ``MotionCommand``, multi-clip).

    ``command`` is the reference joint positions and velocities ``[N, 2J]`` (robot joint order).
    """

    cfg: MotionCommandCfg

    def __init__(self, cfg: MotionCommandCfg, env: ManagerBasedRLEnv):
        super().__init__(cfg, env)
        if not 0.0 <= cfg.frame0_share <= 1.0:
            raise ValueError(
                f"env.commands.motion.frame0_share must be a share in [0, 1], got {cfg.frame0_share}; "
                "e.g. env.commands.motion.frame0_share=0.2"
            )
        lo, hi = cfg.displacement_range
        if not (0.0 <= cfg.displaced_share <= 1.0 and 0.0 <= lo <= hi):
            raise ValueError(
                f"env.commands.motion.displaced_share must be a share in [0, 1] and displacement_range (m) a range "
                f"0 <= low <= high; got {cfg.displaced_share} and {cfg.displacement_range}; e.g. "
                "env.commands.motion.displaced_share=0.2 'env.commands.motion.displacement_range=[0.1,0.3]'"
            )
        self.robot: Articulation = env.scene[cfg.asset_name]
        self.joint_names: list[str] = list(self.robot.joint_names)
        self.body_names: list[str] = list(cfg.body_names)
        self.robot_body_ids = torch.tensor(
            [self.robot.body_names.index(n) for n in self._check_bodies(self.body_names)], device=self.device
        )
        self.anchor_name = cfg.anchor_body_name
        self.robot_anchor_id = self.robot.body_names.index(self._check_bodies([self.anchor_name])[0])
        self._check_bodies([cfg.root_body_name])
        # library bodies: the tracked bodies, then the anchor and the root if they are not tracked
        lib_bodies = list(self.body_names)
        for extra in (self.anchor_name, cfg.root_body_name):
            if extra not in lib_bodies:
                lib_bodies.append(extra)
        self.anchor_index = lib_bodies.index(self.anchor_name)
        self.root_index = lib_bodies.index(cfg.root_body_name)
        self.library = MotionLibrary.from_path(
            cfg.motion_file,
            joint_names=self.joint_names,
            body_names=lib_bodies,
            device=self.device,
            sampling=cfg.sampling,
            clip_weighting=cfg.clip_weighting,
            tail_mode=cfg.tail_mode,
            tail_blend_time=cfg.tail_blend_time_s,
            default_joint_pos=self.robot.data.default_joint_pos.torch[0].tolist(),
            contact_body_names=list(cfg.contact_body_names),
        )
        n = self.num_envs
        self.clip_ids = torch.zeros(n, dtype=torch.long, device=self.device)
        self.start_time = torch.zeros(n, device=self.device)
        self._ref: MotionState = self.library.get_state(self.clip_ids, self.start_time)
        self._fresh_at = -1
        self._ref_version = 0  # bumped whenever the reference tensors are recomputed or rewritten
        self._tracking: tuple | None = None  # (reference version, robot body poses, velocities, frame)
        self._robot_body_ids_i32 = self.robot_body_ids.to(torch.int32)
        self._env_ids_all = torch.arange(n, device=self.device)
        self._last_sampling_log = 0
        # one [N, 8] table updated in one operation per step; the metrics are its columns (in the order
        # of _update_metrics' errors; the base class logs and zeroes them in place at reset)
        self._metric_table = torch.zeros(n, len(METRIC_NAMES), device=self.device)
        for k, key in enumerate(METRIC_NAMES):
            self.metrics[f"error_{key}"] = self._metric_table[:, k]

    def _check_bodies(self, names: Sequence[str]) -> Sequence[str]:
        missing = [b for b in names if b not in self.robot.body_names]
        if missing:
            raise ValueError(
                f"MotionCommandCfg: body name(s) {missing} are not bodies of '{self.cfg.asset_name}'. "
                f"Its bodies: {list(self.robot.body_names)}"
            )
        return names

    # ------------------------------------------------------------------ time and reference
    @property
    def time_s(self) -> torch.Tensor:
        """Reference time of each env (s): start time + elapsed episode time."""
        return self.start_time + self._env.episode_length_buf.to(self.start_time.dtype) * self._env.step_dt

    @property
    def clip_end_time(self) -> torch.Tensor:
        """Time (s) at which each env's episode ends by motion completion: clip duration + tail."""
        return self.library.clip_duration[self.clip_ids] + self.cfg.tail_s

    @property
    def ref(self) -> MotionState:
        """Reference state at :attr:`time_s` (robot joint order, tracked-body order, world frame)."""
        step = int(self._env.common_step_counter)
        if self._fresh_at != step:
            self._ref = self.library.get_state(self.clip_ids, self.time_s)
            self._shift_to_env_origins(self._ref, self._env_ids_all)
            self._fresh_at = step
            self._ref_version += 1
        return self._ref

    def _shift_to_env_origins(self, state: MotionState, env_ids: torch.Tensor) -> None:
        state.body_pos_w += self._env.scene.env_origins[env_ids].unsqueeze(1)

    @property
    def command(self) -> torch.Tensor:
        ref = self.ref
        return torch.cat([ref.joint_pos, ref.joint_vel], dim=-1)

    @property
    def joint_pos(self) -> torch.Tensor:
        return self.ref.joint_pos

    @property
    def joint_vel(self) -> torch.Tensor:
        return self.ref.joint_vel

    @property
    def body_pos_w(self) -> torch.Tensor:
        return self.ref.body_pos_w[:, : len(self.body_names)]

    @property
    def body_quat_w(self) -> torch.Tensor:
        return self.ref.body_quat_w[:, : len(self.body_names)]

    @property
    def body_lin_vel_w(self) -> torch.Tensor:
        return self.ref.body_lin_vel_w[:, : len(self.body_names)]

    @property
    def body_ang_vel_w(self) -> torch.Tensor:
        return self.ref.body_ang_vel_w[:, : len(self.body_names)]

    @property
    def anchor_pos_w(self) -> torch.Tensor:
        return self.ref.body_pos_w[:, self.anchor_index]

    @property
    def anchor_quat_w(self) -> torch.Tensor:
        return self.ref.body_quat_w[:, self.anchor_index]

    @property
    def robot_body_pos_w(self) -> torch.Tensor:
        return self.robot.data.body_pos_w.torch[:, self.robot_body_ids]

    @property
    def robot_anchor_pos_w(self) -> torch.Tensor:
        return self.robot.data.body_pos_w.torch[:, self.robot_anchor_id]

    @property
    def robot_anchor_quat_w(self) -> torch.Tensor:
        return self.robot.data.body_quat_w.torch[:, self.robot_anchor_id]

    def tracking(self) -> TrackingFrame:
        """The anchor-relative transforms and tracking errors of this step (:class:`~.tracking.TrackingFrame`).

        Computed by one kernel (:func:`~.tracking.compute_tracking_frame`) when first asked for, and
        reused while the reference (same step, no resample) and the robot's body poses and velocities
        (compared exactly) are unchanged: rewards, terminations, metrics and both observation groups
        read it within one env step. Treat its tensors as read-only.
        """
        _ = self.ref  # refreshes the reference (and bumps its version) when the step changed
        data = self.robot.data
        pose = data.body_link_pose_w.torch
        vel = data.body_link_vel_w.torch
        hit = self._tracking
        if hit is not None and hit[0] == self._ref_version and torch.equal(hit[1], pose) and torch.equal(hit[2], vel):
            return hit[3]
        ref = self._ref
        frame = compute_tracking_frame(
            ref.body_pos_w, ref.body_quat_w, ref.body_lin_vel_w, ref.body_ang_vel_w, self.anchor_index,
            pose, vel, self._robot_body_ids_i32, self.robot_anchor_id,
        )
        self._tracking = (self._ref_version, pose.clone(), vel.clone(), frame)
        return frame

    def relative_body_pose_w(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Reference body poses re-anchored to the robot anchor's xy and yaw (world frame).

        Returns positions ``[N, B, 3]`` (m) and orientations ``[N, B, 4]``; read-only, from :meth:`tracking`.
        """
        frame = self.tracking()
        return frame.rel_body_pos_w, frame.rel_body_quat_w

    def anchor_pose_b(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Reference anchor position ``[N, 3]`` (m) and orientation ``[N, 4]`` in the robot anchor frame
        (read-only, from :meth:`tracking`)."""
        frame = self.tracking()
        return frame.anchor_pos_b, frame.anchor_quat_b

    def anchor_ori6d_b(self) -> torch.Tensor:
        """Reference anchor orientation in the robot anchor frame as a 6-D rotation ``[N, 6]`` (from :meth:`tracking`)."""
        return self.tracking().anchor_ori6d_b

    def robot_body_pose_b(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Tracked robot body positions ``[N, B, 3]`` (m) and orientations ``[N, B, 4]`` in the robot anchor
        frame (read-only, from :meth:`tracking`)."""
        frame = self.tracking()
        return frame.robot_body_pos_b, frame.robot_body_quat_b

    # ------------------------------------------------------------------ CommandTerm hooks
    def reset(self, env_ids: Sequence[int] | slice | None = None) -> dict[str, torch.Tensor]:
        """Reset (see :class:`CommandTerm`), adding the library's sampling state to the logs.

        The ending episodes are reported to the library first (:meth:`_report_ended_episodes`). The
        sampling state (per-clip success rates, errors and probabilities, adaptive-bin entropy) is
        added at most every ``cfg.sampling_log_interval`` env steps; it appears in the training
        logs as ``Metrics/<command name>/sampling/...`` and ``.../clip/<name>/...``.
        """
        self._report_ended_episodes(env_ids)
        extras = super().reset(env_ids)
        step = int(self._env.common_step_counter)
        if step > 0 and step - self._last_sampling_log >= self.cfg.sampling_log_interval:
            self._last_sampling_log = step
            extras.update(self.library.sampling_state())
        return extras

    def _report_ended_episodes(self, env_ids: Sequence[int] | slice | None) -> None:
        """Tell the library how the episodes of ``env_ids`` ended: clip, motion time (s), failed
        (terminated) or not, and the episode-mean body position error (m, the ``error_body_pos``
        metric, read before the base class zeroes it). Nothing at start-up, when no episode has run."""
        if self._env.common_step_counter == 0:
            return
        ids = self._env_id_tensor(slice(None) if env_ids is None else env_ids)
        if ids.numel() == 0:
            return
        failed = self._env.termination_manager.terminated[ids]
        errors = self._metric_table[ids, _BODY_POS]
        self.library.update_failures(self.clip_ids[ids], self.time_s[ids], failed, errors)

    def _env_id_tensor(self, env_ids: Sequence[int] | slice) -> torch.Tensor:
        """``env_ids`` (a slice, a sequence or a tensor) as a long tensor of env indices on the command's device."""
        if isinstance(env_ids, slice):
            return self._env_ids_all[env_ids]
        return torch.as_tensor(env_ids, device=self.device).long()

    def _update_metrics(self):
        """Per-step tracking errors, kept as each env's running mean over its current episode.

        The base class logs the mean over the envs that reset, so ``Metrics/motion/error_*`` are
        episode-averaged errors (not the error of the terminal, often failing, state). Anchor errors
        in m and rad, body errors averaged over the tracked bodies (positions after re-anchoring,
        velocities world frame), joint errors as norms over the joints.
        """
        ref = self.ref
        frame = self.tracking()
        data = self.robot.data
        joint = torch.stack(
            (
                torch.linalg.vector_norm(ref.joint_pos - data.joint_pos.torch, dim=-1),
                torch.linalg.vector_norm(ref.joint_vel - data.joint_vel.torch, dim=-1),
            ),
            dim=-1,
        )
        errors = torch.cat(
            (frame.anchor_pos_err2.sqrt().unsqueeze(-1), frame.anchor_rot_err.unsqueeze(-1), joint,
             frame.sums[:, 4:] / len(self.body_names)),
            dim=-1,
        )
        inv_n = 1.0 / self._env.episode_length_buf.clamp(min=1).to(torch.float32)
        table = self._metric_table
        table += (errors - table) * inv_n.unsqueeze(-1)

    def _resample_command(self, env_ids: Sequence[int] | slice):
        env_ids = self._env_id_tensor(env_ids)
        if env_ids.numel() == 0:
            return
        if self.cfg.start_at_zero:
            clips, times = self.library.sample(env_ids.numel())
            times = torch.zeros_like(times)
            if self.cfg.sequential_clips:
                clips = env_ids.long() % self.library.num_clips
        else:
            clips, times = self.library.sample(env_ids.numel())
            if self.cfg.frame0_share > 0.0:
                from_start = torch.rand(times.shape, device=times.device) < self.cfg.frame0_share
                times = torch.where(from_start, torch.zeros_like(times), times)
        self.clip_ids[env_ids] = clips
        # the episode counter of these envs is reset to 0 by the env, so time_s == start_time
        self.start_time[env_ids] = times
        state = self.library.get_state(clips, times)
        self._shift_to_env_origins(state, env_ids)
        self._write_ref(self._ref, state, env_ids)
        self._reset_robot_to_reference(env_ids, state)

    def _write_ref(self, dst: MotionState, src: MotionState, env_ids: torch.Tensor) -> None:
        for name in ("joint_pos", "joint_vel", "body_pos_w", "body_quat_w", "body_lin_vel_w", "body_ang_vel_w"):
            getattr(dst, name)[env_ids] = getattr(src, name)
        if dst.contact is not None:
            dst.contact[env_ids] = src.contact
        self._ref_version += 1

    def _reset_robot_to_reference(self, env_ids: torch.Tensor, state: MotionState) -> None:
        """Reference-state initialisation: put the robot on the reference root pose/velocity and joints, plus noise
        (and, for ``displaced_share`` of the resets, a horizontal displacement of the whole robot)."""
        cfg = self.cfg
        n = env_ids.numel()
        root = self.root_index
        pos = state.body_pos_w[:, root].clone()
        quat = state.body_quat_w[:, root].clone()
        lin = state.body_lin_vel_w[:, root].clone()
        ang = state.body_ang_vel_w[:, root].clone()
        keys = ("x", "y", "z", "roll", "pitch", "yaw")
        pose_noise = math_utils.sample_uniform_from_ranges(cfg.pose_range, keys, n, device=self.device)
        vel_noise = math_utils.sample_uniform_from_ranges(cfg.velocity_range, keys, n, device=self.device)
        pos += pose_noise[:, :3]
        if cfg.displaced_share > 0.0 and not cfg.start_at_zero:
            # some starts off the reference's path, in a random horizontal direction: episodes that must step back
            moved = torch.rand(n, device=self.device) < cfg.displaced_share
            dist = math_utils.sample_uniform(*cfg.displacement_range, (n,), self.device) * moved
            heading = math_utils.sample_uniform(-torch.pi, torch.pi, (n,), self.device)
            pos[:, 0] += dist * torch.cos(heading)
            pos[:, 1] += dist * torch.sin(heading)
        quat = math_utils.quat_mul(math_utils.quat_from_euler_xyz(pose_noise[:, 3], pose_noise[:, 4], pose_noise[:, 5]), quat)
        lin += vel_noise[:, :3]
        ang += vel_noise[:, 3:]
        joint_pos = state.joint_pos.clone()
        joint_vel = state.joint_vel.clone()
        if cfg.joint_position_range != (0.0, 0.0):
            joint_pos += math_utils.sample_uniform(*cfg.joint_position_range, joint_pos.shape, self.device)
        limits = self.robot.data.soft_joint_pos_limits.torch[env_ids]
        joint_pos = torch.clamp(joint_pos, limits[..., 0], limits[..., 1])
        self.robot.write_root_pose_to_sim_index(root_pose=torch.cat([pos, quat], dim=-1), env_ids=env_ids)
        self.robot.write_root_link_velocity_to_sim_index(root_velocity=torch.cat([lin, ang], dim=-1), env_ids=env_ids)
        self.robot.write_joint_state_to_sim_index(position=joint_pos, velocity=joint_vel, env_ids=env_ids)

    def _update_command(self):
        # the reference is computed lazily by `ref`; nothing to integrate here
        pass

    # ------------------------------------------------------------------ debug visualisation (GUI)
    def _set_debug_vis_impl(self, debug_vis: bool):
        if debug_vis:
            if not hasattr(self, "_ref_body_markers"):
                from isaaclab.markers import VisualizationMarkers
                from isaaclab.markers.config import FRAME_MARKER_CFG

                cfg = FRAME_MARKER_CFG.replace(prim_path="/Visuals/Command/reference_bodies")
                cfg.markers["frame"].scale = (0.08, 0.08, 0.08)
                self._ref_body_markers = VisualizationMarkers(cfg)
                acfg = FRAME_MARKER_CFG.replace(prim_path="/Visuals/Command/reference_anchor")
                acfg.markers["frame"].scale = (0.2, 0.2, 0.2)
                self._ref_anchor_marker = VisualizationMarkers(acfg)
            self._ref_body_markers.set_visibility(True)
            self._ref_anchor_marker.set_visibility(True)
        elif hasattr(self, "_ref_body_markers"):
            self._ref_body_markers.set_visibility(False)
            self._ref_anchor_marker.set_visibility(False)

    def _debug_vis_callback(self, event):
        if not self.robot.is_initialized:
            return
        pos, quat = self.relative_body_pose_w()
        self._ref_body_markers.visualize(pos.reshape(-1, 3), quat.reshape(-1, 4))
        self._ref_anchor_marker.visualize(self.anchor_pos_w, self.anchor_quat_w)


@configclass
class MotionCommandCfg(CommandTermCfg):
    """Configuration of :class:`MotionCommand`."""

    class_type: type = MotionCommand

    asset_name: str = MISSING
    """Articulation that tracks the motion."""

    motion_file: str = MISSING
    """Canonical motion ``.npz``, a folder of them, or a YAML list with per-clip weights."""

    anchor_body_name: str = MISSING
    """Body whose pose anchors the relative targets (BeyondMimic: ``torso_link``)."""

    body_names: list[str] = MISSING
    """Tracked bodies (rewards, critic observations, metrics)."""

    root_body_name: str = "pelvis"
    """Floating-base body; reference-state initialisation writes its pose and velocity."""

    resampling_time_range: tuple[float, float] = (1.0e9, 1.0e9)
    """Commands are resampled only at reset."""

    pose_range: dict[str, tuple[float, float]] = {}
    """Reset noise added to the reference root pose: keys x, y, z (m), roll, pitch, yaw (rad)."""

    velocity_range: dict[str, tuple[float, float]] = {}
    """Reset noise added to the reference root velocity (world frame): x, y, z (m/s), roll, pitch, yaw (rad/s)."""

    joint_position_range: tuple[float, float] = (0.0, 0.0)
    """Reset noise added to the reference joint positions (rad), clipped to the soft limits."""

    sampling: str = "adaptive"
    """Start-time sampling: ``"adaptive"`` (BeyondMimic failure bins) or ``"uniform"``."""

    clip_weighting: str = "static"
    """Clip choice: ``"static"`` (file weights) or ``"success_rate"`` (VideoMimic)."""

    start_at_zero: bool = False
    """Start every episode at frame 0 (evaluation, play)."""

    sequential_clips: bool = False
    """With ``start_at_zero``: env ``i`` plays clip ``i % num_clips`` (evaluation covers every clip)."""

    frame0_share: float = 0.0
    """Training: the share of resets (0 to 1) that start at frame 0 of the sampled clip instead of at the
    sampled start time, so that some episodes play the clip from its start, as evaluation does, and meet
    the deviations that build up over a whole clip (pair it with an ``episode_length_s`` as long as the
    clip). Ignored with ``start_at_zero``."""

    displaced_share: float = 0.0
    """Training: the share of resets (0 to 1) whose robot starts displaced horizontally from the reference's root
    by a distance drawn from ``displacement_range`` in a random direction (on top of ``pose_range``), so that
    some episodes begin off the reference's path and must step back onto it (a policy that only ever starts
    on the path learns to hold a drift, not to make it up). Ignored with ``start_at_zero``."""

    displacement_range: tuple[float, float] = (0.1, 0.3)
    """Horizontal displacement (m) of a displaced start (``displaced_share``)."""

    tail_s: float = 0.0
    """Seconds the episode continues after the clip ends (the reference holds or blends, see ``tail_mode``)."""

    tail_mode: str = "hold"
    """After the clip: ``"hold"`` the last frame or ``"blend"`` to the default pose over ``tail_blend_time_s``."""

    tail_blend_time_s: float = 1.0

    contact_body_names: list[str] = []
    """Bodies whose reference ground contact the command serves (``ref.contact``, for contact matching);
    labels from the clip files, else estimated from the clip kinematics (:mod:`g1_mimic.motion.contacts`)."""
    sampling_log_interval: int = 24
    """Env steps between two logs of the sampling state (one rsl_rl rollout by default)."""
