"""Plot a training run's learning curve (episode length, reward, tracking errors per iteration) to PNG.

    python scripts/plot_learning_curve.py logs/rsl_rl/<experiment>/<run> [--out docs/media/curve.png] [--json curve.json]
    python scripts/plot_learning_curve.py RUN_A --compare RUN_B [RUN_C ...] --labels A B [C ...] --out cmp.png

Reads the run's TensorBoard events (written by rsl_rl through Isaac Lab): ``Train/mean_episode_length``
(steps of 0.02 s), ``Train/mean_reward``, the training success rate (fraction of episodes that reach
the clip's end, an EMA over episodes from random start times), the motion command's per-episode metrics
``Metrics/motion/error_body_pos`` (m), ``error_anchor_pos`` (m), ``error_joint_pos`` (rad), PPO's
learning rate (log scale), the policy's mean action noise std, the body position reward's std where a
curriculum sets it (``Curriculum/tracking_std/motion_body_pos``); and what ended the episodes: Isaac Lab's
``Episode_Termination/<term>`` (the share of envs whose last episode that term ended), one line per term that
ever ended more than 1 % of them, with the shares over the last tenth of the run printed.
A run on more than one clip also gets ``<out stem>_clips.png``: per clip, the training success EMA and
the episode-mean body position error EMA (``Metrics/motion/clip/<name>/success_rate``, ``.../error``).
``--json`` also writes the series (x = iteration, plus wall-clock seconds since the first point);
``--summary`` prints each series' first value, 10th/50th/90th percentiles and last value.
``--compare`` draws other runs on the same panels, one colour per run (``--labels`` names them; the
per-clip figure, ``--json`` and ``--summary`` are of the first run), and prints each run's episode ends.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

SERIES = {
    "Train/mean_episode_length": "mean episode length [steps]",
    "Train/mean_reward": "mean episode reward",
    "Metrics/motion/error_body_pos": "body position error [m]",
    "Metrics/motion/error_anchor_pos": "anchor position error [m]",
    "Metrics/motion/error_joint_pos": "joint position error [rad]",
    "Metrics/motion/sampling/success_rate_mean": "training success rate",
    "Loss/learning_rate": "learning rate",
    "Policy/mean_std": "action noise std",
    "Curriculum/tracking_std/motion_body_pos": "body position reward std [m]",
}
LOG_SCALE = {"Loss/learning_rate"}
TERMINATION_PREFIX = "Episode_Termination/"
"""Isaac Lab's per-term share of the envs whose last episode the term ended (0-1)."""
CLIP_PREFIX = "Metrics/motion/clip/"
CLIP_SERIES = {"success_rate": ("training success EMA", 1.0), "error": ("body position error EMA [cm]", 100.0)}
"""Per-clip series: tag suffix -> (axis label, scale of the plotted value)."""


def is_clip_tag(tag: str) -> bool:
    """``Metrics/motion/clip/<name>/<series>`` with a series of :data:`CLIP_SERIES`."""
    return tag.startswith(CLIP_PREFIX) and tag.rsplit("/", 1)[-1] in CLIP_SERIES


def summary_lines(series: dict[str, list[tuple[int, float, float]]]) -> list[str]:
    """One line per series: first value, 10th/50th/90th percentiles over the run, last value."""
    import numpy as np

    lines = []
    for tag, pts in series.items():
        v = np.array([p[1] for p in pts])
        p10, p50, p90 = np.percentile(v, [10, 50, 90])
        lines.append(f"{tag}: first {v[0]:.4g}, p10 {p10:.4g}, median {p50:.4g}, p90 {p90:.4g}, last {v[-1]:.4g} ({len(v)} points)")
    return lines


def read_series(run_dir: Path) -> dict[str, list[tuple[int, float, float]]]:
    """``tag -> [(iteration, value, wall_time_s)]`` from the run's event files."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    files = sorted(run_dir.glob("events.out.tfevents.*"))
    if not files:
        raise SystemExit(f"[plot] no TensorBoard event file in {run_dir}")
    out: dict[str, list[tuple[int, float, float]]] = {}
    for f in files:
        acc = EventAccumulator(str(f), size_guidance={"scalars": 0})
        acc.Reload()
        for tag in acc.Tags().get("scalars", []):
            if tag in SERIES or is_clip_tag(tag) or tag.startswith(TERMINATION_PREFIX):
                out.setdefault(tag, []).extend((e.step, e.value, e.wall_time) for e in acc.Scalars(tag))
    t0 = min((pts[0][2] for pts in out.values() if pts), default=0.0)
    return {k: [(s, v, w - t0) for s, v, w in sorted(pts)] for k, pts in out.items()}


def termination_shares(series: dict[str, list[tuple[int, float, float]]], tail: float = 0.1) -> dict[str, float]:
    """``term -> mean share`` of the envs whose last episode ``term`` ended, over the last ``tail`` of each
    series' points, for the terms that ever ended more than 1 % of them; largest first."""
    shares = {}
    for tag, pts in series.items():
        if tag.startswith(TERMINATION_PREFIX) and pts and max(p[1] for p in pts) > 0.01:
            last = pts[-max(1, round(tail * len(pts))) :]
            shares[tag[len(TERMINATION_PREFIX) :]] = sum(p[1] for p in last) / len(last)
    return dict(sorted(shares.items(), key=lambda kv: -kv[1]))


