"""Unitree G1 (29 DoF) constants shared by every part of g1_mimic.

Pure Python (no Isaac Lab, no torch) so the motion tools, the deploy runtime and the Isaac Lab
articulation cfg all read one source of truth.

Actuator model (BeyondMimic, reproduced by mjlab): each joint is a PD position servo whose gains
come from the motor's reflected (armature) inertia ``J`` with natural frequency 10 Hz and damping
ratio 2: ``K = J * w**2``, ``D = 2 * zeta * J * w`` with ``w = 2 * pi * 10``. The policy's action
scale per joint is ``0.25 * effort_limit / K`` (rad per unit action).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

#: Joint names in Unitree SDK order (the order of the URDF/MJCF and of the LAFAN1 G1 CSVs).
SDK_JOINT_NAMES: tuple[str, ...] = (
    "left_hip_pitch_joint",
    "left_hip_roll_joint",
    "left_hip_yaw_joint",
    "left_knee_joint",
    "left_ankle_pitch_joint",
    "left_ankle_roll_joint",
    "right_hip_pitch_joint",
    "right_hip_roll_joint",
    "right_hip_yaw_joint",
    "right_knee_joint",
    "right_ankle_pitch_joint",
    "right_ankle_roll_joint",
    "waist_yaw_joint",
    "waist_roll_joint",
    "waist_pitch_joint",
    "left_shoulder_pitch_joint",
    "left_shoulder_roll_joint",
    "left_shoulder_yaw_joint",
    "left_elbow_joint",
    "left_wrist_roll_joint",
    "left_wrist_pitch_joint",
    "left_wrist_yaw_joint",
    "right_shoulder_pitch_joint",
    "right_shoulder_roll_joint",
    "right_shoulder_yaw_joint",
    "right_elbow_joint",
    "right_wrist_roll_joint",
    "right_wrist_pitch_joint",
    "right_wrist_yaw_joint",
)

#: The 23-DoF G1 lacks waist roll/pitch and wrist pitch/yaw; its CSV joint order (SDK order minus those).
G1_23DOF_JOINT_NAMES: tuple[str, ...] = tuple(
    n
    for n in SDK_JOINT_NAMES
    if n not in ("waist_roll_joint", "waist_pitch_joint")
    and not re.fullmatch(r".*_wrist_(pitch|yaw)_joint", n)
)

#: HumanoidVerse/ASAP's 23-DoF G1 (``g1_29dof_anneal_23dof``): the 29-DoF SDK order without the six
#: wrist joints (legs 12, waist yaw/roll/pitch, per arm shoulder pitch/roll/yaw and elbow).
ASAP_23DOF_JOINT_NAMES: tuple[str, ...] = tuple(n for n in SDK_JOINT_NAMES if "_wrist_" not in n)

#: Root body of the floating base.
ROOT_BODY = "pelvis"
#: BeyondMimic's anchor body.
ANCHOR_BODY = "torso_link"
#: BeyondMimic's 14 tracked bodies.
TRACKED_BODIES: tuple[str, ...] = (
    "pelvis",
    "left_hip_roll_link",
    "left_knee_link",
    "left_ankle_roll_link",
    "right_hip_roll_link",
    "right_knee_link",
    "right_ankle_roll_link",
    "torso_link",
    "left_shoulder_roll_link",
    "left_elbow_link",
    "left_wrist_yaw_link",
    "right_shoulder_roll_link",
    "right_elbow_link",
    "right_wrist_yaw_link",
)
FEET_BODIES: tuple[str, ...] = ("left_ankle_roll_link", "right_ankle_roll_link")
HAND_BODIES: tuple[str, ...] = ("left_wrist_yaw_link", "right_wrist_yaw_link")
#: End effectors used by BeyondMimic's end-effector height termination and evaluation.
END_EFFECTOR_BODIES: tuple[str, ...] = FEET_BODIES + HAND_BODIES

NATURAL_FREQ = 10.0 * 2.0 * math.pi  # rad/s
DAMPING_RATIO = 2.0
#: How far a G1 servo trails a target moving at constant speed, D / K = 2 zeta / w (s); the same for every
#: joint, since both gains scale with the armature. Leading a moving target by it is velocity feed-forward
#: (``tau = K (q* - q) + D (qd* - qd)``, the SDK's ``dq`` field) written as a position target.
PD_LAG_S = 2.0 * DAMPING_RATIO / NATURAL_FREQ


@dataclass(frozen=True)
class Motor:
    """One G1 motor type: reflected inertia (kg m^2), effort (N m) and velocity (rad/s) limits."""

    name: str
    armature: float
    effort_limit: float
    velocity_limit: float

    @property
    def stiffness(self) -> float:
        """PD stiffness K = J w^2 (N m / rad)."""
        return self.armature * NATURAL_FREQ**2

    @property
    def damping(self) -> float:
        """PD damping D = 2 zeta J w (N m s / rad)."""
        return 2.0 * DAMPING_RATIO * self.armature * NATURAL_FREQ

    @property
    def action_scale(self) -> float:
        """Action scale 0.25 * effort / K (rad per unit action)."""
        return 0.25 * self.effort_limit / self.stiffness


MOTOR_7520_14 = Motor("7520-14", 0.010177520, 88.0, 32.0)
MOTOR_7520_22 = Motor("7520-22", 0.025101925, 139.0, 20.0)
MOTOR_5020_X2 = Motor("2x5020", 0.007219450, 50.0, 37.0)
MOTOR_5020 = Motor("5020", 0.003609725, 25.0, 37.0)
MOTOR_4010 = Motor("4010", 0.004250000, 5.0, 22.0)

#: Joint-name regex -> motor. Every G1 joint matches exactly one entry.
MOTOR_OF_JOINT: dict[str, Motor] = {
    r".*_hip_pitch_joint": MOTOR_7520_14,
    r".*_hip_yaw_joint": MOTOR_7520_14,
    r"waist_yaw_joint": MOTOR_7520_14,
    r".*_hip_roll_joint": MOTOR_7520_22,
    r".*_knee_joint": MOTOR_7520_22,
    r".*_ankle_(pitch|roll)_joint": MOTOR_5020_X2,
    r"waist_(roll|pitch)_joint": MOTOR_5020_X2,
    r".*_shoulder_(pitch|roll|yaw)_joint": MOTOR_5020,
    r".*_elbow_joint": MOTOR_5020,
    r".*_wrist_roll_joint": MOTOR_5020,
    r".*_wrist_(pitch|yaw)_joint": MOTOR_4010,
}


def motor_of(joint_name: str) -> Motor:
    """Return the motor driving ``joint_name``; raise ``KeyError`` for an unknown joint."""
    hits = [m for pat, m in MOTOR_OF_JOINT.items() if re.fullmatch(pat, joint_name)]
    if len(hits) != 1:
        raise KeyError(f"joint {joint_name!r} is not a G1 29-DoF joint (matched {len(hits)} motor groups)")
    return hits[0]


#: BeyondMimic's default standing pose (rad); joints not listed are 0.
DEFAULT_JOINT_POS: dict[str, float] = {
    ".*_hip_pitch_joint": -0.312,
    ".*_knee_joint": 0.669,
    ".*_ankle_pitch_joint": -0.363,
    ".*_elbow_joint": 0.6,
    "left_shoulder_roll_joint": 0.2,
    "left_shoulder_pitch_joint": 0.2,
    "right_shoulder_roll_joint": -0.2,
    "right_shoulder_pitch_joint": 0.2,
}
#: Pelvis height (m) of the default standing pose with the feet flat on the ground.
DEFAULT_ROOT_HEIGHT = 0.76


def default_joint_pos(joint_name: str) -> float:
    """Default standing angle (rad) of one joint, from :data:`DEFAULT_JOINT_POS`."""
    for pat, val in DEFAULT_JOINT_POS.items():
        if re.fullmatch(pat, joint_name):
            return val
    return 0.0
