"""Checks and fixes for what real motion capture gets wrong: joint glitches, unfollowable starts, foot skating.

All functions work on the input trajectory (root position ``[T, 3]`` m world, root quaternion
``[T, 4]`` xyzw, joint angles ``[T, J]`` rad, model joint order) at the input rate ``fps``; the
importer (:mod:`g1_mimic.motion.importers`) calls them before resampling.

* **Joint speed** (:func:`check_joint_speed`): a joint moving faster than :data:`JOINT_GLITCH_SPEED`
  between two frames is a retargeting glitch or a cut (the G1's fastest joints reach ~30 rad/s).
  Reported as a warning naming the joint, the frames and the speed; ``--smooth-glitches`` replaces
  each such span by a straight line between the good frames around it (:func:`smooth_glitches`).
* **Start** (:func:`find_bad_start`): a clip that opens with a joint jump (within the first
  :data:`START_WINDOW_S`) or in a T-pose (both shoulder rolls beyond :data:`TPOSE_SHOULDER_ROLL`) cannot
  be followed from frame 0. ``--fix-start trim`` drops those frames; ``--fix-start blend`` drops them
  and prepends a ``--blend-s`` transition from the standing pose (:func:`blend_from_standing`).
* **Trim** (:func:`trim`): ``--trim-start S`` / ``--trim-end S`` cut seconds off either end.
* **Foot skating** (:func:`check_foot_skating`): a foot within :data:`SKATE_CONTACT_HEIGHT` of the
  floor that slides faster than :data:`SKATE_SPEED` (warning only; trim the span or fix the retargeting).
* **Stance-foot slide** (:func:`check_stance_slide`): the foot that carries the body sliding over the
  floor moves the reference's root where a robot whose feet hold cannot follow; the accumulated slide
  (:func:`stance_shift`) is how far behind such a robot ends up. ``--fix-skating`` moves the root
  horizontally by it, so the stance foot stays planted (:func:`fix_skating`).
* **Feet resting at different heights** (the validator's "one-sided support"; every G1 Moves clip rests
  its right foot ~1.7 cm above its left): ``--level-feet`` lowers the higher foot by the difference in
  every frame, by leg IK (:func:`level_feet`), as if that leg were as long as the other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import mujoco
import numpy as np

from g1_mimic.motion import quat as Q
from g1_mimic.motion.format import MotionFormatError
from g1_mimic.motion.validate import MIN_FRAMES, FrameRef, ValidationReport, feet_at_rest, foot_heights, path_length

#: Joint speed between consecutive frames (rad/s) above which a frame pair is a glitch.
JOINT_GLITCH_SPEED = 30.0
#: A jump this early in the clip (s) makes its start unfollowable.
START_WINDOW_S = 0.25
#: Both shoulder rolls beyond this (rad, left positive, right negative) mark a T-pose.
TPOSE_SHOULDER_ROLL = 1.2
#: Frames around a glitch span also replaced, as a fraction of a second (ramps a step change).
GLITCH_MARGIN_S = 0.05
#: Fast transitions closer than this (s) belong to one glitch span.
GLITCH_MERGE_S = 0.25
#: A foot whose lowest point is within this of the floor (m) is taken to be in contact.
SKATE_CONTACT_HEIGHT = 0.01
#: Horizontal speed (m/s) of a foot in contact above which it skates.
SKATE_SPEED = 1.0
#: A foot whose lowest point is within this (m) of its resting height can carry the body (stance-foot slide).
STANCE_HEIGHT = 0.025
#: Root offset (m) from the stance foot's accumulated slide above which the importer warns.
STANCE_SLIDE_WARN = 0.05
#: ``--fix-skating`` passes at most, and the root offset (m) left below which it stops.
FIX_SKATING_PASSES = 3
FIX_SKATING_TOLERANCE = 0.01
#: Feet whose resting heights differ by less than this (m) are level (``--level-feet`` leaves them).
LEVEL_FEET_TOLERANCE = 0.005
#: A frame whose levelled foot misses its target by more than this (m or rad) is reported.
LEVEL_FEET_IK_TOLERANCE = 1e-3


@dataclass
class Trajectory:
    """The importer's trajectory at the input rate (see the module docstring for frames and units)."""

    root_pos: np.ndarray
    root_quat: np.ndarray
    joint_pos: np.ndarray
    lines: np.ndarray | None = None
    """1-based source line of each frame (CSV), for messages."""

    @property
    def num_frames(self) -> int:
        return int(self.joint_pos.shape[0])

    def take(self, idx: np.ndarray) -> Trajectory:
        return Trajectory(
            self.root_pos[idx],
            self.root_quat[idx],
            self.joint_pos[idx],
            None if self.lines is None else self.lines[idx],
        )


