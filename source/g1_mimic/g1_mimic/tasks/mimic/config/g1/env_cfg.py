"""``Isaac-G1-Mimic-v0``: the tracking task specialised to the Unitree G1 29-DoF."""

from __future__ import annotations

import logging

import torch
from isaaclab.utils import configclass
from isaaclab_tasks.utils import PresetCfg

from g1_mimic.data import DEFAULT_CLIP, bundled_motion
from g1_mimic.robots.g1 import G1_ACTION_SCALE, G1_CFG
from g1_mimic.robots.g1_constants import ANCHOR_BODY, END_EFFECTOR_BODIES, FEET_BODIES, TRACKED_BODIES

from ...mimic_env_cfg import DeepMimicTerminationsCfg, DistillObservationsPresetCfg, MimicEnvCfg, MimicPhysicsCfg

logger = logging.getLogger(__name__)

#: DeepMimic/MimicKit key bodies on the G1: ankles, torso (carries the head), wrists.
DEEPMIMIC_KEY_BODIES = ("left_ankle_roll_link", "right_ankle_roll_link", "torso_link", "left_wrist_yaw_link", "right_wrist_yaw_link")
_CPU_NOTICE_SHOWN = False


def cuda_available() -> bool:
    """True when torch sees a CUDA device."""
    return torch.cuda.is_available()


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


def _alternatives(cfg) -> list:
    """The alternatives of a PresetCfg (all of them), or ``[cfg]`` for a plain cfg."""
    if isinstance(cfg, PresetCfg):
        return [getattr(cfg, name) for name in cfg.__dataclass_fields__ if not name.startswith("_")]
    return [cfg]


@configclass
class G1MimicEnvCfg(MimicEnvCfg):
    """G1 tracking env: BeyondMimic's bodies, gains, action scales and thresholds."""

    def __post_init__(self):
        super().__post_init__()
        self.scene.robot = G1_CFG.replace(prim_path="{ENV_REGEX_NS}/Robot")
        for actions in _alternatives(self.actions):
            actions.joint_pos.scale = dict(G1_ACTION_SCALE)
        cmd = self.commands.motion
        cmd.motion_file = str(bundled_motion(DEFAULT_CLIP))
        cmd.anchor_body_name = ANCHOR_BODY
        cmd.body_names = list(TRACKED_BODIES)
        cmd.contact_body_names = list(FEET_BODIES)
        for events in _alternatives(self.events):
            events.base_com.params["asset_cfg"].body_names = [ANCHOR_BODY]
        for rewards in _alternatives(self.rewards):
            if hasattr(rewards, "undesired_contacts"):
                rewards.undesired_contacts.params["sensor_cfg"].body_names = [
                    r"^(?!left_ankle_roll_link$)(?!right_ankle_roll_link$)(?!left_wrist_yaw_link$)(?!right_wrist_yaw_link$).+$"
                ]
            if hasattr(rewards, "feet_contact_match"):
                rewards.feet_contact_match.params["sensor_cfg"].body_names = list(FEET_BODIES)
            if hasattr(rewards, "key_body_pos"):
                rewards.key_body_pos.params["body_names"] = list(DEEPMIMIC_KEY_BODIES)
        for terminations in _alternatives(self.terminations):
            if hasattr(terminations, "ee_body_pos"):
                terminations.ee_body_pos.params["body_names"] = list(END_EFFECTOR_BODIES)
            if isinstance(terminations, DeepMimicTerminationsCfg):
                # MimicKit's allowed contact bodies on the G1: knees and the ankle (foot) links
                terminations.illegal_contact.params["sensor_cfg"].body_names = [
                    r"^(?!left_knee_link$)(?!right_knee_link$)(?!left_ankle_.*_link$)(?!right_ankle_.*_link$).+$"
                ]
            elif hasattr(terminations, "illegal_contact"):
                # VideoMimic: only the feet may touch (ankle links); add hands by editing this regex
                terminations.illegal_contact.params["sensor_cfg"].body_names = [
                    r"^(?!left_ankle_.*_link$)(?!right_ankle_.*_link$).+$"
                ]
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
        for physics in _alternatives(self.sim.physics):
            if hasattr(physics, "use_cuda_graph"):
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
    PD targets as offsets from the reference (``ReferenceJointPositionAction``); no pushes and no
    startup randomisation; reference-state init without velocity/joint noise and with small pose
    noise; penalties (action rate, joint limits, undesired contacts) at a tenth of their weight;
    a fifth of the resets at frame 0 of the clip, with episodes long enough to play any clip through
    (they end at the clip's end plus its tail); the global anchor reward at std 0.1 m (BeyondMimic: 0.3)
    and actor observations without noise, which hold the body to its place in the world; 128 envs on CPU.
    """

    def __post_init__(self):
        super().__post_init__()
        # reference offsets by default; presets=default_pose selects BeyondMimic's default-pose offsets
        self.actions.default = self.actions.ref_actions
        self.remove_perturbations()
        # some training episodes play the clip from its start, as evaluation does, and meet the deviations
        # that build up over a whole clip; the limit only caps them (motion_finished ends them at the clip end)
        self.commands.motion.frame0_share = 0.2
        self.episode_length_s = 40.0
        for rewards in _alternatives(self.rewards):
            for name in ("action_rate_l2", "joint_limit", "undesired_contacts"):
                if hasattr(rewards, name):
                    getattr(rewards, name).weight *= 0.1
            if hasattr(rewards, "motion_global_anchor_pos"):
                # 0.3 m pays 0.83 of the term at 13 cm off, and the body drifts off the reference in the world
                rewards.motion_global_anchor_pos.params["std"] = 0.1
        if not cuda_available():
            # 128 envs x 24 steps on mujoco_cpu: ~1.5 s per PPO iteration on 2 cores, the most samples/s
            # per update of the counts measured (64: 0.86 s for half the samples; docs/performance.md)
            self.scene.num_envs = 128

    def remove_perturbations(self) -> None:
        """No pushes, no start-up randomisation (friction, COM, default-joint offsets), no observation noise,
        and reference-state init with small pose noise (±2 cm, ±0.05 rad yaw) and no velocity or joint noise."""
        for events in _alternatives(self.events):
            events.push_robot = None
            events.physics_material = None
            events.add_joint_default_pos = None
            events.base_com = None
        for observations in _alternatives(self.observations):
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
