"""The real tracking env on Newton (CPU): shapes, rewards on the reference, terminations, resets, NaN isolation."""

from __future__ import annotations

import math

import pytest
import torch
from envutil import make_env

TRACKING_REWARDS = {
    "motion_global_anchor_position_error_exp": 0.3,
    "motion_global_anchor_orientation_error_exp": 0.4,
    "motion_relative_body_position_error_exp": 0.3,
    "motion_relative_body_orientation_error_exp": 0.4,
    "motion_global_body_linear_velocity_error_exp": 1.0,
    "motion_global_body_angular_velocity_error_exp": 3.14,
}


def _random_start(cfg):
    # play cfg (no noise), but start at random times so envs sit at different reference frames
    cfg.commands.motion.start_at_zero = False


@pytest.fixture(scope="module")
def env():
    e = make_env(num_envs=4, play=True, edit=_random_start)
    e.reset()
    yield e
    e.close()


def _cmd(env):
    return env.command_manager.get_term("motion")


def _place_on_reference(env):
    """Reset every env: the command puts the robot exactly on its reference (no noise in the play cfg)."""
    env.reset()
    return _cmd(env)


def test_observation_and_action_shapes(env):
    obs, _ = env.reset()
    assert obs["policy"].shape == (4, 160)  # BeyondMimic's actor layout for 29 joints
    assert obs["critic"].shape == (4, 160 + 14 * 9)
    assert env.action_manager.total_action_dim == 29
    names = env.observation_manager.active_terms["policy"]
    assert names == ["command", "motion_anchor_pos_b", "motion_anchor_ori_b", "base_lin_vel", "base_ang_vel", "joint_pos", "joint_vel", "actions"]


def test_reset_puts_robot_on_reference(env):
    cmd = _place_on_reference(env)
    robot = cmd.robot
    assert torch.allclose(robot.data.joint_pos.torch, cmd.joint_pos, atol=1e-5)
    # every tracked body (sim FK of the USD) sits on the reference (our MJCF FK): same robot model
    err = torch.norm(cmd.body_pos_w - cmd.robot_body_pos_w, dim=-1)
    assert err.max() < 1e-4, err.max()
    assert torch.allclose(robot.data.root_pos_w.torch, cmd.ref.body_pos_w[:, cmd.root_index], atol=1e-4)
    # reference time equals the sampled start time right after reset
    assert torch.allclose(cmd.time_s, cmd.start_time)


def test_tracking_rewards_are_maximal_on_reference(env):
    from g1_mimic.tasks.mimic import mdp

    _place_on_reference(env)
    for name, std in TRACKING_REWARDS.items():
        value = getattr(mdp, name)(env, "motion", std)
        assert torch.isfinite(value).all()
        assert torch.allclose(value, torch.ones_like(value), atol=1e-3), (name, value)


def test_rewards_drop_when_displaced(env):
    from g1_mimic.tasks.mimic import mdp

    cmd = _place_on_reference(env)
    robot = cmd.robot
    pose = torch.cat([robot.data.root_pos_w.torch, robot.data.root_quat_w.torch], dim=-1).clone()
    pose[:, 0] += 0.3  # 0.3 m along x: the anchor position reward becomes exp(-0.09 / 0.09) = e^-1
    robot.write_root_pose_to_sim_index(root_pose=pose, env_ids=torch.arange(4))
    value = mdp.motion_global_anchor_position_error_exp(env, "motion", 0.3)
    assert torch.allclose(value, torch.full_like(value, math.exp(-1.0)), atol=2e-3), value
    # relative body terms re-anchor xy: a pure translation leaves them at their maximum
    rel = mdp.motion_relative_body_position_error_exp(env, "motion", 0.3)
    assert torch.allclose(rel, torch.ones_like(rel), atol=1e-3)


def _terminations(env):
    from g1_mimic.tasks.mimic import mdp

    ee = ["left_ankle_roll_link", "right_ankle_roll_link", "left_wrist_yaw_link", "right_wrist_yaw_link"]
    return {
        "anchor_pos": mdp.bad_anchor_pos_z_only(env, "motion", 0.25),
        "anchor_ori": mdp.bad_anchor_ori(env, "motion", 0.8),
        "ee_body_pos": mdp.bad_motion_body_pos_z_only(env, "motion", 0.25, ee),
    }


