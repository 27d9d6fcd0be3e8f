"""Keyframed, physically plausible G1 motions with both feet planted (no mocap needed).

Each clip is a small table of keyframes per *channel*; the generator interpolates every channel
with minimum-jerk segments (quintic smoothstep: position, velocity and acceleration continuous,
velocity and acceleration zero at each keyframe, no overshoot), then solves the legs by inverse
kinematics so both feet keep the pose they have in the standing pose: flat, sole on ``z = 0``,
not sliding. The pelvis horizontal position is not keyframed directly: it is solved every frame so
that the centre of mass (COM) ground projection follows its keyframed target, which keeps the
COM over the support polygon whatever the upper body does (a bow pushes the hips back, a squat
sits back, a weight shift moves the COM over one foot).

Channels (all keyframe values are **offsets from the standing pose**, so every clip starts and
ends with value 0 in every channel):

==================  =======  ==============================================================
channel             unit     meaning
==================  =======  ==============================================================
``pelvis_z``        m        pelvis height above the standing height (negative = lower)
``pelvis_roll``     rad      pelvis orientation, ``R = Rz(yaw) Ry(pitch) Rx(roll)``, world
``pelvis_pitch``    rad      frame; pitch > 0 leans forward
``pelvis_yaw``      rad
``com_x``           m        COM ground projection target, world frame, relative to the
``com_y``           m        standing COM (x forward, y left)
``<joint>_joint``   rad      waist/arm joint angle offset from :func:`default_joint_pos`
==================  =======  ==============================================================

Leg joints are never keyframed: they are the unknowns of the IK. The standing pose is the
BeyondMimic default pose (:func:`~g1_mimic.robots.g1_constants.default_joint_pos`) with the
pelvis at the height where the lowest point of each sole touches ``z = 0`` (about 0.757 m; the
default pose pitches the feet by 0.34 deg, which is kept).

Generate the bundled clips with ``python -m g1_mimic.motion.generate --all OUTDIR`` or one clip
with ``python -m g1_mimic.motion.generate NAME OUTPUT.npz``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mujoco
import numpy as np

from g1_mimic.data import DEFAULT_CLIP  # the default training clip (the easiest), re-exported
from g1_mimic.motion import quat as Q
from g1_mimic.motion.format import Motion, motion_from_root_and_joints
from g1_mimic.motion.kinematics import LEG_JOINTS, G1Kinematics, LegIK, g1_kinematics
from g1_mimic.robots.g1_constants import DEFAULT_ROOT_HEIGHT, FEET_BODIES, default_joint_pos

GRAVITY = 9.81
PELVIS_CHANNELS: tuple[str, ...] = ("pelvis_z", "pelvis_roll", "pelvis_pitch", "pelvis_yaw", "com_x", "com_y")
#: Every generated joint angle stays this far (rad) inside the model's joint limits.
JOINT_LIMIT_MARGIN = 0.05

Keys = tuple[tuple[float, float], ...]


class MotionGenerationError(ValueError):
    """A clip specification is invalid or cannot be realised (IK failure, joint limit, balance)."""


@dataclass(frozen=True)
class ClipSpec:
    """One keyframed clip.

    Attributes:
        name: clip name (``CLIP_NAMES``).
        duration: length (s); channels hold their last keyframe value until the end.
        description: one line for humans.
        keys: channel -> ``((t, value), ...)`` with strictly increasing ``t`` (s), offsets from the
            standing pose (see the module docstring for channel names and units).
    """

    name: str
    duration: float
    description: str
    keys: Mapping[str, Keys]

    def to_json(self) -> dict[str, Any]:
        """JSON-ready description (stored as the motion's ``source["keyframes"]``)."""
        return {
            "duration": self.duration,
            "description": self.description,
            "channels": {ch: [[float(t), float(v)] for t, v in ks] for ch, ks in sorted(self.keys.items())},
        }


# --------------------------------------------------------------------------------------------
# Keyframe helpers
# --------------------------------------------------------------------------------------------


def min_jerk(keys: Keys, t: np.ndarray) -> np.ndarray:
    """Evaluate a keyframe channel at times ``t`` (s) with minimum-jerk segments.

    Between keys ``(t0, v0)`` and ``(t1, v1)`` the value is ``v0 + (v1 - v0) s(tau)`` with
    ``s = 10 tau^3 - 15 tau^4 + 6 tau^5`` and ``tau = (t - t0) / (t1 - t0)``; before the first key
    and after the last one the value is held. Peak speed of a segment is ``1.875 |dv| / dt``.
    """
    t = np.asarray(t, dtype=np.float64)
    kt = np.array([k[0] for k in keys], dtype=np.float64)
    kv = np.array([k[1] for k in keys], dtype=np.float64)
    out = np.full(t.shape, kv[-1])
    out[t <= kt[0]] = kv[0]
    for i in range(len(kt) - 1):
        sel = (t > kt[i]) & (t <= kt[i + 1])
        tau = (t[sel] - kt[i]) / (kt[i + 1] - kt[i])
        s = tau**3 * (10.0 - 15.0 * tau + 6.0 * tau**2)
        out[sel] = kv[i] + (kv[i + 1] - kv[i]) * s
    return out


def _osc(
    t0: float, half_period: float, values: Sequence[float], start: float = 0.0, end: float = 0.0
) -> list[tuple[float, float]]:
    """Keys of an oscillation: ``(t0, start)`` then ``values`` every ``half_period`` s, then ``end``.

    With min-jerk segments between alternating extremes this is a smooth near-sinusoid of
    period ``2 * half_period`` whose velocity is zero at the extremes.
    """
    ks = [(t0, start)]
    ks += [(t0 + (i + 1) * half_period, v) for i, v in enumerate(values)]
    ks.append((t0 + (len(values) + 1) * half_period, end))
    return ks


def _keys(*pairs: tuple[float, float]) -> Keys:
    """A channel's keys from ``(t, value)`` pairs."""
    return tuple((float(t), float(v)) for t, v in pairs)


# --------------------------------------------------------------------------------------------
# Clip library
# --------------------------------------------------------------------------------------------


def _wave() -> ClipSpec:
    # Right arm rises to the side (0.5-1.5 s), waves twice at 0.5 Hz (1.5-5.5 s: shoulder roll
    # 0.25 rad, elbow 0.35 rad in quadrature), comes down (5.5-6.5 s); the left arm swings gently
    # (shoulder pitch 0.2 rad). Legs only counter-balance the arm (millimetres).
    keys: dict[str, Keys] = {
        "right_shoulder_pitch_joint": _keys((0.5, 0.0), (1.5, -0.35), (5.5, -0.35), (6.5, 0.0)),
        "right_shoulder_yaw_joint": _keys((0.5, 0.0), (1.5, 0.3), (5.5, 0.3), (6.5, 0.0)),
        "right_shoulder_roll_joint": _keys(
            (0.5, 0.0), (1.5, -0.5), (2.5, -0.75), (3.5, -0.25), (4.5, -0.75), (5.5, -0.5), (6.5, 0.0)
        ),
        "right_elbow_joint": _keys((0.5, 0.0), (2.0, 0.9), (3.0, 0.2), (4.0, 0.9), (5.0, 0.2), (6.5, 0.0)),
        "left_shoulder_pitch_joint": tuple(_osc(1.5, 1.0, [0.2, -0.2, 0.2, -0.2])),
        "waist_roll_joint": _keys((0.5, 0.0), (1.5, 0.05), (5.5, 0.05), (6.5, 0.0)),
    }
    return ClipSpec("wave", 7.0, "feet planted, right arm raised and waving at 0.5 Hz, left arm swinging gently", keys)


def _squat() -> ClipSpec:
    # Down 0.18 m in 2 s with the torso leaning forward and arms reaching forward, hold, up.
    down0, down1, up0, up1 = 0.5, 2.5, 3.25, 5.25
    depth_keys = {
        "pelvis_z": -0.18,
        "pelvis_pitch": 0.3,
        "left_shoulder_pitch_joint": -1.0,
        "right_shoulder_pitch_joint": -1.0,
        "left_shoulder_roll_joint": -0.1,
        "right_shoulder_roll_joint": 0.1,
        "left_elbow_joint": -0.4,
        "right_elbow_joint": -0.4,
        "waist_pitch_joint": 0.1,
    }
    keys = {ch: _keys((down0, 0.0), (down1, v), (up0, v), (up1, 0.0)) for ch, v in depth_keys.items()}
    return ClipSpec("squat", 6.0, "pelvis down 0.18 m and back up, torso leaning and arms forward for balance", keys)


def _twist() -> ClipSpec:
    # Waist yaw +-0.6 rad at 0.5 Hz (two cycles) with the pelvis turning 0.1 rad the same way and the
    # arms swinging fore-aft in opposition.
    yaw = [0.6, -0.6, 0.6, -0.6]
    keys: dict[str, Keys] = {
        "waist_yaw_joint": tuple(_osc(0.5, 1.0, yaw)),
        "pelvis_yaw": tuple(_osc(0.5, 1.0, [0.1 * np.sign(v) for v in yaw])),
        "left_shoulder_pitch_joint": tuple(_osc(0.5, 1.0, [0.4 * np.sign(v) for v in yaw])),
        "right_shoulder_pitch_joint": tuple(_osc(0.5, 1.0, [-0.4 * np.sign(v) for v in yaw])),
        "left_shoulder_roll_joint": _keys((0.5, 0.0), (1.5, 0.25), (4.5, 0.25), (5.5, 0.0)),
        "right_shoulder_roll_joint": _keys((0.5, 0.0), (1.5, -0.25), (4.5, -0.25), (5.5, 0.0)),
        "pelvis_z": _keys((0.5, 0.0), (1.5, -0.03), (4.5, -0.03), (5.5, 0.0)),
    }
    return ClipSpec("twist", 6.0, "torso twist (waist yaw +-0.6 rad, 0.5 Hz) with arms swinging", keys)


def _bow() -> ClipSpec:
    # Bend forward at hips (pelvis pitch 0.35) and waist (0.4) in 2 s, hold, straighten; the
    # hips move back automatically to keep the COM over the feet; arms stay hanging.
    b0, b1, u0, u1 = 0.5, 2.5, 3.5, 5.5
    depth_keys = {
        "pelvis_pitch": 0.35,
        "waist_pitch_joint": 0.4,
        "pelvis_z": -0.04,
        "left_shoulder_pitch_joint": -0.45,
        "right_shoulder_pitch_joint": -0.45,
        "left_elbow_joint": -0.3,
        "right_elbow_joint": -0.3,
    }
    keys = {ch: _keys((b0, 0.0), (b1, v), (u0, v), (u1, 0.0)) for ch, v in depth_keys.items()}
    return ClipSpec(
        "bow", 6.0, "bow: hip and waist pitch forward 0.75 rad in total and back, COM kept over the feet", keys
    )


def _weight_shift() -> ClipSpec:
    # COM over the left foot, then over the right foot, then back to the middle; the pelvis rolls
    # slightly towards the stance side and the arms open for balance.
    y = 0.085
    keys: dict[str, Keys] = {
        "com_y": _keys((0.5, 0.0), (2.0, y), (2.75, y), (4.75, -y), (5.5, -y), (7.0, 0.0)),
        "pelvis_roll": _keys((0.5, 0.0), (2.0, -0.05), (2.75, -0.05), (4.75, 0.05), (5.5, 0.05), (7.0, 0.0)),
        "pelvis_z": _keys((0.5, 0.0), (2.0, -0.03), (5.5, -0.03), (7.0, 0.0)),
        "waist_roll_joint": _keys((0.5, 0.0), (2.0, 0.1), (2.75, 0.1), (4.75, -0.1), (5.5, -0.1), (7.0, 0.0)),
        "left_shoulder_roll_joint": _keys((0.5, 0.0), (2.0, 0.15), (5.5, 0.15), (7.0, 0.0)),
        "right_shoulder_roll_joint": _keys((0.5, 0.0), (2.0, -0.15), (5.5, -0.15), (7.0, 0.0)),
    }
    return ClipSpec(
        "weight_shift", 7.5, "lateral weight shift: COM over the left foot, then the right, then centred", keys
    )


_CLIPS: dict[str, ClipSpec] = {c.name: c for c in (_wave(), _squat(), _twist(), _bow(), _weight_shift())}
#: Names of the clips :func:`generate_clip` knows, easiest first.
CLIP_NAMES: tuple[str, ...] = tuple(_CLIPS)


def clip_spec(name: str) -> ClipSpec:
    """The keyframe specification of clip ``name``; raise ``KeyError`` listing the known names."""
    if name not in _CLIPS:
        raise KeyError(f"unknown motion clip {name!r}; known clips: {', '.join(CLIP_NAMES)}")
    return _CLIPS[name]


# --------------------------------------------------------------------------------------------
# Geometry helpers (also used by the tests)
# --------------------------------------------------------------------------------------------


def foot_sole_points(kin: G1Kinematics) -> np.ndarray:
    """World positions ``[F, P, 3]`` of the sole points of each foot in :data:`FEET_BODIES` order.

    Uses the current ``kin.data`` (after ``mj_kinematics``). The points are the two end-sphere
    bottoms of every foot collision capsule: capsule endpoints minus the capsule radius along the
    world ``z`` axis, so ``min z`` is the sole's lowest point for a flat foot.
    """
    m, d = kin.model, kin.data
    out = []
    for foot in FEET_BODIES:
        bid = m.body(foot).id
        pts = []
        for g in np.flatnonzero(m.geom_bodyid == bid):
            if m.geom_type[g] != mujoco.mjtGeom.mjGEOM_CAPSULE:
                continue
            axis = d.geom_xmat[g].reshape(3, 3)[:, 2]
            r, half = m.geom_size[g, 0], m.geom_size[g, 1]
            for sgn in (-1.0, 1.0):
                pts.append(d.geom_xpos[g] + sgn * half * axis - np.array([0.0, 0.0, r]))
        if not pts:
            raise MotionGenerationError(f"{kin.mjcf_path}: foot body {foot} has no capsule collision geoms")
        out.append(np.array(pts))
    return np.stack(out)


def polygon_margin(points_xy: np.ndarray, p: np.ndarray) -> float:
    """Signed distance (m) of ``p`` [2] inside the convex hull of ``points_xy`` [N, 2] (negative outside)."""
    from scipy.spatial import ConvexHull

    hull = ConvexHull(points_xy)
    # hull.equations rows: (nx, ny, c) with n.x + c <= 0 inside, |n| = 1.
    return float(-np.max(hull.equations[:, :2] @ p + hull.equations[:, 2]))


# --------------------------------------------------------------------------------------------
# Solver
# --------------------------------------------------------------------------------------------


def standing_height(kin: G1Kinematics | None = None) -> float:
    """Pelvis height (m) of the standing pose at which the lowest sole point touches ``z = 0``."""
    kin = kin or g1_kinematics()
    jp = np.array([default_joint_pos(n) for n in kin.joint_names])
    kin.data.qpos[:] = kin.qpos(np.array([[0.0, 0.0, DEFAULT_ROOT_HEIGHT]]), Q.IDENTITY_XYZW[None], jp[None])[0]
    mujoco.mj_kinematics(kin.model, kin.data)
    return DEFAULT_ROOT_HEIGHT - float(foot_sole_points(kin)[..., 2].min())


def _validate(spec: ClipSpec, kin: G1Kinematics) -> None:
    legs = {j for leg in LEG_JOINTS for j in leg}
    for ch, ks in spec.keys.items():
        if ch in legs:
            raise MotionGenerationError(f"clip {spec.name!r}: leg joint {ch!r} is solved by IK and cannot be keyframed")
        if ch not in PELVIS_CHANNELS and ch not in kin.joint_names:
            raise MotionGenerationError(
                f"clip {spec.name!r}: unknown channel {ch!r}; channels are {list(PELVIS_CHANNELS)} or a waist/arm joint"
            )
        ts = [k[0] for k in ks]
        if len(ks) < 2 or any(b <= a for a, b in zip(ts, ts[1:], strict=False)):
            raise MotionGenerationError(f"clip {spec.name!r}: channel {ch!r} needs >= 2 keys with increasing times")
        if ts[0] < 0 or ts[-1] > spec.duration:
            raise MotionGenerationError(f"clip {spec.name!r}: channel {ch!r} keys outside [0, {spec.duration}] s")
        if ks[0][1] != 0.0 or ks[-1][1] != 0.0:
            raise MotionGenerationError(
                f"clip {spec.name!r}: channel {ch!r} must start and end at 0 (the standing pose)"
            )


def generate_clip(name: str, fps: float = 50.0) -> Motion:
    """Generate clip ``name`` (one of :data:`CLIP_NAMES`) sampled at ``fps`` Hz.

    Returns a canonical :class:`Motion` whose first and last frames are the standing pose, with
    both feet planted flat (``contact_labels`` all True for :data:`FEET_BODIES`). Deterministic.

    Raises:
        KeyError: unknown clip name (the message lists the known names).
        MotionGenerationError: the keyframes cannot be realised (IK, joint limits or balance).
    """
    spec = clip_spec(name)
    if not np.isfinite(fps) or fps <= 0:
        raise ValueError(f"fps must be a positive frame rate in Hz, got {fps}")
    kin = g1_kinematics()
    _validate(spec, kin)
    return _generate(spec, float(fps), kin)


def _generate(spec: ClipSpec, fps: float, kin: G1Kinematics) -> Motion:
    m, d = kin.model, kin.data
    T = int(round(spec.duration * fps)) + 1
    t = np.arange(T) / fps
    chan = {ch: min_jerk(ks, t) for ch, ks in spec.keys.items()}
    zero = np.zeros(T)

    h0 = standing_height(kin)
    jp0 = np.array([default_joint_pos(n) for n in kin.joint_names])
    joint_pos = np.tile(jp0, (T, 1))
    for ch, v in chan.items():
        if ch in kin.joint_names:
            joint_pos[:, kin.joint_names.index(ch)] += v
    root_quat = Q.from_euler_xyz(
        chan.get("pelvis_roll", zero), chan.get("pelvis_pitch", zero), chan.get("pelvis_yaw", zero)
    )
    root_pos = np.zeros((T, 3))
    root_pos[:, 2] = h0 + chan.get("pelvis_z", zero)

    # Standing pose: feet targets and the standing COM.
    ik = LegIK(kin)
    d.qpos[:] = kin.qpos(np.array([[0.0, 0.0, h0]]), Q.IDENTITY_XYZW[None], jp0[None])[0]
    mujoco.mj_kinematics(m, d)
    mujoco.mj_comPos(m, d)
    ik.set_targets_from_current()
    com0 = d.subtree_com[1, :2].copy()
    com_target = com0 + np.stack([chan.get("com_x", zero), chan.get("com_y", zero)], axis=-1)
    leg_q = np.concatenate(ik.qadr)
    joint_qadr = np.array([m.jnt_qposadr[m.joint(n).id] for n in kin.joint_names])

    # Sensitivity of the COM to the pelvis xy (about 0.8 I: the feet stay behind), estimated once.
    def com_of(pxy: np.ndarray) -> np.ndarray:
        d.qpos[0:2] = pxy
        ik.solve()
        mujoco.mj_comPos(m, d)
        return d.subtree_com[1, :2].copy()

    base = com_of(np.zeros(2))
    eps = 1e-3
    G = np.stack([(com_of(np.array([eps, 0.0])) - base) / eps, (com_of(np.array([0.0, eps])) - base) / eps], axis=1)
    G_inv = np.linalg.inv(G)
    d.qpos[:] = kin.qpos(np.array([[0.0, 0.0, h0]]), Q.IDENTITY_XYZW[None], jp0[None])[0]

    for i in range(T):
        warm_legs = d.qpos[leg_q].copy()
        pxy = d.qpos[0:2].copy()
        d.qpos[:] = kin.qpos(root_pos[i : i + 1], root_quat[i : i + 1], joint_pos[i : i + 1])[0]
        d.qpos[leg_q] = warm_legs
        for _ in range(50):
            err = com_target[i] - com_of(pxy)
            if np.linalg.norm(err) < 1e-7:
                break
            pxy = pxy + G_inv @ err
        else:
            raise MotionGenerationError(f"clip {spec.name!r}: balance did not converge at t={t[i]:.2f} s")
        ik_err = ik.solve()
        if ik_err > 1e-6:
            raise MotionGenerationError(
                f"clip {spec.name!r}: feet IK failed at t={t[i]:.2f} s (error {ik_err:.2e}); the pose is out of reach"
            )
        root_pos[i, :2] = pxy
        joint_pos[i] = d.qpos[joint_qadr]

    lo, hi = kin.joint_limits[:, 0] + JOINT_LIMIT_MARGIN, kin.joint_limits[:, 1] - JOINT_LIMIT_MARGIN
    bad = np.flatnonzero(((joint_pos < lo) | (joint_pos > hi)).any(axis=0))
    if bad.size:
        j = int(bad[0])
        raise MotionGenerationError(
            f"clip {spec.name!r}: joint {kin.joint_names[j]} reaches [{joint_pos[:, j].min():.3f}, "
            f"{joint_pos[:, j].max():.3f}] rad, outside its limits {kin.joint_limits[j].round(3).tolist()} "
            f"minus a {JOINT_LIMIT_MARGIN} rad margin"
        )

    source = {
        "generator": "g1_mimic.motion.generate",
        "clip": spec.name,
        "fps": fps,
        "standing_pelvis_height": h0,
        "keyframes": spec.to_json(),
    }
    motion = motion_from_root_and_joints(fps, root_pos, root_quat, joint_pos, kin.joint_names, source, kinematics=kin)
    motion.contact_labels = np.ones((T, len(FEET_BODIES)), dtype=bool)
    motion.contact_body_names = FEET_BODIES
    return motion


# --------------------------------------------------------------------------------------------
# Statistics and CLI
# --------------------------------------------------------------------------------------------


def motion_stats(motion: Motion, kin: G1Kinematics | None = None) -> dict[str, float]:
    """Summary of a planted-feet motion: duration (s), pelvis height range (m), max joint speed
    (rad/s), worst foot height/tilt/slide over all frames (m, deg, m), and the minimum margins (m)
    of the COM and of the cart-table ZMP (``com_xy - com_z / g * com_acc_xy``) inside the support
    polygon of both soles (positive = inside).
    """
    kin = kin or g1_kinematics()
    m, d = kin.model, kin.data
    jp = motion.joint_pos[:, motion.joint_index(kin.joint_names)]
    qpos = kin.qpos(motion.root_pos_w, motion.root_quat_w, jp)
    T = motion.num_frames
    com = np.empty((T, 3))
    soles = []
    foot_ids = [m.body(f).id for f in FEET_BODIES]
    tilt = np.empty((T, len(FEET_BODIES)))
    foot_xy = np.empty((T, len(FEET_BODIES), 2))
    for i in range(T):
        d.qpos[:] = qpos[i]
        mujoco.mj_kinematics(m, d)
        mujoco.mj_comPos(m, d)
        com[i] = d.subtree_com[1]
        soles.append(foot_sole_points(kin))
        tilt[i] = [np.degrees(np.arccos(np.clip(d.xmat[b][8], -1.0, 1.0))) for b in foot_ids]
        foot_xy[i] = [d.xpos[b][:2] for b in foot_ids]
    soles_arr = np.stack(soles)  # [T, F, P, 3]
    sole_z = soles_arr[..., 2].min(axis=-1)  # [T, F]
    dt = 1.0 / motion.fps
    acc = np.gradient(np.gradient(com[:, :2], dt, axis=0), dt, axis=0)
    zmp = com[:, :2] - com[:, 2:3] / GRAVITY * acc
    com_margin = min(polygon_margin(soles_arr[i, ..., :2].reshape(-1, 2), com[i, :2]) for i in range(T))
    zmp_margin = min(polygon_margin(soles_arr[i, ..., :2].reshape(-1, 2), zmp[i]) for i in range(T))
    return {
        "duration_s": motion.duration,
        "frames": float(T),
        "pelvis_z_min": float(motion.root_pos_w[:, 2].min()),
        "pelvis_z_max": float(motion.root_pos_w[:, 2].max()),
        "max_joint_speed": float(np.abs(motion.joint_vel).max()),
        "max_sole_z_abs": float(np.abs(sole_z).max()),
        "max_foot_tilt_deg": float(tilt.max()),
        "max_foot_slide": float(np.linalg.norm(foot_xy - foot_xy[:1], axis=-1).max()),
        "min_com_margin": com_margin,
        "min_zmp_margin": zmp_margin,
    }


def _format_stats(s: Mapping[str, float]) -> str:
    return (
        f"{s['duration_s']:.2f} s, {int(s['frames'])} frames, pelvis z {s['pelvis_z_min']:.3f}-{s['pelvis_z_max']:.3f} m, "
        f"max joint speed {s['max_joint_speed']:.2f} rad/s, COM margin {100 * s['min_com_margin']:.1f} cm, "
        f"ZMP margin {100 * s['min_zmp_margin']:.1f} cm"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """CLI: ``--all OUTDIR`` writes every clip as ``OUTDIR/<name>.npz``; ``NAME OUTPUT`` writes one."""
    parser = argparse.ArgumentParser(
        prog="python -m g1_mimic.motion.generate",
        description="Generate keyframed G1 motions with planted feet (IK) as canonical .npz files.",
    )
    parser.add_argument("--all", metavar="OUTDIR", type=Path, help="write every clip to OUTDIR/<name>.npz")
    parser.add_argument("--list", action="store_true", help="list the clip names and exit")
    parser.add_argument("--fps", type=float, default=50.0, help="frame rate in Hz (default 50)")
    parser.add_argument("name", nargs="?", help=f"clip name: {', '.join(CLIP_NAMES)}")
    parser.add_argument("output", nargs="?", type=Path, help="output .npz path")
    args = parser.parse_args(argv)

    if args.list:
        for n in CLIP_NAMES:
            print(f"{n:14s} {_CLIPS[n].description}")
        return 0
    if args.all is not None:
        if args.name is not None:
            parser.error("--all OUTDIR takes no NAME/OUTPUT")
        jobs = [(n, args.all / f"{n}.npz") for n in CLIP_NAMES]
    else:
        if args.name is None or args.output is None:
            parser.error("give NAME OUTPUT or --all OUTDIR")
        if args.name not in _CLIPS:
            parser.error(f"unknown clip {args.name!r}; known clips: {', '.join(CLIP_NAMES)}")
        jobs = [(args.name, args.output)]
    for k, (n, out) in enumerate(jobs, 1):
        print(f"[{k}/{len(jobs)}] {n}: generating at {args.fps:g} Hz ...", flush=True)
        motion = generate_clip(n, fps=args.fps)
        path = motion.save(out)
        stats = motion_stats(motion)
        print(
            f"[{k}/{len(jobs)}] {n}: {_format_stats(stats)} -> {path} ({path.stat().st_size / 1024:.0f} KiB)",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())


__all__ = [
    "CLIP_NAMES",
    "DEFAULT_CLIP",
    "ClipSpec",
    "MotionGenerationError",
    "clip_spec",
    "foot_sole_points",
    "generate_clip",
    "min_jerk",
    "motion_stats",
    "polygon_margin",
    "standing_height",
]
