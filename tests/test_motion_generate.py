"""Tests of the keyframed motion generator and the bundled clips (no Isaac Lab needed)."""

from __future__ import annotations

import mujoco
import numpy as np
import pytest
from scipy.spatial import ConvexHull

from g1_mimic.data import BUNDLED_MOTIONS_DIR, bundled_motion, bundled_motion_names
from g1_mimic.motion import quat as Q
from g1_mimic.motion.format import load_motion
from g1_mimic.motion.generate import (
    CLIP_NAMES,
    DEFAULT_CLIP,
    generate_clip,
    main,
    min_jerk,
    motion_stats,
)
from g1_mimic.motion.kinematics import g1_kinematics
from g1_mimic.robots.g1_constants import FEET_BODIES, default_joint_pos


@pytest.fixture(scope="module")
def clips():
    return {name: generate_clip(name) for name in CLIP_NAMES}


def _sole_points(motion) -> np.ndarray:
    """[T, F, P, 3] sole points from the motion's stored foot poses and the model's foot capsules."""
    kin = g1_kinematics()
    m = kin.model
    out = []
    for foot, bi in zip(FEET_BODIES, motion.body_index(list(FEET_BODIES)), strict=True):
        pos, quat = motion.body_pos_w[:, bi], motion.body_quat_w[:, bi]
        bid = m.body(foot).id
        pts = []
        for g in np.flatnonzero(m.geom_bodyid == bid):
            assert m.geom_type[g] == mujoco.mjtGeom.mjGEOM_CAPSULE
            axis = Q.rotate(Q.wxyz_to_xyzw(m.geom_quat[g]), np.array([0.0, 0.0, 1.0]))
            r, half = m.geom_size[g, 0], m.geom_size[g, 1]
            for sgn in (-1.0, 1.0):
                local = m.geom_pos[g] + sgn * half * axis
                pts.append(pos + Q.rotate(quat, np.broadcast_to(local, pos.shape)) - np.array([0.0, 0.0, r]))
        out.append(np.stack(pts, axis=1))
    return np.stack(out, axis=1)


def _com(motion) -> np.ndarray:
    kin = g1_kinematics()
    jp = motion.joint_pos[:, motion.joint_index(kin.joint_names)]
    qpos = kin.qpos(motion.root_pos_w, motion.root_quat_w, jp)
    com = np.empty((motion.num_frames, 3))
    for i, q in enumerate(qpos):
        kin.data.qpos[:] = q
        mujoco.mj_kinematics(kin.model, kin.data)
        mujoco.mj_comPos(kin.model, kin.data)
        com[i] = kin.data.subtree_com[1]
    return com


def _hull_margin(points_xy: np.ndarray, p: np.ndarray) -> float:
    eq = ConvexHull(points_xy).equations
    return float(-np.max(eq[:, :2] @ p + eq[:, 2]))


def test_clip_names_and_default():
    assert set(CLIP_NAMES) >= {"wave", "squat", "twist", "bow", "weight_shift"}
    assert DEFAULT_CLIP == "wave" and DEFAULT_CLIP in CLIP_NAMES


def test_unknown_clip_lists_names():
    with pytest.raises(KeyError) as err:
        generate_clip("moonwalk")
    msg = str(err.value)
    assert "moonwalk" in msg and all(n in msg for n in CLIP_NAMES)


@pytest.mark.parametrize("name", CLIP_NAMES)
def test_clip_shape_and_provenance(clips, name):
    m = clips[name]
    m.check_shapes(name)
    assert m.fps == 50.0
    assert 4.0 <= m.duration <= 10.0
    assert m.source["generator"] == "g1_mimic.motion.generate"
    assert m.source["clip"] == name and m.source["fps"] == 50.0
    assert m.source["keyframes"]["channels"]
    assert m.contact_body_names == FEET_BODIES
    assert m.contact_labels is not None and m.contact_labels.shape == (m.num_frames, 2) and m.contact_labels.all()