def _shift_root(env, dz: float = 0.0, roll: float = 0.0, dx: float = 0.0):
    import isaaclab.utils.math as math_utils

    cmd = _cmd(env)
    robot = cmd.robot
    pos = robot.data.root_pos_w.torch.clone()
    quat = robot.data.root_quat_w.torch.clone()
    pos[:, 0] += dx
    pos[:, 2] += dz
    if roll:
        r = torch.full((4,), roll)
        quat = math_utils.quat_mul(math_utils.quat_from_euler_xyz(r, torch.zeros(4), torch.zeros(4)), quat)
    robot.write_root_pose_to_sim_index(root_pose=torch.cat([pos, quat], dim=-1), env_ids=torch.arange(4))


def test_no_termination_on_reference(env):
    _place_on_reference(env)
    for name, fired in _terminations(env).items():
        assert not fired.any(), name


def test_anchor_height_termination_threshold(env):
    _place_on_reference(env)
    _shift_root(env, dz=0.2)
    assert not _terminations(env)["anchor_pos"].any()
    _place_on_reference(env)
    _shift_root(env, dz=0.3)
    assert _terminations(env)["anchor_pos"].all()


def test_anchor_orientation_termination_threshold(env):
    # projected-gravity z changes by 1 - cos(roll): 0.8 is crossed at roll = acos(0.2) = 1.37 rad
    _place_on_reference(env)
    _shift_root(env, roll=1.2)
    assert not _terminations(env)["anchor_ori"].any()
    _place_on_reference(env)
    _shift_root(env, roll=1.5)
    assert _terminations(env)["anchor_ori"].all()


def test_drift_termination_threshold(env):
    # a sideways slide of the whole robot moves every tracked body by the slide: the step's MPKPE
    from isaaclab.managers import TerminationTermCfg

    from g1_mimic.tasks.mimic import mdp

    drift = mdp.bad_mean_body_pos(TerminationTermCfg(func=mdp.bad_mean_body_pos, params={"command_name": "motion", "threshold": 0.2}), env)
    cmd = _place_on_reference(env)
    _shift_root(env, dx=0.15)
    dist = mdp.mean_body_distance(cmd.body_pos_w, cmd.robot_body_pos_w)
    assert torch.allclose(dist, torch.full((4,), 0.15), atol=1e-3), dist
    assert not drift(env, "motion", 0.2).any()
    assert not any(fired.any() for fired in _terminations(env).values())  # BeyondMimic's rules ignore the slide
    _place_on_reference(env)
    _shift_root(env, dx=0.25)
    assert drift(env, "motion", 0.2).all()


def test_pelvis_protocol_height_and_tilt_thresholds(env):
    # the literature's evaluation rule (evaluate.py --protocol pelvis): pelvis height off > 0.25 m or tilt > 0.8 rad
    from g1_mimic.tasks.mimic import mdp

    for dz, fires in ((0.2, False), (-0.3, True)):
        _place_on_reference(env)
        _shift_root(env, dz=dz)
        assert bool(mdp.bad_root_height(env, "motion", 0.25).all()) is fires, dz
        assert not mdp.bad_root_tilt(env, "motion", 0.8).any()
    for roll, fires in ((0.7, False), (0.9, True)):  # a world-frame roll tilts the pelvis up axis by exactly roll
        _place_on_reference(env)
        _shift_root(env, roll=roll)
        assert bool(mdp.bad_root_tilt(env, "motion", 0.8).all()) is fires, roll
        assert bool(mdp.bad_root_tilt(env, "motion", roll - 0.02).all()) and not mdp.bad_root_tilt(env, "motion", roll + 0.02).any()


def test_end_effector_height_termination(env):
    cmd = _place_on_reference(env)
    robot = cmd.robot
    jp = robot.data.joint_pos.torch.clone()
    # raise the left arm forward to the horizontal: the wrist rises by > 0.25 m, the anchor does not move
    jp[:, robot.joint_names.index("left_shoulder_pitch_joint")] = -1.6
    jp[:, robot.joint_names.index("left_elbow_joint")] = 0.0
    robot.write_joint_position_to_sim_index(position=jp, env_ids=torch.arange(4))
    fired = _terminations(env)
    assert fired["ee_body_pos"].all()
    assert not fired["anchor_pos"].any()


