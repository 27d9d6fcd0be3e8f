"""Clip storage and interpolation: many reference clips on one device, queried by ``(clip, time)`` for thousands of envs.

All clips are concatenated into flat per-field tensors of shape ``[sum_c T_c, ...]`` with per-clip
frame offsets, so one gather serves every clip whatever its frame rate and length. :meth:`ClipStore.get_state`
is vectorised torch with no Python loop over envs and no host-device synchronisation.

Frames and units (same as the canonical motion file, :mod:`g1_mimic.motion.format`):

* time in seconds, frame ``i`` of clip ``c`` is at ``i / fps_c``; a clip lasts
  ``(T_c - 1) / fps_c`` s;
* joint angles in rad, joint velocities in rad/s, columns in the library's ``joint_names`` order;
* body positions (m), orientations (quaternions **xyzw**), linear (m/s) and angular (rad/s)
  velocities in the world frame of the motion file, rows in the library's ``body_names`` order.

Querying between frames interpolates linearly (joints, positions, velocities) and by slerp
(body orientations). Before the start a query returns frame 0. After the end (``t > duration``):

* ``tail_mode="hold"``: the last frame, all velocities zero;
* ``tail_mode="blend"``: joint positions move linearly from the last frame to
  ``default_joint_pos`` over ``tail_blend_time`` s and stay there; joint velocities are the slope of
  that blend (``(default - last) / tail_blend_time``) inside the blend window and zero after it.
  Body states (root included) keep the last frame's poses with zero velocities: the library has
  no forward kinematics on the device, so non-root body poses are *not* consistent with the
  blended joints during the tail.

The sampling of reference-state initialisations is :mod:`g1_mimic.motion.sampling`, loading from files
:mod:`g1_mimic.motion.loading`; :class:`g1_mimic.motion.library.MotionLibrary` puts the three together.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from g1_mimic.motion.contacts import contact_labels_for
from g1_mimic.motion.format import Motion, MotionFormatError

__all__ = ["ClipStore", "MotionLibraryError", "MotionState"]

TAIL_MODES = ("hold", "blend")


class MotionLibraryError(MotionFormatError):
    """The clips or the library's configuration are unusable. The message names the file/field and the fix."""


@dataclass
class MotionState:
    """Reference state of ``N`` (clip, time) queries; float32 tensors on the library's device.

    Attributes:
        joint_pos: ``[N, J]`` joint angles (rad), columns in the library's ``joint_names`` order.
        joint_vel: ``[N, J]`` joint velocities (rad/s).
        body_pos_w: ``[N, B, 3]`` body origins in the motion's world frame (m), rows in ``body_names`` order.
        body_quat_w: ``[N, B, 4]`` body orientations in the world frame, **xyzw**, unit norm.
        body_lin_vel_w: ``[N, B, 3]`` linear velocities of the body origins, world frame (m/s).
        body_ang_vel_w: ``[N, B, 3]`` angular velocities, world frame (rad/s).
        contact: ``[N, K]`` 1.0 where body ``contact_body_names[k]`` touches the ground in the
            reference (nearest frame; the last frame after the clip), else 0.0; None when the
            library was built without ``contact_body_names``.
    """

    joint_pos: torch.Tensor
    joint_vel: torch.Tensor
    body_pos_w: torch.Tensor
    body_quat_w: torch.Tensor
    body_lin_vel_w: torch.Tensor
    body_ang_vel_w: torch.Tensor
    contact: torch.Tensor | None = None


