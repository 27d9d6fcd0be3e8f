"""The deploy runtime's reference (numpy) against the training env's motion library (torch), and the
failure checks and the deploy-time alignment on their own (no Isaac Lab env: fast)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from g1_mimic.data import bundled_motion
from g1_mimic.deploy import rotations as R
from g1_mimic.deploy.failures import BEYONDMIMIC_TERMINATIONS, FailureChecker
from g1_mimic.deploy.reference import ReferenceMotion
from g1_mimic.motion.format import load_motion
from g1_mimic.motion.library import MotionLibrary
from g1_mimic.robots.g1_constants import ANCHOR_BODY, END_EFFECTOR_BODIES, TRACKED_BODIES, default_joint_pos

FIELDS = ("joint_pos", "joint_vel", "body_pos_w", "body_quat_w", "body_lin_vel_w", "body_ang_vel_w")
BODIES = [*TRACKED_BODIES]
CONTRACT = {"robot": {"anchor_body": ANCHOR_BODY}, "terminations": BEYONDMIMIC_TERMINATIONS}


def _heading(q: np.ndarray) -> float:
    """Yaw (rad) of a quaternion: the heading of its rotated x axis."""
    m = R.matrix_from_quat(q)
    return float(np.arctan2(m[1, 0], m[0, 0]))


@pytest.fixture(scope="module")
def wave():
    return load_motion(bundled_motion("wave"))


@pytest.mark.parametrize(("tail_mode", "blend"), [("hold", 0.0), ("blend", 0.7), ("blend", 0.0)])
def test_reference_matches_motion_library(wave, tail_mode, blend):
    """Same values as the env's library at frame times, between frames, before the start and in the tail."""
    joints = list(reversed(wave.joint_names))  # any order: mapped by name
    dflt = [default_joint_pos(j) for j in joints]
    lib = MotionLibrary([wave], joints, BODIES, tail_mode=tail_mode, tail_blend_time=blend, default_joint_pos=dflt)
    ref = ReferenceMotion(wave, joints, BODIES, tail_mode=tail_mode, tail_blend_time_s=blend, default_joint_pos=dflt)
    times = np.concatenate(
        [
            [-0.3, 0.0, 0.013, 0.02, 1.0 / 3.0],
            np.linspace(0.0, wave.duration + 1.5, 97),
            [wave.duration, wave.duration + 0.35],
        ]
    )
    state = lib.get_state(torch.zeros(len(times), dtype=torch.long), torch.tensor(times, dtype=torch.float32))
    for n, t in enumerate(times):
        frame = ref.at(float(t))
        for key in FIELDS:
            mine, theirs = getattr(frame, key), getattr(state, key)[n].numpy()
            if key == "body_quat_w":  # q and -q are one rotation
                mine = mine * np.sign(np.sum(mine * theirs, axis=-1, keepdims=True))
            err = np.max(np.abs(mine - theirs))
            assert err < 1e-5, f"{key} at t={t:.3f} s ({tail_mode}, blend {blend}): {err:.3g}"
    assert ref.duration == pytest.approx(float(lib.clip_duration[0]))


def test_alignment_is_a_rigid_yaw_and_translation(wave):
    ref = ReferenceMotion(wave, wave.joint_names, BODIES)
    plain, plain_start = ref.at(1.3), ref.at(0.0)
    root_pos = np.array([2.0, -1.0, 0.9])
    root_quat = R.multiply(
        np.array([0.0, 0.0, np.sin(0.6), np.cos(0.6)]), np.array([0.05, 0.0, 0.0, 1.0]) / np.hypot(0.05, 1.0)
    )
    yaw, shift = ref.align_to("pelvis", root_pos, root_quat, t=0.0)
    start = ref.at(0.0)
    # the clip now starts at the robot's xy and heading; its height is kept
    assert np.allclose(start.pos("pelvis")[:2], root_pos[:2], atol=1e-9)
    assert start.pos("pelvis")[2] == pytest.approx(plain_start.pos("pelvis")[2])
    assert np.cos(_heading(start.quat("pelvis")) - _heading(root_quat)) == pytest.approx(1.0, abs=1e-12)
    moved = ref.at(1.3)
    qa = np.array([0.0, 0.0, np.sin(0.5 * yaw), np.cos(0.5 * yaw)])
    assert np.allclose(moved.body_pos_w, R.rotate(qa, plain.body_pos_w) + shift, atol=1e-9)
    assert np.allclose(moved.body_lin_vel_w, R.rotate(qa, plain.body_lin_vel_w), atol=1e-9)
    assert np.array_equal(moved.joint_pos, plain.joint_pos)
    # the checks see the same errors in both frames
    checker = FailureChecker(CONTRACT)
    robot_anchor = (plain.pos(ANCHOR_BODY) + [0.3, 0.1, -0.1], plain.quat(ANCHOR_BODY))
    bodies = {b: plain.pos(b) + [0.0, 0.0, 0.1] for b in checker.bodies}
    moved_bodies = {b: R.rotate(qa, v) + shift for b, v in bodies.items()}
    moved_anchor = (R.rotate(qa, robot_anchor[0]) + shift, R.multiply(qa, robot_anchor[1]))
    assert checker.check(plain, *robot_anchor, bodies) == checker.check(moved, *moved_anchor, moved_bodies) == []
    ref.align(0.0, (0.0, 0.0, 0.0))
    assert np.allclose(ref.at(1.3).body_pos_w, plain.body_pos_w)


