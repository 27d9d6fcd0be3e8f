"""Batched forward kinematics of the G1 29-DoF model with MuJoCo C.

The model is the same MJCF the simulator's USD is converted from (:mod:`g1_mimic.assets`), so
body and joint frames agree with the physics. All quantities are in the world frame, SI units,
quaternions **xyzw**. Joint order is whatever the caller names: inputs and outputs are mapped by
name, never by position.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from pathlib import Path

import mujoco
import numpy as np

from g1_mimic import assets
from g1_mimic.motion import quat as Q
from g1_mimic.robots.g1_constants import FEET_BODIES


class G1Kinematics:
    """Forward kinematics of one MJCF floating-base robot (default: the G1 collision model).

    Attributes:
        joint_names: hinge joint names in the model's (= Unitree SDK) order.
        body_names: body names in MuJoCo depth-first order (world excluded); body 0 is the root.
        joint_limits: ``[J, 2]`` lower/upper joint limits (rad).
    """

    def __init__(self, mjcf: str | Path | None = None):
        path = Path(mjcf) if mjcf is not None else assets.require(assets.G1_DIR / "g1_collision.xml")
        self.mjcf_path = path
        self.model = mujoco.MjModel.from_xml_path(str(path))
        self.data = mujoco.MjData(self.model)
        m = self.model
        if m.njnt < 2 or m.jnt_type[0] != mujoco.mjtJoint.mjJNT_FREE:
            raise ValueError(f"{path}: expected a floating-base model whose first joint is free")
        self.joint_names: tuple[str, ...] = tuple(m.joint(i).name for i in range(1, m.njnt))
        self.body_names: tuple[str, ...] = tuple(m.body(i).name for i in range(1, m.nbody))
        self.joint_limits = np.array([m.jnt_range[i] for i in range(1, m.njnt)], dtype=np.float64)
        self._qpos_adr = np.array([m.jnt_qposadr[i] for i in range(1, m.njnt)])
        self._dof_adr = np.array([m.jnt_dofadr[i] for i in range(1, m.njnt)])

    @property
    def num_joints(self) -> int:
        return len(self.joint_names)

    @property
    def num_bodies(self) -> int:
        return len(self.body_names)

    @cached_property
    def _joint_index(self) -> dict[str, int]:
        return {n: i for i, n in enumerate(self.joint_names)}

    def joint_indices(self, names: Sequence[str]) -> np.ndarray:
        """Indices into :attr:`joint_names` of ``names``; raise naming every unknown joint."""
        unknown = [n for n in names if n not in self._joint_index]
        if unknown:
            raise KeyError(f"unknown G1 joint name(s) {unknown}; known joints: {list(self.joint_names)}")
        return np.array([self._joint_index[n] for n in names], dtype=np.int64)

    def body_indices(self, names: Sequence[str]) -> np.ndarray:
        """Indices into :attr:`body_names` of ``names``; raise naming every unknown body."""
        idx = {n: i for i, n in enumerate(self.body_names)}
        unknown = [n for n in names if n not in idx]
        if unknown:
            raise KeyError(f"unknown G1 body name(s) {unknown}; known bodies: {list(self.body_names)}")
        return np.array([idx[n] for n in names], dtype=np.int64)

    def qpos(self, root_pos: np.ndarray, root_quat_xyzw: np.ndarray, joint_pos: np.ndarray) -> np.ndarray:
        """Pack ``[T,3]`` root position, ``[T,4]`` xyzw orientation and ``[T,J]`` joints (model order) into MuJoCo qpos."""
        T = root_pos.shape[0]
        qpos = np.zeros((T, self.model.nq))
        qpos[:, 0:3] = root_pos
        qpos[:, 3:7] = Q.xyzw_to_wxyz(Q.normalize(root_quat_xyzw))
        qpos[:, self._qpos_adr] = joint_pos
        return qpos

    def qvel_from_qpos(self, qpos: np.ndarray, dt: float) -> np.ndarray:
        """Generalised velocities by central finite differences of ``qpos`` [T, nq] (one-sided at the ends).

        Uses ``mj_differentiatePos``, so the free joint's angular velocity is in the body frame
        (MuJoCo's convention) and quaternion differences are taken on the manifold.
        """
        T = qpos.shape[0]
        qvel = np.zeros((T, self.model.nv))
        if T < 2:
            return qvel
        for t in range(T):
            lo, hi = max(t - 1, 0), min(t + 1, T - 1)
            mujoco.mj_differentiatePos(self.model, qvel[t], (hi - lo) * dt, qpos[lo], qpos[hi])
        return qvel

    def forward(self, qpos: np.ndarray, qvel: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Body states for every frame of ``qpos`` [T, nq] (and ``qvel`` [T, nv], zeros if None).

        Returns a dict with ``body_pos_w`` [T,B,3] (m), ``body_quat_w`` [T,B,4] (xyzw),
        ``body_lin_vel_w`` [T,B,3] (m/s, velocity of each body frame's origin) and
        ``body_ang_vel_w`` [T,B,3] (rad/s), all in the world frame, bodies in :attr:`body_names` order.
        """
        m, d = self.model, self.data
        T = qpos.shape[0]
        B = self.num_bodies
        pos = np.empty((T, B, 3))
        quat = np.empty((T, B, 4))
        lin = np.zeros((T, B, 3))
        ang = np.zeros((T, B, 3))
        root_of = m.body_rootid[1:]
        for t in range(T):
            d.qpos[:] = qpos[t]
            d.qvel[:] = 0.0 if qvel is None else qvel[t]
            mujoco.mj_kinematics(m, d)
            mujoco.mj_comPos(m, d)
            mujoco.mj_comVel(m, d)
            pos[t] = d.xpos[1:]
            quat[t] = d.xquat[1:]
            if qvel is not None:
                cvel = d.cvel[1:]  # [ang, lin] about subtree_com of each body's root, world axes
                w = cvel[:, :3]
                v_com = cvel[:, 3:]
                offset = d.xpos[1:] - d.subtree_com[root_of]
                ang[t] = w
                lin[t] = v_com + np.cross(w, offset)
        return {
            "body_pos_w": pos,
            "body_quat_w": Q.wxyz_to_xyzw(quat),
            "body_lin_vel_w": lin,
            "body_ang_vel_w": ang,
        }


_DEFAULT: G1Kinematics | None = None


def g1_kinematics() -> G1Kinematics:
    """A shared :class:`G1Kinematics` of the G1 collision model (built once per process)."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = G1Kinematics()
    return _DEFAULT


#: The six joints of each leg, per foot in :data:`~g1_mimic.robots.g1_constants.FEET_BODIES` order.
LEG_JOINTS: tuple[tuple[str, ...], ...] = tuple(
    tuple(f"{side}_{j}_joint" for j in ("hip_pitch", "hip_roll", "hip_yaw", "knee", "ankle_pitch", "ankle_roll"))
    for side in ("left", "right")
)


class LegIK:
    """Damped-least-squares IK of both legs for a given pelvis pose (feet pinned to their targets).

    Works on ``kin.data``: set its ``qpos`` (root and joints), call :meth:`set_targets_from_current` to pin
    each foot (:data:`~g1_mimic.robots.g1_constants.FEET_BODIES`, body origins, world frame) where it is,
    edit ``foot_pos``/``foot_quat`` (wxyz) as wanted, then :meth:`solve` moves the leg joints
    (:data:`LEG_JOINTS`) in ``kin.data.qpos``; the root and every other joint stay."""

    def __init__(self, kin: G1Kinematics):
        self.kin = kin
        m = kin.model
        self.leg_joints = LEG_JOINTS
        self.foot_ids = [m.body(f).id for f in FEET_BODIES]
        self.qadr = [np.array([m.jnt_qposadr[m.joint(j).id] for j in leg]) for leg in LEG_JOINTS]
        self.dadr = [np.array([m.jnt_dofadr[m.joint(j).id] for j in leg]) for leg in LEG_JOINTS]
        self._jacp = np.zeros((3, m.nv))
        self._jacr = np.zeros((3, m.nv))
        self.foot_pos: list[np.ndarray] = []
        self.foot_quat: list[np.ndarray] = []  # wxyz, MuJoCo order

    def set_targets_from_current(self) -> None:
        d = self.kin.data
        self.foot_pos = [d.xpos[b].copy() for b in self.foot_ids]
        self.foot_quat = [d.xquat[b].copy() for b in self.foot_ids]

    def _error(self, leg: int) -> np.ndarray:
        d = self.kin.data
        b = self.foot_ids[leg]
        dp = self.foot_pos[leg] - d.xpos[b]
        dr_local = np.zeros(3)
        mujoco.mju_subQuat(dr_local, self.foot_quat[leg], d.xquat[b])  # cur * exp(dr_local) = target
        dr = d.xmat[b].reshape(3, 3) @ dr_local
        return np.concatenate([dp, dr])

    def solve(self, tol: float = 1e-10, max_iter: int = 50, damping: float = 1e-6) -> float:
        """Move the leg joints in ``kin.data.qpos`` so both feet reach their targets; return the final error."""
        m, d = self.kin.model, self.kin.data
        err_norm = np.inf
        for _ in range(max_iter):
            mujoco.mj_kinematics(m, d)
            mujoco.mj_comPos(m, d)  # the joint axes (cdof) mj_jacBody reads, for this pose
            errs = [self._error(leg) for leg in range(2)]
            err_norm = max(float(np.linalg.norm(e)) for e in errs)
            if err_norm < tol:
                break
            for leg in range(2):
                mujoco.mj_jacBody(m, d, self._jacp, self._jacr, self.foot_ids[leg])
                J = np.vstack([self._jacp, self._jacr])[:, self.dadr[leg]]
                dq = J.T @ np.linalg.solve(J @ J.T + damping * np.eye(6), errs[leg])
                step = np.linalg.norm(dq)
                if step > 0.2:  # trust region (rad)
                    dq *= 0.2 / step
                d.qpos[self.qadr[leg]] += dq
        return err_norm
