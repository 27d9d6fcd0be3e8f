"""The batched MuJoCo-C solver on small Newton scenes (no Isaac Lab): parity with MuJoCo-Warp, contact
conversion against ``mj_contactForce``, threads, NaN isolation, and what it refuses to do."""

from __future__ import annotations

from types import SimpleNamespace

import mujoco
import numpy as np
import pytest
import warp as wp

newton = pytest.importorskip("newton")

from newton.solvers import SolverMuJoCo  # noqa: E402

from g1_mimic.physics.contacts import ContactStaging  # noqa: E402
from g1_mimic.physics.mujoco_cpu_solver import BatchedMuJoCoSolver, state_layout  # noqa: E402

DT = 0.005
SOLVER_KW = {"cone": "elliptic", "impratio": 10.0, "integrator": "implicitfast", "nconmax": 16, "njmax": 64}


def _boxes(worlds: int = 3):
    """``worlds`` copies of a tilted box and a capsule dropped on a ground plane (CPU Newton model)."""
    env = newton.ModelBuilder()
    SolverMuJoCo.register_custom_attributes(env)
    tilt = wp.quat_from_axis_angle(wp.vec3(1.0, 1.0, 0.0), 0.3)
    box = env.add_body(xform=wp.transform((0.0, 0.0, 0.3), tilt), mass=1.0)
    env.add_shape_box(box, hx=0.1, hy=0.08, hz=0.06)
    capsule = env.add_body(xform=wp.transform((0.6, 0.0, 0.2), wp.quat_identity()), mass=0.5)
    env.add_shape_capsule(capsule, radius=0.05, half_height=0.1)
    main = newton.ModelBuilder()
    SolverMuJoCo.register_custom_attributes(main)
    main.replicate(env, worlds)
    main.add_ground_plane()
    return main.finalize(device="cpu")


def _rollout(solver_cls, steps: int = 100, nan_world: int | None = None, substeps: int = 1, **kwargs):
    model = _boxes()
    solver = solver_cls(model, **SOLVER_KW, **kwargs)
    if substeps != 1:
        solver.substeps = substeps  # each step() makes `substeps` MuJoCo C steps of DT
    s0, s1, control = model.state(), model.state(), model.control()
    qd = s0.joint_qd.numpy()
    qd[0::6] = 0.5  # every body slides along x
    qd[7] = -0.3
    if nan_world is not None:
        qd[12 * nan_world + 2] = np.nan
    s0.joint_qd.assign(qd)
    contacts = newton.Contacts(
        rigid_contact_max=solver.get_max_contact_count(), soft_contact_max=0, device="cpu", requested_attributes={"force"}
    )
    q = []
    for _ in range(steps):
        solver.step(s0, s1, control, None, DT)
        s0, s1 = s1, s0
        q.append(s0.joint_q.numpy().copy())
    solver.update_contacts(contacts, s0)
    n = int(contacts.rigid_contact_count.numpy()[0])
    shape0 = contacts.rigid_contact_shape0.numpy()[:n]
    world = model.shape_world.numpy()
    body_world = np.where(world[shape0] >= 0, world[shape0], world[contacts.rigid_contact_shape1.numpy()[:n]])
    force = contacts.force.numpy()[:n, :3]
    per_world = np.stack([force[body_world == w].sum(0) for w in range(model.world_count)])
    return np.array(q), per_world, solver


def test_matches_mujoco_warp_on_tumbling_boxes():
    q_warp, f_warp, _ = _rollout(SolverMuJoCo)
    q_cpu, f_cpu, _ = _rollout(BatchedMuJoCoSolver, num_threads=2)
    # float32 MuJoCo-Warp vs float64 MuJoCo C over 0.5 s of sliding and tumbling contact (see test_mujoco_cpu.py)
    assert np.abs(q_warp - q_cpu).max() < 2e-3
    # contact forces per world (on the ground, summed): same support and friction forces
    np.testing.assert_allclose(f_cpu, f_warp, rtol=1e-3, atol=1e-2)
    assert (f_cpu[:, 2] < -1.4 * 9.81).all()  # the ground carries both bodies (1.5 kg), force on shape 0


