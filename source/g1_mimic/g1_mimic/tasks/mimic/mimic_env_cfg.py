"""The motion-tracking task, declared as term configs (robot-agnostic; the G1 specialises it).

BeyondMimic parity by default: 50 Hz control (sim dt 0.005 s, decimation 4), reference-state
initialisation with noise, adaptive start-time sampling, six exp-kernel tracking rewards plus
action-rate, joint-limit and undesired-contact penalties, four terminations (plus clip end and
non-finite state), friction/COM/joint-offset randomisation and velocity pushes.
"""

from __future__ import annotations

from dataclasses import MISSING

import isaaclab.sim as sim_utils
from isaaclab.assets import ArticulationCfg
from isaaclab.envs import ManagerBasedRLEnvCfg
from isaaclab.managers import CurriculumTermCfg as CurrTerm
from isaaclab.managers import EventTermCfg as EventTerm
from isaaclab.managers import ObservationGroupCfg as ObsGroup
from isaaclab.managers import ObservationTermCfg as ObsTerm
from isaaclab.managers import RewardTermCfg as RewTerm
from isaaclab.managers import SceneEntityCfg
from isaaclab.managers import TerminationTermCfg as DoneTerm
from isaaclab.physics import PhysxAutoCfg
from isaaclab.scene import InteractiveSceneCfg
from isaaclab.sensors import ContactSensorCfg
from isaaclab.sim import SimulationCfg
from isaaclab.terrains import TerrainImporterCfg
from isaaclab.utils import configclass
from isaaclab.utils.noise import UniformNoiseCfg as Unoise
from isaaclab_newton.physics import MJWarpSolverCfg, NewtonCfg
from isaaclab_ov.physics import OvPhysxCfg
from isaaclab_physx.physics import PhysxCfg
from isaaclab_tasks.utils import PresetCfg

from g1_mimic import assets
from g1_mimic.physics import MJWarpCPUGraphSolverCfg, MuJoCoCPUSolverCfg

from . import mdp

VELOCITY_RANGE = {
    "x": (-0.5, 0.5),
    "y": (-0.5, 0.5),
    "z": (-0.2, 0.2),
    "roll": (-0.52, 0.52),
    "pitch": (-0.52, 0.52),
    "yaw": (-0.78, 0.78),
}


def preset_alternatives(cfg) -> list:
    """Every alternative of a :class:`PresetCfg` (what ``presets=`` may select), or ``[cfg]`` for a plain cfg."""
    if isinstance(cfg, PresetCfg):
        return [getattr(cfg, name) for name in cfg.__dataclass_fields__ if not name.startswith("_")]
    return [cfg]


def all_bodies_but(patterns: list[str]) -> list[str]:
    """A body-name selection of every body except those fully matching one of ``patterns`` (regexes)."""
    return ["^" + "".join(f"(?!{p}$)" for p in patterns) + ".+$"]


@configclass
class MimicBodiesCfg:
    """The robot's bodies the task's terms name; a robot cfg fills it once (``MimicEnvCfg.bodies``) and
    :meth:`MimicEnvCfg.bind_bodies` hands each name list to the terms of every preset alternative when the
    cfg is built (a Hydra override of ``env.bodies`` comes too late: override the term's own parameter,
    e.g. ``env.terminations.ee_body_pos.params.body_names=[...]``, or give the robot cfg other bodies)."""

    anchor: str = MISSING
    """The tracking anchor (BeyondMimic: the torso); its COM is randomised at start-up."""
    tracked: list[str] = MISSING
    """The bodies whose poses are tracked (rewards, observations, metrics)."""
    feet: list[str] = MISSING
    """The feet, in the order of the clips' contact labels (contact matching)."""
    end_effectors: list[str] = MISSING
    """Feet and hands: their height error ends an episode (``ee_body_pos``)."""
    key_bodies: list[str] = MISSING
    """DeepMimic / MimicKit key bodies (``key_body_pos`` reward)."""
    penalty_free_contacts: list[str] = MISSING
    """Bodies (regexes) whose contacts the ``undesired_contacts`` penalty ignores (BeyondMimic: feet, hands)."""
    supports: list[str] = MISSING
    """Bodies (regexes) that may touch the ground under VideoMimic's ``illegal_contact`` rule (the feet)."""
    mimickit_supports: list[str] = MISSING
    """Bodies (regexes) that may touch under MimicKit's contact termination (feet and knees)."""


