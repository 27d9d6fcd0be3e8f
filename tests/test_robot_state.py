"""The deploy side's robot state: root velocities given in the root frame (an IMU) become world-frame ones."""

from __future__ import annotations

import numpy as np
import pytest

from g1_mimic.motion import quat as Q


def test_robot_state_from_body_frame_velocities():
    from g1_mimic.deploy import RobotState

    q = np.array([0.1, -0.2, 0.3, 0.9])
    q = q / np.linalg.norm(q)
    v_b, w_b = np.array([0.5, 0.1, -0.2]), np.array([0.3, -0.4, 1.0])
    state = RobotState.from_body_velocities(
        [0, 0, 1], q, v_b, w_b, np.zeros(2), np.zeros(2), [0, 0, 1.2], q, ["a", "b"]
    )
    # body -> world: the rotated basis vectors are the rotation matrix's columns
    rot = np.stack([Q.rotate(q, e) for e in np.eye(3)], axis=1)
    assert np.allclose(state.root_lin_vel_w, rot @ v_b) and np.allclose(state.root_ang_vel_w, rot @ w_b)
    assert np.allclose(Q.rotate(Q.conjugate(q), state.root_ang_vel_w), w_b)
    with pytest.raises(ValueError, match="joint_names"):
        RobotState([0, 0, 1], q, v_b, w_b, np.zeros(2), np.zeros(2), [0, 0, 1.2], q, joint_names=("a",))