def test_thread_count_does_not_change_results():
    q1, f1, s1 = _rollout(BatchedMuJoCoSolver, steps=40, num_threads=1)
    q3, f3, s3 = _rollout(BatchedMuJoCoSolver, steps=40, num_threads=3)
    assert s1.num_threads == 1 and s3.num_threads == 3
    assert np.array_equal(q1, q3) and np.array_equal(f1, f3)


def test_native_step_matches_python_threads():
    # the C batched step makes the same MuJoCo calls per env as the Python threads: bit-identical
    q_c, f_c, s_c = _rollout(BatchedMuJoCoSolver, steps=40, num_threads=2, native_step=True)
    q_py, f_py, s_py = _rollout(BatchedMuJoCoSolver, steps=40, num_threads=2, native_step=False)
    assert s_c.native_step and not s_py.native_step
    assert np.array_equal(q_c, q_py) and np.array_equal(f_c, f_py)
    assert np.array_equal(s_c.solver_iterations(), s_py.solver_iterations())
    assert s_c.solver_iterations().max() > 0


def test_substeps_in_one_call_match_separate_steps():
    # a control period folded into one call (BatchedMuJoCoSolver.substeps): MuJoCo C steps each env 4 times
    # back to back; the state only skips the float32 round trip through mjw_data between the steps
    q1, f1, _ = _rollout(BatchedMuJoCoSolver, steps=40, num_threads=2)
    q4, f4, s4 = _rollout(BatchedMuJoCoSolver, steps=10, num_threads=2, substeps=4)
    assert q4.shape[0] == 10
    # (observed: 5e-10 after one period, 6e-8 over 0.2 s of sliding and tumbling contact, forces 5e-5 N)
    assert np.abs(q4[0] - q1[3]).max() < 1e-6
    assert np.abs(q4 - q1[3::4]).max() < 1e-5
    np.testing.assert_allclose(f4, f1, rtol=1e-4, atol=1e-3)
    # the C threads and the Python threads make the same calls
    q4_py, f4_py, _ = _rollout(BatchedMuJoCoSolver, steps=10, num_threads=2, native_step=False, substeps=4)
    assert s4.native_step and np.array_equal(q4, q4_py) and np.array_equal(f4, f4_py)
    # and one call of 4 substeps is not one step
    assert np.abs(q4[0] - q1[0]).max() > 1e-3
    s4.substeps = 0
    with pytest.raises(ValueError, match="substeps must be >= 1"):
        s4.step(s4.model.state(), s4.model.state(), s4.model.control(), None, DT)


def test_native_step_unavailable(monkeypatch, caplog):
    from g1_mimic.physics import native

    def unavailable():
        raise native.NativeStepUnavailable("no C compiler found (test)")

    monkeypatch.setattr(native, "load", unavailable)
    with pytest.raises(native.NativeStepUnavailable, match="no C compiler"):
        _rollout(BatchedMuJoCoSolver, steps=1, native_step=True)
    with caplog.at_level("WARNING", logger="g1_mimic.physics.mujoco_cpu_solver"):
        q, _, solver = _rollout(BatchedMuJoCoSolver, steps=5, native_step=None)
    assert not solver.native_step and np.isfinite(q).all()
    assert any("Python threads" in r.getMessage() and "no C compiler" in r.getMessage() for r in caplog.records)


def test_native_build_cache_and_compiler_errors(tmp_path, monkeypatch):
    from g1_mimic.physics import native

    monkeypatch.setenv("G1_MIMIC_NATIVE_CACHE", str(tmp_path / "cache"))
    path = native.build()
    assert path.parent == tmp_path / "cache" and path.is_file() and path.stat().st_size > 0
    assert native.build() == path  # cached: not rebuilt
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary files left
    monkeypatch.setenv("CC", str(tmp_path / "no-such-cc"))
    with pytest.raises(native.NativeStepUnavailable, match="no-such-cc"):
        native.build(force=True)
    assert native.build() == path  # a failed rebuild leaves the cached library in place


