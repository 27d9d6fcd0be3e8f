"""Motion library: the reference clips of a task and the sampling of where episodes start in them.

Three parts, each its own module: clip storage and interpolation (:class:`~g1_mimic.motion.clips.ClipStore`,
whose ``get_state`` answers ``(clip, time)`` queries for thousands of envs), the choice of clip
(:class:`~g1_mimic.motion.sampling.ClipSampler`: static weights, success rate) and of start time
(:class:`~g1_mimic.motion.sampling.StartTimeSampler`: uniform, adaptive failure bins), and loading
(:mod:`g1_mimic.motion.loading`: file, folder, YAML list). :class:`MotionLibrary` is a ``ClipStore``
that owns the two samplers and draws ``(clip, start time)`` pairs from their product; everything on
the hot path (:meth:`MotionLibrary.get_state`, :meth:`MotionLibrary.sample`,
:meth:`MotionLibrary.update_failures`) is vectorised torch with no Python loop over envs and no
host-device synchronisation. Frames, units, interpolation and the sampling rules: the docstrings of
:mod:`g1_mimic.motion.clips` and :mod:`g1_mimic.motion.sampling`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from g1_mimic.motion.clips import ClipStore, MotionLibraryError, MotionState
from g1_mimic.motion.format import Motion
from g1_mimic.motion.loading import load_clips
from g1_mimic.motion.sampling import ClipSampler, StartTimeSampler

__all__ = ["MotionLibrary", "MotionLibraryError", "MotionState"]


class MotionLibrary(ClipStore):
    """Reference clips on one device with interpolated queries and reference-state sampling.

    Args:
        motions, joint_names, body_names, device, clip_names, tail_mode, tail_blend_time,
            default_joint_pos, contact_body_names: the clips and their queries (:class:`ClipStore`).
        weights, clip_weighting, success_alpha, success_init, success_floor: the clip choice
            (:class:`~g1_mimic.motion.sampling.ClipSampler`).
        sampling, bin_duration, adaptive_alpha, adaptive_uniform_ratio, adaptive_lambda,
            adaptive_kernel_size: the start time (:class:`~g1_mimic.motion.sampling.StartTimeSampler`).
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
        super().__init__(
            motions, joint_names, body_names, device=device, clip_names=clip_names, tail_mode=tail_mode,
            tail_blend_time=tail_blend_time, default_joint_pos=default_joint_pos, contact_body_names=contact_body_names,
        )
        #: The clip choice: static weights, success EMAs and counts.
        self.clip_sampler = ClipSampler(
            self.clip_names, self.device, weights, clip_weighting, success_alpha, success_init, success_floor
        )
        #: The start time within the clip: adaptive bins and their failure EMAs.
        self.start_sampler = StartTimeSampler(
            self.clip_duration_s, self.device, sampling, bin_duration, adaptive_alpha, adaptive_uniform_ratio,
            adaptive_lambda, adaptive_kernel_size,
        )
        self._dirty = True
        self._clip_probs = torch.empty(self.num_clips, device=self.device)
        self._bin_probs = torch.empty(self.start_sampler.num_bins_total, device=self.device)
        self._clip_cdf = torch.empty(self.num_clips, dtype=torch.float64, device=self.device)
        self._joint_cdf = torch.empty(self.start_sampler.num_bins_total, dtype=torch.float64, device=self.device)

    @classmethod
    def from_path(
        cls,
        path: str | Path,
        joint_names: Sequence[str],
        body_names: Sequence[str],
        device: str | torch.device = "cpu",
        **kwargs: Any,
    ) -> MotionLibrary:
        """Load clips from a canonical ``.npz``, a folder of ``.npz`` files or a ``.yaml`` list
        (:func:`g1_mimic.motion.loading.load_clips`); ``kwargs`` go to the constructor. ``weights`` may
        not be passed with a yaml list (the yaml owns them), and the clip names are the files' unless given.
        """
        loaded = load_clips(path, joint_names, body_names)
        if loaded.weights is not None:
            if "weights" in kwargs:
                raise MotionLibraryError(
                    f"{path}: pass weights in the yaml ('weight:' per entry), not also as the weights argument."
                )
            kwargs["weights"] = loaded.weights
        kwargs.setdefault("clip_names", loaded.names)
        return cls(loaded.motions, joint_names, body_names, device=device, **kwargs)

    # ------------------------------------------------------------------------------------------
    # the samplers' state, as the task and its logs read it
    # ------------------------------------------------------------------------------------------
    @property
    def clip_weighting(self) -> str:
        return self.clip_sampler.clip_weighting

    @property
    def clip_weights(self) -> torch.Tensor:
        """Static weight of each clip ``[C]``."""
        return self.clip_sampler.clip_weights

    @property
    def clip_success_rate(self) -> torch.Tensor:
        """Per-clip EMA success rate ``[C]`` (fraction of episodes ended by time-out; edit in place)."""
        return self.clip_sampler.clip_success_rate

    @property
    def clip_error(self) -> torch.Tensor:
        """Per-clip EMA of the reported episode errors ``[C]`` (NaN until a clip's first report)."""
        return self.clip_sampler.clip_error

    @property
    def clip_episode_count(self) -> torch.Tensor:
        return self.clip_sampler.clip_episode_count

    @property
    def clip_failure_count(self) -> torch.Tensor:
        return self.clip_sampler.clip_failure_count

    @property
    def bin_failure_ema(self) -> torch.Tensor:
        """Per-bin failure EMA ``[K]`` (BeyondMimic's ``bin_failed_count``)."""
        return self.start_sampler.bin_failure_ema

    @property
    def clip_num_bins(self) -> torch.Tensor:
        return self.start_sampler.clip_num_bins

    @property
    def clip_bin_start(self) -> torch.Tensor:
        return self.start_sampler.clip_bin_start

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
        ``[bin_local[k], bin_local[k] + 1) * clip_bin_width[bin_clip[k]]`` s (``start_sampler``'s fields).
        """
        self._refresh()
        return self._bin_probs

    def _refresh(self) -> None:
        """Recompute the cached probabilities and CDFs after a state change (no host sync)."""
        if not self._dirty:
            return
        starts = self.start_sampler
        self._clip_probs = self.clip_sampler.probs()
        self._bin_probs = starts.bin_probs()
        self._clip_cdf = torch.cumsum(self._clip_probs.double(), 0)
        self._joint_cdf = torch.cumsum((self._clip_probs[starts.bin_clip] * self._bin_probs).double(), 0)
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
        if self.start_sampler.sampling == "uniform":
            clip_ids = self._draw(self._clip_cdf, n, generator)
            u = torch.rand(n, generator=generator, device=self.device)
            return clip_ids, u * self.clip_duration[clip_ids]
        bins = self._draw(self._joint_cdf, n, generator)
        clip_ids = self.start_sampler.bin_clip[bins]
        u = torch.rand(n, generator=generator, device=self.device)
        t = (self.start_sampler.bin_local[bins].float() + u) * self.start_sampler.clip_bin_width[clip_ids]
        return clip_ids, torch.minimum(t, self.clip_duration[clip_ids])

    def time_to_bin(self, clip_ids: torch.Tensor, times: torch.Tensor) -> torch.Tensor:
        """Flat adaptive bin index ``[N]`` of each ``(clip, time)``; times outside the clip clamp to its first/last bin."""
        return self.start_sampler.time_to_bin(clip_ids, times)

    def update_failures(
        self, clip_ids: torch.Tensor, times: torch.Tensor, failed: torch.Tensor, errors: torch.Tensor | None = None
    ) -> None:
        """Report ended episodes: update the bin failure EMAs (all bins decay), the clip success rates
        and, given ``errors``, the clips' error EMAs (:attr:`clip_error`).

        Args:
            clip_ids: ``[M]`` clip of each ended episode.
            times: ``[M]`` motion time (s) at which it ended.
            failed: ``[M]`` bool, True if it terminated (failure), False if it timed out (success).
            errors: ``[M]`` tracking error of each episode (the task reports its episode-mean body
                position error, m), or None.
        """
        clip_ids = clip_ids.to(self.device)
        failed_f = failed.to(device=self.device, dtype=torch.float32)
        self.start_sampler.update(clip_ids, times, failed_f)
        self.clip_sampler.update(clip_ids, failed_f, None if errors is None else errors.to(self.device))
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
            "clip_error": self.clip_error.clone(),
        }

    def load_sampling_state_tensors(self, state: dict[str, torch.Tensor]) -> None:
        """Restore the EMAs and counts saved by :meth:`sampling_state_tensors` (same clips required; a
        state saved before the error EMA existed leaves it unknown)."""
        for key in ("bin_failure_ema", "clip_success_rate", "clip_episode_count", "clip_failure_count", "clip_error"):
            if key == "clip_error" and key not in state:
                continue
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
        ``clip/<name>/bin_entropy``, ``clip/<name>/top1_bin_prob``, ``clip/<name>/top1_bin_time`` (s, bin start)
        and, once the clip has reported errors, ``clip/<name>/error`` (:attr:`clip_error`).
        """
        self._refresh()
        starts = self.start_sampler
        C = self.num_clips
        p_bin = self._bin_probs
        ent_terms = -(p_bin * (p_bin + 1e-12).log())
        bin_entropy = torch.zeros(C, device=self.device).index_add_(0, starts.bin_clip, ent_terms)
        log_n = self.clip_num_bins.float().log()
        bin_entropy = torch.where(self.clip_num_bins > 1, bin_entropy / log_n.clamp(min=1e-12), torch.ones_like(log_n))
        top_prob = torch.zeros(C, device=self.device).scatter_reduce_(0, starts.bin_clip, p_bin, "amax")
        is_top = p_bin >= top_prob[starts.bin_clip]
        local = torch.where(is_top, starts.bin_local, torch.full_like(starts.bin_local, torch.iinfo(torch.long).max))
        top_local = torch.full((C,), torch.iinfo(torch.long).max, device=self.device).scatter_reduce_(
            0, starts.bin_clip, local, "amin"
        )
        top_time = top_local.float() * starts.clip_bin_width
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
            rows = torch.stack([self.clip_success_rate, pc, bin_entropy, top_prob, top_time, self.clip_error], dim=1).tolist()
            for name, (sr, prob, ent, top, top_t, err) in zip(self.clip_names, rows, strict=True):
                out[f"clip/{name}/success_rate"] = sr
                out[f"clip/{name}/prob"] = prob
                out[f"clip/{name}/bin_entropy"] = ent
                out[f"clip/{name}/top1_bin_prob"] = top
                out[f"clip/{name}/top1_bin_time"] = top_t
                if not math.isnan(err):
                    out[f"clip/{name}/error"] = err
        return out
