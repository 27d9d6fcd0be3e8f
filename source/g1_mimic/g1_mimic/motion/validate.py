"""Checks run on every imported motion, and the statistics ``scripts/motion.py inspect`` prints.

Errors raise :class:`MotionValidationError` (a :class:`~g1_mimic.motion.format.MotionFormatError`)
before anything is written; warnings and automatic fixes are collected in a
:class:`ValidationReport`. Every message names the file, the field, the frame(s) and what to do.

Frames are numbered from 0 in the input file's own rate; for CSV inputs the message also gives
the 1-based line numbers. Heights are world ``z`` in metres; the floor is the plane ``z = 0``.

Rules and tolerances (all module constants):

==============================  ===========================================================  =======
check                           rule                                                         outcome
==============================  ===========================================================  =======
frame rate                      ``FPS_MIN <= fps <= FPS_MAX`` (1 to 1000 Hz), finite          error
frame count                     at least ``MIN_FRAMES`` (2) in the file and after resampling  error
finite values                   no NaN/inf in root position, root quaternion, joint angles    error
quaternion norm                 ``| |q| - 1 | <= QUAT_NORM_TOL`` (1e-3): renormalised          silent
                                ``<= QUAT_NORM_MAX_DEVIATION`` (0.1): renormalised            warning
                                larger (or ``|q| = 0``): not a unit quaternion                error
quaternion sign flips           consecutive root quaternions with a negative dot product      fixed, noted
root upside down                body z axis pointing down in > 50 % of frames                 warning
joint limits                    outside ``g1_kinematics().joint_limits`` by > 1e-3 rad         warning (clamped with ``clamp``)
root below the floor            pelvis origin below ``ROOT_MIN_HEIGHT`` (0.05 m)              error
root far too high               median pelvis height above ``ROOT_MAX_HEIGHT`` (3 m)          error (units)
root too fast                   pelvis speed between frames above ``ROOT_MAX_SPEED`` (10 m/s)  warning
feet below the floor            lowest foot point below ``-FOOT_PENETRATION_TOL`` (3 cm)      warning
feet never on the floor         lowest foot point of the whole clip above ``FOOT_FLOAT_TOL``  warning
                                (5 cm)
one foot never on the floor     a foot within ``FOOT_CONTACT_HEIGHT`` (1 cm) of the floor in  warning
                                < ``ONE_FOOT_MAX_CONTACT`` (5 %) of the frames while the
                                other is in > ``ONE_FOOT_MIN_OTHER`` (50 %)
stored body positions vs FK     disagreement above ``FK_BODY_TOL`` (1 cm)                     warning
==============================  ===========================================================  =======
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import mujoco
import numpy as np

from g1_mimic.motion import quat as Q
from g1_mimic.motion.format import Motion, MotionFormatError
from g1_mimic.robots.g1_constants import FEET_BODIES

FPS_MIN = 1.0
FPS_MAX = 1000.0
MIN_FRAMES = 2
#: Quaternion norms within this of 1 are renormalised silently (CSV rounding, float32 storage).
QUAT_NORM_TOL = 1e-3
#: Quaternion norms further than this from 1 are rejected (not a quaternion: wrong columns?).
QUAT_NORM_MAX_DEVIATION = 0.1
#: Joint angles outside the model limits by more than this (rad) are reported.
JOINT_LIMIT_TOL = 1e-3
#: The pelvis origin is ~7 cm above the floor even lying flat; below this it is inside the floor.
ROOT_MIN_HEIGHT = 0.05
#: A median pelvis height above this is not a G1 motion in metres (centimetres? y-up data?).
ROOT_MAX_HEIGHT = 3.0
#: The G1 pelvis cannot move faster than this (m/s); faster means wrong units, a wrong --fps or a cut.
ROOT_MAX_SPEED = 10.0
#: Feet may sink this far below z = 0 (retargeting noise) before a warning.
FOOT_PENETRATION_TOL = 0.03
#: If the lowest foot point over the whole clip is higher than this, the clip floats.
FOOT_FLOAT_TOL = 0.05
#: A foot whose lowest point is within this of z = 0 (m) counts as on the floor (one-sided support check).
FOOT_CONTACT_HEIGHT = 0.01
#: One-sided support: one foot on the floor in fewer than this fraction of the frames ...
ONE_FOOT_MAX_CONTACT = 0.05
#: ... while the other is on the floor in more than this fraction.
ONE_FOOT_MIN_OTHER = 0.5
#: Stored body positions may differ from our forward kinematics by this much (m).
FK_BODY_TOL = 0.01

__all__ = [
    "FK_BODY_TOL",
    "FOOT_CONTACT_HEIGHT",
    "FOOT_FLOAT_TOL",
    "FOOT_PENETRATION_TOL",
    "FOOT_REST_SPEED",
    "FPS_MAX",
    "FPS_MIN",
    "JOINT_LIMIT_TOL",
    "MIN_FRAMES",
    "ONE_FOOT_MAX_CONTACT",
    "ONE_FOOT_MIN_OTHER",
    "QUAT_NORM_MAX_DEVIATION",
    "QUAT_NORM_TOL",
    "ROOT_MAX_HEIGHT",
    "ROOT_MAX_SPEED",
    "ROOT_MIN_HEIGHT",
    "FrameRef",
    "MotionValidationError",
    "ValidationReport",
    "check_feet",
    "check_finite",
    "check_fk_agreement",
    "check_fps",
    "check_frame_count",
    "check_joint_limits",
    "check_orientation",
    "check_root_height",
    "check_root_speed",
    "describe_frames",
    "feet_at_rest",
    "fix_quaternion_flips",
    "foot_heights",
    "inspect_motion",
    "joint_limit_violations",
    "longest_stride",
    "normalize_quaternions",
]


class MotionValidationError(MotionFormatError):
    """The motion data are unusable. The message names the file, the field, the frame(s) and the fix."""


@dataclass
class ValidationReport:
    """Non-fatal findings of one import: ``notes`` (assumptions, automatic fixes) and ``warnings``."""

    file: str
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def note(self, message: str) -> None:
        self.notes.append(message)

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    @property
    def ok(self) -> bool:
        """True when there are no warnings."""
        return not self.warnings

    def lines(self) -> list[str]:
        """Human-readable lines, ``note: ...`` then ``warning: ...``."""
        return [f"note: {m}" for m in self.notes] + [f"warning: {m}" for m in self.warnings]

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "notes": list(self.notes), "warnings": list(self.warnings)}


@dataclass(frozen=True)
class FrameRef:
    """How to name frames in messages: 0-based indices, plus 1-based CSV line numbers when known."""

    lines: np.ndarray | None = None

    def describe(self, frames: np.ndarray | Sequence[int], limit: int = 6) -> str:
        return describe_frames(frames, lines=self.lines, limit=limit)


def _ranges(idx: np.ndarray) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for i in idx.tolist():
        if out and i == out[-1][1] + 1:
            out[-1] = (out[-1][0], i)
        else:
            out.append((i, i))
    return out


def _fmt_ranges(ranges: list[tuple[int, int]], limit: int) -> str:
    parts = [f"{a}" if a == b else f"{a}-{b}" for a, b in ranges[:limit]]
    if len(ranges) > limit:
        parts.append("...")
    return ", ".join(parts)


def describe_frames(frames: np.ndarray | Sequence[int], lines: np.ndarray | None = None, limit: int = 6) -> str:
    """``"frames 3, 7-9 (4 frames; CSV lines 4, 8-10)"``: 0-based frame ranges, at most ``limit`` ranges shown."""
    idx = np.unique(np.asarray(frames, dtype=np.int64))
    if idx.size == 0:
        return "no frames"
    ranges = _ranges(idx)
    word = "frame" if idx.size == 1 else "frames"
    text = f"{word} {_fmt_ranges(ranges, limit)} ({idx.size} {word}"
    if lines is not None:
        line_idx = np.asarray(lines)[idx]
        text += f"; CSV line{'s' if idx.size > 1 else ''} {_fmt_ranges(_ranges(np.unique(line_idx)), limit)}"
    return text + ")"


# --------------------------------------------------------------------------------------------
# Scalar checks


def check_fps(fps: Any, *, where: str, field_name: str = "fps", hint: str = "pass the input rate with --fps HZ") -> float:
    """Return ``fps`` as float; raise if missing, not a number, or outside [FPS_MIN, FPS_MAX] Hz."""
    if fps is None:
        raise MotionValidationError(f"{where}: field '{field_name}' is missing: the frame rate is unknown; {hint}")
    try:
        value = float(np.asarray(fps, dtype=np.float64).reshape(-1)[0])
    except (TypeError, ValueError, IndexError) as exc:
        raise MotionValidationError(f"{where}: field '{field_name}' is {fps!r}, not a frame rate in Hz; {hint}") from exc
    if not np.isfinite(value) or not FPS_MIN <= value <= FPS_MAX:
        raise MotionValidationError(
            f"{where}: field '{field_name}' is {value:g} Hz, outside the accepted range [{FPS_MIN:g}, {FPS_MAX:g}] Hz; {hint}"
        )
    return value


def check_frame_count(num_frames: int, *, where: str, stage: str = "in the file") -> None:
    """Raise if fewer than :data:`MIN_FRAMES` frames (``stage`` says where: file or after resampling)."""
    if num_frames < MIN_FRAMES:
        raise MotionValidationError(
            f"{where}: {num_frames} frame(s) {stage}; a motion needs at least {MIN_FRAMES} frames. "
            "Use a longer clip (or a lower --out-fps / the correct --fps)."
        )


def check_finite(
    values: np.ndarray,
    *,
    where: str,
    field_name: str,
    columns: Sequence[str] | None = None,
    frames: FrameRef | None = None,
) -> None:
    """Raise naming the frames and columns where ``values`` [T, ...] is NaN or infinite."""
    arr = np.asarray(values, dtype=np.float64)
    bad = ~np.isfinite(arr)
    if not bad.any():
        return
    bad_frames = np.nonzero(bad.reshape(bad.shape[0], -1).any(axis=1))[0]
    col_text = ""
    if arr.ndim == 2:
        cols = np.nonzero(bad.any(axis=0))[0]
        names = [columns[c] if columns is not None and c < len(columns) else str(c) for c in cols[:8]]
        col_text = f" in column(s) {', '.join(names)}{', ...' if cols.size > 8 else ''}"
    kind = "NaN" if np.isnan(arr).any() else "infinite"
    raise MotionValidationError(
        f"{where}: field '{field_name}' has {kind} values{col_text} at {(frames or FrameRef()).describe(bad_frames)}. "
        "Fix or trim those frames in the source (e.g. re-export from the retargeter, or cut the clip)."
    )


# --------------------------------------------------------------------------------------------
# Quaternions


def normalize_quaternions(
    q: np.ndarray,
    *,
    where: str,
    field_name: str,
    report: ValidationReport,
    frames: FrameRef | None = None,
) -> np.ndarray:
    """Unit-normalise ``q`` [T, 4]: silently within :data:`QUAT_NORM_TOL`, with a warning up to
    :data:`QUAT_NORM_MAX_DEVIATION`, and raise beyond that (not a rotation: wrong columns?)."""
    q = np.asarray(q, dtype=np.float64)
    norm = np.linalg.norm(q, axis=-1)
    dev = np.abs(norm - 1.0)
    ref = frames or FrameRef()
    worst = int(np.argmax(dev)) if dev.size else 0
    bad = np.nonzero(dev > QUAT_NORM_MAX_DEVIATION)[0]
    if bad.size:
        raise MotionValidationError(
            f"{where}: field '{field_name}' is not a unit quaternion at {ref.describe(bad)}: |q| = {norm[worst]:.4g} "
            f"at frame {worst} (tolerance |q| = 1 +- {QUAT_NORM_MAX_DEVIATION:g}). Check the column layout and the "
            "quaternion order (--format), and that the file holds quaternions rather than Euler angles."
        )
    off = np.nonzero(dev > QUAT_NORM_TOL)[0]
    if off.size:
        report.warn(
            f"{where}: field '{field_name}' has |q| off from 1 by up to {dev[worst]:.3g} at {ref.describe(off)}; "
            "renormalised. Check the exporter's precision if this is unexpected."
        )
    return q / norm[..., None]


def fix_quaternion_flips(
    q: np.ndarray,
    *,
    where: str,
    field_name: str,
    report: ValidationReport,
    frames: FrameRef | None = None,
) -> np.ndarray:
    """Make ``q`` [T, 4] sign-continuous (``quat.make_continuous``); note how many frames were flipped."""
    fixed, flipped = Q.make_continuous(q, axis=0)
    idx = np.nonzero(flipped)[0]
    if idx.size:
        report.note(
            f"{where}: field '{field_name}': fixed quaternion sign flips (q -> -q, same rotation) at "
            f"{(frames or FrameRef()).describe(idx)} so interpolation and velocities take the short way."
        )
    return fixed


def check_orientation(
    root_quat_xyzw: np.ndarray,
    *,
    where: str,
    field_name: str,
    report: ValidationReport,
    frames: FrameRef | None = None,
) -> None:
    """Warn when the root's z axis points down in most frames (wrong quaternion order or axes)."""
    q = np.asarray(root_quat_xyzw, dtype=np.float64)
    up_z = 1.0 - 2.0 * (q[:, 0] ** 2 + q[:, 1] ** 2)
    down = np.nonzero(up_z < 0.0)[0]
    if down.size > 0.5 * q.shape[0]:
        report.warn(
            f"{where}: field '{field_name}': the root is upside down (body z axis pointing down) at "
            f"{(frames or FrameRef()).describe(down)}. If the robot should be upright, the quaternion order is "
            "wrong (try --format csv_wxyz / csv_lafan_xyzw) or the data are y-up."
        )