def test_diverged_world_stays_nan_and_isolated(caplog, tmp_path, monkeypatch):
    # MuJoCo C would silently reset a diverged MjData to qpos0; like MuJoCo-Warp, the NaN must reach
    # Isaac Lab (its non-finite-state termination resets the env), and only that world's. The
    # instability is reported through Python logging, not MuJoCo's MUJOCO_LOG.TXT in the working dir.
    monkeypatch.chdir(tmp_path)
    with caplog.at_level("WARNING", logger="g1_mimic.physics.mujoco_cpu_solver"):
        q, _, _ = _rollout(BatchedMuJoCoSolver, steps=3, nan_world=1)
    per_world = q[-1].reshape(3, -1)
    assert np.isnan(per_world[1]).any()
    assert np.isfinite(per_world[[0, 2]]).all()
    assert any("instability" in r.getMessage() for r in caplog.records)
    assert not (tmp_path / "MUJOCO_LOG.TXT").exists()


def test_state_layout_follows_mj_getState():
    model = mujoco.MjModel.from_xml_string(_CONTACT_XML.format(cone="elliptic", condim=3))
    data = mujoco.MjData(model)
    data.qpos[:] = np.arange(model.nq) * 0.1
    data.ctrl[:] = 0.0
    data.qacc_warmstart[:] = np.arange(model.nv) + 100.0
    bits = (mujoco.mjtState.mjSTATE_QPOS, mujoco.mjtState.mjSTATE_WARMSTART, mujoco.mjtState.mjSTATE_ACT)
    spec, cols = state_layout(model, bits)
    assert int(mujoco.mjtState.mjSTATE_ACT) not in cols  # na == 0: skipped
    state = np.zeros(mujoco.mj_stateSize(model, spec))
    mujoco.mj_getState(model, data, state, spec)
    np.testing.assert_array_equal(state[cols[int(mujoco.mjtState.mjSTATE_QPOS)]], data.qpos)
    np.testing.assert_array_equal(state[cols[int(mujoco.mjtState.mjSTATE_WARMSTART)]], data.qacc_warmstart)


_CONTACT_XML = """<mujoco><option cone="{cone}" timestep="0.002"/><worldbody>
<geom type="plane" size="2 2 .1" condim="{condim}"/>
<body pos="0 0 0.1" euler="10 20 30"><freejoint/><geom type="box" size=".1 .08 .06" condim="{condim}"/></body>
<body pos="0.5 0 0.1" euler="90 0 0"><freejoint/><geom type="capsule" size=".05 .1" condim="{condim}"/></body>
</worldbody></mujoco>"""


def _newton_contacts(capacity: int) -> SimpleNamespace:
    def arr(dtype):
        return wp.zeros(capacity, dtype=dtype, device="cpu")

    return SimpleNamespace(
        rigid_contact_max=capacity, rigid_contact_count=wp.zeros(1, dtype=wp.int32, device="cpu"),
        rigid_contact_shape0=arr(wp.int32), rigid_contact_shape1=arr(wp.int32), rigid_contact_point0=arr(wp.vec3),
        rigid_contact_point1=arr(wp.vec3), rigid_contact_normal=arr(wp.vec3), force=arr(wp.spatial_vector),
    )


