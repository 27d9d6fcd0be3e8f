"""Motion library: many reference clips on one device, queried by ``(clip, time)`` for thousands of envs.

All clips are concatenated into flat per-field tensors of shape ``[sum_c T_c, ...]`` with per-clip
frame offsets, so one gather serves every clip whatever its frame rate and length. Everything on
the hot path (:meth:`MotionLibrary.get_state`, :meth:`MotionLibrary.sample`,
:meth:`MotionLibrary.update_failures`) is vectorised torch with no Python loop over envs and no
host-device synchronisation.

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

Reference-state initialisation (:meth:`MotionLibrary.sample`):

* **clip choice**: categorical with ``P(c) ∝ w_c * f_c``, where ``w_c`` is the static weight and
  ``f_c = 1`` (``clip_weighting="static"``) or, VideoMimic-style (``"success_rate"``),
  ``f_c = max(1 - s_c, success_floor)`` with ``s_c`` the per-clip EMA success rate (the fraction
  of episodes that ended by time-out rather than termination). ``s_c`` starts at
  ``success_init = 0.5`` (a neutral prior: every clip gets the same factor until reports arrive)
  and is updated per reported episode with rate ``success_alpha``: ``n`` episodes with success
  fraction ``m`` in one call give ``s_c <- d * s_c + (1 - d) * m`` with ``d = (1 - success_alpha)^n``
  (exactly ``n`` sequential per-episode updates when all ``n`` have the same outcome). The floor
  keeps clips that are always tracked from starving (they keep at least ``success_floor`` of
  their static weight's share).
* **time within the clip**: ``"uniform"`` on ``[0, duration]``, or ``"adaptive"`` (BeyondMimic
  failure-adaptive sampling): each clip is split into ``ceil(duration / bin_duration)`` equal bins
  (at least one; every bin is at most ``bin_duration`` long). Each bin keeps a failure EMA,
  updated on every :meth:`~MotionLibrary.update_failures` call for all bins:
  ``fail_ema <- (1 - alpha) * fail_ema + alpha * failures_in_bin_this_call``. Within a clip the
  bin probability is ``p_k ∝ sum_i lambda^i * r_{k+i}`` for ``i < kernel_size`` with
  ``r_k = fail_ema_k + uniform_ratio / num_bins`` (indices past the clip's last bin repeat the last
  bin, BeyondMimic's replicate padding), so a failure in bin ``k`` also raises bins ``k-1``,
  ``k-2``... where the policy can still prevent it. The start time is the bin start plus a uniform
  offset within the bin, clipped to the clip's duration.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from g1_mimic.motion.contacts import contact_labels_for
from g1_mimic.motion.format import Motion, MotionFormatError, load_motion

__all__ = ["MotionLibrary", "MotionLibraryError", "MotionState"]

_TAIL_MODES = ("hold", "blend")
_SAMPLING_MODES = ("adaptive", "uniform")
_CLIP_WEIGHTINGS = ("static", "success_rate")
_YAML_EXAMPLE = (
    "motions:\n  - file: wave.npz   # relative to the yaml's folder\n    weight: 2.0      # optional, default 1.0"
)


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


def _check_names(motion: Motion, joint_names: Sequence[str], body_names: Sequence[str], where: str) -> None:
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


def _check_weight(value: Any, where: str) -> float:
    """Return ``value`` as a finite non-negative float or raise naming ``where``."""
    ok = isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)
    w = float(value) if ok else float("nan")
    if not ok or not math.isfinite(w) or w < 0.0:
        raise MotionLibraryError(
            f"{where}: weight {value!r} is invalid; a clip weight must be a finite number >= 0 "
            "(0 disables the clip, the default is 1.0)."
        )
    return w


class MotionLibrary:
    """A set of reference clips on one device with interpolated queries and reference-state sampling.

    Args:
        motions: the clips (any joint/body order; mapped by name onto ``joint_names``/``body_names``).
        joint_names: joints to return, in the order of the returned columns.
        body_names: bodies to return, in the order of the returned rows.
        device: torch device of all tensors.
        weights: static sampling weight per clip (finite, >= 0, not all 0); default all 1.
        clip_names: unique name per clip (used in logging keys); default ``clip_<i>``.
        tail_mode: ``"hold"`` or ``"blend"``: what a query past a clip's end returns (module docstring).
        tail_blend_time: duration (s) of the blend to ``default_joint_pos`` in ``"blend"`` mode
            (0: jump to the default pose right after the end).
        default_joint_pos: ``[J]`` target joint angles (rad, ``joint_names`` order) of the blend;
            required for ``tail_mode="blend"``.
        sampling: time-within-clip sampling, ``"adaptive"`` or ``"uniform"``.
        clip_weighting: clip choice, ``"static"`` or ``"success_rate"``.
        bin_duration: maximum adaptive bin length (s).
        adaptive_alpha: EMA rate of the bin failure counts (per :meth:`update_failures` call).
        adaptive_uniform_ratio: uniform mass added to the bins (``uniform_ratio / num_bins`` each).
        adaptive_lambda: decay of the smoothing kernel ``lambda^i``.
        adaptive_kernel_size: kernel length in bins (1 disables smoothing; BeyondMimic's released
            config uses 1, the default 3 lets failures pull up the two preceding bins).
        success_alpha: per-episode EMA rate of the clip success rates.
        success_init: initial success rate of every clip.
        success_floor: lower bound of the success-rate factor ``1 - s_c``.
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
        weights: Sequence[float] | None = None,
        clip_names: Sequence[str] | None = None,
        tail_mode: str = "hold",
        tail_blend_time: float = 0.0,
        default_joint_pos: Sequence[float] | None = None,
        sampling: str = "adaptive",
        clip_weighting: str = "static",
        bin_duration: float = 1.0,
        adaptive_alpha: float = 0.001,
        adaptive_uniform_ratio: float = 0.1,
        adaptive_lambda: float = 0.8,
        adaptive_kernel_size: int = 3,
        success_alpha: float = 0.01,
        success_init: float = 0.5,
        success_floor: float = 0.1,
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

        # ---- options ------------------------------------------------------------------------
        if tail_mode not in _TAIL_MODES:
            raise MotionLibraryError(f"MotionLibrary: tail_mode '{tail_mode}' is not one of {_TAIL_MODES}.")
        if sampling not in _SAMPLING_MODES:
            raise MotionLibraryError(f"MotionLibrary: sampling '{sampling}' is not one of {_SAMPLING_MODES}.")
        if clip_weighting not in _CLIP_WEIGHTINGS:
            raise MotionLibraryError(
                f"MotionLibrary: clip_weighting '{clip_weighting}' is not one of {_CLIP_WEIGHTINGS}."
            )
        if not (math.isfinite(tail_blend_time) and tail_blend_time >= 0.0):
            raise MotionLibraryError(f"MotionLibrary: tail_blend_time must be >= 0 s, got {tail_blend_time}.")
        if not (math.isfinite(bin_duration) and bin_duration > 0.0):
            raise MotionLibraryError(f"MotionLibrary: bin_duration must be > 0 s, got {bin_duration}.")
        if int(adaptive_kernel_size) < 1:
            raise MotionLibraryError(f"MotionLibrary: adaptive_kernel_size must be >= 1, got {adaptive_kernel_size}.")
        for name, value in (
            ("adaptive_alpha", adaptive_alpha),
            ("success_alpha", success_alpha),
            ("success_init", success_init),
            ("success_floor", success_floor),
        ):
            if not (0.0 <= value <= 1.0):
                raise MotionLibraryError(f"MotionLibrary: {name} must be in [0, 1], got {value}.")
        if not (adaptive_uniform_ratio >= 0.0 and adaptive_lambda >= 0.0):
            raise MotionLibraryError("MotionLibrary: adaptive_uniform_ratio and adaptive_lambda must be >= 0.")
        self.tail_mode = tail_mode
        self.tail_blend_time = float(tail_blend_time)
        self.sampling = sampling
        self.clip_weighting = clip_weighting
        self.bin_duration = float(bin_duration)
        self.adaptive_alpha = float(adaptive_alpha)
        self.adaptive_uniform_ratio = float(adaptive_uniform_ratio)
        self.adaptive_lambda = float(adaptive_lambda)
        self.adaptive_kernel_size = int(adaptive_kernel_size)
        self.success_alpha = float(success_alpha)
        self.success_init = float(success_init)
        self.success_floor = float(success_floor)

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

        # ---- static weights -----------------------------------------------------------------
        if weights is None:
            w = np.ones(C)
        else:
            weights = list(weights)
            if len(weights) != C:
                raise MotionLibraryError(f"MotionLibrary: {len(weights)} weights for {C} motions.")
            w = np.array([_check_weight(x, f"clip '{n}'") for x, n in zip(weights, self.clip_names, strict=True)])
        if w.sum() <= 0.0:
            raise MotionLibraryError("MotionLibrary: all clip weights are 0; at least one clip must have weight > 0.")

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
            _check_names(m, self.joint_names, self.body_names, where)
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

        # ---- sampling state -----------------------------------------------------------------
        self.clip_weights = torch.tensor(w, dtype=torch.float32, device=dev)
        nbins = np.maximum(1, np.ceil(duration / self.bin_duration - 1e-6).astype(np.int64))
        width = duration / nbins
        bin_start = np.concatenate([[0], np.cumsum(nbins)[:-1]])
        self.num_bins_total: int = int(nbins.sum())
        #: Number of adaptive bins of each clip ``[C]`` and the flat index of each clip's first bin ``[C]``.
        self.clip_num_bins = torch.tensor(nbins, dtype=torch.long, device=dev)
        self.clip_bin_start = torch.tensor(bin_start, dtype=torch.long, device=dev)
        #: Length (s) of each clip's bins ``[C]``.
        self.clip_bin_width = torch.tensor(width, dtype=torch.float32, device=dev)
        self._clip_inv_bin_width = torch.tensor(
            np.where(width > 0, 1.0 / np.where(width > 0, width, 1.0), 0.0), dtype=torch.float32, device=dev
        )
        #: Clip ``[K]`` and index within its clip ``[K]`` of every flat bin (``K = num_bins_total``).
        self.bin_clip = torch.from_numpy(np.repeat(np.arange(C), nbins)).to(dev)
        self.bin_local = torch.from_numpy(np.arange(self.num_bins_total) - np.repeat(bin_start, nbins)).to(dev)
        flat = np.arange(self.num_bins_total)[:, None] + np.arange(self.adaptive_kernel_size)[None, :]
        clip_last_bin = np.repeat(bin_start + nbins - 1, nbins)[:, None]
        self._kernel_index = torch.from_numpy(np.minimum(flat, clip_last_bin)).to(dev)  # replicate padding
        kernel = self.adaptive_lambda ** np.arange(self.adaptive_kernel_size, dtype=np.float64)
        self._kernel = torch.tensor(kernel / kernel.sum(), dtype=torch.float32, device=dev)
        self._bin_uniform = (self.adaptive_uniform_ratio / self.clip_num_bins.float())[self.bin_clip]

        #: Per-bin failure EMA ``[K]`` (BeyondMimic's ``bin_failed_count``).
        self.bin_failure_ema = torch.zeros(self.num_bins_total, device=dev)
        #: Per-clip EMA success rate ``[C]`` (fraction of episodes ended by time-out).
        self.clip_success_rate = torch.full((C,), self.success_init, device=dev)
        #: Episodes and failures reported per clip ``[C]`` since construction.
        self.clip_episode_count = torch.zeros(C, dtype=torch.long, device=dev)
        self.clip_failure_count = torch.zeros(C, dtype=torch.long, device=dev)
        self._dirty = True
        self._clip_probs = torch.empty(C, device=dev)
        self._bin_probs = torch.empty(self.num_bins_total, device=dev)
        self._clip_cdf = torch.empty(C, dtype=torch.float64, device=dev)
        self._joint_cdf = torch.empty(self.num_bins_total, dtype=torch.float64, device=dev)

    # ------------------------------------------------------------------------------------------
    # construction from files
    # ------------------------------------------------------------------------------------------
    @classmethod
    def from_path(
        cls,
        path: str | Path,
        joint_names: Sequence[str],
        body_names: Sequence[str],
        device: str | torch.device = "cpu",
        **kwargs: Any,
    ) -> MotionLibrary:
        """Load clips from a canonical ``.npz``, a folder of ``.npz`` files (sorted by name) or a ``.yaml`` list.

        The yaml form (paths relative to the yaml's folder; ``weight`` optional, default 1.0;
        ``name`` optional, default the file stem)::

            motions:
              - file: wave.npz
                weight: 2.0

        Clip names are the file stems (made unique with a ``_<i>`` suffix if two stems collide).
        ``kwargs`` go to the constructor; ``weights`` may not be passed with a yaml list (the yaml owns them).

        Raises:
            FileNotFoundError: ``path`` does not exist.
            MotionLibraryError: empty folder, malformed yaml, bad weight, or a clip lacking a requested joint/body.
            MotionFormatError: a clip file is not a readable canonical motion.
        """
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(
                f"{path}: no such motion file, folder or .yaml list. Pass a canonical .npz file "
                "(scripts/motion.py convert), a folder of .npz files, or a .yaml with a 'motions:' list."
            )
        entries: list[tuple[Path, float | None, str | None]] = []  # (file, weight, name)
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix == ".npz")
            if not files:
                raise MotionLibraryError(
                    f"{path}: folder holds no .npz motion files. Convert clips into it with "
                    "scripts/motion.py convert INPUT OUTPUT.npz, or pass a .npz file or .yaml list."
                )
            entries = [(f, None, None) for f in files]
        elif path.suffix in (".yaml", ".yml"):
            entries = cls._parse_yaml(path)
            if "weights" in kwargs:
                raise MotionLibraryError(
                    f"{path}: pass weights in the yaml ('weight:' per entry), not also as the weights argument."
                )
            kwargs["weights"] = [1.0 if w is None else w for _, w, _ in entries]
        elif path.suffix == ".npz":
            entries = [(path, None, None)]
        else:
            raise MotionLibraryError(
                f"{path}: unsupported motion path suffix '{path.suffix}'; expected a .npz file, a folder or a .yaml/.yml list."
            )

        motions = []
        for i, (file, _, _) in enumerate(entries):
            try:
                motion = load_motion(file)
            except MotionFormatError as exc:
                if path.suffix in (".yaml", ".yml"):
                    raise MotionLibraryError(f"{path}: motions[{i}].file: {exc}") from exc
                raise
            _check_names(motion, joint_names, body_names, str(file))
            motions.append(motion)
        if "clip_names" not in kwargs:
            names = [name or file.stem for file, _, name in entries]
            kwargs["clip_names"] = [n if names.count(n) == 1 else f"{n}_{i}" for i, n in enumerate(names)]
        return cls(motions, joint_names, body_names, device=device, **kwargs)

    @staticmethod
    def _parse_yaml(path: Path) -> list[tuple[Path, float | None, str | None]]:
        """Entries ``(file, weight, name)`` of a yaml motion list; raise naming the field and the fix."""
        import yaml

        try:
            data = yaml.safe_load(path.read_text())
        except yaml.YAMLError as exc:
            raise MotionLibraryError(f"{path}: not valid YAML ({exc}). Expected:\n{_YAML_EXAMPLE}") from exc
        if not isinstance(data, dict) or "motions" not in data:
            raise MotionLibraryError(f"{path}: missing top-level field 'motions'. Expected:\n{_YAML_EXAMPLE}")
        items = data["motions"]
        if not isinstance(items, list) or not items:
            raise MotionLibraryError(
                f"{path}: field 'motions' must be a non-empty list of entries. Expected:\n{_YAML_EXAMPLE}"
            )
        entries = []
        for i, item in enumerate(items):
            where = f"{path}: motions[{i}]"
            if isinstance(item, str):
                item = {"file": item}
            if not isinstance(item, dict) or "file" not in item:
                raise MotionLibraryError(f"{where}: each entry needs a 'file' field. Expected:\n{_YAML_EXAMPLE}")
            unknown = sorted(set(item) - {"file", "weight", "name"})
            if unknown:
                raise MotionLibraryError(f"{where}: unknown field(s) {unknown}; allowed: file, weight, name.")
            file = Path(str(item["file"]))
            if not file.is_absolute():
                file = path.parent / file
            if not file.is_file():
                raise MotionLibraryError(
                    f"{where}.file: {file} does not exist (paths are relative to the yaml's folder {path.parent})."
                )
            weight = _check_weight(item["weight"], f"{where}.weight") if "weight" in item else None
            name = str(item["name"]) if "name" in item else None
            entries.append((file, weight, name))
        return entries

    # ------------------------------------------------------------------------------------------
    # queries
    # ------------------------------------------------------------------------------------------
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

    # ------------------------------------------------------------------------------------------
    # sampling
    # ------------------------------------------------------------------------------------------
    def clip_probs(self) -> torch.Tensor:
        """Current clip sampling probabilities ``[C]`` (static weights times the success-rate factor)."""
        self._refresh()
        return self._clip_probs

    def bin_probs(self) -> torch.Tensor:
        """Current adaptive bin probabilities ``[K]``, conditional on the clip: each clip's bins sum to 1.

        Bin ``k`` belongs to clip ``bin_clip[k]`` and covers
        ``[bin_local[k], bin_local[k] + 1) * clip_bin_width[bin_clip[k]]`` s.
        """
        self._refresh()
        return self._bin_probs

    def _refresh(self) -> None:
        """Recompute the cached probabilities and CDFs after a state change (no host sync)."""
        if not self._dirty:
            return
        w = self.clip_weights
        if self.clip_weighting == "success_rate":
            w = w * (1.0 - self.clip_success_rate).clamp(min=self.success_floor)
        self._clip_probs = w / w.sum()
        raw = self.bin_failure_ema + self._bin_uniform
        smooth = (raw[self._kernel_index] * self._kernel).sum(-1)
        per_clip = torch.zeros(self.num_clips, device=self.device).index_add_(0, self.bin_clip, smooth)
        self._bin_probs = smooth / per_clip[self.bin_clip]
        self._clip_cdf = torch.cumsum(self._clip_probs.double(), 0)
        self._joint_cdf = torch.cumsum((self._clip_probs[self.bin_clip] * self._bin_probs).double(), 0)
        self._dirty = False

    @staticmethod
    def _draw(cdf: torch.Tensor, n: int, generator: torch.Generator | None) -> torch.Tensor:
        """``n`` categorical draws by inverse CDF (``searchsorted``: no host sync, zero-mass entries never drawn)."""
        u = torch.rand(n, generator=generator, device=cdf.device, dtype=torch.float64) * cdf[-1]
        return torch.searchsorted(cdf, u, right=True).clamp_(max=cdf.shape[0] - 1)

    def sample(self, n: int, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Draw ``n`` reference-state initialisations in the current sampling mode.

        Args:
            n: number of draws.
            generator: optional torch generator **on the library's device** (for reproducibility).

        Returns:
            ``(clip_ids [n] long, start_times [n] float32 s)`` with ``0 <= start_time <= duration``.
        """
        self._refresh()
        if self.sampling == "uniform":
            clip_ids = self._draw(self._clip_cdf, n, generator)
            u = torch.rand(n, generator=generator, device=self.device)
            return clip_ids, u * self.clip_duration[clip_ids]
        bins = self._draw(self._joint_cdf, n, generator)
        clip_ids = self.bin_clip[bins]
        u = torch.rand(n, generator=generator, device=self.device)
        t = (self.bin_local[bins].float() + u) * self.clip_bin_width[clip_ids]
        return clip_ids, torch.minimum(t, self.clip_duration[clip_ids])

    def time_to_bin(self, clip_ids: torch.Tensor, times: torch.Tensor) -> torch.Tensor:
        """Flat adaptive bin index ``[N]`` of each ``(clip, time)``; times outside the clip clamp to its first/last bin."""
        clip_ids = clip_ids.to(self.device)
        times = times.to(device=self.device, dtype=torch.float32)
        local = (times.clamp(min=0.0) * self._clip_inv_bin_width[clip_ids]).floor().long()
        local = torch.minimum(local, self.clip_num_bins[clip_ids] - 1)
        return self.clip_bin_start[clip_ids] + local

    def update_failures(self, clip_ids: torch.Tensor, times: torch.Tensor, failed: torch.Tensor) -> None:
        """Report ended episodes: update the bin failure EMAs (all bins decay) and the clip success rates.

        Args:
            clip_ids: ``[M]`` clip of each ended episode.
            times: ``[M]`` motion time (s) at which it ended.
            failed: ``[M]`` bool, True if it terminated (failure), False if it timed out (success).
        """
        clip_ids = clip_ids.to(self.device)
        failed_f = failed.to(device=self.device, dtype=torch.float32)
        bins = self.time_to_bin(clip_ids, times)
        current = torch.zeros(self.num_bins_total, device=self.device).index_add_(0, bins, failed_f)
        self.bin_failure_ema.lerp_(current, self.adaptive_alpha)
        # Per-clip success EMA, n episodes per call: s <- d s + (1 - d) mean_success, d = (1 - a)^n.
        episodes = torch.zeros(self.num_clips, device=self.device).index_add_(0, clip_ids, torch.ones_like(failed_f))
        failures = torch.zeros(self.num_clips, device=self.device).index_add_(0, clip_ids, failed_f)
        mean_success = (episodes - failures) / episodes.clamp(min=1.0)
        keep = (1.0 - self.success_alpha) ** episodes
        self.clip_success_rate.mul_(keep).add_((1.0 - keep) * mean_success)
        self.clip_episode_count += episodes.long()
        self.clip_failure_count += failures.long()
        self._dirty = True

    def sampling_state_tensors(self) -> dict[str, torch.Tensor]:
        """The sampling state as tensors (a snapshot, cloned): EMAs, counts and current probabilities."""
        return {
            "bin_failure_ema": self.bin_failure_ema.clone(),
            "bin_probs": self.bin_probs().clone(),
            "clip_success_rate": self.clip_success_rate.clone(),
            "clip_probs": self.clip_probs().clone(),
            "clip_episode_count": self.clip_episode_count.clone(),
            "clip_failure_count": self.clip_failure_count.clone(),
        }

    def load_sampling_state_tensors(self, state: dict[str, torch.Tensor]) -> None:
        """Restore the EMAs and counts saved by :meth:`sampling_state_tensors` (same clips required)."""
        for key in ("bin_failure_ema", "clip_success_rate", "clip_episode_count", "clip_failure_count"):
            dst = getattr(self, key)
            src = state[key]
            if tuple(src.shape) != tuple(dst.shape):
                raise MotionLibraryError(
                    f"sampling state field '{key}' has shape {tuple(src.shape)}, this library needs "
                    f"{tuple(dst.shape)}: it was saved for a different clip set or bin_duration."
                )
            dst.copy_(src.to(device=self.device, dtype=dst.dtype))
        self._dirty = True

    def sampling_state(self, per_clip: bool | None = None, max_logged_clips: int = 64) -> dict[str, float]:
        """Scalars for logging (one host sync; call at the logging interval, not every step).

        Keys: ``sampling/clip_entropy`` (clip distribution entropy, normalised to [0, 1]),
        ``sampling/success_rate_mean``/``_min``, ``sampling/clip_prob_max``,
        ``adaptive/entropy`` (clip-probability-weighted mean of each clip's normalised bin entropy;
        1 = uniform, as BeyondMimic's ``sampling_entropy``), ``adaptive/top1_prob`` (largest
        within-clip bin probability over all clips) and, per clip when ``per_clip`` (default: if
        ``num_clips <= max_logged_clips``): ``clip/<name>/success_rate``, ``clip/<name>/prob``,
        ``clip/<name>/bin_entropy``, ``clip/<name>/top1_bin_prob``, ``clip/<name>/top1_bin_time`` (s, bin start).
        """
        self._refresh()
        C = self.num_clips
        p_bin = self._bin_probs
        ent_terms = -(p_bin * (p_bin + 1e-12).log())
        bin_entropy = torch.zeros(C, device=self.device).index_add_(0, self.bin_clip, ent_terms)
        log_n = self.clip_num_bins.float().log()
        bin_entropy = torch.where(self.clip_num_bins > 1, bin_entropy / log_n.clamp(min=1e-12), torch.ones_like(log_n))
        top_prob = torch.zeros(C, device=self.device).scatter_reduce_(0, self.bin_clip, p_bin, "amax")
        is_top = p_bin >= top_prob[self.bin_clip]
        local = torch.where(is_top, self.bin_local, torch.full_like(self.bin_local, torch.iinfo(torch.long).max))
        top_local = torch.full((C,), torch.iinfo(torch.long).max, device=self.device).scatter_reduce_(
            0, self.bin_clip, local, "amin"
        )
        top_time = top_local.float() * self.clip_bin_width
        pc = self._clip_probs
        clip_entropy = -(pc * (pc + 1e-12).log()).sum() / math.log(C) if C > 1 else torch.ones((), device=self.device)
        summary = torch.stack(
            [
                clip_entropy,
                self.clip_success_rate.mean(),
                self.clip_success_rate.min(),
                pc.max(),
                (pc * bin_entropy).sum(),
                top_prob.max(),
            ]
        ).tolist()
        out = dict(
            zip(
                (
                    "sampling/clip_entropy",
                    "sampling/success_rate_mean",
                    "sampling/success_rate_min",
                    "sampling/clip_prob_max",
                    "adaptive/entropy",
                    "adaptive/top1_prob",
                ),
                summary,
                strict=True,
            )
        )
        if per_clip is None:
            per_clip = C <= max_logged_clips
        if per_clip:
            rows = torch.stack([self.clip_success_rate, pc, bin_entropy, top_prob, top_time], dim=1).tolist()
            for name, (sr, prob, ent, top, top_t) in zip(self.clip_names, rows, strict=True):
                out[f"clip/{name}/success_rate"] = sr
                out[f"clip/{name}/prob"] = prob
                out[f"clip/{name}/bin_entropy"] = ent
                out[f"clip/{name}/top1_bin_prob"] = top
                out[f"clip/{name}/top1_bin_time"] = top_t
        return out
