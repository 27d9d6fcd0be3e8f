"""``Isaac-G1-Mimic-v0``: the tracking task specialised to the Unitree G1 29-DoF."""

from __future__ import annotations

import logging

from isaaclab.managers import RewardTermCfg as RewTerm
from isaaclab.utils import configclass
from isaaclab_newton.physics import NewtonCfg

from g1_mimic.data import DEFAULT_CLIP, bundled_motion
from g1_mimic.device import cuda_available
from g1_mimic.robots.g1 import G1_ACTION_SCALE, G1_CFG
from g1_mimic.robots.g1_constants import (
    ANCHOR_BODY,
    END_EFFECTOR_BODIES,
    FEET_BODIES,
    HAND_BODIES,
    PD_LAG_S,
    TRACKED_BODIES,
)

from ... import mdp
from ...mimic_env_cfg import (
    DistillObservationsPresetCfg,
    MimicBodiesCfg,
    MimicEnvCfg,
    MimicPhysicsCfg,
    preset_alternatives,
)

logger = logging.getLogger(__name__)

_ANKLE_LINKS = [r"left_ankle_.*_link", r"right_ankle_.*_link"]

#: The G1's bodies as the task's terms name them (BeyondMimic's tracked bodies and thresholds; MimicKit's
#: key bodies and allowed contacts on the G1).
G1_BODIES = MimicBodiesCfg(
    anchor=ANCHOR_BODY,
    tracked=list(TRACKED_BODIES),
    feet=list(FEET_BODIES),
    end_effectors=list(END_EFFECTOR_BODIES),
    # DeepMimic/MimicKit key bodies: ankles, torso (carries the head), wrists
    key_bodies=[*FEET_BODIES, "torso_link", *HAND_BODIES],
    penalty_free_contacts=[*FEET_BODIES, *HAND_BODIES],
    supports=list(_ANKLE_LINKS),  # VideoMimic: only the feet; add the hands here to allow them
    mimickit_supports=["left_knee_link", "right_knee_link", *_ANKLE_LINKS],
)
_CPU_NOTICE_SHOWN = False


def announce_cpu_once() -> None:
    """Say once per process that the task falls back to the CPU."""
    global _CPU_NOTICE_SHOWN
    if not _CPU_NOTICE_SHOWN:
        print(
            "[g1_mimic] No CUDA device: Isaac-G1-Mimic-v0 runs on the CPU (sim.device=cpu, CUDA graphs off, "
            "agent.device=cpu, CPU-sized defaults, physics preset mujoco_cpu unless presets= names another).",
            flush=True,
        )
        _CPU_NOTICE_SHOWN = True


@configclass
class G1MimicEnvCfg(MimicEnvCfg):
    """G1 tracking env: BeyondMimic's bodies, gains, action scales and thresholds."""

    bodies: MimicBodiesCfg = G1_BODIES

    def __post_init__(self):
        super().__post_init__()
        self.scene.robot = G1_CFG.replace(prim_path="{ENV_REGEX_NS}/Robot")
        for actions in preset_alternatives(self.actions):
            actions.joint_pos.scale = dict(G1_ACTION_SCALE)
        self.commands.motion.motion_file = str(bundled_motion(DEFAULT_CLIP))
        if not cuda_available():
            self.apply_cpu_defaults()

    def apply_cpu_defaults(self) -> None:
        """CPU device, no CUDA graphs, the fastest CPU physics preset, and a scene sized for a 2-core machine.

        The physics default becomes ``mujoco_cpu`` (MuJoCo C per env, several times the env-steps/s of
        ``newton_mjwarp`` on CPU with the same model and contact settings; parity tests in
        ``tests/test_mujoco_cpu.py``, numbers in ``docs/performance.md``); ``presets=newton_mjwarp``
        still selects MuJoCo-Warp.
        """
        announce_cpu_once()
        self.sim.device = "cpu"
        if isinstance(self.sim.physics, MimicPhysicsCfg):
            self.sim.physics.default = self.sim.physics.mujoco_cpu
        for physics in preset_alternatives(self.sim.physics):
            if isinstance(physics, NewtonCfg):
                physics.use_cuda_graph = False
        self.scene.num_envs = 64


@configclass
class G1MimicPlayEnvCfg(G1MimicEnvCfg):
    """Play/evaluation variant: few envs, no randomisation or pushes, every episode from frame 0."""

    def __post_init__(self):
        super().__post_init__()
        self.play_mode()