#: MuJoCo settings shared by every Newton preset (one G1 on flat ground; see :class:`MimicPhysicsCfg`).
_G1_MUJOCO_SOLVER = dict(
    njmax=400, nconmax=64, cone="elliptic", impratio=10.0, integrator="implicitfast", use_mujoco_contacts=True
)


@configclass
class MimicPhysicsCfg(PresetCfg):
    """Physics presets (select with ``presets=<name>``): Newton MuJoCo-Warp by default; ``mujoco_cpu`` steps
    the same MuJoCo model with MuJoCo C per env on the CPU; ``newton_mjwarp_cpu_graph`` replays MuJoCo-Warp's
    CPU steps from Warp CPU graphs; ``physx`` picks PhysX through Isaac Sim when Kit runs
    (``isaacsim_physx``) or Omniverse PhysX otherwise (``ovphysx``), as Isaac Lab 3.0's own tasks do.

    Newton contact buffers are sized for one G1 on flat ground: 14 foot capsules plus a few body
    contacts per world (``nconmax`` 64, ``njmax`` 400); smaller buffers drop contacts and the robot
    sinks through the floor.
    """

    newton_mjwarp = NewtonCfg(
        solver_cfg=MJWarpSolverCfg(**_G1_MUJOCO_SOLVER),
        num_substeps=1,
        debug_mode=False,
    )
    mujoco_cpu = NewtonCfg(
        solver_cfg=MuJoCoCPUSolverCfg(**_G1_MUJOCO_SOLVER),
        num_substeps=1,
        debug_mode=False,
        use_cuda_graph=False,
    )
    """The MuJoCo-Warp preset's model and settings, integrated by MuJoCo C: every env stepped by ``mj_step``
    in a thread pool, with its own model parameters (CPU only; :mod:`g1_mimic.physics`)."""
    newton_mjwarp_cpu_graph = NewtonCfg(
        solver_cfg=MJWarpCPUGraphSolverCfg(**_G1_MUJOCO_SOLVER),
        num_substeps=1,
        debug_mode=False,
        use_cuda_graph=False,
    )
    """``newton_mjwarp`` with each CPU physics step replayed from a recorded Warp CPU graph (bit-identical
    results, fewer Python launches; :mod:`g1_mimic.physics.cpu_graph`)."""
    isaacsim_physx = PhysxCfg(gpu_max_rigid_patch_count=10 * 2**15)
    ovphysx = OvPhysxCfg(gpu_max_rigid_patch_count=10 * 2**15)
    physx = PhysxAutoCfg(isaacsim_physx=isaacsim_physx, ovphysx=ovphysx)
    default = newton_mjwarp


@configclass
class MimicSceneCfg(InteractiveSceneCfg):
    """Flat ground (local USD), the robot and a contact sensor on all its bodies."""

    terrain = TerrainImporterCfg(
        prim_path="/World/ground",
        terrain_type="usd",
        usd_path=str(assets.GROUND_USD),
        collision_group=-1,
        physics_material=sim_utils.RigidBodyMaterialCfg(
            friction_combine_mode="multiply",
            restitution_combine_mode="multiply",
            static_friction=1.0,
            dynamic_friction=1.0,
        ),
        visual_material=None,
        debug_vis=False,
    )
    robot: ArticulationCfg = MISSING
    contact_forces = ContactSensorCfg(prim_path="{ENV_REGEX_NS}/Robot/.*", history_length=3, track_air_time=False)
    """Net contact forces of every robot body, updated every physics step, the last 3 kept (BeyondMimic's
    sensor). Air/contact times are not tracked: no term reads them, and the sensor updates 4 times per env
    step (set ``track_air_time=True`` for a term that uses ``current_air_time`` and friends)."""


@configclass
class CommandsCfg:
    motion = mdp.MotionCommandCfg(
        asset_name="robot",
        motion_file=MISSING,
        anchor_body_name=MISSING,
        body_names=MISSING,
        pose_range={"x": (-0.05, 0.05), "y": (-0.05, 0.05), "z": (-0.01, 0.01), "roll": (-0.1, 0.1), "pitch": (-0.1, 0.1), "yaw": (-0.2, 0.2)},
        velocity_range=VELOCITY_RANGE,
        joint_position_range=(-0.1, 0.1),
        tail_s=2.0,
        tail_mode="hold",
        debug_vis=False,
    )


@configclass
class ActionsCfg:
    """PD targets as offsets from the default standing pose (BeyondMimic)."""

    joint_pos = mdp.RealisticJointPositionActionCfg(asset_name="robot", joint_names=[".*"], scale=0.5, use_default_offset=True)


