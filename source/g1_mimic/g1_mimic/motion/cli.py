"""``scripts/motion.py``: convert, inspect, validate, export, generate and render G1 motions.

Exit status: 0 success; 1 the motion (or an option value) is invalid, the message on stderr;
2 bad command line (argparse). Progress, notes and warnings go to stderr; results (``inspect``
output, ``validate``'s verdict) to stdout.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from g1_mimic.motion.format import MotionFormatError
from g1_mimic.motion.importers import FORMATS, ImportOptions, convert_motion, export_csv, import_motion, load_or_import
from g1_mimic.motion.validate import ValidationReport, inspect_motion

__all__ = ["build_parser", "main"]


def _float(text: str) -> float:
    """A number (range checks happen in validation, which names the file)."""
    try:
        return float(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from exc


def _add_import_options(p: argparse.ArgumentParser, out_fps_default: float | None) -> None:
    g = p.add_argument_group("import options")
    g.add_argument("--format", choices=list(FORMATS), help="input layout (default: detect; see docs/motion_data.md)")
    g.add_argument(
        "--fps",
        type=_float,
        help="input frame rate in Hz (for files that store none: CSVs take the rate in their name, e.g. _60hz, else 30; 23-DoF CSVs 60)",
    )
    g.add_argument(
        "--out-fps",
        type=_float,
        default=out_fps_default,
        help="output frame rate in Hz"
        + (f" (default {out_fps_default:g}, the control rate)" if out_fps_default else " (default: keep the input rate)"),
    )
    g.add_argument("--clamp-limits", action="store_true", help="clamp joint angles to the G1 limits (default: warn only)")
    g.add_argument(
        "--missing-joints",
        choices=("default", "zero"),
        help="hold G1 joints absent from the file at default_joint_pos or 0 (23-DoF inputs default to 'default')",
    )
    g.add_argument("--joint-order", help="joint column order: sdk|isaaclab|FILE.txt (npz_beyondmimic; optional for pkl)")
    g.add_argument("--body-order", help="body row order: mujoco|isaaclab|FILE.txt (npz_beyondmimic)")
    g.add_argument("--clip", help="clip name inside a multi-clip PHC pickle")
    g.add_argument(
        "--align-ground", action="store_true", help="shift the root vertically so the lowest foot point is at z = 0"
    )
    r = p.add_argument_group("fixes for real motion capture (docs/motion_data.md, 'Real clips')")
    r.add_argument("--trim-start", type=_float, default=0.0, metavar="S", help="drop S seconds from the start of the input")
    r.add_argument("--trim-end", type=_float, default=0.0, metavar="S", help="drop S seconds from the end of the input")
    r.add_argument(
        "--smooth-glitches", action="store_true", help="replace joint jumps faster than 30 rad/s by straight lines"
    )
    r.add_argument(
        "--fix-start",
        choices=("trim", "blend"),
        help="a start no robot can follow (a jump, a T-pose): drop it (trim) or drop it and blend in from standing (blend)",
    )
    r.add_argument("--blend-s", type=_float, default=1.0, metavar="S", help="duration of --fix-start blend (default 1 s)")
    r.add_argument(
        "--level-feet",
        action="store_true",
        help="lower the foot that rests higher than the other (one-sided support) by the difference, by leg IK",
    )
    r.add_argument(
        "--fix-skating",
        action="store_true",
        help="move the root horizontally so the foot carrying the body stays planted (stance-foot slide)",
    )


def _options(args: argparse.Namespace) -> ImportOptions:
    return ImportOptions(
        format=args.format,
        fps=args.fps,
        out_fps=args.out_fps,
        clamp_limits=args.clamp_limits,
        missing_joints=args.missing_joints,
        joint_order=args.joint_order,
        body_order=args.body_order,
        clip=args.clip,
        align_ground=args.align_ground,
        trim_start=args.trim_start,
        trim_end=args.trim_end,
        smooth_glitches=args.smooth_glitches,
        fix_start=args.fix_start,
        blend_s=args.blend_s,
        level_feet=args.level_feet,
        fix_skating=args.fix_skating,
    )


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser of ``scripts/motion.py``."""
    parser = argparse.ArgumentParser(
        prog="motion.py",
        description="Convert, check and look at G1 reference motions (canonical format: docs/motion_data.md).",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser(
        "convert", help="import a motion file (or every file of a folder) and write the canonical .npz (resampled to --out-fps)"
    )
    p.add_argument("input", type=Path, help="input file (.csv, .npz, .pkl, .pt, ...) or a folder of them")
    p.add_argument("output", type=Path, help="output canonical motion (.npz), or an output folder when the input is a folder")
    p.add_argument("--quiet", action="store_true", help="print only warnings and errors")
    _add_import_options(p, 50.0)

    p = sub.add_parser("inspect", help="print frames, duration, joints, heights, speeds and limit violations")
    p.add_argument("file", type=Path)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    _add_import_options(p, None)

    p = sub.add_parser("validate", help="run every import check; exit 0 if the file (every file of a folder) is usable, 1 otherwise")
    p.add_argument("file", type=Path, help="motion file or a folder of them")
    p.add_argument("--strict", action="store_true", help="treat warnings as errors")
    _add_import_options(p, 50.0)

    p = sub.add_parser("export", help="write a motion in the LAFAN1 CSV layout (root xyz, quaternion, 29 joints)")
    p.add_argument("file", type=Path)
    p.add_argument("output", type=Path, help="output .csv")
    p.add_argument("--quat-order", choices=("xyzw", "wxyz"), default="xyzw")
    _add_import_options(p, None)

    p = sub.add_parser("generate", help="write one of the built-in synthetic clips")
    p.add_argument("name", nargs="?", help="clip name (--list shows them)")
    p.add_argument("output", nargs="?", type=Path, help="output canonical motion (.npz)")
    p.add_argument("--list", action="store_true", help="list the clip names and exit")

    p = sub.add_parser("render", help="render a motion to a video (.mp4 or .gif)")
    p.add_argument("file", type=Path)
    p.add_argument("output", type=Path, help="output .mp4 or .gif")
    p.add_argument("--width", type=int, default=480)
    p.add_argument("--height", type=int, default=360)
    p.add_argument("--video-fps", type=_float, help="video frame rate in Hz (default: the renderer's)")
    _add_import_options(p, None)
    return parser


def _print_report(report: ValidationReport | None, err: TextIO, quiet: bool = False) -> None:
    if report is None:
        return
    for line in report.lines():
        if quiet and line.startswith("note:"):
            continue
        print(line, file=err)


def _text_summary(stats: dict[str, Any], path: Path) -> str:
    lines = [
        f"file:             {path}",
        f"frames:           {stats['frames']} at {stats['fps']:g} Hz ({stats['duration_s']:.3f} s)",
        f"joints:           {stats['num_joints']}",
        f"bodies:           {stats['num_bodies']} (root: {stats['root_body']})",
        f"root height:      {stats['root_height_min_m']:.3f} .. {stats['root_height_max_m']:.3f} m",
        f"max joint speed:  {stats['max_joint_speed_rad_s']:.3f} rad/s ({stats['max_joint_speed_joint']})",
    ]
    if stats["foot_height_min_m"] is not None:
        lines.append(f"lowest foot:      {stats['foot_height_min_m']:.4f} m (frame {stats['foot_height_min_frame']})")
    path = stats["pelvis_path_m"]
    lines.append(f"pelvis path:      {path:.2f} m horizontally ({path / max(stats['duration_s'], 1e-9):.2f} m/s on average)")
    if stats["widest_stance_m"] is not None:
        stride = stats["longest_stride"]
        where = "none (no foot moves from one rest to another)"
        if stride is not None:
            where = f"{stride['length_m']:.2f} m ({stride['foot']}, {stride['from_s']:.2f}-{stride['to_s']:.2f} s)"
        lines.append(f"widest stance:    {stats['widest_stance_m']:.2f} m between the feet; longest stride {where}")
        slide = stats["stance_slide"]
        lines.append(
            f"stance slide:     {slide['slide_m']:.2f} m; a robot with planted feet ends up to {slide['max_offset_m']:.2f} m "
            f"behind ({slide['max_offset_at_s']:.2f} s; {slide['end_offset_m']:.2f} m at the end)"
        )
    viol = stats["limit_violations"]
    if viol:
        lines.append(f"limit violations: {len(viol)} joint(s)")
        lines += [
            f"  {v['joint']}: {v['num_frames']} frame(s) from frame {v['first_frame']}, up to {v['max_excess_rad']:.4f} rad"
            for v in viol
        ]
    else:
        lines.append("limit violations: none")
    src = stats.get("source") or {}
    if src.get("format"):
        lines.append(f"source:           {src.get('input', '?')} ({src['format']})")
    return "\n".join(lines)


#: Suffixes a folder convert/validate picks up.
MOTION_SUFFIXES = (".csv", ".npz", ".pkl", ".pickle", ".joblib", ".pt", ".pth")


def folder_files(folder: Path) -> list[Path]:
    """The motion files directly in ``folder`` (by suffix, sorted by name); raise when there are none."""
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in MOTION_SUFFIXES)
    if not files:
        raise MotionFormatError(f"{folder}: the folder holds no motion files ({', '.join(MOTION_SUFFIXES)})")
    return files