@configclass
class G1MimicCPULearnEnvCfg(G1MimicEnvCfg):
    """``Isaac-G1-Mimic-CPU-Learn-v0``: the task sized for learning on a 2-core CPU in under an hour.

    Changes from the default (each measured against it, see ``docs/performance.md``):
    PD targets as offsets from the reference (``ReferenceJointPositionAction``), led by the servos' lag
    (velocity feed-forward); no pushes and no
    startup randomisation; reference-state init without velocity/joint noise and with small pose
    noise; penalties (action rate, joint limits, undesired contacts) at a tenth of their weight;
    a fifth of the resets at frame 0 of the clip, with episodes long enough to play any clip through
    (they end at the clip's end plus its tail); the global anchor reward at std 0.1 m (BeyondMimic: 0.3)
    beside BeyondMimic's 0.3 m term, and actor observations without noise, which hold the body to its
    place in the world; adaptive tracking (PBHC: the body position/orientation rewards' std shrink to the
    error reached; ``presets=no_curriculum`` turns it off); training episodes that drift 0.2 m off the
    reference in the world fail (PHC; ``presets=no_drift_termination`` turns it off); 128 envs on CPU.
    """

    def __post_init__(self):
        super().__post_init__()
        # reference offsets by default; presets=default_pose selects BeyondMimic's default-pose offsets.
        # The offset leads the reference by one step plus the servos' lag (its velocity fed forward): with
        # one step only, a 9 rad/s arm swing trails by ~0.6 rad and the wrist ends 0.25 m off (JazzWalk)
        self.actions.ref_actions.joint_pos.lead_s = self.decimation * self.sim.dt + PD_LAG_S
        self.actions.default = self.actions.ref_actions
        self.remove_perturbations()
        # some training episodes play the clip from its start, as evaluation does, and meet the deviations
        # that build up over a whole clip; the limit only caps them (motion_finished ends them at the clip end)
        self.commands.motion.frame0_share = 0.2
        self.episode_length_s = 40.0
        rewards = self.rewards.default  # BeyondMimic's set (presets=deepmimic has no penalties or anchor term)
        for term in (rewards.action_rate_l2, rewards.joint_limit, rewards.undesired_contacts):
            term.weight *= 0.1
        # 0.3 m pays 0.83 of the term at 13 cm off, and the body drifts off the reference in the world
        rewards.motion_global_anchor_pos.params["std"] = 0.1
        # ... but 0.1 m pays (and teaches) nothing past ~0.2 m, where a walking clip's body drifts: BeyondMimic's
        # 0.3 m kernel beside it pulls the body back from there
        rewards.motion_global_anchor_pos_far = RewTerm(
            func=mdp.motion_global_anchor_position_error_exp, weight=0.5, params={"command_name": "motion", "std": 0.3}
        )
        # the body rewards' std follow the error reached (PBHC; measured in docs/performance.md, section 5)
        self.curriculum.default = self.curriculum.adaptive_tracking
        # a training episode fails when the body drifts 0.2 m off the reference's place in the world (PHC), as
        # the world-frame MPKPE counts it; play, evaluation and export drop it (drop_training_only)
        drift = self.terminations.default.body_drift
        drift.default = drift.drift_termination
        if not cuda_available():
            # 128 envs x 24 steps on mujoco_cpu: the most samples/s per update of the counts measured
            # (docs/performance.md, section 3)
            self.scene.num_envs = 128

    def remove_perturbations(self) -> None:
        """No pushes, no start-up randomisation (friction, COM, default-joint offsets), no observation noise,
        and reference-state init with small pose noise (±2 cm, ±0.05 rad yaw) and no velocity or joint noise."""
        for events in preset_alternatives(self.events):
            events.push_robot = None
            events.physics_material = None
            events.add_joint_default_pos = None
            events.base_com = None
        for observations in preset_alternatives(self.observations):
            observations.policy.enable_corruption = False  # no observation noise (±0.25 m on the anchor position)
        cmd = self.commands.motion
        cmd.pose_range = {"x": (-0.02, 0.02), "y": (-0.02, 0.02), "yaw": (-0.05, 0.05)}
        cmd.velocity_range = {}
        cmd.joint_position_range = (0.0, 0.0)


@configclass
class G1MimicCPURobustEnvCfg(G1MimicCPULearnEnvCfg):
    """``Isaac-G1-Mimic-CPU-Robust-v0``: the CPU learning task with the default task's perturbations kept:
    velocity pushes every 1-3 s, friction, torso-COM and default-joint-offset randomisation at start-up,
    and BeyondMimic's reference-state-init noise (pose, velocity, joints), for policies that survive
    pushes in sim2sim (issue 14, point 4). Everything else as ``Isaac-G1-Mimic-CPU-Learn-v0``."""

    def remove_perturbations(self) -> None:
        """Keep them all."""


@configclass
class G1MimicCPUDistillEnvCfg(G1MimicCPULearnEnvCfg):
    """``Isaac-G1-Mimic-CPU-Distill-v0``: the CPU learning task plus the ``expert_route`` observation group
    (each env's clip index), which routes multi-expert distillation's teacher; the student sees the
    actor's group only, so its checkpoints play, evaluate and export as ``Isaac-G1-Mimic-CPU-Learn-v0``
    policies."""

    observations = DistillObservationsPresetCfg()
