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


def _cells(row: dict | None, mode: str) -> list[str]:
    if row is None:
        return ["–"] * (3 if mode == "together" else 4)
    mpkpe = f"{100 * row['mpkpe_m']:.1f}"
    if row["success_rate"] < 1.0 and row.get("mean_episode_length_s") is not None:  # the error of the part played
        mpkpe += f" (to {row['mean_episode_length_s']:.1f} of {row['length_s']:.1f} s)"
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


def markdown(rows: list[dict]) -> str:
    """The comparison as a Markdown table: one line per clip that a multi-clip row (together or distilled) has."""
    picked = pick(rows)
    clips = [c for c in picked if any(m in picked[c] for m in MODES[1:])]
    if not clips:
        raise SystemExit("[compare_clips] no --together or --distill rows in the tables; nothing to compare")
    head = ["clip"]
    for mode in MODES:
        t = TITLES[mode]
        head += [f"{t}: success", f"{t}: MPKPE [cm]", f"{t}: sim2sim"]
        if mode == "per_clip":
            head.append("expert trained")
        elif mode == "distilled":
            head.append("its teacher")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for clip in sorted(clips, key=lambda c: (any(r.get("held_out") for r in picked[c].values()), c)):
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


def targets_markdown(rows: list[dict], folder: Path) -> str:
    """Every motion file of ``folder`` against the targets: its closest per-clip row, what it misses, a summary."""
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
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tables", nargs="+", type=Path, help="scripts/learn_clips.py --json tables")
    parser.add_argument("--markdown", type=Path, default=None, help="also write the table here")
    parser.add_argument(
        "--targets", type=Path, default=None, metavar="FOLDER",
        help="instead: every motion file of FOLDER against the real-motion targets (its closest per-clip row)",
    )
    args = parser.parse_args(argv)
    rows = load_rows(args.tables)
    text = markdown(rows) if args.targets is None else targets_markdown(rows, args.targets)
    print(text)
    if args.markdown:
        from g1_mimic.fileio import atomic_write_text

        atomic_write_text(args.markdown, text + "\n")
        print(f"[compare_clips] wrote {args.markdown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
