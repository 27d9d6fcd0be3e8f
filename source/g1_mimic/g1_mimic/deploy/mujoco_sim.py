"""The G1 in plain MuJoCo C for sim2sim: MuJoCo's own integrator and contacts, PD from the contract.

The model is ``g1_sim.xml`` (:data:`g1_mimic.assets.G1_SIM_MJCF`: the collision model with a floor
and one position actuator per joint, implicitfast, elliptic cones). Everything the policy was
trained with is overwritten from the deploy contract, so a wrong contract shows up here as on the
robot: the time step (``physics_dt``), and per joint the PD stiffness and damping, the effort
limit and the armature.

PD modes (applied at every physics step, ``decimation`` steps per control step):

* ``"actuator"`` (default): MuJoCo position actuators ``tau = kp (target - q) - kd qd`` clipped to
  the effort limit; MuJoCo's implicitfast integrator treats the damping implicitly, as Isaac Lab's
  implicit actuators do;
* ``"torque"``: the same law evaluated explicitly in numpy each physics step and applied as motor
  torques (what a torque-controlled robot stack does).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import mujoco
import numpy as np

from g1_mimic import assets
from g1_mimic.motion import quat as Q

from .contract import ContractError, failure_conditions
from .state import RobotState

__all__ = ["MujocoG1"]

PD_MODES = ("actuator", "torque")


class MujocoG1:
    """A MuJoCo G1 driven by joint position targets in the contract's joint order.

    Args:
        contract: a validated deploy contract.
        mjcf: the MJCF to load (default ``g1_sim.xml``).
        pd: ``"actuator"`` or ``"torque"`` (module docstring).
        friction: if given, the sliding friction coefficient of every geom (floor and robot);
            MuJoCo uses the larger of the two geoms' coefficients in a contact.

    Raises:
        ContractError: the model lacks a contract joint or body (named).
    """

    def __init__(
        self,
        contract: Mapping[str, Any],
        mjcf: str | Path | None = None,
        pd: str = "actuator",
        friction: float | None = None,
    ):
        if pd not in PD_MODES:
            raise ValueError(f"pd must be one of {PD_MODES}, got {pd!r}")
        path = Path(mjcf) if mjcf is not None else assets.require(assets.G1_SIM_MJCF)
        self.model = mujoco.MjModel.from_xml_path(str(path))
        self.data = mujoco.MjData(self.model)
        m = self.model
        self.pd = pd
        self.joint_names: tuple[str, ...] = tuple(contract["joint_names"])
        model_joints = [m.joint(i).name for i in range(m.njnt)]
        missing = [j for j in self.joint_names if j not in model_joints]
        if missing:
            raise ContractError("joint_names", f"joints {missing} are not in the MuJoCo model {path}")
        jid = [model_joints.index(j) for j in self.joint_names]
        self._qadr = np.array([m.jnt_qposadr[j] for j in jid], dtype=np.int64)
        self._dadr = np.array([m.jnt_dofadr[j] for j in jid], dtype=np.int64)
        act_of_joint = {int(m.actuator_trnid[a, 0]): a for a in range(m.nu)}
        no_act = [self.joint_names[i] for i, j in enumerate(jid) if j not in act_of_joint]
        if no_act:
            raise ContractError("joint_names", f"joints {no_act} have no actuator in {path}")
        self._act = np.array([act_of_joint[j] for j in jid], dtype=np.int64)
        body_names = [m.body(i).name for i in range(m.nbody)]
        needed = {
            "robot.root_body": [contract["robot"]["root_body"]],
            "robot.anchor_body": [contract["robot"]["anchor_body"]],
        }
        needed["robot.tracked_bodies"] = list(contract["robot"]["tracked_bodies"])
        #: the end effectors the policy's failure check measures (RobotState.body_pos_w)
        self.failure_bodies: list[str] = list(failure_conditions(contract)[0].get("ee_body_pos", {}).get("body_names", []))
        needed["terminations.ee_body_pos.body_names"] = self.failure_bodies
        for field, names in needed.items():
            absent = [b for b in names if b not in body_names]
            if absent:
                raise ContractError(field, f"bodies {absent} are not in the MuJoCo model {path}")
        self._body_id = {b: i for i, b in enumerate(body_names)}
        self.root_body = contract["robot"]["root_body"]
        self.anchor_body = contract["robot"]["anchor_body"]
        root = self._body_id[self.root_body]
        if m.body_jntnum[root] != 1 or m.jnt_type[m.body_jntadr[root]] != mujoco.mjtJoint.mjJNT_FREE:
            raise ContractError("robot.root_body", f"{self.root_body!r} is not the free-floating body of {path}")
        self._root_q = int(m.jnt_qposadr[m.body_jntadr[root]])
        self._root_v = int(m.jnt_dofadr[m.body_jntadr[root]])
        if (
            self._root_q != 0
            or m.nq != 7 + (m.njnt - 1)
            or any(m.jnt_type[j] != mujoco.mjtJoint.mjJNT_HINGE for j in range(1, m.njnt))
        ):
            raise ContractError("robot.root_body", f"{path}: expected a free root joint first, then hinge joints only")
        #: Hinge joint names in ``qpos[7:]`` order (the model's, = Unitree SDK order for the G1).
        self.model_joint_names: tuple[str, ...] = tuple(model_joints[1:])

        # ---- the contract overrides the model --------------------------------------------------
        joints = contract["joints"]
        self.kp = np.asarray(joints["stiffness"], dtype=np.float64)
        self.kd = np.asarray(joints["damping"], dtype=np.float64)
        self.effort = np.asarray(joints["effort_limit"], dtype=np.float64)
        m.opt.timestep = float(contract["physics_dt"])
        self.decimation = int(contract["decimation"])
        m.dof_armature[self._dadr] = np.asarray(joints["armature"], dtype=np.float64)
        for i, a in enumerate(self._act):
            m.actuator_gaintype[a] = mujoco.mjtGain.mjGAIN_FIXED
            m.actuator_biastype[a] = mujoco.mjtBias.mjBIAS_AFFINE
            m.actuator_gainprm[a, :] = 0.0
            m.actuator_biasprm[a, :] = 0.0
            m.actuator_forcelimited[a] = 1
            m.actuator_forcerange[a] = (-self.effort[i], self.effort[i])
            m.actuator_ctrllimited[a] = 0
            if pd == "actuator":
                m.actuator_gainprm[a, 0] = self.kp[i]
                m.actuator_biasprm[a, 1] = -self.kp[i]
                m.actuator_biasprm[a, 2] = -self.kd[i]
            else:
                m.actuator_gainprm[a, 0] = 1.0  # ctrl is the torque
        if friction is not None:
            m.geom_friction[:, 0] = float(friction)
        self._target = np.zeros(len(self.joint_names))
        self.time = 0.0

    # ------------------------------------------------------------------------------------ state
    def reset(
        self,
        root_pos_w: Sequence[float],
        root_quat_w: Sequence[float],
        root_lin_vel_w: Sequence[float],
        root_ang_vel_w: Sequence[float],
        joint_pos: np.ndarray,
        joint_vel: np.ndarray,
    ) -> None:
        """Place the robot: root pose/velocity (world, xyzw, velocity of the root frame origin) and joints (policy order)."""
        m, d = self.model, self.data
        mujoco.mj_resetData(m, d)
        q = Q.normalize(np.asarray(root_quat_w, dtype=np.float64))
        d.qpos[self._root_q : self._root_q + 3] = root_pos_w
        d.qpos[self._root_q + 3 : self._root_q + 7] = Q.xyzw_to_wxyz(q)
        d.qvel[self._root_v : self._root_v + 3] = root_lin_vel_w
        d.qvel[self._root_v + 3 : self._root_v + 6] = Q.rotate(
            Q.conjugate(q), np.asarray(root_ang_vel_w, dtype=np.float64)
        )
        d.qpos[self._qadr] = joint_pos
        d.qvel[self._dadr] = joint_vel
        self._target = np.asarray(joint_pos, dtype=np.float64).copy()
        self.time = 0.0
        mujoco.mj_forward(m, d)

    def state(self) -> RobotState:
        """The robot state as the deploy runtime reads it (joints in the contract's policy order)."""
        d = self.data
        q = Q.wxyz_to_xyzw(d.qpos[self._root_q + 3 : self._root_q + 7].copy())
        anchor = self._body_id[self.anchor_body]
        return RobotState(
            root_pos_w=d.qpos[self._root_q : self._root_q + 3].copy(),
            root_quat_w=q,
            root_lin_vel_w=d.qvel[self._root_v : self._root_v + 3].copy(),
            root_ang_vel_w=Q.rotate(q, d.qvel[self._root_v + 3 : self._root_v + 6].copy()),
            joint_pos=d.qpos[self._qadr].copy(),
            joint_vel=d.qvel[self._dadr].copy(),
            anchor_pos_w=d.xpos[anchor].copy(),
            anchor_quat_w=Q.wxyz_to_xyzw(d.xquat[anchor].copy()),
            joint_names=self.joint_names,
            body_pos_w={b: d.xpos[self._body_id[b]].copy() for b in self.failure_bodies},
        )

    def body_pos(self, names: Sequence[str]) -> np.ndarray:
        """World positions ``[len(names), 3]`` (m) of body frame origins."""
        return np.stack([self.data.xpos[self._body_id[n]].copy() for n in names])

    def body_quat(self, name: str) -> np.ndarray:
        """World orientation (xyzw) of one body."""
        return Q.wxyz_to_xyzw(self.data.xquat[self._body_id[name]].copy())

    @property
    def qpos(self) -> np.ndarray:
        """A copy of MuJoCo's generalised positions."""
        return self.data.qpos.copy()

    def is_finite(self) -> bool:
        """False once the simulation diverged (NaN/inf in positions or velocities)."""
        return bool(np.all(np.isfinite(self.data.qpos)) and np.all(np.isfinite(self.data.qvel)))

    def push(self, delta_lin_vel_w: Sequence[float]) -> None:
        """Add ``delta_lin_vel_w`` (m/s, world) to the root's linear velocity (a shove)."""
        self.data.qvel[self._root_v : self._root_v + 3] += np.asarray(delta_lin_vel_w, dtype=np.float64)

    # ------------------------------------------------------------------------------------- step
    def step(self, joint_pos_target: np.ndarray) -> None:
        """Hold the targets (rad, policy order) for one control step: ``decimation`` physics steps."""
        m, d = self.model, self.data
        self._target = np.asarray(joint_pos_target, dtype=np.float64)
        for _ in range(self.decimation):
            if self.pd == "actuator":
                d.ctrl[self._act] = self._target
            else:
                tau = self.kp * (self._target - d.qpos[self._qadr]) - self.kd * d.qvel[self._dadr]
                d.ctrl[self._act] = np.clip(tau, -self.effort, self.effort)
            mujoco.mj_step(m, d)
        # mj_step leaves the body poses (xpos, xquat) at the last substep's start; the anchor pose the policy
        # reads and the errors must be the robot's now, as Newton's forward kinematics after each step gives
        mujoco.mj_kinematics(m, d)
        self.time += self.decimation * m.opt.timestep