# --------------------------------------------------------------------------------------------
# Joints


def joint_limit_violations(
    joint_pos: np.ndarray, joint_names: Sequence[str], limits: np.ndarray, tol: float = JOINT_LIMIT_TOL
) -> list[dict[str, Any]]:
    """Per-joint limit violations of ``joint_pos`` [T, J] (rad) against ``limits`` [J, 2].

    Returns one dict per violating joint: ``joint``, ``num_frames``, ``first_frame``, ``frames``
    (all violating frame indices), ``max_excess_rad``, ``lower``, ``upper``.
    """
    jp = np.asarray(joint_pos, dtype=np.float64)
    lo, hi = limits[:, 0], limits[:, 1]
    excess = np.maximum(lo - jp, jp - hi)
    out = []
    for j in np.nonzero((excess > tol).any(axis=0))[0]:
        idx = np.nonzero(excess[:, j] > tol)[0]
        out.append(
            {
                "joint": joint_names[j],
                "num_frames": int(idx.size),
                "first_frame": int(idx[0]),
                "frames": idx.tolist(),
                "max_excess_rad": float(excess[:, j].max()),
                "lower": float(lo[j]),
                "upper": float(hi[j]),
            }
        )
    return out


def check_joint_limits(
    joint_pos: np.ndarray,
    joint_names: Sequence[str],
    limits: np.ndarray,
    *,
    where: str,
    report: ValidationReport,
    clamp: bool = False,
    frames: FrameRef | None = None,
) -> np.ndarray:
    """Warn about angles outside ``limits`` [J, 2] (model order); clamp them only if ``clamp``."""
    viol = joint_limit_violations(joint_pos, joint_names, limits)
    if not viol:
        return joint_pos
    ref = frames or FrameRef()
    detail = "; ".join(
        f"{v['joint']} [{v['lower']:.3f}, {v['upper']:.3f}] exceeded by up to {v['max_excess_rad']:.3f} rad at "
        f"{ref.describe(v['frames'], limit=3)}"
        for v in viol[:6]
    )
    more = f"; and {len(viol) - 6} more joint(s)" if len(viol) > 6 else ""
    if clamp:
        report.warn(
            f"{where}: field 'joint_pos': {len(viol)} joint(s) outside the G1 limits, clamped to the limits "
            f"(--clamp-limits): {detail}{more}."
        )
        return np.clip(joint_pos, limits[:, 0], limits[:, 1])
    report.warn(
        f"{where}: field 'joint_pos': {len(viol)} joint(s) outside the G1 limits: {detail}{more}. "
        "The robot cannot reach these angles; fix the retargeting or pass --clamp-limits to clamp them."
    )
    return joint_pos


