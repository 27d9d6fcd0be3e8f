"""The ``mujoco_cpu`` physics preset (MuJoCo C per env) in the real task: config, parity with the
MuJoCo-Warp preset, per-env model parameters, the folded control period. Contacts, per-env mass and
warm-start resets on one shared env are in ``test_mujoco_cpu_contacts.py`` (a module-scoped env must not
be open while another test here builds its own: Isaac Lab holds one simulation context per process)."""

from __future__ import annotations

import pytest
import torch
from envutil import make_env

GRAVITY = 9.81
TORSO = "torso_link"


def _physics_cfg(preset: str):
    from isaaclab_tasks.utils import resolve_task_config

    import g1_mimic.tasks  # noqa: F401

    env_cfg, _ = resolve_task_config("Isaac-G1-Mimic-v0", "rsl_rl_cfg_entry_point", overrides=[f"presets={preset}"])
    return env_cfg.sim.physics


def test_preset_mirrors_the_mujoco_warp_settings():
    from g1_mimic.physics import MuJoCoCPUSolverCfg

    cpu, warp = _physics_cfg("mujoco_cpu"), _physics_cfg("newton_mjwarp")
    assert isinstance(cpu.solver_cfg, MuJoCoCPUSolverCfg)
    for name in ("njmax", "nconmax", "cone", "impratio", "integrator", "use_mujoco_contacts", "iterations",
                 "ls_iterations", "tolerance", "solver"):
        assert getattr(cpu.solver_cfg, name) == getattr(warp.solver_cfg, name), name
    assert cpu.num_substeps == warp.num_substeps == 1 and cpu.use_cuda_graph is False
    assert str(cpu.class_type).endswith("mujoco_cpu_manager:NewtonMuJoCoCPUManager")
    # the default preset: MuJoCo-Warp with CUDA, this preset on the CPU (the fastest CPU preset that passes parity)
    import torch

    expected = "MJWarpSolverCfg" if torch.cuda.is_available() else "MuJoCoCPUSolverCfg"
    assert type(_physics_cfg("default").solver_cfg).__name__ == expected


# ---------------------------------------------------------------------------------------------------
# Parity with the MuJoCo-Warp preset
#
# Both presets build the same MuJoCo model from the same USD and run the same algorithms (implicitfast
# integration, Newton constraint solver to tolerance 1e-6, elliptic cones), MuJoCo-Warp in float32
# and MuJoCo C in float64. After one env step (4 physics steps) joint positions agree to ~1e-5 rad,
# i.e. float32 rounding of the state. Over the horizon the differences grow at contact events (a
# capsule touching down or starting to slip a step earlier in one implementation), which kick joint
# velocities by up to ~0.1 rad/s for a step; positions integrate them and stay within ~2e-3 rad. The
# bounds below are 5-10x the observed differences and 10-100x below the effect of the per-env model
# changes (3 kg on the torso, a 5 cm COM shift), which the test checks too, so a parameter that does
# not reach MuJoCo C, a missing force or a wrong frame fails it.
PARITY_ENVS = 4
PARITY_STEPS = 10
FIRST_STEP_TOL = {"root_pos": 1e-5, "joint_pos": 1e-4, "joint_vel": 1e-2}
HORIZON_TOL = {"root_pos": 2e-4, "joint_pos": 1e-2, "joint_vel": 0.5, "root_lin_vel": 5e-3}
CONTACT_FZ_RMS_TOL = 0.02  # of the robot's weight


def _perturb_models(env) -> None:
    """Env 1: torso +3 kg; env 2: torso COM shifted by (4, 0, -5) cm; env 3: robot friction 1.6; env 0 untouched."""
    from isaaclab.envs.mdp.events import randomize_rigid_body_material
    from isaaclab.managers import EventTermCfg, SceneEntityCfg

    robot = env.scene["robot"]
    torso = robot.find_bodies(TORSO)[0][0]
    body_ids = torch.tensor([torso], dtype=torch.int32)
    mass = robot.data.body_mass.torch[1:2, [torso]].clone() + 3.0
    robot.set_masses_index(masses=mass, body_ids=body_ids, env_ids=torch.tensor([1], dtype=torch.int32))
    com = robot.data.body_com_pos_b.torch[2:3, [torso]].clone()
    com[..., 0] += 0.04
    com[..., 2] -= 0.05
    robot.set_coms_index(coms=com, body_ids=body_ids, env_ids=torch.tensor([2], dtype=torch.int32))
    cfg = EventTermCfg(
        func=randomize_rigid_body_material,
        mode="startup",
        params={
            "asset_cfg": SceneEntityCfg("robot", body_names=".*"),
            "static_friction_range": (1.6, 1.6),
            "dynamic_friction_range": (1.6, 1.6),
            "restitution_range": (0.0, 0.0),
            "num_buckets": 1,
        },
    )
    cfg.params["asset_cfg"].resolve(env.scene)
    randomize_rigid_body_material(cfg, env)(env, torch.tensor([3]), **cfg.params)