@pytest.mark.parametrize("cone", ["elliptic", "pyramidal"])
@pytest.mark.parametrize("condim", [1, 3, 4, 6])
def test_contact_conversion_matches_mj_contact_force(cone, condim):
    model = mujoco.MjModel.from_xml_string(_CONTACT_XML.format(cone=cone, condim=condim))
    data = mujoco.MjData(model)
    data.qvel[0], data.qvel[7] = 0.4, -0.3  # sliding: friction rows are active
    for _ in range(60):
        mujoco.mj_step(model, data)
    n = data.ncon
    assert n >= 2
    staging = ContactStaging(2, 16, model.nbody, 128)
    staging.stage(0, data)
    staging.stage(1, data)  # two envs, the same contacts: env 1's rows follow env 0's
    contacts = _newton_contacts(64)
    geom_to_shape = np.tile(np.arange(model.ngeom, dtype=np.int32), (2, 1)) + np.array([[100], [200]], dtype=np.int32)
    dropped = staging.convert(
        contacts, wp.array(geom_to_shape, dtype=wp.int32, device="cpu"),
        wp.array(model.geom_bodyid.astype(np.int32), dtype=wp.int32, device="cpu"), cone == "elliptic",
    )
    assert dropped == 0 and int(contacts.rigid_contact_count.numpy()[0]) == 2 * n
    force, normal = contacts.force.numpy(), contacts.rigid_contact_normal.numpy()
    point0, point1 = contacts.rigid_contact_point0.numpy(), contacts.rigid_contact_point1.numpy()
    for env in range(2):
        for i in range(n):
            row = env * n + i
            c = data.contact[i]
            wrench = np.zeros(6)
            mujoco.mj_contactForce(model, data, i, wrench)
            frame = c.frame.reshape(3, 3)
            expected = -np.concatenate([wrench[:3] @ frame, wrench[3:] @ frame])  # world frame, on geom 0
            np.testing.assert_allclose(force[row], expected, rtol=1e-5, atol=1e-4)
            np.testing.assert_allclose(normal[row], frame[0], atol=1e-6)
            assert contacts.rigid_contact_shape0.numpy()[row] == 100 * (env + 1) + c.geom[0]
            assert contacts.rigid_contact_shape1.numpy()[row] == 100 * (env + 1) + c.geom[1]
            for side, point in ((0, point0[row]), (1, point1[row])):
                body = model.geom_bodyid[c.geom[side]]
                world = c.pos + (side - 0.5) * c.dist * frame[0]
                local = data.xmat[body].reshape(3, 3).T @ (world - data.xpos[body])
                np.testing.assert_allclose(point, local, atol=1e-6)


def test_contact_overflow_is_counted_not_written():
    model = mujoco.MjModel.from_xml_string(_CONTACT_XML.format(cone="elliptic", condim=3))
    data = mujoco.MjData(model)
    for _ in range(60):
        mujoco.mj_step(model, data)
    staging = ContactStaging(1, 2, model.nbody, 128)  # 2 slots for more contacts
    staging.stage(0, data)
    contacts = _newton_contacts(8)
    dropped = staging.convert(
        contacts, wp.array(np.arange(model.ngeom, dtype=np.int32)[None], dtype=wp.int32, device="cpu"),
        wp.array(model.geom_bodyid.astype(np.int32), dtype=wp.int32, device="cpu"), True,
    )
    assert int(contacts.rigid_contact_count.numpy()[0]) == 2 and dropped == data.ncon - 2


def test_unsupported_configurations_name_the_alternative():
    model = _boxes(worlds=2)
    with pytest.raises(NotImplementedError, match="presets=newton_mjwarp"):
        BatchedMuJoCoSolver(model, use_mujoco_contacts=False)
    with pytest.raises(ValueError, match="use_mujoco_cpu"):
        BatchedMuJoCoSolver(model, use_mujoco_cpu=True)
    solver = BatchedMuJoCoSolver(model, **SOLVER_KW)
    state = model.state(requested_attributes={"body_qdd"}) if _accepts_requested(model) else model.state()
    if state.body_qdd is None:
        state.body_qdd = wp.zeros_like(state.body_qd)
    with pytest.raises(NotImplementedError, match="presets=newton_mjwarp"):
        solver.step(state, state, model.control(), None, DT)


def _accepts_requested(model) -> bool:
    import inspect

    return "requested_attributes" in inspect.signature(model.state).parameters


def _slide(model, solver, steps: int) -> np.ndarray:
    """Every body starts sliding along x at 0.5 m/s; ``[steps, worlds, coords]`` joint coordinates after each step."""
    s0, s1, control = model.state(), model.state(), model.control()
    qd = s0.joint_qd.numpy()
    qd[0::6] = 0.5
    s0.joint_qd.assign(qd)
    q = []
    for _ in range(steps):
        solver.step(s0, s1, control, None, DT)
        s0, s1 = s1, s0
        q.append(s0.joint_q.numpy().copy())
    return np.array(q).reshape(steps, model.world_count, -1)