@configclass
class ReferenceActionsCfg:
    """PD targets as offsets from the reference joint positions (``presets=ref_actions``)."""

    joint_pos = mdp.ReferenceJointPositionActionCfg(asset_name="robot", joint_names=[".*"], scale=0.5, command_name="motion")


@configclass
class ActionsPresetCfg(PresetCfg):
    """Action parameterisation: ``default`` (default-pose offsets), ``ref_actions`` (reference offsets), or
    ``default_pose`` (default-pose offsets by name, for tasks whose ``default`` is another alternative)."""

    default = ActionsCfg()
    ref_actions = ReferenceActionsCfg()
    default_pose = ActionsCfg()


@configclass
class ObservationsCfg:
    @configclass
    class PolicyCfg(ObsGroup):
        """Actor observations (BeyondMimic): 160 dims for the G1."""

        command = ObsTerm(func=mdp.generated_commands, params={"command_name": "motion"})
        motion_anchor_pos_b = ObsTerm(
            func=mdp.motion_anchor_pos_b, params={"command_name": "motion"}, noise=Unoise(n_min=-0.25, n_max=0.25)
        )
        motion_anchor_ori_b = ObsTerm(
            func=mdp.motion_anchor_ori_b, params={"command_name": "motion"}, noise=Unoise(n_min=-0.05, n_max=0.05)
        )
        base_lin_vel = ObsTerm(func=mdp.base_lin_vel, noise=Unoise(n_min=-0.5, n_max=0.5))
        base_ang_vel = ObsTerm(func=mdp.base_ang_vel, noise=Unoise(n_min=-0.2, n_max=0.2))
        joint_pos = ObsTerm(func=mdp.joint_pos_rel, noise=Unoise(n_min=-0.01, n_max=0.01))
        joint_vel = ObsTerm(func=mdp.joint_vel_rel, noise=Unoise(n_min=-0.5, n_max=0.5))
        actions = ObsTerm(func=mdp.last_action)

        def __post_init__(self):
            self.enable_corruption = True
            self.concatenate_terms = True

    @configclass
    class CriticCfg(ObsGroup):
        """Privileged critic observations: the actor's (noise-free) plus the tracked body poses."""

        command = ObsTerm(func=mdp.generated_commands, params={"command_name": "motion"})
        motion_anchor_pos_b = ObsTerm(func=mdp.motion_anchor_pos_b, params={"command_name": "motion"})
        motion_anchor_ori_b = ObsTerm(func=mdp.motion_anchor_ori_b, params={"command_name": "motion"})
        body_pos = ObsTerm(func=mdp.robot_body_pos_b, params={"command_name": "motion"})
        body_ori = ObsTerm(func=mdp.robot_body_ori_b, params={"command_name": "motion"})
        base_lin_vel = ObsTerm(func=mdp.base_lin_vel)
        base_ang_vel = ObsTerm(func=mdp.base_ang_vel)
        joint_pos = ObsTerm(func=mdp.joint_pos_rel)
        joint_vel = ObsTerm(func=mdp.joint_vel_rel)
        actions = ObsTerm(func=mdp.last_action)

        def __post_init__(self):
            self.enable_corruption = False
            self.concatenate_terms = True

    policy: PolicyCfg = PolicyCfg()
    critic: CriticCfg = CriticCfg()


@configclass
class FutureObservationsCfg(ObservationsCfg):
    """MimicKit-style observations (``presets=future_obs``): the default groups plus the reference at the
    next 1, 2 and 3 control steps (joint positions, anchor pose in the robot anchor frame)."""

    @configclass
    class FuturePolicyCfg(ObservationsCfg.PolicyCfg):
        future_reference = ObsTerm(func=mdp.future_reference, params={"command_name": "motion", "offsets": (1, 2, 3)})

    @configclass
    class FutureCriticCfg(ObservationsCfg.CriticCfg):
        future_reference = ObsTerm(func=mdp.future_reference, params={"command_name": "motion", "offsets": (1, 2, 3)})

    policy: FuturePolicyCfg = FuturePolicyCfg()
    critic: FutureCriticCfg = FutureCriticCfg()


@configclass
class ObservationsPresetCfg(PresetCfg):
    """Observation layout: ``default`` (BeyondMimic) or ``future_obs`` (plus MimicKit's future reference frames)."""

    default = ObservationsCfg()
    future_obs = FutureObservationsCfg()