# --------------------------------------------------------------------------------------------
# Ground


def check_root_height(root_pos: np.ndarray, *, where: str, field_name: str = "root_pos", frames: FrameRef | None = None) -> None:
    """Raise if the pelvis goes below :data:`ROOT_MIN_HEIGHT` or its median is above :data:`ROOT_MAX_HEIGHT`."""
    z = np.asarray(root_pos, dtype=np.float64)[:, 2]
    ref = frames or FrameRef()
    median = float(np.median(z))
    if median > ROOT_MAX_HEIGHT:
        raise MotionValidationError(
            f"{where}: field '{field_name}': the root (pelvis) is {median:.3g} m above the floor on average "
            f"(more than {ROOT_MAX_HEIGHT:g} m). Positions must be in metres with z up: convert centimetres "
            "(divide by 100) or y-up data before importing."
        )
    low = np.nonzero(z < ROOT_MIN_HEIGHT)[0]
    if low.size:
        worst = int(np.argmin(z))
        raise MotionValidationError(
            f"{where}: field '{field_name}': the root (pelvis) is below the floor (z < {ROOT_MIN_HEIGHT:g} m) at "
            f"{ref.describe(low)}; lowest z = {z[worst]:.3f} m at frame {worst}. The floor is z = 0 and z points up: "
            "check the units (metres), the up axis, and the root height offset of the retargeting "
            "(--align-ground shifts the clip so its lowest foot point is at z = 0)."
        )


