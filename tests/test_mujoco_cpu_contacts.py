"""The ``mujoco_cpu`` physics preset on one shared env: contact forces through Isaac Lab's contact sensor,
per-env mass, per-env warm-start resets."""

from __future__ import annotations

import mujoco
import pytest
import torch
from envutil import make_env

GRAVITY = 9.81
TORSO = "torso_link"



@pytest.fixture(scope="module")
def cpu_env():
    env = make_env(3, play=True, overrides=["presets=mujoco_cpu"])
    env.reset()
    yield env
    env.close()


def _physics_steps(env, steps: int) -> tuple[torch.Tensor, torch.Tensor, float]:
    """Step the physics alone (targets held); return summed contact forces per env and step, the
    robots' linear momentum before and after [kg m/s], and the elapsed time [s]."""
    robot, sensor = env.scene["robot"], env.scene["contact_forces"]
    mass = robot.data.body_mass.torch

    def momentum():
        return (robot.data.body_com_lin_vel_w.torch * mass[..., None]).sum(1)

    p0, forces = momentum().clone(), []
    manager = env.sim.physics_manager
    manager.set_decimation(1)  # one physics step per sim.step(), also where the preset folds the control period
    try:
        for _ in range(steps):
            env.scene.write_data_to_sim()
            env.sim.step(render=False)
            env.scene.update(dt=env.physics_dt)
            forces.append(sensor.data.net_forces_w.torch.sum(1).clone())
    finally:
        manager.set_decimation(env.cfg.decimation)
    return torch.stack(forces), momentum() - p0, steps * env.physics_dt


def test_contact_forces_of_a_standing_robot_carry_its_weight(cpu_env):
    env = cpu_env
    env.reset()
    for _ in range(10):  # let the landing transient pass
        env.step(torch.zeros(env.num_envs, 29))
    forces, dp, duration = _physics_steps(env, 40)
    robot = env.scene["robot"]
    weight = GRAVITY * robot.data.body_mass.torch.sum(-1)
    mean = forces.mean(0)
    # Newton's second law on the whole robot: sum of contact forces = m g + dP/dt (exact up to rounding)
    expected = dp / duration
    expected[:, 2] += weight
    assert ((mean - expected).abs().amax(-1) < 1e-3 * weight).all(), (mean, expected)
    # and the robot is nearly static: the floor carries its weight
    assert ((mean[:, 2] / weight - 1).abs() < 0.03).all(), mean[:, 2] / weight


def test_randomised_mass_changes_that_env_only(cpu_env):
    from isaaclab_newton.physics import NewtonManager

    env = cpu_env
    robot = env.scene["robot"]
    torso = robot.find_bodies(TORSO)[0][0]
    body_ids, env_ids = torch.tensor([torso], dtype=torch.int32), torch.tensor([1], dtype=torch.int32)
    default = robot.data.body_mass.torch[1:2, [torso]].clone()
    try:
        robot.set_masses_index(masses=default + 5.0, body_ids=body_ids, env_ids=env_ids)
        env.reset()
        for _ in range(5):
            env.step(torch.zeros(env.num_envs, 29))
        models = NewtonManager._solver.env_models
        assert models[0] is models[2] and models[1] is not models[0]
        changed = models[1].body_mass - models[0].body_mass
        assert abs(changed.max() - 5.0) < 1e-5 and (abs(changed) > 1e-9).sum() == 1

        q = robot.data.joint_pos.torch
        # envs 0 and 2: same model, state (up to their spawn offsets) and actions
        assert (q[0] - q[2]).abs().max() < 1e-5
        assert (q[1] - q[0]).abs().max() > 1e-3  # the heavier torso moves env 1 differently

        forces, dp, duration = _physics_steps(env, 40)
        weight = GRAVITY * robot.data.body_mass.torch.sum(-1)
        assert abs(weight[1] - weight[0] - 5.0 * GRAVITY) < 1e-3
        support = forces.mean(0)[:, 2] - dp[:, 2] / duration
        assert ((support - weight).abs() < 1e-3 * weight).all(), (support, weight)
    finally:
        robot.set_masses_index(masses=default, body_ids=body_ids, env_ids=env_ids)


def test_reset_clears_the_warm_start_of_that_env_only(cpu_env):
    from isaaclab_newton.physics import NewtonManager

    env = cpu_env
    env.reset()
    for _ in range(3):
        env.step(0.2 * torch.ones(env.num_envs, 29))
    solver = NewtonManager._solver
    warm = solver.mjw_data.qacc_warmstart.numpy()
    assert (abs(warm).max(axis=1) > 0).all()
    env.reset(env_ids=torch.tensor([1]))
    NewtonManager.forward()  # where Isaac Lab clears the solver state of reset worlds
    warm = solver.mjw_data.qacc_warmstart.numpy()
    assert abs(warm[1]).max() == 0 and (abs(warm[[0, 2]]).max(axis=1) > 0).all()
    # the next MuJoCo C step of env 1 starts from that zero warm-start, the others from theirs
    _physics_steps(env, 1)
    started = solver._state_in[:, solver._cols_in[int(mujoco.mjtState.mjSTATE_WARMSTART)]]
    assert abs(started[1]).max() == 0 and (abs(started[[0, 2]]).max(axis=1) > 0).all()
