"""The G1 the policy trains on is the G1 sim2sim and deploy run: the MuJoCo model the training simulator
builds from the USD (``mujoco_cpu`` preset, through Newton) against ``g1_sim.xml`` (plain MuJoCo, sim2sim),
body by body, geom by geom and pair by pair. A collision pair, mass or joint range that only one of them has
is a sim-to-sim gap no parity test of the controller would explain (the training model once had no
self-collisions while sim2sim's had 469 self-collision pairs)."""

from __future__ import annotations

import re

import mujoco
import numpy as np
import pytest
from envutil import make_env

from g1_mimic import assets


def _body_names(m: mujoco.MjModel, names: list[str]) -> dict[str, int]:
    """Body ids by their own name in ``names`` (the training model names a body by its whole USD path,
    its ancestors' names joined by underscores: the own name is the suffix)."""
    found = {}
    for b in range(m.nbody):
        full = mujoco.mj_id2name(m, mujoco.mjtObj.mjOBJ_BODY, b) or "world"
        own = [n for n in names if full == n or full.endswith("_" + n)]
        if own:
            found[max(own, key=len)] = b
    return found


def _geom_name(m: mujoco.MjModel, g: int) -> str:
    """The geom's own name: the last USD path component without the converter's ``_<index>`` suffix;
    the ground is ``floor`` in both."""
    name = re.sub(r"_\d+$", "", (mujoco.mj_id2name(m, mujoco.mjtObj.mjOBJ_GEOM, g) or "").rsplit("/", 1)[-1])
    return "floor" if name in ("CollisionPlane", "floor") else name


def collision_pairs(m: mujoco.MjModel) -> set[tuple[str, str]]:
    """Geom pairs MuJoCo may collide, by geom name: contype/conaffinity match, not in one (welded) body,
    not a body and its parent (MuJoCo's filterparent, unless the parent is the world), not excluded."""
    excluded = {(int(s) >> 16, int(s) & 0xFFFF) for s in m.exclude_signature}
    filter_parent = not m.opt.disableflags & mujoco.mjtDisableBit.mjDSBL_FILTERPARENT
    pairs = set()
    for a in range(m.ngeom):
        for b in range(a + 1, m.ngeom):
            if not (m.geom_contype[a] & m.geom_conaffinity[b] or m.geom_contype[b] & m.geom_conaffinity[a]):
                continue
            ba, bb = int(m.body_weldid[m.geom_bodyid[a]]), int(m.body_weldid[m.geom_bodyid[b]])
            if ba == bb or (min(ba, bb), max(ba, bb)) in excluded:
                continue
            pa, pb = int(m.body_weldid[m.body_parentid[ba]]), int(m.body_weldid[m.body_parentid[bb]])
            if filter_parent and ((pa == bb and bb != 0) or (pb == ba and ba != 0)):
                continue
            pairs.add(tuple(sorted((_geom_name(m, a), _geom_name(m, b)))))
    return pairs


@pytest.fixture(scope="module")
def models():
    env = make_env(1, overrides=["presets=mujoco_cpu"])
    try:
        from isaaclab_newton.physics import NewtonManager

        trained = NewtonManager._solver.env_models[0]
        yield trained, mujoco.MjModel.from_xml_path(str(assets.G1_SIM_MJCF))
    finally:
        env.close()


def test_the_same_geom_pairs_collide(models):
    trained, deployed = models
    pairs = collision_pairs(trained)
    assert pairs == collision_pairs(deployed)
    self_pairs = {p for p in pairs if "floor" not in p}
    assert len(self_pairs) == 469 and ("left_hand_collision", "left_thigh_collision") in self_pairs
    assert len(pairs - self_pairs) == 33  # every robot geom touches the floor


def test_the_same_bodies_and_geoms(models):
    trained, deployed = models
    d_bodies = {mujoco.mj_id2name(deployed, mujoco.mjtObj.mjOBJ_BODY, b): b for b in range(deployed.nbody)}
    t_bodies = _body_names(trained, list(d_bodies))
    assert set(t_bodies) == set(d_bodies) and len(d_bodies) == 31 and trained.nbody == 31
    for name, b in d_bodies.items():
        t = t_bodies[name]
        assert trained.body_mass[t] == pytest.approx(deployed.body_mass[b], abs=1e-6), name
        np.testing.assert_allclose(trained.body_ipos[t], deployed.body_ipos[b], atol=1e-6, err_msg=name)
        np.testing.assert_allclose(trained.body_inertia[t], deployed.body_inertia[b], atol=1e-6, err_msg=name)
        if deployed.body_parentid[b] != 0:  # the free root's body_pos is only where the model spawns it
            np.testing.assert_allclose(trained.body_pos[t], deployed.body_pos[b], atol=1e-6, err_msg=name)
            np.testing.assert_allclose(trained.body_quat[t], deployed.body_quat[b], atol=1e-6, err_msg=name)
    t_geoms = {_geom_name(trained, g): g for g in range(trained.ngeom) if trained.geom_contype[g] or trained.geom_conaffinity[g]}
    d_geoms = {_geom_name(deployed, g): g for g in range(deployed.ngeom) if deployed.geom_contype[g] or deployed.geom_conaffinity[g]}
    assert set(t_geoms) == set(d_geoms) and len(d_geoms) == 34
    for name, g in d_geoms.items():
        t = t_geoms[name]
        assert trained.geom_type[t] == deployed.geom_type[g], name
        np.testing.assert_allclose(trained.geom_friction[t], deployed.geom_friction[g], atol=1e-6, err_msg=name)
        if name != "floor":  # an infinite plane in both; its size fields only set how it is drawn
            np.testing.assert_allclose(trained.geom_size[t], deployed.geom_size[g], atol=1e-6, err_msg=name)
            np.testing.assert_allclose(trained.geom_pos[t], deployed.geom_pos[g], atol=1e-6, err_msg=name)
    np.testing.assert_allclose(trained.jnt_range[1:], deployed.jnt_range[1:], atol=1e-6)