def _for_each_file(args: argparse.Namespace, out: TextIO, err: TextIO, verb: str, one) -> int:
    """Run ``one(path) -> (motion, report)`` on every file of the folder: one line per file, then a summary."""
    files = folder_files(args.input if verb == "convert" else args.file)
    failed = 0
    warned = 0
    width = max(len(p.name) for p in files)
    for i, path in enumerate(files, 1):
        try:
            motion, report = one(path)
        except MotionFormatError as exc:
            failed += 1
            print(f"[{i}/{len(files)}] FAILED {path.name:<{width}}  {exc}", file=out)
            continue
        warned += bool(report.warnings)
        extra = f", {len(report.warnings)} warning(s)" if report.warnings else ""
        print(
            f"[{i}/{len(files)}] ok     {path.name:<{width}}  {motion.source.get('format')}, {motion.num_frames} frames at "
            f"{motion.fps:g} Hz ({motion.duration:.2f} s){extra}",
            file=out,
        )
        if not getattr(args, "quiet", False):
            for line in report.warnings:
                print(f"    warning: {line}", file=err)
    done = "converted" if verb == "convert" else "valid"
    print(f"{len(files) - failed} of {len(files)} file(s) {done}; {failed} failed; {warned} with warnings", file=out)
    return 1 if failed else 0


