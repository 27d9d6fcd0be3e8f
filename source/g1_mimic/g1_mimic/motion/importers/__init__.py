"""Import G1 reference motions from other tools' files into the canonical format.

Every importer reads a root (pelvis) trajectory and joint angles; the shared pipeline then

1. validates them (:mod:`g1_mimic.motion.validate`: frame rate, frame count, NaN/inf, quaternion
   norms and sign flips, joint names and limits, root height), filling joints the file lacks only
   when allowed (``--missing-joints``);
2. runs forward kinematics at the input rate to check the feet against the floor (``z = 0``) and,
   when the file stores body positions, compares them with the G1 model (1 cm tolerance);
3. resamples to the output rate (linear for positions and joints, slerp for the root rotation,
   :mod:`g1_mimic.motion.resample`);
4. rebuilds every body state and all velocities (central finite differences) with
   :func:`~g1_mimic.motion.format.motion_from_root_and_joints`.

Errors raise :class:`~g1_mimic.motion.format.MotionFormatError` (or its subclass
:class:`~g1_mimic.motion.validate.MotionValidationError`) before anything is written; warnings
and notes are returned in a :class:`~g1_mimic.motion.validate.ValidationReport` and recorded in
the output's ``source``. Formats: :data:`FORMATS`; layouts in each reader's docstring and in
``docs/motion_data.md``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from g1_mimic.motion.format import Motion, MotionFormatError, is_canonical, load_motion, motion_from_root_and_joints
from g1_mimic.motion.importers._common import (
    CSV_DEFAULT_FPS,
    FORMATS,
    ISAACLAB_BODY_NAMES,
    ISAACLAB_JOINT_NAMES,
    ImportOptions,
    RawMotion,
    breadth_first_order,
)
from g1_mimic.motion.importers.csv_formats import (
    CSV_FORMATS,
    detect_csv_format,
    detect_quat_order,
    export_csv,
    read_csv,
)
from g1_mimic.motion.importers.npz_formats import (
    detect_npz_format,
    raw_from_motion,
    read_npz_beyondmimic,
    read_npz_canonical,
    read_npz_isaaclab_amp,
)
from g1_mimic.motion.importers.pkl_formats import PICKLE_SUFFIXES, detect_pickle_format, read_pkl_mimickit, read_pkl_phc
from g1_mimic.motion.repair import (
    Trajectory,
    blend_from_standing,
    check_foot_skating,
    check_joint_speed,
    check_stance_slide,
    find_bad_start,
    fix_skating,
    level_feet,
    smooth_glitches,
    trim,
)
from g1_mimic.motion.resample import num_resampled_frames, resample_times, resample_trajectory, same_rate
from g1_mimic.motion.validate import (
    MIN_FRAMES,
    FrameRef,
    MotionValidationError,
    ValidationReport,
    check_feet,
    check_finite,
    check_fk_agreement,
    check_fps,
    check_frame_count,
    check_joint_limits,
    check_orientation,
    check_root_height,
    check_root_speed,
    fix_quaternion_flips,
    foot_heights,
    joint_limit_violations,
    normalize_quaternions,
)
from g1_mimic.robots.g1_constants import FEET_BODIES, default_joint_pos

__all__ = [
    "CSV_DEFAULT_FPS",
    "FORMATS",
    "ISAACLAB_BODY_NAMES",
    "ISAACLAB_JOINT_NAMES",
    "ImportOptions",
    "RawMotion",
    "breadth_first_order",
    "convert_motion",
    "detect_format",
    "detect_quat_order",
    "export_csv",
    "import_motion",
    "load_or_import",
    "validate_motion",
]

Progress = Callable[[str], None]
_Reader = Callable[[Path, ImportOptions, ValidationReport, Any], RawMotion]


def _csv_reader(fmt: str) -> _Reader:
    def read(path: Path, opts: ImportOptions, report: ValidationReport, kinematics: Any) -> RawMotion:
        return read_csv(path, fmt, opts, report)

    return read


READERS: dict[str, _Reader] = {
    **{fmt: _csv_reader(fmt) for fmt in CSV_FORMATS},
    "npz_beyondmimic": read_npz_beyondmimic,
    "npz_isaaclab_amp": read_npz_isaaclab_amp,
    "npz_canonical": read_npz_canonical,
    "pkl_phc": read_pkl_phc,
    "pkl_mimickit": read_pkl_mimickit,
}
assert set(READERS) == set(FORMATS)


def detect_format(path: str | Path) -> tuple[str, str]:
    """``(format, reason)`` for ``path`` from its suffix and content; raise when it is not unambiguous.

    ``.csv``: by column count (36 or 30) and, for 36 columns, the quaternion order
    (:func:`~g1_mimic.motion.importers.csv_formats.detect_quat_order`); ``.npz``: by keys;
    ``.pkl``/``.pickle``/``.joblib``/``.pt``/``.pth``: by the unpickled structure.
    """
    path = Path(path)
    if not path.exists():
        raise MotionFormatError(f"{path}: no such file")
    if path.is_dir():
        raise MotionFormatError(f"{path}: a folder, not a motion file (convert and validate also take a folder)")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return detect_csv_format(path)
    if suffix == ".npz":
        return detect_npz_format(path)
    if suffix in PICKLE_SUFFIXES:
        return detect_pickle_format(path)
    raise MotionFormatError(
        f"{path}: cannot detect the format from the suffix '{suffix}' (known: .csv, .npz, {', '.join(PICKLE_SUFFIXES)}); "
        f"pass --format, one of {list(FORMATS)}."
    )


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _check_options(opts: ImportOptions, where: str) -> None:
    if opts.format is not None and opts.format not in FORMATS:
        raise MotionFormatError(f"{where}: unknown --format {opts.format!r}; choose one of {list(FORMATS)}")
    if opts.out_fps is not None:
        check_fps(opts.out_fps, where=where, field_name="--out-fps", hint="choose an output rate in Hz (control rate: 50)")
    if opts.fps is not None:
        check_fps(opts.fps, where=where, field_name="--fps", hint="pass the input rate in Hz")
    if opts.fix_start not in (None, "trim", "blend"):
        raise MotionFormatError(f"{where}: --fix-start must be 'trim' or 'blend', got {opts.fix_start!r}")
    if not (np.isfinite(opts.blend_s) and opts.blend_s > 0.0):
        raise MotionFormatError(f"{where}: --blend-s must be a duration > 0 s, got {opts.blend_s}")
    if opts.missing_joints not in (None, "default", "zero"):
        raise MotionFormatError(f"{where}: --missing-joints must be 'default' or 'zero', got {opts.missing_joints!r}")


def default_joint_pos_vector(joint_names) -> np.ndarray:
    """The G1 standing pose (rad) in the order of ``joint_names``."""
    return np.array([default_joint_pos(n) for n in joint_names], dtype=np.float64)


def _process(
    raw: RawMotion,
    fmt: str,
    opts: ImportOptions,
    report: ValidationReport,
    kin: Any,
    say: Progress,
    source: dict[str, Any],
) -> Motion:
    """Validate, ground-check, resample and rebuild ``raw`` (steps 1-4 of the module docstring)."""
    where = report.file
    T = raw.num_frames
    ref = FrameRef(raw.frame_lines)
    say(f"read {T} frames at {raw.fps:g} Hz ({raw.fps_origin}), {len(raw.joint_names)} joint columns")

    # 1. values
    check_frame_count(T, where=where)
    out_fps = float(opts.out_fps) if opts.out_fps is not None else raw.fps
    n_out = num_resampled_frames(T, raw.fps, out_fps)
    check_frame_count(n_out, where=where, stage=f"after resampling {T} frames at {raw.fps:g} Hz to {out_fps:g} Hz")
    check_finite(raw.root_pos, where=where, field_name=raw.root_pos_field, columns=("x", "y", "z"), frames=ref)
    check_finite(raw.root_quat_xyzw, where=where, field_name=raw.root_quat_field, columns=("qx", "qy", "qz", "qw"), frames=ref)
    check_finite(raw.joint_pos, where=where, field_name=raw.joint_field, columns=raw.joint_names, frames=ref)
    root_quat = normalize_quaternions(raw.root_quat_xyzw, where=where, field_name=raw.root_quat_field, report=report, frames=ref)
    root_quat = fix_quaternion_flips(root_quat, where=where, field_name=raw.root_quat_field, report=report, frames=ref)
    check_orientation(root_quat, where=where, field_name=raw.root_quat_field, report=report, frames=ref)

    cols = {n: i for i, n in enumerate(raw.joint_names)}
    missing = [n for n in kin.joint_names if n not in cols]
    joint_pos = np.empty((T, kin.num_joints))
    for j, name in enumerate(kin.joint_names):
        if name in cols:
            joint_pos[:, j] = raw.joint_pos[:, cols[name]]
    if missing:
        policy = opts.missing_joints or ("default" if raw.partial_ok else None)
        if policy is None:
            raise MotionValidationError(
                f"{where}: field '{raw.joint_field}' lacks G1 joint(s) {missing}. Pass --missing-joints default "
                "(hold them at the standing pose, g1_constants.default_joint_pos) or --missing-joints zero."
            )
        values = {n: (default_joint_pos(n) if policy == "default" else 0.0) for n in missing}
        for name, value in values.items():
            joint_pos[:, kin.joint_names.index(name)] = value
        report.note(
            f"{where}: {len(missing)} G1 joint(s) absent from the file are held at "
            f"{'default_joint_pos' if policy == 'default' else 'zero'} (--missing-joints {policy}): {values}"
        )
        source["missing_joints"] = {"policy": policy, "values_rad": values}
    # real-capture repairs at the input rate: trim, glitches, the start (g1_mimic.motion.repair)
    traj = Trajectory(np.array(raw.root_pos, dtype=np.float64), root_quat, joint_pos, raw.frame_lines)
    kept = np.arange(T)
    prepended = 0
    if opts.trim_start or opts.trim_end:
        a = int(round(opts.trim_start * raw.fps))
        traj = trim(traj, raw.fps, opts.trim_start, opts.trim_end, where=where, report=report)
        kept = kept[a : a + traj.num_frames]
        source["trimmed_s"] = [float(opts.trim_start), float(opts.trim_end)]
    if opts.smooth_glitches:
        traj = smooth_glitches(traj, raw.fps, kin.joint_names, where=where, report=report)
    check_joint_speed(traj, raw.fps, kin.joint_names, where=where, report=report)
    bad = find_bad_start(traj, raw.fps, kin.joint_names)
    if bad is not None:
        first, why = bad
        if opts.fix_start is None:
            report.warn(
                f"{where}: the clip starts with {why}: no robot can follow that from frame 0. --fix-start trim drops "
                f"frames 0-{first - 1}; --fix-start blend drops them and prepends a --blend-s (default 1 s) transition "
                "from the standing pose."
            )
        else:
            if traj.num_frames - first < MIN_FRAMES:
                raise MotionValidationError(f"{where}: --fix-start {opts.fix_start}: the bad start ({why}) is the whole clip")
            traj = traj.take(np.arange(first, traj.num_frames))
            kept = kept[first:]
            if opts.fix_start == "blend":
                before = traj.num_frames
                traj = blend_from_standing(traj, raw.fps, opts.blend_s, kin, default_joint_pos_vector(kin.joint_names))
                prepended = traj.num_frames - before
                traj.lines = None
            report.note(
                f"{where}: the clip started with {why}; --fix-start {opts.fix_start} dropped frames 0-{first - 1}"
                + (f" and prepended {prepended} frames ({prepended / raw.fps:.2f} s) from the standing pose." if prepended else ".")
            )
            source["fix_start"] = {"mode": opts.fix_start, "dropped_frames": int(first), "prepended_frames": int(prepended), "why": why}
    if traj.num_frames != T:
        T = traj.num_frames
        n_out = num_resampled_frames(T, raw.fps, out_fps)
        check_frame_count(n_out, where=where, stage="after trimming")
        ref = FrameRef(traj.lines)
    if opts.level_feet:
        traj, levelled = level_feet(traj, raw.fps, kin, where=where, report=report)
        if levelled is not None:
            source["level_feet"] = levelled
    if opts.fix_skating:
        traj, source["fix_skating"] = fix_skating(traj, raw.fps, kin, where=where, report=report)
    joint_pos, root_quat = traj.joint_pos, traj.root_quat
    clamped_before = joint_limit_violations(joint_pos, kin.joint_names, kin.joint_limits) if opts.clamp_limits else []
    joint_pos = check_joint_limits(
        joint_pos, kin.joint_names, kin.joint_limits, where=where, report=report, clamp=opts.clamp_limits, frames=ref
    )
    if clamped_before:
        source["clamped_joints"] = {v["joint"]: v["num_frames"] for v in clamped_before}

    # 2. ground and stored bodies (forward kinematics at the input rate)
    root_pos = traj.root_pos
    if not opts.align_ground:  # with --align-ground the height is checked after the shift
        check_root_height(root_pos, where=where, field_name=raw.root_pos_field, frames=ref)
    check_root_speed(root_pos, raw.fps, where=where, report=report, field_name=raw.root_pos_field, frames=ref)
    say(f"forward kinematics of {T} input frames (feet vs floor, stored body positions)")
    bodies = kin.forward(kin.qpos(root_pos, root_quat, joint_pos))
    if raw.ref_body_pos_w is not None and len(raw.ref_body_names):
        # the stored bodies of the frames kept by trimming / --fix-start (blended-in frames have none)
        fk_pos = bodies["body_pos_w"][prepended:, kin.body_indices(raw.ref_body_names)]
        worst = check_fk_agreement(
            np.asarray(raw.ref_body_pos_w)[kept], fk_pos, raw.ref_body_names, where=where, report=report,
            hint=raw.ref_hint, frames=FrameRef(None if raw.frame_lines is None else np.asarray(raw.frame_lines)[kept]),
        )
        source["stored_body_pos_max_error_m"] = worst
    heights = foot_heights(bodies["body_pos_w"], bodies["body_quat_w"], kin.body_names, kinematics=kin)
    if opts.align_ground:
        dz = -float(heights.min())
        root_pos[:, 2] += dz
        heights += dz
        report.note(f"{where}: shifted the root by {dz * 100:+.1f} cm in z (--align-ground): lowest foot point at z = 0.")
        source["ground_offset_m"] = dz
        check_root_height(root_pos, where=where, field_name=f"{raw.root_pos_field} after --align-ground", frames=ref)
    check_feet(heights, where=where, report=report, frames=ref)
    feet_pos = bodies["body_pos_w"][:, kin.body_indices(FEET_BODIES)]
    check_foot_skating(feet_pos, heights, raw.fps, FEET_BODIES, where=where, report=report, frames=ref)
    source["stance_slide"] = check_stance_slide(feet_pos[..., :2], heights, raw.fps, where=where, report=report)

    # 3. resample
    if not same_rate(raw.fps, out_fps):
        say(f"resampling {T} frames at {raw.fps:g} Hz -> {n_out} frames at {out_fps:g} Hz")
    root_pos, root_quat, joint_pos = resample_trajectory(root_pos, root_quat, joint_pos, raw.fps, out_fps)

    # 4. rebuild
    say(f"forward kinematics and velocities of {n_out} output frames")
    source.update(
        {
            "format": fmt,
            "input_fps": raw.fps,
            "input_fps_origin": raw.fps_origin,
            "input_frames": T,
            "output_fps": out_fps,
            "output_frames": n_out,
            **raw.details,
        }
    )
    motion = motion_from_root_and_joints(out_fps, root_pos, root_quat, joint_pos, kin.joint_names, source=source, kinematics=kin)
    if raw.contact_labels is not None:
        labels = np.asarray(raw.contact_labels, dtype=bool)[kept]
        if prepended:  # standing on both feet during the blend
            labels = np.concatenate([np.ones((prepended, labels.shape[1]), dtype=bool), labels])
        nearest = np.clip(np.rint(resample_times(T, raw.fps, out_fps) * raw.fps).astype(np.int64), 0, T - 1)
        motion.contact_labels = labels[nearest]
        motion.contact_body_names = raw.contact_body_names
    motion.source["notes"] = list(report.notes)
    motion.source["warnings"] = list(report.warnings)
    return motion


def import_motion(
    path: str | Path,
    options: ImportOptions | None = None,
    *,
    progress: Progress | None = None,
    kinematics: Any = None,
) -> tuple[Motion, ValidationReport]:
    """Read, validate, resample and rebuild one motion file. Writes nothing.

    Returns the canonical :class:`Motion` at ``options.out_fps`` (default 50 Hz; ``None`` keeps
    the input rate) and the :class:`ValidationReport`. Raises
    :class:`~g1_mimic.motion.format.MotionFormatError` on any error; ``progress`` receives one line
    per stage.
    """
    from g1_mimic.motion.kinematics import g1_kinematics

    opts = options or ImportOptions()
    path = Path(path)
    where = str(path)
    report = ValidationReport(where)
    say = progress or (lambda _msg: None)
    if not path.exists():
        raise MotionFormatError(f"{where}: no such file")
    _check_options(opts, where)
    kin = kinematics or g1_kinematics()
    fmt = opts.format
    if fmt is None:
        fmt, why = detect_format(path)
        report.note(f"{where}: detected format {fmt} ({why}); pass --format to override.")
    say(f"reading {where} as {fmt}")
    raw = READERS[fmt](path, opts, report, kin)
    source: dict[str, Any] = {
        "tool": "g1_mimic.motion.importers",
        "input": where,
        "input_sha256": _sha256(path),
        "options": opts.to_dict(),
    }
    return _process(raw, fmt, opts, report, kin, say, source), report


def validate_motion(
    motion: Motion,
    where: str,
    options: ImportOptions | None = None,
    *,
    progress: Progress | None = None,
    kinematics: Any = None,
) -> tuple[Motion, ValidationReport]:
    """Run the import checks on an in-memory canonical ``motion`` (e.g. a generated clip).

    Returns the rebuilt motion (at ``options.out_fps``; default here: the motion's own rate) and
    the report; raises like :func:`import_motion`.
    """
    from g1_mimic.motion.kinematics import g1_kinematics

    opts = options or ImportOptions(out_fps=None)
    report = ValidationReport(where)
    _check_options(opts, where)
    kin = kinematics or g1_kinematics()
    fps = check_fps(motion.fps, where=where)
    raw = raw_from_motion(motion, fps, "file", where=where, kinematics=kin)
    source = {**motion.source, "validated_by": "g1_mimic.motion.importers.validate_motion"}
    return _process(raw, "npz_canonical", opts, report, kin, progress or (lambda _m: None), source), report


def convert_motion(
    input_path: str | Path,
    output_path: str | Path,
    options: ImportOptions | None = None,
    *,
    progress: Progress | None = None,
    kinematics: Any = None,
) -> tuple[Motion, ValidationReport]:
    """:func:`import_motion` then an atomic write of the canonical ``.npz``. A bad input writes nothing."""
    output = Path(output_path)
    if output.suffix != ".npz":
        raise MotionFormatError(f"{output}: the output is a canonical motion file and must end in .npz")
    motion, report = import_motion(input_path, options, progress=progress, kinematics=kinematics)
    (progress or (lambda _m: None))(f"writing {output} ({motion.num_frames} frames at {motion.fps:g} Hz)")
    motion.save(output)
    return motion, report


def load_or_import(
    path: str | Path,
    options: ImportOptions | None = None,
    *,
    progress: Progress | None = None,
) -> tuple[Motion, ValidationReport | None]:
    """A canonical file as stored (no re-validation, no resampling), anything else via :func:`import_motion`.

    Used by ``inspect`` and ``render``: they show the file as it is. Returns ``(motion, None)`` for
    canonical files.
    """
    path = Path(path)
    opts = options or ImportOptions(out_fps=None)
    if (opts.format in (None, "npz_canonical")) and path.suffix == ".npz" and is_canonical(path):
        motion = load_motion(path)
        if opts.out_fps is not None and not same_rate(opts.out_fps, motion.fps):
            from g1_mimic.motion.resample import resample_motion

            motion = resample_motion(motion, opts.out_fps)
        return motion, None
    return import_motion(path, opts, progress=progress)
