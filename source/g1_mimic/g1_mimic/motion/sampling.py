"""Reference-state initialisation: which clip (:class:`ClipSampler`) and when in it (:class:`StartTimeSampler`).


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
  updated on every :meth:`StartTimeSampler.update` call for all bins:
  ``fail_ema <- (1 - alpha) * fail_ema + alpha * failures_in_bin_this_call``. Within a clip the
  bin probability is ``p_k ∝ sum_i lambda^i * r_{k+i}`` for ``i < kernel_size`` with
  ``r_k = fail_ema_k + uniform_ratio / num_bins`` (indices past the clip's last bin repeat the last
  bin, BeyondMimic's replicate padding), so a failure in bin ``k`` also raises bins ``k-1``,
  ``k-2``... where the policy can still prevent it. The start time is the bin start plus a uniform
  offset within the bin, clipped to the clip's duration.

:class:`g1_mimic.motion.library.MotionLibrary` draws ``(clip, start time)`` pairs from the product of the
two (one categorical draw over every bin of every clip) and reports ended episodes to both.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from g1_mimic.motion.clips import MotionLibraryError

__all__ = ["CLIP_WEIGHTINGS", "SAMPLING_MODES", "ClipSampler", "StartTimeSampler", "check_weight"]

SAMPLING_MODES = ("adaptive", "uniform")
CLIP_WEIGHTINGS = ("static", "success_rate")


def check_weight(value: Any, where: str) -> float:
    """Return ``value`` as a finite non-negative float or raise naming ``where``."""
    ok = isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)
    w = float(value) if ok else float("nan")
    if not ok or not math.isfinite(w) or w < 0.0:
        raise MotionLibraryError(
            f"{where}: weight {value!r} is invalid; a clip weight must be a finite number >= 0 "
            "(0 disables the clip, the default is 1.0)."
        )
    return w


class ClipSampler:
    """Clip choice: ``P(c) ∝ w_c * f_c`` (module docstring), with the per-clip success EMAs and counts.

    Args:
        clip_names: one name per clip (error messages).
        device: torch device of the state.
        weights: static sampling weight per clip (finite, >= 0, not all 0); default all 1.
        clip_weighting: ``"static"`` (``f_c = 1``) or ``"success_rate"`` (``f_c = max(1 - s_c, success_floor)``).
        success_alpha: per-episode EMA rate of the clip success rates.
        success_init: initial success rate of every clip.
        success_floor: lower bound of the success-rate factor ``1 - s_c``.
    """

    def __init__(
        self,
        clip_names: Sequence[str],
        device: str | torch.device = "cpu",
        weights: Sequence[float] | None = None,
        clip_weighting: str = "static",
        success_alpha: float = 0.01,
        success_init: float = 0.5,
        success_floor: float = 0.1,
    ):
        if clip_weighting not in CLIP_WEIGHTINGS:
            raise MotionLibraryError(
                f"MotionLibrary: clip_weighting '{clip_weighting}' is not one of {CLIP_WEIGHTINGS}."
            )
        for name, value in (("success_alpha", success_alpha), ("success_init", success_init), ("success_floor", success_floor)):
            if not (0.0 <= value <= 1.0):
                raise MotionLibraryError(f"MotionLibrary: {name} must be in [0, 1], got {value}.")
        C = len(clip_names)
        if weights is None:
            w = np.ones(C)
        else:
            weights = list(weights)
            if len(weights) != C:
                raise MotionLibraryError(f"MotionLibrary: {len(weights)} weights for {C} motions.")
            w = np.array([check_weight(x, f"clip '{n}'") for x, n in zip(weights, clip_names, strict=True)])
        if w.sum() <= 0.0:
            raise MotionLibraryError("MotionLibrary: all clip weights are 0; at least one clip must have weight > 0.")
        self.device = torch.device(device)
        self.num_clips = C
        self.clip_weighting = clip_weighting
        self.success_alpha = float(success_alpha)
        self.success_init = float(success_init)
        self.success_floor = float(success_floor)
        #: Static weight of each clip ``[C]``.
        self.clip_weights = torch.tensor(w, dtype=torch.float32, device=self.device)
        #: Per-clip EMA success rate ``[C]`` (fraction of episodes ended by time-out).
        self.clip_success_rate = torch.full((C,), self.success_init, device=self.device)
        #: Episodes and failures reported per clip ``[C]`` since construction.
        self.clip_episode_count = torch.zeros(C, dtype=torch.long, device=self.device)
        self.clip_failure_count = torch.zeros(C, dtype=torch.long, device=self.device)
        #: Per-clip EMA of the ended episodes' tracking error ``[C]`` (what the caller reports, e.g. the
        #: episode-mean body position error in m; same rate as the success EMA); NaN until a report.
        self.clip_error = torch.full((C,), float("nan"), device=self.device)

    def probs(self) -> torch.Tensor:
        """Clip sampling probabilities ``[C]`` (static weights times the success-rate factor), summing to 1."""
        w = self.clip_weights
        if self.clip_weighting == "success_rate":
            w = w * (1.0 - self.clip_success_rate).clamp(min=self.success_floor)
        return w / w.sum()

    def update(self, clip_ids: torch.Tensor, failed: torch.Tensor, errors: torch.Tensor | None = None) -> None:
        """Report ended episodes (``failed [M]`` float 0/1 per clip index ``clip_ids [M]``): success EMAs and counts.

        ``n`` episodes of a clip in one call: ``s <- d s + (1 - d) mean_success`` with ``d = (1 - alpha)^n``.
        ``errors [M]`` (optional, one tracking error per episode) update :attr:`clip_error` the same
        way; a clip's first report sets it.
        """
        episodes = torch.zeros(self.num_clips, device=self.device).index_add_(0, clip_ids, torch.ones_like(failed))
        failures = torch.zeros(self.num_clips, device=self.device).index_add_(0, clip_ids, failed)
        mean_success = (episodes - failures) / episodes.clamp(min=1.0)
        keep = (1.0 - self.success_alpha) ** episodes
        self.clip_success_rate.mul_(keep).add_((1.0 - keep) * mean_success)
        if errors is not None:
            sums = torch.zeros(self.num_clips, device=self.device).index_add_(0, clip_ids, errors.to(torch.float32))
            mean_error = sums / episodes.clamp(min=1.0)
            blended = keep * self.clip_error + (1.0 - keep) * mean_error
            first = torch.isnan(self.clip_error)
            updated = torch.where(first, mean_error, blended)
            self.clip_error.copy_(torch.where(episodes > 0, updated, self.clip_error))
        self.clip_episode_count += episodes.long()
        self.clip_failure_count += failures.long()


class StartTimeSampler:
    """Start time within each clip: ``"uniform"`` or ``"adaptive"`` failure bins (module docstring).

    Args:
        clip_duration: ``[C]`` duration of each clip (s; float64 on the host, as :class:`~g1_mimic.motion.clips.ClipStore` keeps it).
        device: torch device of the state.
        sampling: ``"adaptive"`` or ``"uniform"``.
        bin_duration: maximum adaptive bin length (s).
        adaptive_alpha: EMA rate of the bin failure counts (per :meth:`update` call).
        adaptive_uniform_ratio: uniform mass added to the bins (``uniform_ratio / num_bins`` each).
        adaptive_lambda: decay of the smoothing kernel ``lambda^i``.
        adaptive_kernel_size: kernel length in bins (1 disables smoothing; BeyondMimic's released
            config uses 1, the default 3 lets failures pull up the two preceding bins).
    """

    def __init__(
        self,
        clip_duration: np.ndarray,
        device: str | torch.device = "cpu",
        sampling: str = "adaptive",
        bin_duration: float = 1.0,
        adaptive_alpha: float = 0.001,
        adaptive_uniform_ratio: float = 0.1,
        adaptive_lambda: float = 0.8,
        adaptive_kernel_size: int = 3,
    ):
        if sampling not in SAMPLING_MODES:
            raise MotionLibraryError(f"MotionLibrary: sampling '{sampling}' is not one of {SAMPLING_MODES}.")
        if not (math.isfinite(bin_duration) and bin_duration > 0.0):
            raise MotionLibraryError(f"MotionLibrary: bin_duration must be > 0 s, got {bin_duration}.")
        if int(adaptive_kernel_size) < 1:
            raise MotionLibraryError(f"MotionLibrary: adaptive_kernel_size must be >= 1, got {adaptive_kernel_size}.")
        if not (0.0 <= adaptive_alpha <= 1.0):
            raise MotionLibraryError(f"MotionLibrary: adaptive_alpha must be in [0, 1], got {adaptive_alpha}.")
        if not (adaptive_uniform_ratio >= 0.0 and adaptive_lambda >= 0.0):
            raise MotionLibraryError("MotionLibrary: adaptive_uniform_ratio and adaptive_lambda must be >= 0.")
        self.sampling = sampling
        self.bin_duration = float(bin_duration)
        self.adaptive_alpha = float(adaptive_alpha)
        self.adaptive_uniform_ratio = float(adaptive_uniform_ratio)
        self.adaptive_lambda = float(adaptive_lambda)
        self.adaptive_kernel_size = int(adaptive_kernel_size)
        dev = self.device = torch.device(device)
        duration = np.asarray(clip_duration, dtype=np.float64)
        C = self.num_clips = int(duration.shape[0])
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

    def bin_probs(self) -> torch.Tensor:
        """Adaptive bin probabilities ``[K]``, conditional on the clip: each clip's bins sum to 1."""
        raw = self.bin_failure_ema + self._bin_uniform
        smooth = (raw[self._kernel_index] * self._kernel).sum(-1)
        per_clip = torch.zeros(self.num_clips, device=self.device).index_add_(0, self.bin_clip, smooth)
        return smooth / per_clip[self.bin_clip]

    def time_to_bin(self, clip_ids: torch.Tensor, times: torch.Tensor) -> torch.Tensor:
        """Flat adaptive bin index ``[N]`` of each ``(clip, time)``; times outside the clip clamp to its first/last bin."""
        clip_ids = clip_ids.to(self.device)
        times = times.to(device=self.device, dtype=torch.float32)
        local = (times.clamp(min=0.0) * self._clip_inv_bin_width[clip_ids]).floor().long()
        local = torch.minimum(local, self.clip_num_bins[clip_ids] - 1)
        return self.clip_bin_start[clip_ids] + local

    def update(self, clip_ids: torch.Tensor, times: torch.Tensor, failed: torch.Tensor) -> None:
        """Report ended episodes (``failed [M]`` float 0/1, at ``times [M]`` s of ``clip_ids [M]``): all bins' EMAs."""
        bins = self.time_to_bin(clip_ids, times)
        current = torch.zeros(self.num_bins_total, device=self.device).index_add_(0, bins, failed)
        self.bin_failure_ema.lerp_(current, self.adaptive_alpha)