@configclass
class ExpertRouteCfg(ObsGroup):
    """Each env's clip index (distillation routes it to the clip's expert; no policy sees it)."""

    clip_index = ObsTerm(func=mdp.motion_clip_index, params={"command_name": "motion"})

    def __post_init__(self):
        self.enable_corruption = False
        self.concatenate_terms = True


@configclass
class DistillObservationsCfg(ObservationsCfg):
    """The default groups plus ``expert_route`` (multi-expert distillation)."""

    expert_route: ExpertRouteCfg = ExpertRouteCfg()


@configclass
class DistillFutureObservationsCfg(FutureObservationsCfg):
    """``future_obs`` plus ``expert_route`` (multi-expert distillation)."""

    expert_route: ExpertRouteCfg = ExpertRouteCfg()


@configclass
class DistillObservationsPresetCfg(PresetCfg):
    """:class:`ObservationsPresetCfg` with the ``expert_route`` group in each layout."""

    default = DistillObservationsCfg()
    future_obs = DistillFutureObservationsCfg()


@configclass
class AssistPresetCfg(PresetCfg):
    """The training-only root assist: none (``default``) or, with ``presets=assist`` (composes with every
    events alternative), :class:`~.mdp.assist_wrench`: a PD wrench on the root toward the reference root
    (up to 200 N and 100 N m) that starts at full strength and falls by 5 % every 10 PPO iterations
    (240 env steps) while the training success rate is above 0.6 (rises below 0.3). Play, evaluation
    and export remove it."""

    default: EventTerm | None = None
    assist: EventTerm = EventTerm(
        func=mdp.assist_wrench,
        mode="interval",
        interval_range_s=(0.0, 0.0),
        is_global_time=True,
        params={
            "command_name": "motion",
            "kp": 1000.0,
            "kd": 200.0,
            "kp_rot": 200.0,
            "kd_rot": 10.0,
            "max_force": 200.0,
            "max_torque": 100.0,
            "start_scale": 1.0,
            "step": 0.05,
            "success_low": 0.3,
            "success_high": 0.6,
            "interval_steps": 240,
        },
    )


@configclass
class EventCfg:
    # startup
    physics_material = EventTerm(
        func=mdp.randomize_rigid_body_material,
        mode="startup",
        params={
            "asset_cfg": SceneEntityCfg("robot", body_names=".*"),
            "static_friction_range": (0.3, 1.6),
            "dynamic_friction_range": (0.3, 1.2),
            "restitution_range": (0.0, 0.5),
            "num_buckets": 64,
        },
    )
    add_joint_default_pos = EventTerm(
        func=mdp.randomize_joint_default_pos,
        mode="startup",
        params={"asset_cfg": SceneEntityCfg("robot", joint_names=[".*"]), "pos_range": (-0.01, 0.01)},
    )
    base_com = EventTerm(
        func=mdp.randomize_rigid_body_com,
        mode="startup",
        params={
            "asset_cfg": SceneEntityCfg("robot", body_names=MISSING),
            "com_range": {"x": (-0.025, 0.025), "y": (-0.05, 0.05), "z": (-0.05, 0.05)},
        },
    )
    # interval
    push_robot = EventTerm(
        func=mdp.push_by_setting_velocity,
        mode="interval",
        interval_range_s=(1.0, 3.0),
        params={"velocity_range": VELOCITY_RANGE},
    )
    # training-only help, off unless presets=assist
    assist = AssistPresetCfg()

    def bind(self, bodies: MimicBodiesCfg) -> None:
        """The robot's bodies into the terms that name them (the anchor's COM is randomised)."""
        self.base_com.params["asset_cfg"].body_names = [bodies.anchor]


@configclass
class ActuationEventCfg(EventCfg):
    """The default events plus randomised PD gains / motor strength (``presets=gain_randomization``):
    stiffness and damping of every joint scaled by U(0.9, 1.1) per env at start-up (HumanoidVerse)."""

    actuator_gains = EventTerm(
        func=mdp.randomize_actuator_gains,
        mode="startup",
        params={
            "asset_cfg": SceneEntityCfg("robot", joint_names=[".*"]),
            "stiffness_distribution_params": (0.9, 1.1),
            "damping_distribution_params": (0.9, 1.1),
            "operation": "scale",
            "distribution": "uniform",
        },
    )