def check_root_speed(
    root_pos: np.ndarray,
    fps: float,
    *,
    where: str,
    report: ValidationReport,
    field_name: str = "root_pos",
    frames: FrameRef | None = None,
) -> None:
    """Warn where the pelvis moves faster than :data:`ROOT_MAX_SPEED` between consecutive frames."""
    pos = np.asarray(root_pos, dtype=np.float64)
    if pos.shape[0] < 2:
        return
    speed = np.linalg.norm(np.diff(pos, axis=0), axis=-1) * fps  # between frame i and i + 1
    fast = np.nonzero(speed > ROOT_MAX_SPEED)[0]
    if fast.size:
        k = int(np.argmax(speed))
        report.warn(
            f"{where}: field '{field_name}': the root moves at up to {speed[k]:.1f} m/s (frames {k}-{k + 1}; the G1 "
            f"limit used is {ROOT_MAX_SPEED:g} m/s) between {(frames or FrameRef()).describe(np.union1d(fast, fast + 1))}. "
            "Check the units (metres), the frame rate (--fps) and cuts or teleports in the clip."
        )


_FOOT_POINTS: dict[tuple[int, str], tuple[np.ndarray, np.ndarray]] = {}


def _foot_points(model: mujoco.MjModel, body_name: str) -> tuple[np.ndarray, np.ndarray]:
    """Contact points (body frame, m) and radii of the collision geoms of one foot body (cached per model).

    Capsules contribute their two segment ends (radius = capsule radius), spheres their centre,
    boxes their eight corners (radius 0); other geoms their centre with the bounding radius.
    """
    key = (id(model), body_name)
    if key not in _FOOT_POINTS:
        _FOOT_POINTS[key] = _compute_foot_points(model, body_name)
    return _FOOT_POINTS[key]