def _slerp(q0: torch.Tensor, q1: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Short-arc slerp of unit quaternions ``q0``/``q1`` [..., 4] at fraction ``t`` (broadcast to [..., 1])."""
    dot = (q0 * q1).sum(-1, keepdim=True)
    q1 = torch.where(dot < 0.0, -q1, q1)
    dot = dot.abs().clamp(max=1.0)
    theta = torch.acos(dot)
    sin_theta = torch.sin(theta)
    small = sin_theta < 1e-6
    safe = torch.where(small, torch.ones_like(sin_theta), sin_theta)
    w0 = torch.where(small, 1.0 - t, torch.sin((1.0 - t) * theta) / safe)
    w1 = torch.where(small, t, torch.sin(t * theta) / safe)
    out = w0 * q0 + w1 * q1
    return out / out.norm(dim=-1, keepdim=True)


def check_clip_names(motion: Motion, joint_names: Sequence[str], body_names: Sequence[str], where: str) -> None:
    """Raise :class:`MotionLibraryError` naming every joint/body the library needs that ``motion`` lacks."""
    have_j, have_b = set(motion.joint_names), set(motion.body_names)
    miss_j = [n for n in joint_names if n not in have_j]
    miss_b = [n for n in body_names if n not in have_b]
    if not miss_j and not miss_b:
        return
    parts = []
    if miss_j:
        parts.append(f"field 'joint_names' lacks joint(s) {miss_j}")
    if miss_b:
        parts.append(f"field 'body_names' lacks body(ies) {miss_b}")
    raise MotionLibraryError(
        f"{where}: {'; '.join(parts)} requested by the motion library. Fix: re-convert the clip for the "
        "G1 29-DoF model (scripts/motion.py convert), or build the library with joint_names/body_names "
        f"the clip has (it has joints {list(motion.joint_names)} and bodies {list(motion.body_names)})."
    )



class ClipStore:
    """Reference clips concatenated on one device, with interpolated ``(clip, time)`` queries.

    Args:
        motions: the clips (any joint/body order; mapped by name onto ``joint_names``/``body_names``).
        joint_names: joints to return, in the order of the returned columns.
        body_names: bodies to return, in the order of the returned rows.
        device: torch device of all tensors.
        clip_names: unique name per clip (used in logging keys); default ``clip_<i>``.
        tail_mode: ``"hold"`` or ``"blend"``: what a query past a clip's end returns (module docstring).
        tail_blend_time: duration (s) of the blend to ``default_joint_pos`` in ``"blend"`` mode
            (0: jump to the default pose right after the end).
        default_joint_pos: ``[J]`` target joint angles (rad, ``joint_names`` order) of the blend;
            required for ``tail_mode="blend"``.
        contact_body_names: bodies whose ground contact :meth:`get_state` reports
            (``MotionState.contact``): each clip's ``contact_labels`` when it labels them all, else
            labels estimated from the clip's kinematics (:mod:`g1_mimic.motion.contacts`).
    """

    def __init__(
        self,
        motions: Sequence[Motion],
        joint_names: Sequence[str],
        body_names: Sequence[str],
        device: str | torch.device = "cpu",
        clip_names: Sequence[str] | None = None,
        tail_mode: str = "hold",
        tail_blend_time: float = 0.0,
        default_joint_pos: Sequence[float] | None = None,
        contact_body_names: Sequence[str] = (),
    ):
        motions = list(motions)
        if not motions:
            raise MotionLibraryError("MotionLibrary needs at least one motion clip; got none.")
        self.device = torch.device(device)
        self.joint_names: list[str] = list(joint_names)
        self.body_names: list[str] = list(body_names)
        for kind, names in (("joint_names", self.joint_names), ("body_names", self.body_names)):
            dup = sorted({n for n in names if names.count(n) > 1})
            if dup:
                raise MotionLibraryError(f"MotionLibrary: {kind} lists {dup} more than once; names must be unique.")
        C = len(motions)
        if clip_names is None:
            clip_names = [f"clip_{i}" for i in range(C)]
        self.clip_names: list[str] = [str(n) for n in clip_names]
        if len(self.clip_names) != C:
            raise MotionLibraryError(f"MotionLibrary: {len(self.clip_names)} clip_names for {C} motions.")
        if len(set(self.clip_names)) != C:
            raise MotionLibraryError(f"MotionLibrary: clip_names must be unique, got {self.clip_names}.")
        self.num_clips: int = C

        if tail_mode not in TAIL_MODES:
            raise MotionLibraryError(f"MotionLibrary: tail_mode '{tail_mode}' is not one of {TAIL_MODES}.")
        if not (math.isfinite(tail_blend_time) and tail_blend_time >= 0.0):
            raise MotionLibraryError(f"MotionLibrary: tail_blend_time must be >= 0 s, got {tail_blend_time}.")
        self.tail_mode = tail_mode
        self.tail_blend_time = float(tail_blend_time)

        J, B = len(self.joint_names), len(self.body_names)
        if tail_mode == "blend":
            if default_joint_pos is None:
                raise MotionLibraryError(
                    "MotionLibrary: tail_mode='blend' needs default_joint_pos (rad, one per joint_names entry)."
                )
        if default_joint_pos is not None:
            dflt = np.asarray(default_joint_pos, dtype=np.float64).reshape(-1)
            if dflt.shape != (J,) or not np.all(np.isfinite(dflt)):
                raise MotionLibraryError(
                    f"MotionLibrary: default_joint_pos must hold {J} finite angles (one per joint_names entry), "
                    f"got shape {tuple(np.shape(default_joint_pos))}."
                )
        else:
            dflt = np.zeros(J)

        # ---- concatenate clips --------------------------------------------------------------
        fields: dict[str, list[np.ndarray]] = {
            k: [] for k in ("joint_pos", "joint_vel", "body_pos_w", "body_quat_w", "body_lin_vel_w", "body_ang_vel_w")
        }
        self.contact_body_names: list[str] = list(contact_body_names)
        #: Per clip, where its contact labels came from: ``"file"`` or ``"estimated"`` (from kinematics).
        self.contact_label_source: list[str] = []
        contact_arrays: list[np.ndarray] = []
        fps, nframes = np.empty(C), np.empty(C, dtype=np.int64)
        for c, (m, name) in enumerate(zip(motions, self.clip_names, strict=True)):
            where = f"clip '{name}'"
            m.check_shapes(where)
            if not (math.isfinite(m.fps) and m.fps > 0):
                raise MotionLibraryError(f"{where}: field 'fps' is {m.fps}; it must be a positive frame rate in Hz.")
            if m.num_frames < 1:
                raise MotionLibraryError(f"{where}: the clip has no frames.")
            check_clip_names(m, self.joint_names, self.body_names, where)
            jcols, brows = m.joint_index(self.joint_names), m.body_index(self.body_names)
            fields["joint_pos"].append(m.joint_pos[:, jcols])
            fields["joint_vel"].append(m.joint_vel[:, jcols])
            fields["body_pos_w"].append(m.body_pos_w[:, brows])
            quat = np.asarray(m.body_quat_w[:, brows], dtype=np.float64)
            norm = np.linalg.norm(quat, axis=-1, keepdims=True)
            if not np.all(np.isfinite(quat)) or np.any(norm < 1e-6):
                raise MotionLibraryError(f"{where}: field 'body_quat_w' holds zero or non-finite quaternions.")
            fields["body_quat_w"].append(quat / norm)
            fields["body_lin_vel_w"].append(m.body_lin_vel_w[:, brows])
            fields["body_ang_vel_w"].append(m.body_ang_vel_w[:, brows])
            fps[c], nframes[c] = float(m.fps), m.num_frames
            if self.contact_body_names:
                labels, source = contact_labels_for(m, self.contact_body_names, where)
                contact_arrays.append(labels)
                self.contact_label_source.append(source)
            for key in fields:
                if not np.all(np.isfinite(fields[key][-1])):
                    raise MotionLibraryError(f"{where}: field '{key}' holds NaN or infinite values. Re-convert it.")

        flat_data = {
            key: torch.from_numpy(np.concatenate(arrays, axis=0).astype(np.float32)).to(self.device)
            for key, arrays in fields.items()
        }
        del fields
        contact = (
            torch.from_numpy(np.concatenate(contact_arrays, axis=0).astype(np.float32)).to(self.device)
            if contact_arrays else None
        )
        # The linearly interpolated fields side by side in one [F, D] table (get_state gathers and
        # interpolates them with one index_select and one lerp); the per-field tensors are views of it.
        # (name, [F, ...] data, velocity: zero after the clip's end)
        lerp_fields = [("joint_pos", flat_data["joint_pos"], False), ("joint_vel", flat_data["joint_vel"], True),
                       ("body_pos_w", flat_data["body_pos_w"], False),
                       ("body_lin_vel_w", flat_data["body_lin_vel_w"], True),
                       ("body_ang_vel_w", flat_data["body_ang_vel_w"], True)]
        if contact is not None:
            lerp_fields.append(("contact", contact, False))
        self._lerp_views: list[tuple[str, slice, tuple[int, ...]]] = []
        is_velocity: list[bool] = []
        start = 0
        for key, data, velocity in lerp_fields:
            width = data[0].numel()
            self._lerp_views.append((key, slice(start, start + width), tuple(data.shape[1:])))
            is_velocity += [velocity] * width
            start += width
        self._lerp_table = torch.cat([data.reshape(data.shape[0], -1) for _, data, _ in lerp_fields], dim=1)
        #: ``[D]`` columns of the table that are velocities (zero after the clip's end).
        self._lerp_velocity_cols = torch.tensor(is_velocity, dtype=torch.bool, device=self.device)
        views = self._split_lerp(self._lerp_table)
        #: Flat per-frame data, ``[F, ...]`` with ``F = sum_c T_c``; clip ``c`` starts at ``clip_start[c]``
        #: (views of one table; read-only).
        self.joint_pos: torch.Tensor = views["joint_pos"]
        self.joint_vel: torch.Tensor = views["joint_vel"]
        self.body_pos_w: torch.Tensor = views["body_pos_w"]
        self.body_quat_w: torch.Tensor = flat_data["body_quat_w"]
        self.body_lin_vel_w: torch.Tensor = views["body_lin_vel_w"]
        self.body_ang_vel_w: torch.Tensor = views["body_ang_vel_w"]
        #: ``[F, K]`` float 0/1 contact labels of ``contact_body_names``, or None without them.
        self.contact: torch.Tensor | None = views.get("contact")
        assert self.joint_pos.shape[1:] == (J,) and self.body_pos_w.shape[1:] == (B, 3)

        duration = (nframes - 1) / fps
        #: Duration of each clip (s), float64 on the host (the sampler's bins are cut from it).
        self.clip_duration_s: np.ndarray = duration
        start = np.concatenate([[0], np.cumsum(nframes)[:-1]])
        dev = self.device
        self.clip_fps = torch.tensor(fps, dtype=torch.float32, device=dev)
        self.clip_num_frames = torch.tensor(nframes, dtype=torch.long, device=dev)
        self.clip_duration = torch.tensor(duration, dtype=torch.float32, device=dev)
        self.clip_start = torch.tensor(start, dtype=torch.long, device=dev)
        # One row per clip for the hot path: fps, index of the last frame, duration (s).
        self._clip_table = torch.stack((self.clip_fps, (self.clip_num_frames - 1).float(), self.clip_duration), dim=1)
        self.default_joint_pos = torch.tensor(dflt, dtype=torch.float32, device=dev)
        last = torch.from_numpy(start + nframes - 1).to(dev)
        if self.tail_mode == "blend" and self.tail_blend_time > 0.0:
            self._tail_joint_vel = (self.default_joint_pos - self.joint_pos[last]) / self.tail_blend_time
        else:
            self._tail_joint_vel = torch.zeros(C, J, device=dev)

    @property
    def num_frames_total(self) -> int:
        """Frames of all clips together (rows of the flat tensors)."""
        return int(self.joint_pos.shape[0])

    def _split_lerp(self, table: torch.Tensor) -> dict[str, torch.Tensor]:
        """Per-field views ``{name: [rows, ...]}`` of rows of the interpolation table ``[rows, D]``."""
        return {key: table[:, cols].unflatten(1, shape) for key, cols, shape in self._lerp_views}

    def get_state(self, clip_ids: torch.Tensor, times: torch.Tensor) -> MotionState:
        """Reference state of clip ``clip_ids[n]`` at time ``times[n]`` (s) for every ``n``.

        Args:
            clip_ids: ``[N]`` integer clip indices (on the library's device for zero copies).
            times: ``[N]`` times (s) from the start of each clip.

        Returns:
            A :class:`MotionState` of ``N`` rows (module docstring: interpolation, clamping, tail).
        """
        clip_ids = clip_ids.to(self.device)
        times = times.to(device=self.device, dtype=torch.float32)
        n = times.shape[0]
        fps, last, duration = self._clip_table[clip_ids].unbind(-1)
        frame = torch.minimum(times.clamp(min=0.0) * fps, last)
        f0 = frame.floor()
        alpha = frame - f0
        base = self.clip_start[clip_ids]
        idx = torch.cat((base + f0.long(), base + torch.minimum(f0 + 1.0, last).long()))
        pair = self._lerp_table.index_select(0, idx).view(2, n, -1)
        table = torch.lerp(pair[0], pair[1], alpha.unsqueeze(-1))
        # past the end the reference holds still: velocities vanish
        table.masked_fill_(self._lerp_velocity_cols & (times > duration).unsqueeze(-1), 0.0)
        fields = self._split_lerp(table)
        joint_pos = fields["joint_pos"]
        joint_vel = fields["joint_vel"]
        quat_pair = self.body_quat_w.index_select(0, idx).view(2, n, *self.body_quat_w.shape[1:])
        body_quat = _slerp(quat_pair[0], quat_pair[1], alpha.view(n, 1, 1))
        if self.tail_mode == "blend":
            over = (times - duration).clamp(min=0.0)
            if self.tail_blend_time > 0.0:
                s = (over / self.tail_blend_time).clamp(max=1.0)
                in_blend = ((over > 0.0) & (over < self.tail_blend_time)).float()
                joint_vel.addcmul_(self._tail_joint_vel[clip_ids], in_blend.unsqueeze(-1))
            else:
                s = (over > 0.0).float()
            joint_pos = torch.lerp(joint_pos, self.default_joint_pos.expand_as(joint_pos), s.unsqueeze(-1))
        return MotionState(
            joint_pos=joint_pos,
            joint_vel=joint_vel,
            body_pos_w=fields["body_pos_w"],
            body_quat_w=body_quat,
            body_lin_vel_w=fields["body_lin_vel_w"],
            body_ang_vel_w=fields["body_ang_vel_w"],
            contact=None if self.contact is None else (fields["contact"] >= 0.5).float(),
        )