def test_nonfinite_state_is_isolated_and_reset(env):
    from g1_mimic.tasks.mimic import mdp

    cmd = _place_on_reference(env)
    robot = cmd.robot
    vel = robot.data.joint_vel.torch.clone()
    vel[1, 3] = float("nan")
    robot.write_joint_velocity_to_sim_index(velocity=vel, env_ids=torch.arange(4))
    flagged = mdp.nonfinite_state(env)
    assert flagged.tolist() == [False, True, False, False]
    obs, rew, terminated, truncated, extras = env.step(torch.zeros(4, 29))
    assert bool(terminated[1])
    assert torch.isfinite(obs["policy"]).all()
    assert torch.isfinite(rew).all()
    assert torch.isfinite(robot.data.joint_pos.torch).all() and torch.isfinite(robot.data.joint_vel.torch).all()
    assert extras["log"]["Episode_Termination/nonfinite_state"] > 0
    # the reset env keeps simulating finitely, and the others were never touched
    for _ in range(5):
        obs, rew, terminated, truncated, extras = env.step(torch.zeros(4, 29))
        assert torch.isfinite(obs["policy"]).all() and torch.isfinite(rew).all()
        assert torch.isfinite(robot.data.joint_vel.torch).all()


def test_steps_with_random_actions_are_finite_and_log_metrics(env):
    env.reset()
    torch.manual_seed(0)
    for _ in range(10):
        obs, rew, terminated, truncated, extras = env.step(0.3 * torch.randn(4, 29))
        assert torch.isfinite(obs["policy"]).all() and torch.isfinite(obs["critic"]).all()
        assert torch.isfinite(rew).all()
    metrics = _cmd(env).metrics
    for key in ("error_anchor_pos", "error_body_pos", "error_joint_pos", "error_body_rot"):
        assert torch.isfinite(metrics[key]).all()
        assert (metrics[key] >= 0).all()


def test_metrics_are_episode_means_of_the_tracking_errors(env):
    cmd = _place_on_reference(env)
    torch.manual_seed(1)
    errs = []
    for _ in range(5):
        env.step(0.5 * torch.randn(4, 29))
        rel_pos, _ = cmd.relative_body_pose_w()
        errs.append(torch.norm(rel_pos - cmd.robot_body_pos_w, dim=-1).mean(-1))
    assert (env.episode_length_buf == 5).all(), "no env may reset in these 5 steps"
    expected = torch.stack(errs).mean(0)
    assert torch.allclose(cmd.metrics["error_body_pos"], expected, rtol=1e-4, atol=1e-6)
    assert (expected > 0).all()


def test_reference_time_advances_with_the_episode(env):
    cmd = _place_on_reference(env)
    t0 = cmd.time_s.clone()
    env.step(torch.zeros(4, 29))
    alive = env.episode_length_buf == 1
    assert torch.allclose(cmd.time_s[alive], t0[alive] + env.step_dt, atol=1e-6)


def test_cached_transforms_follow_robot_and_reference_changes(env):
    """The command caches the anchor-relative transforms within a step; a moved robot or a rewritten
    reference must invalidate them (compared with a fresh computation)."""
    import isaaclab.utils.math as math_utils

    cmd = _place_on_reference(env)
    rel0, anc0, body0 = cmd.relative_body_pose_w(), cmd.anchor_pose_b(), cmd.robot_body_pose_b()
    assert cmd.relative_body_pose_w()[0] is rel0[0] and cmd.anchor_pose_b()[0] is anc0[0]  # cached within the step
    ori0 = cmd.anchor_ori6d_b()
    assert cmd.anchor_ori6d_b() is ori0
    _shift_root(env, dz=0.1, roll=0.3)
    rel1, anc1, body1 = cmd.relative_body_pose_w(), cmd.anchor_pose_b(), cmd.robot_body_pose_b()
    assert rel1[0] is not rel0[0] and anc1[0] is not anc0[0] and body1[0] is not body0[0]
    assert not torch.allclose(anc1[0], anc0[0], atol=1e-3)
    fresh = math_utils.subtract_frame_transforms(cmd.robot_anchor_pos_w, cmd.robot_anchor_quat_w, cmd.anchor_pos_w, cmd.anchor_quat_w)
    torch.testing.assert_close(anc1[0], fresh[0])
    torch.testing.assert_close(anc1[1], fresh[1])
    # the 6-D anchor orientation follows: first two columns of the rotation matrix of the fresh quaternion
    ori1 = cmd.anchor_ori6d_b()
    assert ori1 is not ori0
    torch.testing.assert_close(ori1, math_utils.matrix_from_quat(fresh[1])[..., :2].reshape(-1, 6))
    # a rigid motion of the whole robot leaves its bodies' poses in its own anchor frame unchanged
    torch.testing.assert_close(body1[0], body0[0], atol=1e-4, rtol=0.0)
    # a resample rewrites the reference of env 0: the cached re-anchored poses are recomputed
    cmd._resample_command(torch.tensor([0]))
    assert cmd.relative_body_pose_w()[0] is not rel1[0]