def _compute_foot_points(model: mujoco.MjModel, body_name: str) -> tuple[np.ndarray, np.ndarray]:
    bid = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, body_name)
    if bid < 0:
        raise MotionFormatError(f"the robot model has no body '{body_name}'")
    pts: list[np.ndarray] = []
    rad: list[float] = []
    for g in np.nonzero(model.geom_bodyid == bid)[0]:
        pos = model.geom_pos[g]
        rot = Q.wxyz_to_xyzw(model.geom_quat[g])
        size = model.geom_size[g]
        gtype = model.geom_type[g]
        if gtype == mujoco.mjtGeom.mjGEOM_CAPSULE:
            local = np.array([[0.0, 0.0, size[1]], [0.0, 0.0, -size[1]]])
            r = [size[0]] * 2
        elif gtype == mujoco.mjtGeom.mjGEOM_SPHERE:
            local, r = np.zeros((1, 3)), [size[0]]
        elif gtype == mujoco.mjtGeom.mjGEOM_BOX:
            signs = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)], dtype=np.float64)
            local, r = signs * size[:3], [0.0] * 8
        else:
            local, r = np.zeros((1, 3)), [float(model.geom_rbound[g])]
        pts.append(pos + Q.rotate(np.broadcast_to(rot, (local.shape[0], 4)), local))
        rad.extend(r)
    if not pts:  # no collision geometry: use the body origin
        return np.zeros((1, 3)), np.zeros(1)
    return np.concatenate(pts), np.asarray(rad)