def joint_speeds(joint_pos: np.ndarray, fps: float) -> np.ndarray:
    """|q[i+1] - q[i]| * fps, ``[T-1, J]`` (rad/s): the speed between frame ``i`` and ``i + 1``."""
    return np.abs(np.diff(joint_pos, axis=0)) * fps


def _spans(fast: np.ndarray, merge: int) -> list[tuple[int, int]]:
    """Group sorted transition indices closer than ``merge`` into ``(first, last)`` spans."""
    spans: list[tuple[int, int]] = []
    for k in fast.tolist():
        if spans and k - spans[-1][1] <= merge:
            spans[-1] = (spans[-1][0], k)
        else:
            spans.append((k, k))
    return spans


def check_joint_speed(
    traj: Trajectory, fps: float, joint_names: Sequence[str], *, where: str, report: ValidationReport
) -> int:
    """Warn, per joint, where it moves faster than :data:`JOINT_GLITCH_SPEED` between two frames. Returns the count."""
    speed = joint_speeds(traj.joint_pos, fps)
    ref = FrameRef(traj.lines)
    joints = np.nonzero((speed > JOINT_GLITCH_SPEED).any(axis=0))[0]
    for j in joints.tolist():
        fast = np.nonzero(speed[:, j] > JOINT_GLITCH_SPEED)[0]
        k = int(fast[np.argmax(speed[fast, j])])
        jump = abs(traj.joint_pos[k + 1, j] - traj.joint_pos[k, j])
        report.warn(
            f"{where}: joint '{joint_names[j]}' jumps {jump:.2f} rad between frames {k} and {k + 1} ({speed[k, j]:.0f} rad/s; "
            f"the limit used is {JOINT_GLITCH_SPEED:g} rad/s); fast between {ref.describe(np.union1d(fast, fast + 1))}. "
            "A retargeting glitch or a cut: --smooth-glitches replaces it by a straight line between the good frames "
            "around it (or --trim-start/--trim-end)."
        )
    return int(joints.size)


def smooth_glitches(
    traj: Trajectory, fps: float, joint_names: Sequence[str], *, where: str, report: ValidationReport
) -> Trajectory:
    """Replace each joint's glitch spans (speeds above :data:`JOINT_GLITCH_SPEED`) by linear interpolation.

    A span runs from the first to the last fast transition (merged when closer than
    :data:`GLITCH_MERGE_S`), widened by :data:`GLITCH_MARGIN_S` on both sides; its frames are
    replaced by the straight line between the frames just outside it. Only the offending joint
    changes. A glitch that remains (a step larger than the widened span can ramp) is reported.
    """
    q = traj.joint_pos.copy()
    T = q.shape[0]
    merge = max(1, int(round(GLITCH_MERGE_S * fps)))
    margin = max(1, int(round(GLITCH_MARGIN_S * fps)))
    fixed: list[str] = []
    for j in range(q.shape[1]):
        fast = np.nonzero(np.abs(np.diff(q[:, j])) * fps > JOINT_GLITCH_SPEED)[0]
        for a, b in _spans(fast, merge):
            lo, hi = max(0, a - margin), min(T - 1, b + 1 + margin)  # endpoints kept
            if hi - lo < 2:
                continue
            w = np.linspace(0.0, 1.0, hi - lo + 1)[1:-1]
            q[lo + 1 : hi, j] = (1.0 - w) * q[lo, j] + w * q[hi, j]
            fixed.append(f"{joint_names[j]} frames {lo + 1}-{hi - 1}")
    if fixed:
        after = float(joint_speeds(q, fps).max()) if T > 1 else 0.0
        report.note(
            f"{where}: --smooth-glitches interpolated {len(fixed)} span(s): {', '.join(fixed[:8])}"
            f"{' ...' if len(fixed) > 8 else ''}; fastest joint now {after:.1f} rad/s."
        )
    return Trajectory(traj.root_pos, traj.root_quat, q, traj.lines)