@pytest.mark.parametrize("name", CLIP_NAMES)
def test_starts_and_ends_standing(clips, name):
    m = clips[name]
    default = np.array([default_joint_pos(n) for n in m.joint_names])
    for i in (0, -1):
        np.testing.assert_allclose(m.joint_pos[i], default, atol=1e-6)
        np.testing.assert_allclose(m.root_quat_w[i], [0.0, 0.0, 0.0, 1.0], atol=1e-9)
        np.testing.assert_allclose(m.root_pos_w[i, :2], [0.0, 0.0], atol=1e-6)
        np.testing.assert_allclose(m.joint_vel[i], 0.0, atol=1e-3)
    assert 0.74 <= m.root_pos_w[0, 2] <= 0.80
    np.testing.assert_allclose(m.root_pos_w[-1], m.root_pos_w[0], atol=1e-6)


@pytest.mark.parametrize("name", CLIP_NAMES)
def test_feet_flat_planted(clips, name):
    m = clips[name]
    soles = _sole_points(m)  # [T, F, P, 3]
    lowest = soles[..., 2].min(axis=-1)  # [T, F]
    assert np.abs(lowest).max() < 2e-3, f"sole height off the ground by {np.abs(lowest).max() * 1000:.2f} mm"
    feet = m.body_index(list(FEET_BODIES))
    up = Q.rotate(m.body_quat_w[:, feet], np.array([0.0, 0.0, 1.0]))
    tilt = np.degrees(np.arccos(np.clip(up[..., 2], -1.0, 1.0)))
    assert tilt.max() < 1.0, f"foot tilts {tilt.max():.2f} deg"
    drift = np.linalg.norm(m.body_pos_w[:, feet] - m.body_pos_w[:1, feet], axis=-1)
    assert drift.max() < 2e-3, f"foot slides {drift.max() * 1000:.2f} mm"
    # Both feet keep their orientation too (no twisting in place).
    dq = Q.multiply(Q.conjugate(m.body_quat_w[:1, feet]), m.body_quat_w[:, feet])
    assert np.linalg.norm(Q.to_axis_angle(dq), axis=-1).max() < np.radians(0.2)
    np.testing.assert_allclose(m.body_lin_vel_w[:, feet], 0.0, atol=1e-3)


@pytest.mark.parametrize("name", CLIP_NAMES)
def test_joints_within_limits(clips, name):
    m = clips[name]
    kin = g1_kinematics()
    jp = m.joint_pos[:, m.joint_index(kin.joint_names)]
    margin = 0.04
    lo, hi = kin.joint_limits[:, 0], kin.joint_limits[:, 1]
    assert (jp >= lo + margin).all() and (jp <= hi - margin).all()


@pytest.mark.parametrize("name", CLIP_NAMES)
def test_com_and_zmp_inside_support_polygon(clips, name):
    m = clips[name]
    soles = _sole_points(m)
    com = _com(m)
    margins = np.array([_hull_margin(soles[i, ..., :2].reshape(-1, 2), com[i, :2]) for i in range(m.num_frames)])
    assert margins.min() > 0.03, f"COM within {margins.min() * 100:.1f} cm of the support polygon edge"
    # Cart-table ZMP: dynamic balance at these speeds barely differs from static balance.
    dt = 1.0 / m.fps
    acc = np.gradient(np.gradient(com[:, :2], dt, axis=0), dt, axis=0)
    zmp = com[:, :2] - com[:, 2:3] / 9.81 * acc
    zmp_margins = np.array([_hull_margin(soles[i, ..., :2].reshape(-1, 2), zmp[i]) for i in range(m.num_frames)])
    assert zmp_margins.min() > 0.02
    stats = motion_stats(m)
    assert stats["min_com_margin"] == pytest.approx(margins.min(), abs=1e-6)


@pytest.mark.parametrize("name", CLIP_NAMES)
def test_velocities_finite_smooth_and_modest(clips, name):
    m = clips[name]
    for key in ("joint_vel", "body_lin_vel_w", "body_ang_vel_w", "joint_pos", "body_pos_w", "body_quat_w"):
        assert np.isfinite(getattr(m, key)).all(), key
    assert np.abs(m.joint_vel).max() < 3.0  # rad/s
    assert np.linalg.norm(m.body_lin_vel_w, axis=-1).max() < 1.5  # m/s, hands included
    assert np.linalg.norm(m.root_pos_w[1:] - m.root_pos_w[:-1], axis=-1).max() * m.fps < 0.5  # pelvis m/s
    acc = np.diff(m.joint_vel, axis=0) * m.fps
    assert np.abs(acc).max() < 15.0  # rad/s^2: no jumps
    np.testing.assert_allclose(m.joint_vel[1:-1], (m.joint_pos[2:] - m.joint_pos[:-2]) * m.fps / 2, atol=1e-9)


