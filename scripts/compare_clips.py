"""Per clip, the per-clip expert beside the multi-clip policy and the distilled student, from learn_clips tables;
or, with ``--targets FOLDER``, every clip of a folder against the real-motion targets.

    python scripts/compare_clips.py docs/results/real_clips.json docs/results/real_clips_tuning.json \
        docs/results/multi_clip.json [docs/results/distilled.json] [--markdown OUT.md]
    python scripts/compare_clips.py docs/results/real_clips.json docs/results/real_clips_tuning.json \
        --targets ../shared/data/motions/real [--markdown OUT.md]

Reads the rows of every table given (``scripts/learn_clips.py --json``) and groups them by how their
policy was trained (the row's ``mode``): ``per_clip`` (one policy per clip: the expert), ``together``
(multi-clip PPO) and ``distilled`` (a student of the experts). Per clip and mode it keeps one row: the
expert with the best evaluation (success, then MPKPE) over all the per-clip rows of that clip, and the
newest row (by date, then position) of each multi-clip mode. One Markdown line per clip that any
multi-clip row has (held-out clips marked), with success, MPKPE and sim2sim success of each mode (a
policy that fails gets the mean length of its evaluation episodes beside its MPKPE, which is the error of
the part it played); the expert's repairs (``--fix``) and training minutes say what it was trained on. A
student's row also names its own teacher (the expert ``--distill`` chose for the clip, which need not be the
best expert: experts in another action map are passed over): its success, MPKPE and commit.

``--targets FOLDER``: one line per motion file of the folder (its stem is the rows' ``clip``), with the
per-clip row (any task) that meets the most of the targets (evaluation success >= 90 %, MPKPE <= 5 cm,
sim2sim success >= 90 %; ties: higher success, then lower MPKPE), the targets it misses, and a summary
line: how many clips meet all three, how many were tried. A clip no row has is listed as untried.

``--plot OUT.png``: the same comparison as a figure, per clip grouped bars of evaluation success and MPKPE
(one bar per mode, its sim2sim success a circle on it; with ``--targets``, one per clip with the targets drawn); the MPKPE bar of a policy whose
episodes from frame 0 end, on average, before the clip's end is hatched (the error of the part it played).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

MODES = ("per_clip", "together", "distilled")
TITLES = {"per_clip": "expert (one policy per clip)", "together": "multi-clip PPO", "distilled": "distilled student"}
#: The real-motion targets: evaluation success, MPKPE [m], sim2sim success.
TARGET_SUCCESS, TARGET_MPKPE_M, TARGET_SIM2SIM = 0.9, 0.05, 0.9


def load_rows(tables: list[Path]) -> list[dict]:
    """Every row of the tables, in order; exits naming a table that is missing or not a learn_clips table."""
    rows = []
    for table in tables:
        if not table.is_file():
            raise SystemExit(f"[compare_clips] {table}: no such file (a scripts/learn_clips.py --json table)")
        try:
            data = json.loads(table.read_text())
        except json.JSONDecodeError as exc:
            raise SystemExit(f"[compare_clips] {table}: not JSON ({exc})") from None
        if not isinstance(data, dict) or not isinstance(data.get("rows"), list):
            raise SystemExit(f"[compare_clips] {table}: no 'rows' list; is it a scripts/learn_clips.py --json table?")
        rows += data["rows"]
    return rows


def pick(rows: list[dict]) -> dict[str, dict[str, dict]]:
    """``clip -> mode -> row``: the best expert (success, then lowest MPKPE) and the newest multi-clip rows."""
    out: dict[str, dict[str, dict]] = {}
    for row in rows:
        mode = row.get("mode", "per_clip")
        if mode not in MODES:
            continue
        have = out.setdefault(row["clip"], {}).get(mode)
        if mode == "per_clip":
            better = have is None or (row["success_rate"], -row["mpkpe_m"]) > (have["success_rate"], -have["mpkpe_m"])
        else:  # rows later in the tables, or of a later date, replace earlier ones
            better = have is None or row.get("date", "") >= have.get("date", "")
        if better:
            out[row["clip"]][mode] = row
    return out


def played_s(row: dict) -> float | None:
    """The mean length [s] of the row's evaluation episodes where they ended, on average, before the clip's end
    (its MPKPE is then the error of the part played); None where the policy played the clip through (the
    episodes also hold the standing after the clip's end, so a mean past the clip's length is no fall)."""
    played = row.get("mean_episode_length_s")
    if row["success_rate"] >= 1.0 or played is None or played >= row.get("length_s", float("inf")):
        return None
    return played


def _cells(row: dict | None, mode: str) -> list[str]:
    if row is None:
        return ["–"] * (3 if mode == "together" else 4)
    mpkpe = f"{100 * row['mpkpe_m']:.1f}"
    played = played_s(row)
    if played is not None:  # the error of the part played
        mpkpe += f" (to {played:.1f} of {row['length_s']:.1f} s)"
    cells = [f"{100 * row['success_rate']:.0f} %", mpkpe, f"{100 * row['sim2sim_success_rate']:.0f} %"]
    if mode == "per_clip":
        fixes = ", ".join(row.get("fixes") or {}) or "none"
        cells.append(f"{row['minutes']:g} min, {fixes}, `{row.get('commit', '?')}`")
    elif mode == "distilled":
        teacher = row.get("expert")
        cells.append(
            "–" if not teacher else
            f"{100 * teacher['success_rate']:.0f} %, {100 * teacher['mpkpe_m']:.1f} cm, `{teacher.get('commit', '?')}`"
        )
    return cells


def compared_clips(picked: dict[str, dict[str, dict]]) -> list[str]:
    """The clips that a multi-clip row (together or distilled) has, trained ones first, then held-out ones, each
    by name; exits when there is none."""
    clips = [c for c in picked if any(m in picked[c] for m in MODES[1:])]
    if not clips:
        raise SystemExit("[compare_clips] no --together or --distill rows in the tables; nothing to compare")
    return sorted(clips, key=lambda c: (any(r.get("held_out") for r in picked[c].values()), c))


def markdown(picked: dict[str, dict[str, dict]], clips: list[str]) -> str:
    """The comparison as a Markdown table (``picked``: :func:`pick`'s rows): one line per clip of ``clips``
    (:func:`compared_clips`: those a multi-clip row, together or distilled, has)."""
    head = ["clip"]
    for mode in MODES:
        t = TITLES[mode]
        head += [f"{t}: success", f"{t}: MPKPE [cm]", f"{t}: sim2sim"]
        if mode == "per_clip":
            head.append("expert trained")
        elif mode == "distilled":
            head.append("its teacher")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for clip in clips:
        held = any(r.get("held_out") and r.get("mode") in MODES[1:] for r in picked[clip].values())
        cells = [f"{clip}{' (held out)' if held else ''}"]
        for mode in MODES:
            cells += _cells(picked[clip].get(mode), mode)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def missed_targets(row: dict) -> list[str]:
    """The targets a per-clip row misses (empty: it meets all three)."""
    missed = []
    if row["success_rate"] < TARGET_SUCCESS:
        missed.append(f"success {100 * row['success_rate']:.0f} % < {100 * TARGET_SUCCESS:.0f} %")
    if row["mpkpe_m"] > TARGET_MPKPE_M:
        missed.append(f"MPKPE {100 * row['mpkpe_m']:.2f} > {100 * TARGET_MPKPE_M:.0f} cm")
    if row["sim2sim_success_rate"] < TARGET_SIM2SIM:
        missed.append(f"sim2sim {100 * row['sim2sim_success_rate']:.0f} % < {100 * TARGET_SIM2SIM:.0f} %")
    return missed


def targets_markdown(rows: list[dict], folder: Path) -> tuple[str, list[str], dict[str, dict]]:
    """Every motion file of ``folder`` against the targets: the Markdown (its closest per-clip row, what it misses,
    a summary), the folder's clips (stems, in order) and ``clip -> that row`` for the clips tried."""
    from g1_mimic.motion.cli import folder_files
    from g1_mimic.motion.format import MotionFormatError

    if not folder.is_dir():
        raise SystemExit(f"[compare_clips] --targets {folder}: no such folder (the clips' folder, e.g. ../shared/data/motions/real)")
    try:
        clips = [p.stem for p in folder_files(folder)]
    except MotionFormatError as exc:
        raise SystemExit(f"[compare_clips] --targets {exc}") from None
    def closeness(row: dict) -> tuple[int, float, float]:  # fewest targets missed, then success, then MPKPE
        return -len(missed_targets(row)), row["success_rate"], -row["mpkpe_m"]

    best: dict[str, dict] = {}
    for row in rows:
        if row.get("mode", "per_clip") != "per_clip" or row["clip"] not in clips:
            continue
        if row["clip"] not in best or closeness(row) > closeness(best[row["clip"]]):
            best[row["clip"]] = row
    head = ["clip", "success", "MPKPE [cm]", "R-MPKPE [cm]", "sim2sim", "targets", "row: task, minutes, fixes, overrides, commit"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for clip in clips:
        row = best.get(clip)
        if row is None:
            lines.append(f"| {clip} | – | – | – | – | untried | – |")
            continue
        held = " (held out)" if row.get("held_out") else ""
        r_mpkpe = "–" if row.get("r_mpkpe_m") is None else f"{100 * row['r_mpkpe_m']:.1f}"
        missed = missed_targets(row)
        task = row.get("task", "?").removeprefix("Isaac-G1-Mimic-").removesuffix("-v0")
        recipe = ", ".join(row.get("fixes") or {}) or "no fixes"
        if row.get("overrides"):
            recipe += f", `{' '.join(row['overrides'])}`"
        lines.append(
            f"| {clip}{held} | {100 * row['success_rate']:.0f} % | {100 * row['mpkpe_m']:.1f} | {r_mpkpe} | "
            f"{100 * row['sim2sim_success_rate']:.0f} % | {'met' if not missed else 'missed: ' + '; '.join(missed)} | "
            f"{task}, {row['minutes']:g} min, {recipe}, `{row.get('commit', '?')}` |"
        )
    met = sum(not missed_targets(best[c]) for c in best)
    lines.append("")
    lines.append(
        f"{met} of {len(clips)} clips meet all targets (success >= {100 * TARGET_SUCCESS:.0f} %, MPKPE <= "
        f"{100 * TARGET_MPKPE_M:.0f} cm, sim2sim >= {100 * TARGET_SIM2SIM:.0f} %); {len(best)} tried, "
        f"{len(clips) - len(best)} untried"
    )
    return "\n".join(lines), clips, best


def short_name(clip: str) -> str:
    """A clip's stem without its dataset prefix and its DoF/rate suffix (``g1moves_J_ShortDance13_SingleLadies_29dof_60hz``
    -> ``ShortDance13_SingleLadies``), for axis labels."""
    for prefix in ("g1moves_B_", "g1moves_J_", "g1moves_M_", "unitree_"):
        clip = clip.removeprefix(prefix)
    parts = clip.split("_")
    while parts and (parts[-1].endswith("hz") or parts[-1].endswith("dof")):
        parts.pop()
    return "_".join(parts) or clip


def plot(series: dict[str, dict[str, dict]], clips: list[str], out: Path, title: str, targets: bool = False) -> Path:
    """Grouped bars per clip: evaluation success [%] (top) and MPKPE [cm] (bottom), one bar per series
    (``label -> clip -> row``; a clip a series has no row of gets no bar, one no series has is marked untried). The MPKPE bar of a policy that falls
    before the clip's end on average (:func:`played_s`) is hatched; held-out clips are starred. ``targets``: the success and MPKPE targets as dashed lines.
    Written atomically to ``out``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from g1_mimic.fileio import atomic_path

    width = 0.8 / max(len(series), 1)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(max(6.0, 0.75 * len(clips) + 2.0), 6.0), sharex=True)
    for k, (label, rows) in enumerate(series.items()):
        color = f"C{k}"
        xs = [i + (k - (len(series) - 1) / 2) * width for i, c in enumerate(clips) if c in rows]
        got = [rows[c] for c in clips if c in rows]
        top.bar(xs, [100 * r["success_rate"] for r in got], width, color=color, label=label)
        zero = [x for x, r in zip(xs, got, strict=True) if r["success_rate"] == 0.0]  # a bar of 0 % is not seen
        top.plot(zero, [2.0] * len(zero), "v", color=color, ms=5)
        top.plot(xs, [100 * r["sim2sim_success_rate"] for r in got], "o", mfc="white", mec="k", ms=4,
                 label="sim2sim" if k == len(series) - 1 else None)
        for x, r in zip(xs, got, strict=True):
            failed = played_s(r) is not None
            bottom.bar(x, 100 * r["mpkpe_m"], width, color=color, hatch="//" if failed else None,
                       edgecolor="white" if failed else color)
    if targets:
        top.axhline(100 * TARGET_SUCCESS, color="k", ls="--", lw=0.8, label=f"target {100 * TARGET_SUCCESS:.0f} %")
        bottom.axhline(100 * TARGET_MPKPE_M, color="k", ls="--", lw=0.8, label=f"target {100 * TARGET_MPKPE_M:.0f} cm")
        bottom.legend(fontsize=7, loc="upper left")
    held = {c for rows in series.values() for c, r in rows.items() if r.get("held_out")}
    top.set_ylabel("success from frame 0 [%]")
    top.set_ylim(0, 105)
    bottom.set_ylabel("MPKPE [cm] (hatched: to the fall)")
    names = [short_name(c) + (" *" if c in held else "") for c in clips]
    names = [n if any(c in rows for rows in series.values()) else f"{n} (untried)" for n, c in zip(names, clips, strict=True)]
    bottom.set_xticks(range(len(clips)), names, rotation=35, ha="right", fontsize=8)
    for ax in (top, bottom):
        ax.grid(axis="y", alpha=0.3)
    top.legend(fontsize=7, ncol=len(series) + 1 + int(targets), loc="lower center", bbox_to_anchor=(0.5, 1.0))
    fig.suptitle(title + ("  (* held out)" if held else ""), fontsize=10)
    fig.tight_layout()
    with atomic_path(out, suffix=".tmp.png") as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tables", nargs="+", type=Path, help="scripts/learn_clips.py --json tables")
    parser.add_argument("--markdown", type=Path, default=None, help="also write the table here")
    parser.add_argument(
        "--targets", type=Path, default=None, metavar="FOLDER",
        help="instead: every motion file of FOLDER against the real-motion targets (its closest per-clip row)",
    )
    parser.add_argument("--plot", type=Path, default=None, metavar="OUT.png", help="also draw the comparison here")
    args = parser.parse_args(argv)
    rows = load_rows(args.tables)
    if args.targets is None:
        picked = pick(rows)
        clips = compared_clips(picked)
        text = markdown(picked, clips)
        series = {TITLES[m]: {c: picked[c][m] for c in clips if m in picked[c]} for m in MODES}
        title = "per clip: expert, multi-clip PPO, distilled student"
    else:
        text, clips, best = targets_markdown(rows, args.targets)
        series, title = {"closest per-clip row": best}, "per clip against the real-motion targets"
    print(text)
    if args.markdown:
        from g1_mimic.fileio import atomic_write_text

        atomic_write_text(args.markdown, text + "\n")
        print(f"[compare_clips] wrote {args.markdown}")
    if args.plot:
        plot(series, clips, args.plot, title, targets=args.targets is not None)
        print(f"[compare_clips] wrote {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