def find_bad_start(traj: Trajectory, fps: float, joint_names: Sequence[str]) -> tuple[int, str] | None:
    """``(first good frame, why)`` when the clip opens with a jump or a T-pose, else ``None``.

    A jump: a transition faster than :data:`JOINT_GLITCH_SPEED` within the first
    :data:`START_WINDOW_S`; the first good frame is the one after the last such transition.
    A T-pose: frame 0 has the left shoulder roll above and the right below -:data:`TPOSE_SHOULDER_ROLL`;
    the first good frame is the first one where either arm is down again.
    """
    names = list(joint_names)
    first = 0
    why: list[str] = []
    if "left_shoulder_roll_joint" in names and "right_shoulder_roll_joint" in names:
        lr = traj.joint_pos[:, names.index("left_shoulder_roll_joint")]
        rr = traj.joint_pos[:, names.index("right_shoulder_roll_joint")]
        tpose = (lr > TPOSE_SHOULDER_ROLL) & (rr < -TPOSE_SHOULDER_ROLL)
        if tpose[0]:
            down = np.nonzero(~tpose)[0]
            first = int(down[0]) if down.size else traj.num_frames
            why.append(
                f"a T-pose (shoulder rolls {lr[0]:+.2f} / {rr[0]:+.2f} rad at frame 0) for {first} frame(s) ({first / fps:.2f} s)"
            )
    window = max(1, int(round(START_WINDOW_S * fps)))
    speed = joint_speeds(traj.joint_pos[first : first + window + 1], fps)
    if speed.size:
        fast = np.nonzero((speed > JOINT_GLITCH_SPEED).any(axis=1))[0]
        if fast.size:
            k = int(fast[-1])
            j = int(np.argmax(speed[k]))
            jump = abs(traj.joint_pos[first + k + 1, j] - traj.joint_pos[first + k, j])
            why.append(
                f"a jump of {jump:.2f} rad in '{names[j]}' between frames {first + k} and {first + k + 1} "
                f"({speed[k, j]:.0f} rad/s)"
            )
            first = first + k + 1
    if not why:
        return None
    return first, " and ".join(why)


def trim(
    traj: Trajectory, fps: float, start_s: float, end_s: float, *, where: str, report: ValidationReport
) -> Trajectory:
    """Drop ``start_s`` seconds from the start and ``end_s`` from the end (rounded to frames)."""
    for name, value in (("--trim-start", start_s), ("--trim-end", end_s)):
        if not (np.isfinite(value) and value >= 0.0):
            raise MotionFormatError(f"{where}: {name} must be a duration >= 0 s, got {value}")
    a = int(round(start_s * fps))
    b = traj.num_frames - int(round(end_s * fps))
    if b - a < MIN_FRAMES:
        raise MotionFormatError(
            f"{where}: --trim-start {start_s:g} / --trim-end {end_s:g} s leave {max(b - a, 0)} of {traj.num_frames} frames "
            f"({traj.num_frames / fps:.2f} s at {fps:g} Hz); at least {MIN_FRAMES} are needed."
        )
    if a or b < traj.num_frames:
        report.note(
            f"{where}: trimmed frames [0, {a}) and [{b}, {traj.num_frames}) (--trim-start {start_s:g} s, --trim-end {end_s:g} s)."
        )
    return traj.take(np.arange(a, b))


def standing_root_height(kinematics, joint_pos: np.ndarray) -> float:
    """Pelvis height (m) at which the G1 in pose ``joint_pos`` [J] (model order), upright, has its lowest foot point at z = 0."""
    from g1_mimic.motion.validate import foot_heights

    bodies = kinematics.forward(kinematics.qpos(np.zeros((1, 3)), np.array([[0.0, 0.0, 0.0, 1.0]]), joint_pos[None]))
    h = foot_heights(bodies["body_pos_w"], bodies["body_quat_w"], kinematics.body_names, kinematics=kinematics)
    return float(-h.min())


def blend_from_standing(
    traj: Trajectory, fps: float, blend_s: float, kinematics, default_pose: np.ndarray
) -> Trajectory:
    """Prepend a ``blend_s`` transition from the standing pose to frame 0 of ``traj``.

    The prepended frames start in ``default_pose`` (joints, model order), upright, facing frame 0's
    heading, pelvis over frame 0's xy at the standing height, and move linearly (joints, position)
    and by slerp (orientation) into frame 0.
    """
    n = max(2, int(round(blend_s * fps)))
    q0 = traj.root_quat[0]
    yaw = _yaw_only(q0)
    start_pos = np.array([traj.root_pos[0, 0], traj.root_pos[0, 1], standing_root_height(kinematics, default_pose)])
    w = np.linspace(0.0, 1.0, n + 1)[:-1]  # n frames, the last one before frame 0
    joints = (1.0 - w)[:, None] * default_pose[None] + w[:, None] * traj.joint_pos[0][None]
    pos = (1.0 - w)[:, None] * start_pos[None] + w[:, None] * traj.root_pos[0][None]
    quat = Q.slerp(np.broadcast_to(yaw, (n, 4)), np.broadcast_to(q0, (n, 4)), w)
    lines = None if traj.lines is None else np.concatenate([np.zeros(n, dtype=traj.lines.dtype), traj.lines])
    return Trajectory(
        np.concatenate([pos, traj.root_pos]),
        np.concatenate([quat, traj.root_quat]),
        np.concatenate([joints, traj.joint_pos]),
        lines,
    )