def foot_heights(
    body_pos_w: np.ndarray,
    body_quat_w: np.ndarray,
    body_names: Sequence[str],
    feet: Sequence[str] = FEET_BODIES,
    kinematics=None,
) -> np.ndarray:
    """Height (m, world z) of the lowest point of each foot's collision geometry, ``[T, len(feet)]``.

    ``body_quat_w`` is xyzw; bodies are looked up by name in ``body_names``.
    """
    from g1_mimic.motion.kinematics import g1_kinematics

    kin = kinematics or g1_kinematics()
    names = list(body_names)
    out = np.empty((body_pos_w.shape[0], len(feet)))
    for k, foot in enumerate(feet):
        if foot not in names:
            raise MotionFormatError(f"motion has no foot body '{foot}'; it has {names}")
        b = names.index(foot)
        pts, rad = _foot_points(kin.model, foot)
        q = np.asarray(body_quat_w[:, b], dtype=np.float64)[:, None, :]
        world = body_pos_w[:, b][:, None, :] + Q.rotate(np.broadcast_to(q, (q.shape[0], pts.shape[0], 4)), pts[None])
        out[:, k] = (world[..., 2] - rad[None]).min(axis=1)
    return out


def check_feet(
    heights: np.ndarray,
    *,
    where: str,
    report: ValidationReport,
    feet: Sequence[str] = FEET_BODIES,
    frames: FrameRef | None = None,
) -> None:
    """Warn about feet below the floor (> :data:`FOOT_PENETRATION_TOL`), clips that never touch it, and
    one-sided support: a foot that (almost) never touches the floor while the other mostly does.

    ``heights`` ``[T, F]``: the lowest point of each foot (m, world z), :func:`foot_heights`.
    """
    ref = frames or FrameRef()
    lowest = heights.min(axis=1)
    sunk = np.nonzero(lowest < -FOOT_PENETRATION_TOL)[0]
    if sunk.size:
        worst = int(np.argmin(lowest))
        foot = feet[int(np.argmin(heights[worst]))]
        report.warn(
            f"{where}: feet below the floor by more than {FOOT_PENETRATION_TOL * 100:g} cm at {ref.describe(sunk)}; "
            f"deepest {-lowest[worst] * 100:.1f} cm ({foot}, frame {worst}). The simulated robot cannot follow "
            "this; raise the root (--align-ground puts the clip's lowest foot point at z = 0) or fix the retargeting."
        )
    k = int(np.argmin(lowest))
    if lowest[k] > FOOT_FLOAT_TOL:
        report.warn(
            f"{where}: the feet never touch the floor: the lowest foot point of the whole clip is "
            f"{lowest[k] * 100:.1f} cm above z = 0 (frame {k}; tolerance {FOOT_FLOAT_TOL * 100:g} cm). "
            "Lower the root (--align-ground) or check the root height of the retargeting."
        )
    if heights.shape[1] == 2:
        contact = (heights < FOOT_CONTACT_HEIGHT).mean(axis=0)
        for f in range(2):
            if contact[f] < ONE_FOOT_MAX_CONTACT and contact[1 - f] > ONE_FOOT_MIN_OTHER:
                report.warn(
                    f"{where}: one-sided support: '{feet[f]}' is within {FOOT_CONTACT_HEIGHT * 100:g} cm of the floor in "
                    f"{contact[f] * 100:.0f} % of the frames (median height {np.median(heights[:, f]) * 100:.1f} cm, lowest "
                    f"{heights[:, f].min() * 100:.1f} cm) while '{feet[1 - f]}' is in {contact[1 - f] * 100:.0f} %. "
                    "The simulated robot cannot stand like that while tracking the rest; a difference between the "
                    "retargeting's robot model and this one (foot geometry, leg lengths) can cause it. --level-feet "
                    "lowers that foot by the difference (leg IK)."
                )