def test_targets_set_once_per_step_and_hold_over_substeps(env):
    # Isaac Lab applies actions before every physics substep; ours writes the targets once per env step
    # (they only change in process_actions): the robot's targets equal the processed actions, every step
    term = env.action_manager.get_term("joint_pos")
    robot = env.scene["robot"]
    calls = []
    inner = robot.set_joint_position_target_index

    def counting(*args, **kwargs):
        calls.append(1)
        return inner(*args, **kwargs)

    robot.set_joint_position_target_index = counting
    try:
        env.reset()
        for step in range(3):
            env.step(0.1 * torch.randn(4, env.action_manager.total_action_dim))
            assert len(calls) == step + 1
            targets = robot.data.joint_pos_target.torch[:, term._joint_ids]
            torch.testing.assert_close(targets, term.processed_actions)
    finally:
        robot.set_joint_position_target_index = inner


def test_displaced_share_starts_the_robot_off_the_reference_path(env):
    cmd, robot = _cmd(env), env.scene["robot"]
    pose_range = cmd.cfg.pose_range

    def offsets() -> torch.Tensor:
        """Horizontal distance (m) of each robot root from its reference root, and the height difference."""
        ref = cmd.ref.body_pos_w[:, cmd.root_index]
        root = robot.data.root_link_pos_w.torch
        return torch.linalg.norm(root[:, :2] - ref[:, :2], dim=-1), (root[:, 2] - ref[:, 2]).abs()

    try:
        cmd.cfg.pose_range = {}
        cmd.cfg.start_at_zero = False
        cmd.cfg.displaced_share, cmd.cfg.displacement_range = 1.0, (0.2, 0.2)
        env.reset()
        horizontal, vertical = offsets()
        torch.testing.assert_close(horizontal, torch.full_like(horizontal, 0.2), atol=1e-4, rtol=0.0)
        assert vertical.max() < 1e-4
        cmd.cfg.displacement_range = (0.1, 0.3)
        ids = torch.arange(env.num_envs)
        dists = []
        for _ in range(25):
            cmd._resample_command(ids)
            env.scene.update(0.0)
            dists.append(offsets()[0])
        dists = torch.cat(dists)
        assert 0.1 - 1e-4 <= dists.min() and dists.max() <= 0.3 + 1e-4 and dists.std() > 0.03
        cmd.cfg.displaced_share = 0.0
        env.reset()
        assert offsets()[0].max() < 1e-4
    finally:
        cmd.cfg.displaced_share, cmd.cfg.displacement_range, cmd.cfg.pose_range = 0.0, (0.1, 0.3), pose_range
        env.reset()


def test_frame0_share_starts_that_share_of_resets_at_frame_0(env):
    cmd = _cmd(env)
    try:
        cmd.cfg.frame0_share = 1.0
        env.reset()
        assert torch.all(cmd.start_time == 0.0) and torch.all(cmd.time_s == 0.0)
        cmd.cfg.frame0_share = 0.5
        ids = torch.arange(env.num_envs)
        starts = []
        for _ in range(50):
            cmd._resample_command(ids)
            starts.append(cmd.start_time.clone())
        at_zero = (torch.cat(starts) == 0.0).float().mean().item()
        assert 0.35 < at_zero < 0.65, at_zero  # 200 draws of a fair coin; sampled starts are never exactly 0
        cmd.cfg.frame0_share = 0.0
        env.reset()
        assert torch.all(cmd.start_time > 0.0)
    finally:
        cmd.cfg.frame0_share = 0.0
        env.reset()
