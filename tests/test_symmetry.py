"""The left-right mirror (rl/symmetry.py) on the real G1 model and the real env.

The joint mirror is checked with MuJoCo forward kinematics: mirrored joint angles and velocities
must put every body where the mirror image of its partner is (positions ``M p``, rotations
``M R M``, linear velocities ``M v``, angular velocities ``-M w``). The observation mirror is then
checked on the env's own observations.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

M = np.diag([1.0, -1.0, 1.0])
#: the G1 model itself is left-right symmetric to ~10 micrometres (its shoulder offsets differ by that)
TOL = 1e-4


def _quat_xyzw_to_matrix(q: np.ndarray) -> np.ndarray:
    import mujoco

    out = np.zeros(9)
    mujoco.mju_quat2Mat(out, np.array([q[3], q[0], q[1], q[2]]))
    return out.reshape(3, 3)


def test_joint_mirror_is_the_mirror_image_in_forward_kinematics():
    from g1_mimic.motion.kinematics import g1_kinematics
    from g1_mimic.rl.symmetry import joint_mirror, name_partner

    kin = g1_kinematics()
    index, sign = joint_mirror(kin.joint_names)
    index, sign = index.numpy(), sign.numpy()
    rng = np.random.default_rng(0)
    q = rng.uniform(-0.4, 0.4, size=(3, kin.num_joints))
    qd = rng.uniform(-2.0, 2.0, size=(3, kin.num_joints))
    root = np.tile([0.0, 0.0, 0.8], (3, 1))
    ident = np.tile([0.0, 0.0, 0.0, 1.0], (3, 1))
    qpos, qpos_m = kin.qpos(root, ident, q), kin.qpos(root, ident, q[:, index] * sign)
    nv_root = kin.model.nv - kin.num_joints
    qvel, qvel_m = np.zeros((3, kin.model.nv)), np.zeros((3, kin.model.nv))
    qvel[:, nv_root:], qvel_m[:, nv_root:] = qd, qd[:, index] * sign
    a, b = kin.forward(qpos, qvel), kin.forward(qpos_m, qvel_m)
    partner = [kin.body_names.index(name_partner(n)) for n in kin.body_names]
    for t in range(3):
        for i, j in enumerate(partner):
            name = kin.body_names[i]
            np.testing.assert_allclose(b["body_pos_w"][t, i], M @ a["body_pos_w"][t, j], atol=TOL, err_msg=name)
            np.testing.assert_allclose(b["body_lin_vel_w"][t, i], M @ a["body_lin_vel_w"][t, j], atol=TOL, err_msg=name)
            np.testing.assert_allclose(b["body_ang_vel_w"][t, i], -M @ a["body_ang_vel_w"][t, j], atol=TOL, err_msg=name)
            Ra, Rb = _quat_xyzw_to_matrix(a["body_quat_w"][t, j]), _quat_xyzw_to_matrix(b["body_quat_w"][t, i])
            np.testing.assert_allclose(Rb, M @ Ra @ M, atol=TOL, err_msg=name)


def test_joint_mirror_refuses_an_unpaired_joint():
    from g1_mimic.rl.symmetry import joint_mirror

    with pytest.raises(ValueError, match="left_knee_joint"):
        joint_mirror(["left_knee_joint", "waist_yaw_joint"])


@pytest.mark.slow
def test_observation_mirror_on_the_env():
    from g1_mimic.rl.session import policy_session
    from g1_mimic.rl.symmetry import joint_mirror, mirror_observations_actions

    with policy_session("Isaac-G1-Mimic-CPU-Learn-v0", None, num_envs=3, device="cpu") as s:
        env = s.unwrapped
        obs = s.env.get_observations()
        for _ in range(3):
            obs, *_ = s.env.step(0.3 * torch.randn(3, 29))
        actions = torch.randn(3, 29)
        aug, act_aug = mirror_observations_actions(s.env, obs, actions)
        assert aug.batch_size[0] == 6 and act_aug.shape == (6, 29)
        assert torch.equal(aug["policy"][:3], obs["policy"]) and torch.equal(act_aug[:3], actions)
        # the mirror is an involution
        twice, act_twice = mirror_observations_actions(s.env, aug[3:], act_aug[3:])
        torch.testing.assert_close(twice["policy"][3:], obs["policy"], rtol=0, atol=0)
        torch.testing.assert_close(twice["critic"][3:], obs["critic"], rtol=0, atol=0)
        torch.testing.assert_close(act_twice[3:], actions, rtol=0, atol=0)
        # values: the policy layout is [command (58), anchor pos (3), anchor 6-D (6), lin vel (3), ang vel (3), ...]
        names = list(env.command_manager.get_term("motion").joint_names)
        index, sign = joint_mirror(names)
        p, pm = obs["policy"], aug["policy"][3:]
        left, right = names.index("left_hip_roll_joint"), names.index("right_hip_roll_joint")
        torch.testing.assert_close(pm[:, left], -p[:, right])
        torch.testing.assert_close(pm[:, :29], p[:, :29][:, index] * sign)
        torch.testing.assert_close(pm[:, 58:61], p[:, 58:61] * torch.tensor([1.0, -1.0, 1.0]))
        torch.testing.assert_close(pm[:, 61:67], p[:, 61:67] * torch.tensor([1.0, -1, -1, 1, 1, -1]))
        torch.testing.assert_close(pm[:, 70:73], p[:, 70:73] * torch.tensor([-1.0, 1.0, -1.0]))


@pytest.mark.slow
def test_symmetry_preset_reaches_the_ppo_update():
    """``presets=symmetry`` puts the mirror into rsl_rl's PPO: one update runs on the augmented batch."""
    from g1_mimic.rl.session import policy_session

    with policy_session(
        "Isaac-G1-Mimic-CPU-Learn-v0", None, num_envs=4, device="cpu", overrides=["presets=symmetry"], play_mode=False
    ) as s:
        alg = s.runner.alg
        assert alg.symmetry is not None and alg.symmetry.use_data_augmentation
        obs = s.env.get_observations()
        with torch.inference_mode():
            for _ in range(alg.storage.num_transitions_per_env):
                actions = alg.act(obs)
                obs, rewards, dones, extras = s.env.step(actions)
                alg.process_env_step(obs, rewards, dones, extras)
            alg.compute_returns(obs)
        losses = alg.update()
        assert "symmetry" in losses and np.isfinite(losses["symmetry"])
