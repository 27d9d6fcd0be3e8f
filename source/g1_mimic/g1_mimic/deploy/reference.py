"""The reference state at time ``t`` from a canonical motion file, in numpy, exactly as the env computes it.

Mirrors :meth:`g1_mimic.motion.library.MotionLibrary.get_state` for one clip (the training env's
``MotionCommand`` reads it from there):

* the clip's arrays are reordered by name onto the requested joints/bodies, body quaternions are
  unit-normalised, and everything is rounded to float32 (the library's storage precision);
* frame ``i`` is at ``i / fps`` s; ``f = min(max(t, 0) * fps, T - 1)`` (float32 arithmetic), the
  state is interpolated between frames ``floor(f)`` and ``min(floor(f) + 1, T - 1)``: linearly for
  joints, positions and velocities, by short-arc slerp for orientations;
* past the end (``t > duration``): ``tail_mode="hold"`` keeps the last frame with zero velocities;
  ``"blend"`` moves the joint positions linearly to ``default_joint_pos`` over ``tail_blend_time_s``
  (joint velocity = the blend's slope inside the window), bodies hold the last frame.

Frames: positions/orientations/velocities in the motion file's world frame (m, xyzw, m/s, rad/s),
optionally re-expressed in the robot's world by :meth:`ReferenceMotion.align` (a yaw rotation and a
translation, BeyondMimic's deploy-time alignment). No torch, no Isaac Lab.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from g1_mimic.motion.format import Motion
from g1_mimic.motion.quat import slerp

from . import rotations as R

__all__ = ["ReferenceFrame", "ReferenceMotion"]


@dataclass
class ReferenceFrame:
    """The reference at one time.

    Attributes:
        time_s: the query time (s from the clip start).
        joint_pos: ``[J]`` joint angles (rad), :attr:`ReferenceMotion.joint_names` order.
        joint_vel: ``[J]`` joint velocities (rad/s).
        body_pos_w: ``[B, 3]`` body frame origins, world (m), :attr:`ReferenceMotion.body_names` order.
        body_quat_w: ``[B, 4]`` body orientations, world, xyzw.
        body_lin_vel_w: ``[B, 3]`` linear velocities of the body origins, world (m/s).
        body_ang_vel_w: ``[B, 3]`` angular velocities, world (rad/s).
        body_index: body name -> row.
    """

    time_s: float
    joint_pos: np.ndarray
    joint_vel: np.ndarray
    body_pos_w: np.ndarray
    body_quat_w: np.ndarray
    body_lin_vel_w: np.ndarray
    body_ang_vel_w: np.ndarray
    body_index: dict[str, int]

    def pos(self, body: str) -> np.ndarray:
        """Position (m, world) of ``body``."""
        return self.body_pos_w[self.body_index[body]]

    def quat(self, body: str) -> np.ndarray:
        """Orientation (xyzw, world) of ``body``."""
        return self.body_quat_w[self.body_index[body]]


class ReferenceMotion:
    """One reference clip queried by time, with the env's interpolation and tail rules.

    Args:
        motion: the clip (canonical :class:`~g1_mimic.motion.format.Motion`).
        joint_names: joints to return, in the order of the returned arrays.
        body_names: bodies to return (e.g. anchor, tracked bodies, root).
        tail_mode: ``"hold"`` or ``"blend"`` (see the module docstring).
        tail_blend_time_s: blend duration (s) for ``"blend"``.
        default_joint_pos: ``[J]`` blend target (rad, ``joint_names`` order); required for ``"blend"``.

    Raises:
        KeyError / MotionFormatError: the clip lacks a requested joint or body (named).
        ValueError: unknown tail mode or missing blend target.
    """

    def __init__(
        self,
        motion: Motion,
        joint_names: Sequence[str],
        body_names: Sequence[str],
        tail_mode: str = "hold",
        tail_blend_time_s: float = 0.0,
        default_joint_pos: Sequence[float] | None = None,
    ):
        if tail_mode not in ("hold", "blend"):
            raise ValueError(f"tail_mode must be 'hold' or 'blend', got {tail_mode!r}")
        self.joint_names: tuple[str, ...] = tuple(joint_names)
        self.body_names: tuple[str, ...] = tuple(dict.fromkeys(body_names))
        self.body_index = {n: i for i, n in enumerate(self.body_names)}
        jcols, brows = motion.joint_index(list(self.joint_names)), motion.body_index(list(self.body_names))
        f32 = np.float32
        self._joint_pos = motion.joint_pos[:, jcols].astype(f32)
        self._joint_vel = motion.joint_vel[:, jcols].astype(f32)
        self._body_pos = motion.body_pos_w[:, brows].astype(f32)
        quat = np.asarray(motion.body_quat_w[:, brows], dtype=np.float64)
        self._body_quat = (quat / np.linalg.norm(quat, axis=-1, keepdims=True)).astype(f32)
        self._body_lin = motion.body_lin_vel_w[:, brows].astype(f32)
        self._body_ang = motion.body_ang_vel_w[:, brows].astype(f32)
        self.fps = float(motion.fps)
        self.num_frames = motion.num_frames
        self._fps32 = f32(self.fps)
        self._last32 = f32(self.num_frames - 1)
        self._duration32 = f32((self.num_frames - 1) / self.fps)
        self.tail_mode = tail_mode
        self.tail_blend_time_s = float(tail_blend_time_s)
        if tail_mode == "blend":
            if default_joint_pos is None:
                raise ValueError("tail_mode='blend' needs default_joint_pos (rad, one per joint)")
        dflt = (
            np.zeros(len(self.joint_names))
            if default_joint_pos is None
            else np.asarray(default_joint_pos, dtype=np.float64)
        )
        if dflt.shape != (len(self.joint_names),):
            raise ValueError(f"default_joint_pos must hold {len(self.joint_names)} values, got shape {dflt.shape}")
        self._default = dflt.astype(f32)
        # alignment (motion world -> robot world): yaw rotation then translation
        self._align_quat: np.ndarray | None = None
        self._align_pos = np.zeros(3)

    @property
    def duration(self) -> float:
        """Time of the last frame (s), float32-rounded as in the env."""
        return float(self._duration32)

    # ---------------------------------------------------------------------------------- alignment
    def align(self, yaw: float, translation: Sequence[float]) -> None:
        """Express the reference in another world frame: ``p' = Rz(yaw) p + translation`` (m, rad).

        Orientations are pre-multiplied by the yaw rotation and velocities rotated by it. ``align(0,
        (0, 0, 0))`` restores the motion file's frame.
        """
        self._align_quat = np.array([0.0, 0.0, np.sin(0.5 * yaw), np.cos(0.5 * yaw)]) if yaw != 0.0 else None
        self._align_pos = np.asarray(translation, dtype=np.float64).reshape(3)

    def align_to(
        self, root_body: str, root_pos_w: np.ndarray, root_quat_w: np.ndarray, t: float = 0.0
    ) -> tuple[float, np.ndarray]:
        """Align so the reference ``root_body`` at time ``t`` has the given xy position and yaw (height kept).

        Use at deploy start: the robot's measured root pose defines where the clip is played.
        Returns the applied ``(yaw, translation)``.
        """
        self.align(0.0, (0.0, 0.0, 0.0))
        frame = self.at(t)
        ref_pos, ref_quat = frame.pos(root_body), frame.quat(root_body)
        dq = R.multiply(R.yaw_quat(np.asarray(root_quat_w, dtype=np.float64)), R.conjugate(R.yaw_quat(ref_quat)))
        yaw = float(2.0 * np.arctan2(dq[2], dq[3]))
        rotated = R.rotate(np.array([0.0, 0.0, np.sin(0.5 * yaw), np.cos(0.5 * yaw)]), ref_pos)
        translation = np.array([root_pos_w[0] - rotated[0], root_pos_w[1] - rotated[1], 0.0])
        self.align(yaw, translation)
        return yaw, translation

    # -------------------------------------------------------------------------------------- query
    def at(self, t: float) -> ReferenceFrame:
        """The reference at time ``t`` (s from the clip start); see the module docstring."""
        f32 = np.float32
        t32 = f32(t)
        frame = np.minimum(max(t32, f32(0.0)) * self._fps32, self._last32)
        f0 = np.floor(frame)
        alpha = f32(frame - f0)
        i0 = int(f0)
        i1 = int(min(f0 + f32(1.0), self._last32))
        a = float(alpha)
        moving = 1.0 if t32 <= self._duration32 else 0.0

        def lerp(data: np.ndarray) -> np.ndarray:
            x0 = data[i0].astype(np.float64)
            return x0 + a * (data[i1].astype(np.float64) - x0)

        joint_pos = lerp(self._joint_pos)
        joint_vel = lerp(self._joint_vel) * moving
        body_quat = slerp(
            self._body_quat[i0].astype(np.float64),
            self._body_quat[i1].astype(np.float64),
            np.full(len(self.body_names), a),
        )
        if self.tail_mode == "blend":
            over = max(float(t32 - self._duration32), 0.0)
            if self.tail_blend_time_s > 0.0:
                s = min(over / self.tail_blend_time_s, 1.0)
                if 0.0 < over < self.tail_blend_time_s:
                    last = self._joint_pos[-1].astype(np.float64)
                    joint_vel = joint_vel + (self._default.astype(np.float64) - last) / self.tail_blend_time_s
            else:
                s = 1.0 if over > 0.0 else 0.0
            joint_pos = joint_pos + s * (self._default.astype(np.float64) - joint_pos)
        body_pos = lerp(self._body_pos)
        body_lin = lerp(self._body_lin) * moving
        body_ang = lerp(self._body_ang) * moving
        if self._align_quat is not None:
            qa = self._align_quat
            body_pos = R.rotate(qa, body_pos)
            body_quat = R.multiply(np.broadcast_to(qa, body_quat.shape), body_quat)
            body_lin = R.rotate(qa, body_lin)
            body_ang = R.rotate(qa, body_ang)
        body_pos = body_pos + self._align_pos
        return ReferenceFrame(
            time_s=float(t),
            joint_pos=joint_pos,
            joint_vel=joint_vel,
            body_pos_w=body_pos,
            body_quat_w=body_quat,
            body_lin_vel_w=body_lin,
            body_ang_vel_w=body_ang,
            body_index=self.body_index,
        )