def _rollout_with_com_shift(solver_cls, steps: int = 100) -> np.ndarray:
    model = _boxes()
    solver = solver_cls(model, **SOLVER_KW)
    com = model.body_com.numpy()
    com[2] = (0.06, 0.04, -0.03)  # world 1's box (2 bodies per world); compiled with its COM at the body origin
    model.body_com.assign(com)
    solver.notify_model_changed(newton.ModelFlags.BODY_INERTIAL_PROPERTIES)
    return _slide(model, solver, steps)


def test_per_world_com_shift_reaches_mujoco_c():
    # MuJoCo C ignores body_ipos of bodies compiled with their inertial frame on the body frame
    # (body_sameframe); the solver must clear that shortcut where a world's COM moved.
    q_warp = _rollout_with_com_shift(SolverMuJoCo)
    q_cpu = _rollout_with_com_shift(BatchedMuJoCoSolver)
    effect = np.abs(q_cpu[:, 1, :7] - q_cpu[:, 2, :7]).max()  # the shifted box against an unshifted one
    mismatch = np.abs(q_warp[:, 1] - q_cpu[:, 1]).max()
    assert effect > 0.03 and mismatch < 1e-2, (effect, mismatch)


def _rollout_randomised(steps: int = 60, **kwargs) -> tuple[np.ndarray, BatchedMuJoCoSolver]:
    """Tumbling boxes whose worlds differ in mass (world 1), COM (world 2) and friction (world 0)."""
    model = _boxes()
    solver = BatchedMuJoCoSolver(model, **SOLVER_KW, **kwargs)
    mass, com, mu = model.body_mass.numpy(), model.body_com.numpy(), model.shape_material_mu.numpy()
    mass[2] *= 1.7
    com[4] = (0.04, -0.03, 0.02)
    mu[0] = 0.2  # world 0's box
    model.body_mass.assign(mass)
    model.body_com.assign(com)
    model.shape_material_mu.assign(mu)
    solver.notify_model_changed(newton.ModelFlags.BODY_INERTIAL_PROPERTIES | newton.ModelFlags.SHAPE_PROPERTIES)
    return _slide(model, solver, steps), solver


def test_patched_thread_models_match_per_env_models():
    # The C step copies each env's differing parameters into one working model per thread; the results
    # must be those of stepping each env's own model (and of the Python threads) bit for bit.
    q_patch, s_patch = _rollout_randomised(num_threads=2, native_step=True)
    tables = s_patch._patch_tables()
    assert s_patch._batch.patch == 1 and tables is not None
    _, seg_off, seg_len, params = tables
    assert seg_off.size > 0 and params.shape[0] == 3
    assert not np.array_equal(params[0], params[1]) and not np.array_equal(params[1], params[2])
    assert params.shape[1] == seg_len.sum() + s_patch._native.g1m_sizeof_option() + s_patch._native.g1m_sizeof_statistic()

    def per_env_models(**kwargs):
        original = BatchedMuJoCoSolver._bind_native

        def bind(self):
            self.patch_models = False
            original(self)

        BatchedMuJoCoSolver._bind_native = bind
        try:
            return _rollout_randomised(**kwargs)
        finally:
            BatchedMuJoCoSolver._bind_native = original

    q_models, s_models = per_env_models(num_threads=2, native_step=True)
    assert s_models._batch.patch == 0
    q_py, s_py = _rollout_randomised(num_threads=2, native_step=False)
    assert np.array_equal(q_patch, q_models) and np.array_equal(q_patch, q_py)
    # the parameters act: each modified world moves differently from an unmodified copy of itself
    q_same, _ = _rollout_randomised(num_threads=1, native_step=False)
    assert np.array_equal(q_same, q_py)
    assert len({round(float(np.abs(q_patch[-1, w] - q_patch[-1, (w + 1) % 3]).max()), 6) for w in range(3)}) > 1