@configclass
class EventsPresetCfg(PresetCfg):
    """Events: ``default`` (BeyondMimic's) or ``gain_randomization`` (plus randomised PD gains)."""

    default = EventCfg()
    gain_randomization = ActuationEventCfg()


@configclass
class FeetContactMatchPresetCfg(PresetCfg):
    """VideoMimic's contact matching: none (``default``) or, with ``presets=contacts`` (composes with every
    reward set), the fraction of the feet whose contact (> 1 N) agrees with the reference's contact label,
    weight 0.5."""

    default: RewTerm | None = None
    contacts: RewTerm = RewTerm(
        func=mdp.feet_contact_match,
        weight=0.5,
        params={
            "command_name": "motion",
            "sensor_cfg": SceneEntityCfg("contact_forces", body_names=MISSING, preserve_order=True),
            "threshold": 1.0,
        },
    )


@configclass
class RewardsCfg:
    motion_global_anchor_pos = RewTerm(
        func=mdp.motion_global_anchor_position_error_exp, weight=0.5, params={"command_name": "motion", "std": 0.3}
    )
    motion_global_anchor_ori = RewTerm(
        func=mdp.motion_global_anchor_orientation_error_exp, weight=0.5, params={"command_name": "motion", "std": 0.4}
    )
    motion_body_pos = RewTerm(
        func=mdp.motion_relative_body_position_error_exp, weight=1.0, params={"command_name": "motion", "std": 0.3}
    )
    motion_body_ori = RewTerm(
        func=mdp.motion_relative_body_orientation_error_exp, weight=1.0, params={"command_name": "motion", "std": 0.4}
    )
    motion_body_lin_vel = RewTerm(
        func=mdp.motion_global_body_linear_velocity_error_exp, weight=1.0, params={"command_name": "motion", "std": 1.0}
    )
    motion_body_ang_vel = RewTerm(
        func=mdp.motion_global_body_angular_velocity_error_exp, weight=1.0, params={"command_name": "motion", "std": 3.14}
    )
    action_rate_l2 = RewTerm(func=mdp.action_rate_l2, weight=-0.1)
    joint_limit = RewTerm(func=mdp.joint_pos_limits, weight=-10.0, params={"asset_cfg": SceneEntityCfg("robot", joint_names=[".*"])})
    undesired_contacts = RewTerm(
        func=mdp.undesired_contacts,
        weight=-0.1,
        params={"sensor_cfg": SceneEntityCfg("contact_forces", body_names=MISSING), "threshold": 1.0},
    )
    feet_contact_match = FeetContactMatchPresetCfg()

    def bind(self, bodies: MimicBodiesCfg) -> None:
        """The robot's bodies into the terms that name them."""
        self.undesired_contacts.params["sensor_cfg"].body_names = all_bodies_but(bodies.penalty_free_contacts)
        self.feet_contact_match.contacts.params["sensor_cfg"].body_names = list(bodies.feet)


@configclass
class DeepMimicRewardsCfg:
    """DeepMimic / MimicKit reward set (``presets=deepmimic``): weights sum to 1, each term 1 on the reference."""

    pose = RewTerm(func=mdp.deepmimic_pose_reward, weight=0.5, params={"command_name": "motion", "scale": 0.25})
    joint_vel = RewTerm(func=mdp.deepmimic_joint_velocity_reward, weight=0.1, params={"command_name": "motion", "scale": 0.01})
    root_pose = RewTerm(func=mdp.deepmimic_root_pose_reward, weight=0.15, params={"command_name": "motion", "scale": 5.0})
    root_vel = RewTerm(func=mdp.deepmimic_root_velocity_reward, weight=0.1, params={"command_name": "motion", "scale": 1.0})
    key_body_pos = RewTerm(
        func=mdp.deepmimic_key_body_position_reward,
        weight=0.15,
        params={"command_name": "motion", "scale": 10.0, "body_names": MISSING},
    )
    feet_contact_match = FeetContactMatchPresetCfg()

    def bind(self, bodies: MimicBodiesCfg) -> None:
        """The robot's bodies into the terms that name them."""
        self.key_body_pos.params["body_names"] = list(bodies.key_bodies)
        self.feet_contact_match.contacts.params["sensor_cfg"].body_names = list(bodies.feet)


@configclass
class RewardsPresetCfg(PresetCfg):
    """Reward set: ``default`` (BeyondMimic) or ``deepmimic`` (DeepMimic / MimicKit)."""

    default = RewardsCfg()
    deepmimic = DeepMimicRewardsCfg()