def test_failure_checks_fire_at_their_thresholds(wave):
    ref = ReferenceMotion(wave, wave.joint_names, BODIES)
    frame = ref.at(2.0)
    checker = FailureChecker(CONTRACT)
    assert checker.bodies == list(END_EFFECTOR_BODIES)
    anchor_pos, anchor_quat = frame.pos(ANCHOR_BODY).copy(), frame.quat(ANCHOR_BODY).copy()
    bodies = {b: frame.pos(b).copy() for b in checker.bodies}
    assert checker.check(frame, anchor_pos, anchor_quat, bodies) == []
    # anchor height: 0.24 m off is fine, 0.26 m is a failure (the re-anchored end-effector targets keep the
    # reference anchor height, so a robot sunk as a whole trips the end-effector check too)
    for dz, expected in ((-0.24, []), (-0.26, ["anchor_pos"])):
        assert checker.check(frame, anchor_pos + [0.0, 0.0, dz], anchor_quat, bodies) == expected
    sunk = {b: v + [0.0, 0.0, -0.26] for b, v in bodies.items()}
    assert checker.check(frame, anchor_pos + [0.0, 0.0, -0.26], anchor_quat, sunk) == ["anchor_pos", "ee_body_pos"]
    # a horizontal shift and a yaw of the whole robot are no failure (re-anchoring)
    q_yaw = np.array([0.0, 0.0, np.sin(0.4), np.cos(0.4)])
    turned = {b: R.rotate(q_yaw, v - anchor_pos) + anchor_pos + [0.5, -0.2, 0.0] for b, v in bodies.items()}
    assert checker.check(frame, anchor_pos + [0.5, -0.2, 0.0], R.multiply(q_yaw, anchor_quat), turned) == []
    # tilting the anchor: gravity z in the anchor frame changes by 1 - cos(angle); 0.8 at ~78.5 deg
    for angle, expected in ((np.radians(75.0), []), (np.radians(82.0), ["anchor_ori"])):
        tilt = np.array([np.sin(0.5 * angle), 0.0, 0.0, np.cos(0.5 * angle)])
        ref_gz = R.rotate_inverse(anchor_quat, np.array([0.0, 0.0, -1.0]))[2]
        got = checker.check(frame, anchor_pos, R.multiply(tilt, anchor_quat), bodies)
        rob_gz = R.rotate_inverse(R.multiply(tilt, anchor_quat), np.array([0.0, 0.0, -1.0]))[2]
        assert ("anchor_ori" in got) == (abs(ref_gz - rob_gz) > 0.8)
        assert [g for g in got if g == "anchor_ori"] == expected
    # one wrist 0.3 m too high
    raised = dict(bodies)
    raised["left_wrist_yaw_link"] = bodies["left_wrist_yaw_link"] + [0.0, 0.0, 0.3]
    assert checker.check(frame, anchor_pos, anchor_quat, raised) == ["ee_body_pos"]
    bad = dict(bodies)
    bad["right_ankle_roll_link"] = np.array([np.nan, 0.0, 0.0])
    assert checker.check(frame, anchor_pos, anchor_quat, bad) == ["nonfinite_state"]


def test_robot_state_from_body_frame_velocities():
    from g1_mimic.deploy import RobotState

    q = np.array([0.1, -0.2, 0.3, 0.9])
    q = q / np.linalg.norm(q)
    v_b, w_b = np.array([0.5, 0.1, -0.2]), np.array([0.3, -0.4, 1.0])
    state = RobotState.from_body_velocities(
        [0, 0, 1], q, v_b, w_b, np.zeros(2), np.zeros(2), [0, 0, 1.2], q, ["a", "b"]
    )
    rot = R.matrix_from_quat(q)  # body -> world
    assert np.allclose(state.root_lin_vel_w, rot @ v_b) and np.allclose(state.root_ang_vel_w, rot @ w_b)
    assert np.allclose(R.rotate_inverse(q, state.root_ang_vel_w), w_b)
    with pytest.raises(ValueError, match="joint_names"):
        RobotState([0, 0, 1], q, v_b, w_b, np.zeros(2), np.zeros(2), [0, 0, 1.2], q, joint_names=("a",))