def _yaw_only(q: np.ndarray) -> np.ndarray:
    """The heading part of an xyzw quaternion (rotation about world z)."""
    x, y, z, w = q
    yaw = np.arctan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))
    return np.array([0.0, 0.0, np.sin(yaw / 2.0), np.cos(yaw / 2.0)])


def check_foot_skating(
    foot_pos: np.ndarray,
    heights: np.ndarray,
    fps: float,
    feet: Sequence[str],
    *,
    where: str,
    report: ValidationReport,
    frames: FrameRef | None = None,
) -> None:
    """Warn where a foot in contact (lowest point within :data:`SKATE_CONTACT_HEIGHT`) slides faster than :data:`SKATE_SPEED`.

    ``foot_pos`` ``[T, F, 3]`` foot body positions (m, world), ``heights`` ``[T, F]`` their lowest points.
    """
    if foot_pos.shape[0] < 3:
        return
    vel = np.zeros(foot_pos.shape[:2])
    vel[1:-1] = np.linalg.norm(foot_pos[2:, :, :2] - foot_pos[:-2, :, :2], axis=-1) * (fps / 2.0)
    contact = heights < SKATE_CONTACT_HEIGHT
    for f, foot in enumerate(feet):
        bad = np.nonzero(contact[:, f] & (vel[:, f] > SKATE_SPEED))[0]
        if bad.size:
            k = int(bad[np.argmax(vel[bad, f])])
            report.warn(
                f"{where}: foot skating: '{foot}' slides at up to {vel[k, f]:.2f} m/s (frame {k}) while within "
                f"{SKATE_CONTACT_HEIGHT * 100:g} cm of the floor, at {(frames or FrameRef()).describe(bad)} "
                f"(limit {SKATE_SPEED:g} m/s). The policy cannot reproduce it; fix the retargeting or "
                "trim the span (--trim-start/--trim-end)."
            )


def resting_heights(heights: np.ndarray, feet_xy: np.ndarray, fps: float) -> np.ndarray:
    """How high each foot rests (m): the 25th percentile of its lowest point over the frames in which it is
    at rest (:func:`~g1_mimic.motion.validate.feet_at_rest`; all frames if never).

    ``heights`` ``[T, F]`` lowest point of each foot (m, world z), ``feet_xy`` ``[T, F, 2]`` foot positions.
    """
    at_rest = feet_at_rest(feet_xy, fps)
    out = np.empty(heights.shape[1])
    for f in range(heights.shape[1]):
        rest = heights[at_rest[:, f], f]
        out[f] = np.percentile(rest if rest.size else heights[:, f], 25)
    return out


def stance_shift(feet_xy: np.ndarray, heights: np.ndarray, rest: np.ndarray) -> tuple[np.ndarray, float]:
    """The horizontal root shift that keeps the stance foot planted, frame by frame.

    Between frames ``i`` and ``i + 1`` the stance foot is, of the feet whose lowest point is within
    :data:`STANCE_HEIGHT` of their resting height in both frames, the one that moves least horizontally
    (none: the body is in the air, nothing is shifted). Its horizontal displacement is what the reference
    gains by sliding; a robot whose feet hold cannot gain it. ``feet_xy`` ``[T, F, 2]`` foot body positions
    (m, world), ``heights`` ``[T, F]`` their lowest points (m), ``rest`` ``[F]`` resting heights
    (:func:`resting_heights`). Returns ``shift`` ``[T, 2]`` (m, world xy; ``shift[0] = 0``): minus the
    stance foot's accumulated slide, i.e. where such a robot's root ends up relative to the reference's,
    and the total distance the stance foot slides (m).
    """
    stance = heights < rest[None, :] + STANCE_HEIGHT
    both = stance[1:] & stance[:-1]  # [T-1, F]
    disp = np.diff(feet_xy, axis=0)  # [T-1, F, 2]
    dist = np.where(both, np.linalg.norm(disp, axis=-1), np.inf)
    foot = np.argmin(dist, axis=1)
    slide = np.where(both.any(axis=1)[:, None], disp[np.arange(len(foot)), foot], 0.0)
    shift = np.zeros((feet_xy.shape[0], 2))
    shift[1:] = -np.cumsum(slide, axis=0)
    return shift, float(np.linalg.norm(slide, axis=-1).sum())