@configclass
class IllegalContactPresetCfg(PresetCfg):
    """VideoMimic's contact termination: none (``default``) or, with ``presets=contacts``, an episode ends
    when a body other than the supports (``MimicBodiesCfg.supports``: the feet) has contact force > 1 N."""

    default: DoneTerm | None = None
    contacts: DoneTerm = DoneTerm(
        func=mdp.illegal_body_contact, params={"sensor_cfg": SceneEntityCfg("contact_forces", body_names=MISSING), "threshold": 1.0}
    )


@configclass
class BodyDriftPresetCfg(PresetCfg):
    """PHC's world-frame termination, for training only: none (``default``; ``drift_termination`` in
    ``Isaac-G1-Mimic-CPU-Learn-v0``; ``no_drift_termination``) or, with ``presets=drift_termination``, an
    episode ends when the tracked bodies are on average more than 0.2 m from the reference's in the world
    (the step's MPKPE), so a body that drifts off the reference's place on the floor fails, as the
    world-frame MPKPE counts it, instead of earning the rest of the episode. Play, evaluation and export drop
    it (:func:`g1_mimic.rl.session.drop_training_only`): policies are judged by the same conditions whatever
    they were trained with."""

    default: DoneTerm | None = None
    no_drift_termination: DoneTerm | None = None
    drift_termination: DoneTerm = DoneTerm(func=mdp.bad_mean_body_pos, params={"command_name": "motion", "threshold": 0.2})


@configclass
class TerminationsCfg:
    time_out = DoneTerm(func=mdp.time_out, time_out=True)
    motion_finished = DoneTerm(func=mdp.motion_finished, params={"command_name": "motion"}, time_out=True)
    anchor_pos = DoneTerm(func=mdp.bad_anchor_pos_z_only, params={"command_name": "motion", "threshold": 0.25})
    anchor_ori = DoneTerm(func=mdp.bad_anchor_ori, params={"command_name": "motion", "threshold": 0.8})
    ee_body_pos = DoneTerm(
        func=mdp.bad_motion_body_pos_z_only, params={"command_name": "motion", "threshold": 0.25, "body_names": MISSING}
    )
    nonfinite_state = DoneTerm(func=mdp.nonfinite_state)
    illegal_contact = IllegalContactPresetCfg()
    body_drift = BodyDriftPresetCfg()

    def bind(self, bodies: MimicBodiesCfg) -> None:
        """The robot's bodies into the terms that name them."""
        self.ee_body_pos.params["body_names"] = list(bodies.end_effectors)
        self.illegal_contact.contacts.params["sensor_cfg"].body_names = all_bodies_but(bodies.supports)


@configclass
class DeepMimicTerminationsCfg:
    """MimicKit's terminations (``presets=deepmimic``): a tracked body more than 1 m off, contact of a body
    other than the allowed ones, clip end, time-out."""

    time_out = DoneTerm(func=mdp.time_out, time_out=True)
    motion_finished = DoneTerm(func=mdp.motion_finished, params={"command_name": "motion"}, time_out=True)
    pose_error = DoneTerm(func=mdp.deepmimic_pose_error_too_large, params={"command_name": "motion", "threshold": 1.0})
    illegal_contact = DoneTerm(
        func=mdp.illegal_body_contact, params={"sensor_cfg": SceneEntityCfg("contact_forces", body_names=MISSING), "threshold": 1.0}
    )
    """MimicKit allows contacts of the feet and knees only (``MimicBodiesCfg.mimickit_supports``)."""
    nonfinite_state = DoneTerm(func=mdp.nonfinite_state)

    def bind(self, bodies: MimicBodiesCfg) -> None:
        """The robot's bodies into the terms that name them."""
        self.illegal_contact.params["sensor_cfg"].body_names = all_bodies_but(bodies.mimickit_supports)


@configclass
class PelvisProtocolTerminationsCfg:
    """The evaluation rule of the recent literature (BONES-SEED protocol; ``scripts/evaluate.py --protocol
    pelvis``): an episode fails when the pelvis height is off the reference by more than 0.25 m or its tilt
    by more than 0.8 rad; end effectors and the torso are not checked. Not a training cfg."""

    time_out = DoneTerm(func=mdp.time_out, time_out=True)
    motion_finished = DoneTerm(func=mdp.motion_finished, params={"command_name": "motion"}, time_out=True)
    pelvis_height = DoneTerm(func=mdp.bad_root_height, params={"command_name": "motion", "threshold": 0.25})
    pelvis_tilt = DoneTerm(func=mdp.bad_root_tilt, params={"command_name": "motion", "threshold": 0.8})
    nonfinite_state = DoneTerm(func=mdp.nonfinite_state)