def test_wave_keeps_legs_nearly_static(clips):
    m = clips["wave"]
    legs = [i for i, n in enumerate(m.joint_names) if any(k in n for k in ("hip", "knee", "ankle"))]
    assert np.abs(m.joint_vel[:, legs]).max() < 0.2
    arms = [i for i, n in enumerate(m.joint_names) if "shoulder" in n or "elbow" in n]
    assert np.ptp(m.joint_pos[:, arms], axis=0).max() > 0.4  # the arm really waves


def test_squat_depth(clips):
    z = clips["squat"].root_pos_w[:, 2]
    assert 0.15 <= z[0] - z.min() <= 0.2


def test_weight_shift_goes_over_each_foot(clips):
    m = clips["weight_shift"]
    com_y = _com(m)[:, 1]
    feet_y = m.body_pos_w[0, m.body_index(list(FEET_BODIES)), 1]
    assert com_y.max() > 0.6 * feet_y.max() and com_y.min() < 0.6 * feet_y.min()


def test_deterministic():
    a, b = generate_clip("twist"), generate_clip("twist")
    for key in ("joint_pos", "joint_vel", "body_pos_w", "body_quat_w", "body_lin_vel_w", "body_ang_vel_w"):
        np.testing.assert_array_equal(getattr(a, key), getattr(b, key))
    assert a.source == b.source


def test_other_frame_rate():
    m = generate_clip(DEFAULT_CLIP, fps=30.0)
    assert m.fps == 30.0 and m.num_frames == round(generate_clip(DEFAULT_CLIP).duration * 30) + 1
    with pytest.raises(ValueError):
        generate_clip(DEFAULT_CLIP, fps=0.0)


def test_min_jerk_interpolation():
    keys = ((1.0, 0.0), (2.0, 1.0), (3.0, -1.0))
    t = np.linspace(0.0, 4.0, 4001)
    v = min_jerk(keys, t)
    assert v[0] == 0.0 and v[-1] == -1.0
    np.testing.assert_allclose(min_jerk(keys, np.array([1.0, 1.5, 2.0, 3.0])), [0.0, 0.5, 1.0, -1.0], atol=1e-12)
    assert v.max() <= 1.0 and v.min() >= -1.0  # no overshoot
    speed = np.abs(np.diff(v)) / (t[1] - t[0])
    assert speed.max() == pytest.approx(1.875 * 2.0, rel=1e-3)


@pytest.mark.parametrize("name", CLIP_NAMES)
def test_bundled_matches_generation(clips, name):
    path = bundled_motion(name)
    assert path.parent == BUNDLED_MOTIONS_DIR and path.stat().st_size < 600 * 1024
    stored = load_motion(path)
    fresh = clips[name]
    assert stored.joint_names == fresh.joint_names and stored.body_names == fresh.body_names
    assert stored.fps == fresh.fps and stored.source == fresh.source
    for key in ("joint_pos", "joint_vel", "body_pos_w", "body_quat_w", "body_lin_vel_w", "body_ang_vel_w"):
        np.testing.assert_allclose(getattr(stored, key), getattr(fresh, key).astype(np.float32), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(stored.contact_labels, fresh.contact_labels)
    assert stored.contact_body_names == fresh.contact_body_names


def test_bundled_names_and_missing():
    assert set(CLIP_NAMES) <= set(bundled_motion_names())
    assert bundled_motion("wave.npz") == bundled_motion("wave")
    with pytest.raises(FileNotFoundError) as err:
        bundled_motion("moonwalk")
    assert "wave" in str(err.value) and "--all" in str(err.value)


def test_cli_writes_loadable_file(tmp_path, capsys):
    out = tmp_path / "wave.npz"
    assert main(["wave", str(out), "--fps", "25"]) == 0
    m = load_motion(out)
    assert m.fps == 25.0 and m.source["clip"] == "wave"
    assert "wave" in capsys.readouterr().out
    assert main(["--list"]) == 0
    with pytest.raises(SystemExit):
        main(["moonwalk", str(tmp_path / "x.npz")])