def _stance_shift_of(traj: Trajectory, fps: float, kinematics) -> tuple[np.ndarray, float, float]:
    """:func:`stance_shift` of a trajectory (forward kinematics), with its root's horizontal path length (m)."""
    from g1_mimic.robots.g1_constants import FEET_BODIES

    kin = kinematics
    bodies = kin.forward(kin.qpos(traj.root_pos, traj.root_quat, traj.joint_pos))
    heights = foot_heights(bodies["body_pos_w"], bodies["body_quat_w"], kin.body_names, kinematics=kin)
    feet_xy = bodies["body_pos_w"][:, kin.body_indices(FEET_BODIES), :2]
    shift, slid = stance_shift(feet_xy, heights, resting_heights(heights, feet_xy, fps))
    return shift, slid, path_length(traj.root_pos[:, :2])


def stance_slide(feet_xy: np.ndarray, heights: np.ndarray, fps: float) -> dict[str, float]:
    """The stance foot's slide over a clip (:func:`stance_shift`, resting heights from :func:`resting_heights`):
    ``{"slide_m"`` (total distance slid), ``"max_offset_m"``, ``"max_offset_at_s"`` (the largest offset of a
    robot whose feet hold from the reference's root, and when), ``"end_offset_m"}``.

    ``feet_xy`` ``[T, F, 2]`` foot positions (m, world), ``heights`` ``[T, F]`` their lowest points (m).
    """
    shift, slid = stance_shift(feet_xy, heights, resting_heights(heights, feet_xy, fps))
    off = np.linalg.norm(shift, axis=-1)
    k = int(np.argmax(off))
    return {"slide_m": slid, "max_offset_m": float(off[k]), "max_offset_at_s": k / fps, "end_offset_m": float(off[-1])}


def check_stance_slide(
    feet_xy: np.ndarray, heights: np.ndarray, fps: float, *, where: str, report: ValidationReport
) -> dict[str, float]:
    """:func:`stance_slide`, with a warning when its largest offset exceeds :data:`STANCE_SLIDE_WARN`."""
    out = stance_slide(feet_xy, heights, fps)
    if out["max_offset_m"] > STANCE_SLIDE_WARN:
        report.warn(
            f"{where}: stance-foot slide: the foot carrying the body slides {out['slide_m']:.2f} m over the floor in all; "
            f"a robot whose feet hold their place falls up to {out['max_offset_m']:.2f} m behind the reference's root "
            f"({out['max_offset_at_s']:.2f} s; {out['end_offset_m']:.2f} m at the end) unless it takes steps the "
            "reference does not. --fix-skating moves the root so the stance foot stays planted."
        )
    return out


def fix_skating(traj: Trajectory, fps: float, kinematics, *, where: str, report: ValidationReport) -> tuple[Trajectory, dict]:
    """Move the root horizontally so that the stance foot stays planted (``--fix-skating``).

    The root's xy in every frame is shifted by :func:`stance_shift` (minus the stance foot's slide so
    far), repeated on the result (at most :data:`FIX_SKATING_PASSES` passes, until what is left is under
    :data:`FIX_SKATING_TOLERANCE`: planting the feet shifts the resting heights a little and so, near the
    height threshold, which foot stands). The joint angles, the root's height and orientation are
    unchanged, so the pose relative to the root is the clip's own and the swing foot keeps its motion
    relative to the body. Returns the new trajectory and what was done (``slide_m``, ``max_shift_m``,
    ``end_shift_m``, root path lengths).
    """
    shift, slid, path = _stance_shift_of(traj, fps, kinematics)
    root_pos = traj.root_pos.copy()
    root_pos[:, :2] += shift
    for _ in range(FIX_SKATING_PASSES - 1):
        more, _, _ = _stance_shift_of(Trajectory(root_pos, traj.root_quat, traj.joint_pos), fps, kinematics)
        if np.linalg.norm(more, axis=-1).max() < FIX_SKATING_TOLERANCE:
            break
        root_pos[:, :2] += more
    shift = root_pos[:, :2] - traj.root_pos[:, :2]
    new_path = path_length(root_pos[:, :2])
    off = np.linalg.norm(shift, axis=-1)
    k = int(np.argmax(off))
    report.note(
        f"{where}: --fix-skating: the stance foot slid {slid:.2f} m in all; moved the root horizontally by up to "
        f"{off[k]:.2f} m ({k / fps:.2f} s; {off[-1]:.2f} m at the end) so that it stays planted; the root's path is "
        f"{new_path:.2f} m (was {path:.2f} m)."
    )
    done = {
        "slide_m": slid, "max_shift_m": float(off[k]), "end_shift_m": float(off[-1]),
        "root_path_m": new_path, "input_root_path_m": path,
    }
    return Trajectory(root_pos, traj.root_quat.copy(), traj.joint_pos.copy(), traj.lines), done