def check_fk_agreement(
    stored_pos: np.ndarray,
    fk_pos: np.ndarray,
    body_names: Sequence[str],
    *,
    where: str,
    report: ValidationReport,
    hint: str,
    frames: FrameRef | None = None,
) -> float:
    """Warn if stored body positions [T, B, 3] differ from our FK [T, B, 3] by more than :data:`FK_BODY_TOL`.

    Returns the largest disagreement (m).
    """
    err = np.linalg.norm(np.asarray(stored_pos, dtype=np.float64) - fk_pos, axis=-1)  # [T, B]
    if err.size == 0:
        return 0.0
    t, b = np.unravel_index(int(np.argmax(err)), err.shape)
    worst = float(err[t, b])
    if worst > FK_BODY_TOL:
        bad_frames = np.nonzero((err > FK_BODY_TOL).any(axis=1))[0]
        bad_bodies = [body_names[i] for i in np.nonzero((err > FK_BODY_TOL).any(axis=0))[0]]
        report.warn(
            f"{where}: field 'body positions': the stored positions disagree with forward kinematics of the root "
            f"pose and joint angles by up to {worst * 100:.1f} cm ({body_names[b]}, frame {t}; tolerance "
            f"{FK_BODY_TOL * 100:g} cm) for {len(bad_bodies)} body(ies) at {(frames or FrameRef()).describe(bad_frames)}. "
            f"{hint} The output uses body states recomputed from the G1 model."
        )
    return worst


# --------------------------------------------------------------------------------------------
# Statistics for `inspect`


