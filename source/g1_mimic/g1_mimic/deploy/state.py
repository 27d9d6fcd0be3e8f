"""The robot state the deploy runtime reads, in the form a robot stack has it.

Frames and units: world frame = the frame the reference motion is played in (the motion file's
world, or the robot's odometry frame after :meth:`~g1_mimic.deploy.graph_runtime.GraphRuntime.align`),
z up, metres, radians, quaternions **xyzw**. The root is the floating-base body (``pelvis`` on the
G1); the anchor is the body the reference is anchored to (``torso_link``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from g1_mimic.motion import quat as R

__all__ = ["AnchorKinematics", "RobotState"]


def _vec(x, n: int, name: str) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64).reshape(-1)
    if a.shape != (n,):
        raise ValueError(f"RobotState.{name} must hold {n} values, got shape {np.shape(x)}")
    return a


@dataclass
class RobotState:
    """One measurement of the robot.

    Attributes:
        root_pos_w: ``[3]`` root (pelvis) frame origin, world (m).
        root_quat_w: ``[4]`` root orientation, world, xyzw.
        root_lin_vel_w: ``[3]`` linear velocity of the root frame **origin**, world (m/s). (The
            runtime converts it to the root centre-of-mass velocity the policy was trained with.)
        root_ang_vel_w: ``[3]`` root angular velocity, world (rad/s).
        joint_pos: ``[J]`` joint angles (rad) in :attr:`joint_names` order.
        joint_vel: ``[J]`` joint velocities (rad/s) in :attr:`joint_names` order.
        anchor_pos_w: ``[3]`` anchor (torso) frame origin, world (m).
        anchor_quat_w: ``[4]`` anchor orientation, world, xyzw.
        joint_names: order of ``joint_pos``/``joint_vel``; None means the runtime's robot joint
            order (by default the contract's policy order).
        body_pos_w: ``{body: [3]}`` world positions (m) of the bodies the policy's failure check
            measures (:attr:`GraphRuntime.ee_bodies <g1_mimic.deploy.graph_runtime.GraphRuntime.ee_bodies>`:
            ankles and wrists on the G1); :meth:`AnchorKinematics.body_pos_w` computes them.
    """

    root_pos_w: np.ndarray
    root_quat_w: np.ndarray
    root_lin_vel_w: np.ndarray
    root_ang_vel_w: np.ndarray
    joint_pos: np.ndarray
    joint_vel: np.ndarray
    anchor_pos_w: np.ndarray
    anchor_quat_w: np.ndarray
    joint_names: tuple[str, ...] | None = field(default=None)
    body_pos_w: Mapping[str, np.ndarray] | None = field(default=None)

    def __post_init__(self) -> None:
        self.root_pos_w = _vec(self.root_pos_w, 3, "root_pos_w")
        self.root_quat_w = _vec(self.root_quat_w, 4, "root_quat_w")
        self.root_lin_vel_w = _vec(self.root_lin_vel_w, 3, "root_lin_vel_w")
        self.root_ang_vel_w = _vec(self.root_ang_vel_w, 3, "root_ang_vel_w")
        self.anchor_pos_w = _vec(self.anchor_pos_w, 3, "anchor_pos_w")
        self.anchor_quat_w = _vec(self.anchor_quat_w, 4, "anchor_quat_w")
        if self.body_pos_w is not None:
            self.body_pos_w = {str(b): _vec(p, 3, f"body_pos_w[{b!r}]") for b, p in self.body_pos_w.items()}
        self.joint_pos = np.asarray(self.joint_pos, dtype=np.float64).reshape(-1)
        self.joint_vel = np.asarray(self.joint_vel, dtype=np.float64).reshape(-1)
        if self.joint_pos.shape != self.joint_vel.shape:
            raise ValueError(
                f"RobotState: joint_pos {self.joint_pos.shape} and joint_vel {self.joint_vel.shape} differ"
            )
        if self.joint_names is not None:
            self.joint_names = tuple(self.joint_names)
            if len(self.joint_names) != self.joint_pos.shape[0]:
                raise ValueError(
                    f"RobotState: {len(self.joint_names)} joint_names for {self.joint_pos.shape[0]} joint values"
                )

    @classmethod
    def from_body_velocities(
        cls,
        root_pos_w: Sequence[float],
        root_quat_w: Sequence[float],
        root_lin_vel_b: Sequence[float],
        root_ang_vel_b: Sequence[float],
        joint_pos: Sequence[float],
        joint_vel: Sequence[float],
        anchor_pos_w: Sequence[float],
        anchor_quat_w: Sequence[float],
        joint_names: Sequence[str] | None = None,
        body_pos_w: Mapping[str, Sequence[float]] | None = None,
    ) -> RobotState:
        """Build a state from root velocities in the root frame (an IMU gyro, a body-frame velocity estimate)."""
        q = _vec(root_quat_w, 4, "root_quat_w")
        return cls(
            root_pos_w=np.asarray(root_pos_w, dtype=np.float64),
            root_quat_w=q,
            root_lin_vel_w=R.rotate(q, _vec(root_lin_vel_b, 3, "root_lin_vel_b")),
            root_ang_vel_w=R.rotate(q, _vec(root_ang_vel_b, 3, "root_ang_vel_b")),
            joint_pos=joint_pos,
            joint_vel=joint_vel,
            anchor_pos_w=anchor_pos_w,
            anchor_quat_w=anchor_quat_w,
            joint_names=tuple(joint_names) if joint_names is not None else None,
            body_pos_w=body_pos_w,
        )


class AnchorKinematics:
    """Anchor (torso) pose from the root pose and the joint angles by MuJoCo forward kinematics.

    For robot stacks that measure the pelvis (IMU) and the joints but not the torso pose. Uses the
    G1 collision model (:mod:`g1_mimic.assets`), the same kinematic tree the policy was trained on.
    """

    def __init__(self, anchor_body: str = "torso_link", mjcf: str | None = None):
        from g1_mimic.motion.kinematics import G1Kinematics

        self._kin = G1Kinematics(mjcf)
        self._anchor = int(self._kin.body_indices([anchor_body])[0])

    @property
    def joint_names(self) -> tuple[str, ...]:
        """The model's joint order (Unitree SDK order)."""
        return self._kin.joint_names

    def _bodies(
        self, root_pos_w: Sequence[float], root_quat_w: Sequence[float], joint_pos: Sequence[float], joint_names: Sequence[str]
    ) -> dict[str, np.ndarray]:
        """Forward kinematics of one state: ``body_pos_w [1, nbody, 3]``, ``body_quat_w [1, nbody, 4]``."""
        cols = {n: i for i, n in enumerate(joint_names)}
        missing = [n for n in self._kin.joint_names if n not in cols]
        if missing:
            raise KeyError(f"AnchorKinematics: joint_names lacks model joint(s) {missing}")
        q = np.asarray(joint_pos, dtype=np.float64)[[cols[n] for n in self._kin.joint_names]]
        qpos = self._kin.qpos(
            np.asarray(root_pos_w, dtype=np.float64)[None], np.asarray(root_quat_w, dtype=np.float64)[None], q[None]
        )
        return self._kin.forward(qpos)

    def anchor_pose(
        self,
        root_pos_w: Sequence[float],
        root_quat_w: Sequence[float],
        joint_pos: Sequence[float],
        joint_names: Sequence[str],
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(anchor_pos_w [3] m, anchor_quat_w [4] xyzw)`` for one state; joints mapped by ``joint_names``."""
        bodies = self._bodies(root_pos_w, root_quat_w, joint_pos, joint_names)
        return bodies["body_pos_w"][0, self._anchor], bodies["body_quat_w"][0, self._anchor]

    def body_pos_w(
        self,
        root_pos_w: Sequence[float],
        root_quat_w: Sequence[float],
        joint_pos: Sequence[float],
        joint_names: Sequence[str],
        bodies: Sequence[str],
    ) -> dict[str, np.ndarray]:
        """``{body: [3]}`` world positions (m) of ``bodies`` for one state (:attr:`RobotState.body_pos_w`)."""
        rows = self._kin.body_indices(list(bodies))
        pos = self._bodies(root_pos_w, root_quat_w, joint_pos, joint_names)["body_pos_w"][0]
        return {b: pos[r] for b, r in zip(bodies, rows, strict=True)}