def plot_clips(series: dict[str, list[tuple[int, float, float]]], out: Path, plt) -> Path | None:
    """Per-clip training success and error over iterations, one line per clip, into ``out``; nothing
    (None) unless at least two clips were logged."""
    names = sorted({t[len(CLIP_PREFIX):].rsplit("/", 1)[0] for t in series if is_clip_tag(t)})
    if len(names) < 2:
        return None
    fig, axes = plt.subplots(len(CLIP_SERIES), 1, figsize=(9, 3.0 * len(CLIP_SERIES) + 0.25 * len(names)), sharex=True)
    cmap = plt.get_cmap("tab20")
    for ax, (key, (label, scale)) in zip(axes, CLIP_SERIES.items(), strict=True):
        for i, name in enumerate(names):
            pts = series.get(f"{CLIP_PREFIX}{name}/{key}", [])
            ax.plot([p[0] for p in pts], [scale * p[1] for p in pts], lw=1.0, color=cmap(i % 20), label=name)
        ax.set_ylabel(label, fontsize=8)
        ax.grid(alpha=0.3)
    axes[-1].set_xlabel("PPO iteration")
    fig.suptitle(f"{len(names)} clips: per-clip training state", fontsize=10)
    rows = (len(names) + 2) // 3
    fig.legend(*axes[0].get_legend_handles_labels(), fontsize=7, ncol=3, loc="lower center")
    fig.tight_layout(rect=(0.0, 0.035 * rows + 0.02, 1.0, 1.0))
    fig.savefig(out, dpi=110)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--out", type=Path, default=None, help="PNG path (default: <run>/learning_curve.png)")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--title", default=None)
    parser.add_argument("--summary", action="store_true", help="print first, p10/p50/p90 and last value of each series")
    parser.add_argument("--compare", type=Path, nargs="+", default=[], metavar="RUN", help="other runs drawn on the same panels")
    parser.add_argument("--labels", nargs="+", default=None, help="one name per run, the first run's first (default: the folder names)")
    args = parser.parse_args(argv)
    runs = [args.run_dir, *args.compare]
    labels = args.labels or [r.name for r in runs]
    if len(labels) != len(runs):
        raise SystemExit(f"[plot] --labels: {len(labels)} names for {len(runs)} runs ({', '.join(map(str, runs))}); give one per run")
    all_series = [read_series(r) for r in runs]
    series = all_series[0]
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tags = [t for t in SERIES if any(t in s for s in all_series)]
    if not tags:
        raise SystemExit(f"[plot] none of {list(SERIES)} logged in {', '.join(map(str, runs))}")
    all_ends = [termination_shares(s) for s in all_series]
    panels = len(tags) + any(all_ends)  # the series, then what ended the episodes
    fig, axes = plt.subplots(panels, 1, figsize=(7, 2.1 * panels), sharex=True)
    axes = [axes] if panels == 1 else list(axes)
    compare = len(runs) > 1
    styles = ["-", "--", ":", "-."]
    for k, (run_series, ends, label) in enumerate(zip(all_series, all_ends, labels, strict=True)):
        color = f"C{k}" if compare else None
        if ends:
            ax = axes[-1]
            for j, term in enumerate(ends):
                pts = run_series[TERMINATION_PREFIX + term]
                name = f"{label}: {term}" if compare else term
                ax.plot([p[0] for p in pts], [p[1] for p in pts], lw=1.0, color=color, ls=styles[j % 4] if compare else "-", label=name)
        for ax, tag in zip(axes[: len(tags)], tags, strict=True):
            pts = run_series.get(tag, [])
            ax.plot([p[0] for p in pts], [p[1] for p in pts], lw=1.2, color=color, label=label if compare else None)
    if any(all_ends):
        ax = axes[-1]
        ax.set_ylabel("episodes ended by", fontsize=8)
        ax.set_ylim(-0.02, 1.02)
        ax.legend(fontsize=7, ncol=2 if compare else 3, loc="upper right")
        ax.grid(alpha=0.3)
    for ax, tag in zip(axes[: len(tags)], tags, strict=True):
        ax.set_ylabel(SERIES[tag], fontsize=8)
        if tag in LOG_SCALE:
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
    if compare:
        axes[0].legend(fontsize=7, loc="lower right")
    axes[-1].set_xlabel("PPO iteration")
    minutes = [max(p[2] for pts in s.values() for p in pts) / 60 for s in all_series]
    if compare:
        default_title = " vs ".join(f"{label} ({m:.0f} min)" for label, m in zip(labels, minutes, strict=True))
    else:
        default_title = f"{args.run_dir.name} ({minutes[0]:.0f} min wall clock)"
    fig.suptitle(args.title or default_title, fontsize=10)
    fig.tight_layout()
    out = args.out or args.run_dir / "learning_curve.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    print(f"[plot] wrote {out}")
    for ends, label in zip(all_ends, labels, strict=True):
        if ends:
            shares = ", ".join(f"{term} {share:.2f}" for term, share in ends.items())
            print(f"[plot] {label + ': ' if compare else ''}episodes ended by (share of envs, last tenth of the run): {shares}")
    clips_png = plot_clips(series, out.with_name(f"{out.stem}_clips.png"), plt)
    if clips_png is not None:
        print(f"[plot] wrote {clips_png}")
    if args.summary:
        print("\n".join(summary_lines(series)))
    if args.json:
        args.json.write_text(json.dumps({k: [{"iteration": s, "value": v, "wall_s": w} for s, v, w in pts] for k, pts in series.items()}, indent=1))
        print(f"[plot] wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
