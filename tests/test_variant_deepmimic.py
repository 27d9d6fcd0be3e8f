"""The DeepMimic / MimicKit variant (``presets=deepmimic``): rewards, pose termination, reward clipping."""

from __future__ import annotations

import math

import pytest
import torch
from envutil import make_env

WEIGHTS = {"pose": 0.5, "joint_vel": 0.1, "root_pose": 0.15, "root_vel": 0.1, "key_body_pos": 0.15}


@pytest.fixture(scope="module")
def env():
    def edit(cfg):
        cfg.commands.motion.start_at_zero = False  # random frames, no noise (play cfg)

    e = make_env(num_envs=4, play=True, edit=edit, overrides=["presets=deepmimic"])
    e.reset()
    yield e
    e.close()


def _terms(env) -> dict[str, torch.Tensor]:
    mgr = env.reward_manager
    out = {}
    for name in mgr.active_terms:
        cfg = mgr.get_term_cfg(name)
        if cfg.weight != 0.0:
            out[name] = cfg.func(env, **cfg.params)
    return out


def test_deepmimic_terms_are_active_with_mimickit_weights(env):
    mgr = env.reward_manager
    # no contact matching unless --variant contacts (presets=contacts) adds it
    assert sorted(mgr.active_terms) == sorted(WEIGHTS)
    for name, w in WEIGHTS.items():
        assert mgr.get_term_cfg(name).weight == pytest.approx(w)
    assert sorted(env.termination_manager.active_terms) == ["illegal_contact", "motion_finished", "nonfinite_state", "pose_error", "time_out"]


def test_deepmimic_reward_is_one_on_the_reference(env):
    env.reset()
    terms = _terms(env)
    total = sum(WEIGHTS[k] * v for k, v in terms.items())
    for name, v in terms.items():
        assert torch.allclose(v, torch.ones_like(v), atol=1e-3), name
    assert torch.allclose(total, torch.ones_like(total), atol=1e-3)


def test_deepmimic_reward_at_a_known_root_offset(env):
    env.reset()
    cmd = env.command_manager.get_term("motion")
    robot = cmd.robot
    pose = torch.cat([robot.data.root_pos_w.torch, robot.data.root_quat_w.torch], dim=-1).clone()
    pose[:, 0] += 0.1  # 0.1 m along x: root pose error 0.01 m^2, root-relative key bodies unchanged
    robot.write_root_pose_to_sim_index(root_pose=pose, env_ids=torch.arange(4))
    terms = _terms(env)
    assert torch.allclose(terms["root_pose"], torch.full((4,), math.exp(-5.0 * 0.01)), atol=1e-4)
    assert torch.allclose(terms["key_body_pos"], torch.ones(4), atol=1e-3)
    assert torch.allclose(terms["pose"], torch.ones(4), atol=1e-4)
    expected = 0.5 + 0.1 * terms["joint_vel"] + 0.15 * math.exp(-0.05) + 0.1 * terms["root_vel"] + 0.15
    total = sum(WEIGHTS[k] * v for k, v in terms.items())
    assert torch.allclose(total, expected, atol=1e-3)


def test_deepmimic_pose_reward_uses_per_joint_weights(env):
    env.reset()
    cmd = env.command_manager.get_term("motion")
    robot = cmd.robot
    jp = robot.data.joint_pos.torch.clone()
    jp[:, robot.joint_names.index("left_knee_joint")] += 0.2  # knee weight 0.6: error 0.6 * 0.04
    robot.write_joint_position_to_sim_index(position=jp, env_ids=torch.arange(4))
    pose = _terms(env)["pose"]
    assert torch.allclose(pose, torch.full((4,), math.exp(-0.25 * 0.6 * 0.04)), atol=1e-5)


def test_deepmimic_pose_termination_threshold(env):
    from g1_mimic.tasks.mimic import mdp

    for dx, fired in ((0.9, False), (1.1, True)):
        env.reset()
        robot = env.command_manager.get_term("motion").robot
        pose = torch.cat([robot.data.root_pos_w.torch, robot.data.root_quat_w.torch], dim=-1).clone()
        pose[:, 0] += dx
        robot.write_root_pose_to_sim_index(root_pose=pose, env_ids=torch.arange(4))
        assert bool(mdp.deepmimic_pose_error_too_large(env, "motion", 1.0).all()) is fired


def test_deepmimic_illegal_contact_termination(env):
    env.reset()
    robot = env.command_manager.get_term("motion").robot
    pose = torch.cat([robot.data.root_pos_w.torch, robot.data.root_quat_w.torch], dim=-1).clone()
    # envs 0 and 1 lying face down (pitched 90 degrees, pelvis 0.15 m up): torso and arms on the floor for the
    # whole control period (a pelvis pushed into the floor is thrown out within the period, and the contact
    # sensor of the folded period reads its last physics step only); envs 2 and 3 standing
    pose[:2, 2] = 0.15
    pose[:2, 3:] = torch.tensor([0.0, math.sin(math.pi / 4), 0.0, math.cos(math.pi / 4)])  # xyzw, about y
    robot.write_root_pose_to_sim_index(root_pose=pose, env_ids=torch.arange(4))
    env.step(torch.zeros(4, 29))
    fired = env.termination_manager.get_term("illegal_contact")
    assert fired[:2].all() and not fired[2:].any(), fired