@configclass
class TerminationsPresetCfg(PresetCfg):
    """Terminations: ``default`` (BeyondMimic's four) or ``deepmimic`` (pose error > 1 m)."""

    default = TerminationsCfg()
    deepmimic = DeepMimicTerminationsCfg()


@configclass
class NoCurriculumCfg:
    """No curriculum (the default): every termination uses its cfg threshold from the start."""


@configclass
class AdaptiveTerminationCurriculumCfg:
    """ASAP/PBHC-style termination curriculum (``presets=adaptive_termination``): the anchor-height and
    end-effector-height thresholds start at 2x their values and tighten by 10 % of the gap every 10 PPO
    iterations (240 env steps) while the training success rate is above 0.6 (loosen below 0.3)."""

    termination = CurrTerm(
        func=mdp.adaptive_termination,
        params={
            "term_names": ["anchor_pos", "ee_body_pos"],
            "command_name": "motion",
            "start_scale": 2.0,
            "step": 0.1,
            "success_low": 0.3,
            "success_high": 0.6,
            "interval_steps": 240,
            "signal": "success",
        },
    )


def _tracking_std(world: bool = False) -> CurrTerm:
    """PBHC's adaptive tracking term: the body position and orientation rewards' std shrink to the
    episode-averaged error reached (floors 3 cm, 0.1 rad), every 10 PPO iterations (240 env steps) while the
    training success rate is at least 0.5; ``world``: the global anchor position reward's std too (floor 3 cm)."""
    terms = {"motion_body_pos": "body_pos", "motion_body_ori": "body_rot"}
    floors = {"motion_body_pos": 0.03, "motion_body_ori": 0.1}
    if world:
        terms["motion_global_anchor_pos"] = "anchor_pos"
        floors["motion_global_anchor_pos"] = 0.03
    return CurrTerm(
        func=mdp.adaptive_reward_std,
        params={
            "terms": terms,
            "floors": floors,
            "command_name": "motion",
            "success_min": 0.5,
            "min_episode_s": 0.0,
            "interval_steps": 240,
        },
    )


@configclass
class AdaptiveTrackingCurriculumCfg:
    """PBHC-style adaptive tracking (``presets=adaptive_tracking``): the body position and orientation
    rewards' std shrink to the episode-averaged error the policy reaches (never grow; floors 3 cm and
    0.1 rad), updated every 10 PPO iterations (240 env steps) while the training success rate is at
    least 0.5."""

    tracking_std = _tracking_std()


@configclass
class AdaptiveWorldTrackingCurriculumCfg:
    """Adaptive tracking of the body and of its place in the world (``presets=adaptive_world_tracking``): as
    :class:`AdaptiveTrackingCurriculumCfg`, and the global anchor position reward's std (0.1 m in
    ``Isaac-G1-Mimic-CPU-Learn-v0``, 0.3 m in BeyondMimic's set) shrinks with them to the episode-averaged anchor
    error (floor 3 cm). The body rewards compare re-anchored bodies, blind to where the body stands; the world-frame
    MPKPE counts that drift, and only the anchor terms pay against it."""

    tracking_std = _tracking_std(world=True)


@configclass
class AdaptiveTrackingDriftCurriculumCfg:
    """Adaptive tracking with a drift rule that starts loose (``presets=adaptive_tracking_drift``; the task needs
    the drift termination, ``Isaac-G1-Mimic-CPU-Learn-v0``'s default): as :class:`AdaptiveTrackingCurriculumCfg`,
    and the drift threshold starts at 2.5x its cfg value (0.5 m, PHC's) and, every 10 PPO iterations, moves by
    10 % of the gap toward its cfg value (0.2 m) while the rule ends under 30 % of the episodes that ended,
    back while it ends over 60 % (:class:`~g1_mimic.tasks.mimic.mdp.curriculums.adaptive_termination` with
    ``signal="own_share"``). On a clip that travels a long way the fixed 0.2 m rule ends 80-97 % of the training
    episodes for most of an hour (Move18: docs/performance.md, section 5)."""

    tracking_std = _tracking_std()
    drift_threshold = CurrTerm(
        func=mdp.adaptive_termination,
        params={
            "term_names": ["body_drift"],
            "command_name": "motion",
            "start_scale": 2.5,
            "step": 0.1,
            "success_low": 0.4,
            "success_high": 0.7,
            "interval_steps": 240,
            "signal": "own_share",
        },
    )