def inspect_motion(motion: Motion, kinematics=None) -> dict[str, Any]:
    """Summary statistics of a canonical motion (what ``scripts/motion.py inspect --json`` prints).

    Keys: ``frames``, ``duration_s``, ``fps``, ``num_joints``, ``num_bodies``, ``joint_names``,
    ``body_names``, ``root_body``, ``root_height_min_m``, ``root_height_max_m``,
    ``max_joint_speed_rad_s`` (largest ``|joint_vel|``) and ``max_joint_speed_joint``,
    ``limit_violations`` (list of per-joint dicts from :func:`joint_limit_violations`, with the frame
    list cut to the first 20), ``foot_height_min_m`` (lowest foot collision point over the clip, m)
    and ``foot_height_min_frame``, ``pelvis_path_m`` (horizontal distance the root travels, m),
    ``widest_stance_m`` (largest horizontal distance between the feet, m), ``longest_stride``
    (:func:`longest_stride`: how far one foot travels between two rests), ``stance_slide``
    (:func:`g1_mimic.motion.repair.stance_slide`: how far a robot whose feet hold falls behind the root) and
    ``source`` (provenance dict).
    """
    from g1_mimic.motion.kinematics import g1_kinematics
    from g1_mimic.motion.repair import stance_slide

    kin = kinematics or g1_kinematics()
    z = motion.root_pos_w[:, 2]
    speed = np.abs(motion.joint_vel)
    j_fast = int(np.argmax(speed.max(axis=0))) if speed.size else 0
    known = [n for n in motion.joint_names if n in kin.joint_names]
    limits = kin.joint_limits[kin.joint_indices(known)]
    viol = joint_limit_violations(motion.joint_pos[:, motion.joint_index(known)], known, limits)
    for v in viol:
        v["frames"] = v["frames"][:20]
    stats: dict[str, Any] = {
        "frames": motion.num_frames,
        "duration_s": float(motion.duration),
        "fps": float(motion.fps),
        "num_joints": len(motion.joint_names),
        "num_bodies": len(motion.body_names),
        "joint_names": list(motion.joint_names),
        "body_names": list(motion.body_names),
        "root_body": motion.root_body,
        "root_height_min_m": float(z.min()),
        "root_height_max_m": float(z.max()),
        "max_joint_speed_rad_s": float(speed.max()) if speed.size else 0.0,
        "max_joint_speed_joint": motion.joint_names[j_fast] if speed.size else None,
        "limit_violations": viol,
        "foot_height_min_m": None,
        "foot_height_min_frame": None,
        "source": motion.source,
    }
    stats["pelvis_path_m"] = path_length(motion.root_pos_w[:, :2])
    stats["widest_stance_m"] = None
    stats["longest_stride"] = None
    stats["stance_slide"] = None
    if all(f in motion.body_names for f in FEET_BODIES):
        heights = foot_heights(motion.body_pos_w, motion.body_quat_w, motion.body_names, kinematics=kin)
        h = heights.min(axis=1)
        stats["foot_height_min_m"] = float(h.min())
        stats["foot_height_min_frame"] = int(np.argmin(h))
        feet = motion.body_pos_w[:, [motion.body_names.index(f) for f in FEET_BODIES], :2]
        stats["widest_stance_m"] = float(np.linalg.norm(feet[:, 0] - feet[:, 1], axis=-1).max())
        stats["longest_stride"] = longest_stride(feet, motion.fps, FEET_BODIES)
        stats["stance_slide"] = stance_slide(feet, heights, motion.fps)
    return stats


def path_length(xy: np.ndarray) -> float:
    """Length (m) of the path through the points ``xy`` ``[T, 2]`` (m): the sum of the steps between frames."""
    return float(np.linalg.norm(np.diff(xy, axis=0), axis=-1).sum())


#: A foot moving slower than this horizontally (m/s) is at rest (:func:`feet_at_rest`).
FOOT_REST_SPEED = 0.25


def feet_at_rest(feet_xy: np.ndarray, fps: float) -> np.ndarray:
    """``[T, F]``: whether each foot moves slower than :data:`FOOT_REST_SPEED` horizontally in each frame.

    ``feet_xy`` ``[T, F, 2]`` horizontal foot positions (m, world); speeds by central differences.
    """
    if len(feet_xy) < 2:
        return np.ones(feet_xy.shape[:2], dtype=bool)
    return np.linalg.norm(np.gradient(feet_xy, axis=0) * fps, axis=-1) < FOOT_REST_SPEED


def longest_stride(feet_xy: np.ndarray, fps: float, names: Sequence[str]) -> dict[str, Any] | None:
    """The longest stride of a clip: the horizontal distance (m) one foot travels from where it rests to where
    it rests next (:func:`feet_at_rest`).

    ``feet_xy``: ``[T, F, 2]`` horizontal foot positions (m, world). Returns ``{"length_m", "foot",
    "from_s", "to_s"}`` (the lift-off and landing times, s) or None when no foot moves between two rests.
    """
    at_rest = feet_at_rest(feet_xy, fps)
    best: dict[str, Any] | None = None
    for k, name in enumerate(names):
        rest = at_rest[:, k]
        last = None  # the frame the foot last rested at
        for i in range(len(rest)):
            if not rest[i]:
                continue
            if last is not None and i - last > 1:  # it moved between frame `last` and frame `i`
                length = float(np.linalg.norm(feet_xy[i, k] - feet_xy[last, k]))
                if best is None or length > best["length_m"]:
                    best = {"length_m": length, "foot": name, "from_s": last / fps, "to_s": i / fps}
            last = i
    return best