def _cmd_convert(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if args.input.is_dir():
        if args.output.exists() and not args.output.is_dir():
            raise MotionFormatError(f"{args.output}: the input is a folder, so the output must be a folder (it is a file)")
        if args.output.suffix == ".npz":
            raise MotionFormatError(f"{args.output}: the input is a folder, so the output must be a folder, not a .npz")
        files = folder_files(args.input)
        names = [p.stem for p in files]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise MotionFormatError(f"{args.input}: files {dup} differ only in suffix and would write the same .npz; rename one")
        args.output.mkdir(parents=True, exist_ok=True)
        opts = _options(args)
        return _for_each_file(args, out, err, "convert", lambda p: convert_motion(p, args.output / f"{p.stem}.npz", opts))
    if args.input.exists() and args.output.is_dir():
        raise MotionFormatError(f"{args.output}: is a folder; give the output file name (.npz)")

    def progress(msg: str) -> None:
        if not args.quiet:
            print(f"[convert] {msg}", file=err)

    motion, report = convert_motion(args.input, args.output, _options(args), progress=progress)
    _print_report(report, err, args.quiet)
    print(f"wrote {args.output}: {motion.num_frames} frames at {motion.fps:g} Hz ({motion.duration:.3f} s)", file=out)
    return 0


def _cmd_inspect(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    motion, report = load_or_import(args.file, _options(args))
    stats = inspect_motion(motion)
    if report is not None:
        stats["report"] = report.to_dict()
    if args.json:
        print(json.dumps(stats, indent=2, sort_keys=True), file=out)
    else:
        _print_report(report, err)
        print(_text_summary(stats, args.file), file=out)
    return 0


def _cmd_validate(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if args.file.is_dir():
        opts = _options(args)

        def one(path: Path):
            motion, report = import_motion(path, opts)
            if args.strict and report.warnings:
                raise MotionFormatError(f"--strict: {len(report.warnings)} warning(s): {report.warnings[0]}")
            return motion, report

        return _for_each_file(args, out, err, "validate", one)
    motion, report = import_motion(args.file, _options(args))
    _print_report(report, err)
    if args.strict and report.warnings:
        print(f"{args.file}: INVALID (--strict): {len(report.warnings)} warning(s)", file=out)
        return 1
    print(
        f"{args.file}: OK ({motion.source.get('format')}, {motion.num_frames} frames at {motion.fps:g} Hz, "
        f"{len(report.warnings)} warning(s))",
        file=out,
    )
    return 0


def _cmd_export(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if args.output.suffix.lower() != ".csv":
        raise MotionFormatError(f"{args.output}: export writes a .csv file")
    motion, report = load_or_import(args.file, _options(args))
    _print_report(report, err)
    export_csv(motion, args.output, quat_order=args.quat_order)
    fmt = "csv_lafan_xyzw" if args.quat_order == "xyzw" else "csv_wxyz"
    print(
        f"wrote {args.output}: {motion.num_frames} frames ({fmt}); the CSV stores no rate: import with --fps {motion.fps:g}",
        file=out,
    )
    return 0


def _missing_module(name: str) -> str | None:
    """None if ``g1_mimic.motion.<name>`` is importable, else the reason."""
    if importlib.util.find_spec(f"g1_mimic.motion.{name}") is None:
        return f"g1_mimic.motion.{name} is not part of this installation"
    return None


def _cmd_generate(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    reason = _missing_module("generate")
    if reason:
        print(f"error: generate is unavailable: {reason}", file=err)
        return 1
    from g1_mimic.motion.generate import CLIP_NAMES, generate_clip
    from g1_mimic.motion.importers import validate_motion

    if args.list:
        print("\n".join(CLIP_NAMES), file=out)
        return 0
    if args.name is None or args.output is None:
        print("error: generate needs NAME and OUTPUT (or --list)", file=err)
        return 2
    if args.name not in CLIP_NAMES:
        raise MotionFormatError(f"unknown clip {args.name!r}; available: {list(CLIP_NAMES)}")
    if args.output.suffix != ".npz":
        raise MotionFormatError(f"{args.output}: the output is a canonical motion file and must end in .npz")
    motion = generate_clip(args.name)
    _, report = validate_motion(motion, f"generated clip '{args.name}'")
    _print_report(report, err)
    motion.save(args.output)
    print(f"wrote {args.output}: {motion.num_frames} frames at {motion.fps:g} Hz ({motion.duration:.3f} s)", file=out)
    return 0


def _cmd_render(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    reason = _missing_module("render")
    if reason:
        print(f"error: render is unavailable: {reason}", file=err)
        return 1
    from g1_mimic.motion.render import render_motion

    if args.output.suffix.lower() not in (".mp4", ".gif"):
        raise MotionFormatError(f"{args.output}: render writes .mp4 or .gif")
    motion, report = load_or_import(args.file, _options(args))
    _print_report(report, err)
    path = render_motion(motion, args.output, width=args.width, height=args.height, fps=args.video_fps)
    print(f"wrote {path}", file=out)
    return 0


_COMMANDS = {
    "convert": _cmd_convert,
    "inspect": _cmd_inspect,
    "validate": _cmd_validate,
    "export": _cmd_export,
    "generate": _cmd_generate,
    "render": _cmd_render,
}


def main(argv: Sequence[str] | None = None, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Run the CLI with ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    out = out or sys.stdout
    err = err or sys.stderr
    args = build_parser().parse_args(argv)
    try:
        return _COMMANDS[args.command](args, out, err)
    except MotionFormatError as exc:
        verdict = f"{getattr(args, 'file', None) or getattr(args, 'input', '')}: INVALID\n" if args.command == "validate" else ""
        print(f"{verdict}error: {exc}", file=err)
        return 1
    except (RuntimeError, OSError, ValueError) as exc:
        # Failures of the renderer/generator (other modules) and of file writes: one clean line.
        if isinstance(exc, ValueError) and args.command not in ("render", "generate"):
            raise
        print(f"error: {args.command} failed: {type(exc).__name__}: {exc}", file=err)
        return 1