@configclass
class CurriculumPresetCfg(PresetCfg):
    """Curriculum: ``default`` (none; ``adaptive_tracking`` in ``Isaac-G1-Mimic-CPU-Learn-v0``),
    ``no_curriculum``, ``adaptive_termination`` (:class:`AdaptiveTerminationCurriculumCfg`),
    ``adaptive_tracking`` (:class:`AdaptiveTrackingCurriculumCfg`), ``adaptive_world_tracking``
    (:class:`AdaptiveWorldTrackingCurriculumCfg`) or ``adaptive_tracking_drift``
    (:class:`AdaptiveTrackingDriftCurriculumCfg`)."""

    default = NoCurriculumCfg()
    no_curriculum = NoCurriculumCfg()
    adaptive_termination = AdaptiveTerminationCurriculumCfg()
    adaptive_tracking = AdaptiveTrackingCurriculumCfg()
    adaptive_world_tracking = AdaptiveWorldTrackingCurriculumCfg()
    adaptive_tracking_drift = AdaptiveTrackingDriftCurriculumCfg()


@configclass
class MimicEnvCfg(ManagerBasedRLEnvCfg):
    """Motion-tracking environment; a robot cfg fills the MISSING robot-specific fields."""

    sim: SimulationCfg = SimulationCfg(physics=MimicPhysicsCfg())
    scene: MimicSceneCfg = MimicSceneCfg(num_envs=4096, env_spacing=2.5)
    observations: ObservationsCfg = ObservationsPresetCfg()
    actions: ActionsCfg = ActionsPresetCfg()
    commands: CommandsCfg = CommandsCfg()
    rewards: RewardsCfg = RewardsPresetCfg()
    terminations: TerminationsCfg = TerminationsPresetCfg()
    events: EventCfg = EventsPresetCfg()
    curriculum: object = CurriculumPresetCfg()

    bodies: MimicBodiesCfg = MISSING
    """The robot's bodies the terms name (filled by the robot cfg; :meth:`bind_bodies`)."""

    clip_reward_at_zero: bool = False
    """Clip each step's total reward at zero (legged_gym's ``only_positive_rewards``)."""

    def __post_init__(self):
        self.decimation = 4
        self.episode_length_s = 10.0
        self.sim.dt = 0.005
        self.sim.render_interval = self.decimation
        self.sim.physics_material = self.scene.terrain.physics_material
        self.scene.contact_forces.update_period = self.sim.dt
        self.viewer.eye = (1.5, 1.5, 1.5)
        self.viewer.origin_type = "asset_root"
        self.viewer.asset_name = "robot"
        if self.bodies is not MISSING:
            self.bind_bodies()

    def bind_bodies(self) -> None:
        """Hand :attr:`bodies` to the motion command and to the terms of every reward, termination and event
        alternative (each family's ``bind``), so that whichever ``presets=`` selects is complete."""
        cmd = self.commands.motion
        cmd.anchor_body_name = self.bodies.anchor
        cmd.body_names = list(self.bodies.tracked)
        cmd.contact_body_names = list(self.bodies.feet)
        for group in (self.rewards, self.terminations, self.events):
            for family in preset_alternatives(group):
                family.bind(self.bodies)

    def play_mode(self):
        """Few envs, no randomisation, pushes or observation noise; every episode starts at frame 0."""
        super().play_mode()
        # the base class reaches groups of a plain observations cfg only: also those of each preset alternative
        for obs_cfg in preset_alternatives(self.observations):
            for group_name in obs_cfg.__dataclass_fields__:
                group = getattr(obs_cfg, group_name)
                if isinstance(group, ObsGroup):
                    group.enable_corruption = False
        self.scene.num_envs = min(self.scene.num_envs, 16)
        for ev in preset_alternatives(self.events):
            ev.push_robot = None
            ev.physics_material = None
            ev.add_joint_default_pos = None
            ev.base_com = None
            ev.assist = None
            if isinstance(ev, ActuationEventCfg):
                ev.actuator_gains = None
        cmd = self.commands.motion
        cmd.pose_range = {}
        cmd.velocity_range = {}
        cmd.joint_position_range = (0.0, 0.0)
        cmd.start_at_zero = True
        cmd.displaced_share = 0.0
        cmd.sampling = "uniform"
        cmd.debug_vis = True


