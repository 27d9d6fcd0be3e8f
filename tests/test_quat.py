"""The tracking terms' quaternion shortcuts (g1_mimic.tasks.mimic.mdp.quat) against Isaac Lab's math."""

from __future__ import annotations

import isaaclab.utils.math as math_utils
import pytest
import torch

from g1_mimic.tasks.mimic.mdp import quat as qmath


def _unit(*shape: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.nn.functional.normalize(torch.randn(*shape, 4, generator=g), dim=-1)


def test_error_angle_matches_isaac_lab():
    q1, q2 = _unit(64, 14, seed=1), _unit(64, 14, seed=2)
    angle = qmath.quat_error_angle(q1, q2)
    assert angle.shape == (64, 14)
    torch.testing.assert_close(angle, math_utils.quat_error_magnitude(q1, q2), atol=2e-6, rtol=0)
    assert (angle >= 0).all() and (angle <= torch.pi + 1e-6).all()


@pytest.mark.parametrize("angle", [1e-4, 1e-2, 1.0, 3.1])
def test_error_angle_known_rotations(angle):
    # q2 = q1 * rotation by `angle` about a random axis; q and -q are the same rotation
    q1 = _unit(200, seed=3)
    axis = torch.nn.functional.normalize(torch.randn(200, 3, generator=torch.Generator().manual_seed(4)), dim=-1)
    q2 = math_utils.quat_mul(q1, math_utils.quat_from_angle_axis(torch.full((200,), angle), axis))
    for other in (q2, -q2):
        torch.testing.assert_close(qmath.quat_error_angle(q1, other), torch.full((200,), angle), atol=2e-6, rtol=1e-5)
    assert qmath.quat_error_angle(q1, q1).abs().max() < 1e-6


def test_conjugate_and_frame_transforms_match_isaac_lab():
    q1, q2 = _unit(64, 14, seed=5), _unit(64, 14, seed=6)
    p1, p2 = torch.randn(64, 14, 3), torch.randn(64, 14, 3)
    torch.testing.assert_close(qmath.quat_conjugate(q1), math_utils.quat_inv(q1), atol=1e-6, rtol=0)
    pos, rot = qmath.subtract_frame_transforms(p1, q1, p2, q2)
    pos_ref, rot_ref = math_utils.subtract_frame_transforms(p1, q1, p2, q2)
    torch.testing.assert_close(pos, pos_ref, atol=1e-5, rtol=0)
    torch.testing.assert_close(rot, rot_ref, atol=1e-6, rtol=0)
    # float64 inputs get float64 constants
    assert qmath.quat_conjugate(q1.double()).dtype == torch.float64


def test_bad_anchor_ori_gravity_identity():
    # bad_anchor_ori compares the z component of gravity in the anchor frames as 2 (x^2 + y^2) - 1
    q = _unit(500, seed=7)
    g = torch.tensor([0.0, 0.0, -1.0]).expand(500, 3)
    torch.testing.assert_close(
        math_utils.quat_apply_inverse(q, g)[:, 2], 2.0 * q[:, :2].square().sum(-1) - 1.0, atol=1e-6, rtol=0
    )


def test_up_axis_is_the_third_rotation_matrix_column():
    q = _unit(64, 3, seed=5)
    torch.testing.assert_close(qmath.up_axis(q), math_utils.matrix_from_quat(q)[..., :, 2], atol=1e-6, rtol=0)
    torch.testing.assert_close(qmath.up_axis(-q), qmath.up_axis(q))  # q and -q: the same rotation