def _rollout(preset: str, actions: torch.Tensor) -> dict[str, torch.Tensor]:
    env = make_env(PARITY_ENVS, play=True, overrides=[f"presets={preset}"])
    try:
        _perturb_models(env)
        env.reset()
        robot, sensor = env.scene["robot"], env.scene["contact_forces"]
        rec: dict[str, list[torch.Tensor]] = {k: [] for k in ("root_pos", "joint_pos", "joint_vel", "root_lin_vel", "fz")}
        for a in actions:
            env.step(a)
            rec["root_pos"].append(robot.data.root_pos_w.torch - env.scene.env_origins)
            rec["joint_pos"].append(robot.data.joint_pos.torch.clone())
            rec["joint_vel"].append(robot.data.joint_vel.torch.clone())
            rec["root_lin_vel"].append(robot.data.root_lin_vel_w.torch.clone())
            rec["fz"].append(sensor.data.net_forces_w.torch[..., 2].sum(-1).clone())
        out = {k: torch.stack(v) for k, v in rec.items()}
        out["weight"] = GRAVITY * robot.data.body_mass.torch[0].sum()
        if preset == "mujoco_cpu":
            from isaaclab_newton.physics import NewtonManager

            solver = NewtonManager._solver
            models = solver.env_models
            out["friction"] = torch.tensor([float(m.geom_friction[:, 0].max()) for m in models])
            out["shared_0_1"] = torch.tensor(models[0] is models[1])
        return out
    finally:
        env.close()


@pytest.fixture(scope="module")
def parity():
    g = torch.Generator().manual_seed(0)
    # the same action sequence in every env, so envs differ by their model parameters only
    actions = (0.3 * torch.randn(PARITY_STEPS, 1, 29, generator=g)).expand(PARITY_STEPS, PARITY_ENVS, 29).contiguous()
    return _rollout("newton_mjwarp", actions), _rollout("mujoco_cpu", actions)


def test_first_env_step_matches_mujoco_warp(parity):
    warp, cpu = parity
    for key, tol in FIRST_STEP_TOL.items():
        err = (warp[key][0] - cpu[key][0]).abs().max().item()
        assert err < tol, (key, err)


def test_short_horizon_matches_mujoco_warp(parity):
    warp, cpu = parity
    for key, tol in HORIZON_TOL.items():
        err = (warp[key] - cpu[key]).abs().max().item()
        assert err < tol, (key, err)
    fz_rms = ((warp["fz"] - cpu["fz"]) ** 2).mean(dim=0).sqrt() / warp["weight"]
    assert (fz_rms < CONTACT_FZ_RMS_TOL).all(), fz_rms


def test_per_env_model_changes_reach_mujoco_c(parity):
    warp, cpu = parity
    # the changed envs move differently from env 0, by far more than the two presets differ
    for env in (1, 2):
        effect = (cpu["joint_pos"][:, env] - cpu["joint_pos"][:, 0]).abs().max().item()
        mismatch = (warp["joint_pos"][:, env] - cpu["joint_pos"][:, env]).abs().max().item()
        assert effect > 10 * mismatch and effect > 5e-3, (env, effect, mismatch)
    # friction has no visible effect over 0.2 s of standing: check the MuJoCo C models directly
    assert torch.allclose(cpu["friction"], torch.tensor([1.0, 1.0, 1.0, 1.6]), atol=1e-6)
    assert not cpu["shared_0_1"]


# ---------------------------------------------------------------------------------------------------
# The folded control period (MuJoCoCPUSolverCfg.fold_decimation, the preset's default): one sim.step and
# one MuJoCo C call (decimation physics steps per env, targets held) per env step, against Isaac Lab's
# loop of one physics step per sim.step. The same physics; the state only skips the float32 round trip
# through mjw_data between the physics steps (observed: 6e-8 rad after one env step, 5e-7 over ten).


def _fold_rollout(fold: bool, actions: torch.Tensor) -> dict:
    from isaaclab_newton.physics import NewtonManager

    env = make_env(3, play=True, overrides=["presets=mujoco_cpu", f"env.sim.physics.solver_cfg.fold_decimation={fold}"])
    try:
        env.reset()
        solver, calls = NewtonManager._solver, []
        run_all = solver._run_all

        def counted(substeps: int = 1) -> None:
            calls.append(substeps)
            run_all(substeps)

        solver._run_all = counted
        q, fz = [], []
        for a in actions:
            env.step(a)
            q.append(env.scene["robot"].data.joint_pos.torch.clone())
            fz.append(env.scene["contact_forces"].data.net_forces_w.torch[..., 2].sum(-1).clone())
        return {"q": torch.stack(q), "fz": torch.stack(fz), "calls": calls, "per_call": env.physics_steps_per_call,
                "decimation": env.cfg.decimation}
    finally:
        env.close()


def test_folded_control_period_matches_physics_step_by_step():
    actions = 0.3 * torch.randn(10, 3, 29, generator=torch.Generator().manual_seed(1))
    folded, step_by_step = _fold_rollout(True, actions), _fold_rollout(False, actions)
    assert folded["per_call"] == folded["decimation"] == 4 and step_by_step["per_call"] == 1
    assert folded["calls"] == [4] * 10 and step_by_step["calls"] == [1] * 40
    assert (folded["q"][0] - step_by_step["q"][0]).abs().max() < 1e-6
    assert (folded["q"] - step_by_step["q"]).abs().max() < 1e-5
    # the contact sensor reads the last physics step of the period in both
    assert (folded["fz"] - step_by_step["fz"]).abs().max() < 1e-2 * folded["fz"].abs().max()