def level_feet(traj: Trajectory, fps: float, kinematics, *, where: str, report: ValidationReport) -> tuple[Trajectory, dict | None]:
    """Bring the foot that rests higher than the other down by the difference, in every frame.

    A retargeting whose robot model differs from this one (foot geometry, leg length) can leave one foot
    hovering whenever it stands (the validator's "one-sided support"; in the G1 Moves clips the right foot,
    with its leg already straight); the simulated robot then cannot put it down where the reference does.
    The root is lowered by the difference ``dz`` of the feet's :func:`resting_heights` (so the hovering foot,
    its leg unchanged, comes down by ``dz``) and the other leg's six joints are solved by damped least
    squares, from the clip's own angles, to keep its foot exactly where it was (the knee bends a little
    more): as if the lower leg were ``dz`` shorter. Frames in which that foot cannot be kept (a leg folded
    to its limit) are reported with the residual. Returns the new trajectory and what was done (None when
    the feet already rest level).
    """
    from g1_mimic.motion.kinematics import LegIK
    from g1_mimic.robots.g1_constants import FEET_BODIES

    kin = kinematics
    qpos = kin.qpos(traj.root_pos, traj.root_quat, traj.joint_pos)
    bodies = kin.forward(qpos)
    heights = foot_heights(bodies["body_pos_w"], bodies["body_quat_w"], kin.body_names, kinematics=kin)
    feet_xy = bodies["body_pos_w"][:, kin.body_indices(FEET_BODIES), :2]
    rest = resting_heights(heights, feet_xy, fps)
    high = int(np.argmax(rest))
    low = 1 - high
    dz = float(rest[high] - rest[low])
    if dz < LEVEL_FEET_TOLERANCE:
        report.note(f"{where}: --level-feet: the feet rest level (within {LEVEL_FEET_TOLERANCE * 100:g} cm); nothing changed.")
        return traj, None
    ik = LegIK(kin)
    d = kin.data
    leg_cols = kin.joint_indices(ik.leg_joints[low])
    joint_pos = traj.joint_pos.copy()
    residual = np.zeros(traj.num_frames)
    for i in range(traj.num_frames):
        d.qpos[:] = qpos[i]
        mujoco.mj_kinematics(kin.model, d)
        ik.set_targets_from_current()  # both feet where the clip has them ...
        ik.foot_pos[high][2] -= dz  # ... but the hovering one dz lower, where it goes with the root
        d.qpos[2] -= dz
        residual[i] = ik.solve(tol=1e-9, max_iter=30)
        joint_pos[i, leg_cols] = d.qpos[ik.qadr[low]]
    root_pos = traj.root_pos.copy()
    root_pos[:, 2] -= dz
    foot, other = FEET_BODIES[high], FEET_BODIES[low]
    missed = np.nonzero(residual > LEVEL_FEET_IK_TOLERANCE)[0]
    report.note(
        f"{where}: --level-feet: '{foot}' rested {dz * 100:.1f} cm above '{other}' ({rest[high] * 100:+.1f} against "
        f"{rest[low] * 100:+.1f} cm); lowered the root by {dz * 100:.1f} cm in every frame and bent the "
        f"{other.split('_')[0]} leg to keep its foot in place (leg IK)."
    )
    if missed.size:
        report.warn(
            f"{where}: --level-feet: '{other}' could not be kept in place in {missed.size} frame(s) "
            f"({FrameRef(traj.lines).describe(missed)}; the leg is out of reach, up to {residual.max() * 1000:.1f} mm off)."
        )
    out = Trajectory(root_pos, traj.root_quat.copy(), joint_pos, traj.lines)
    return out, {"foot": foot, "lowered_m": dz, "frames_off": int(missed.size), "max_residual_m": float(residual.max())}
