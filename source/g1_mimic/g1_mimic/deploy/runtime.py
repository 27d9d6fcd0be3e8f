"""The deploy runtime: ONNX policy + deploy contract + reference motion -> PD targets. numpy, onnxruntime, mujoco only.

Per control step (``contract["control_dt"]``, 50 Hz for the G1)::

    runtime = PolicyRuntime("exported/policy.onnx", motion="clip.npz")
    runtime.reset()
    t = 0.0
    while running:
        out = runtime.step(read_robot_state(), t)     # RobotState (see g1_mimic.deploy.state)
        send_pd(out.joint_pos_target_sdk, runtime.stiffness_sdk, runtime.damping_sdk)
        t += runtime.control_dt

:meth:`PolicyRuntime.step` builds the observation exactly as the training env (no noise), runs the
policy, keeps the action for the next observation's ``last_action`` term and returns the joint
position targets: ``target = offset + scale * filtered(action)``, where ``offset`` is the default
pose (``offset_kind="default_joint_pos"``) or the reference predicted to the end of the step
``q_ref(t) + control_dt * qd_ref(t)`` (``"reference_joint_pos"``), clipped if the contract says so.
The robot applies them with PD at the physics rate: ``tau = kp (target - q) - kd qd``, clipped to
the effort limits.

The runtime refuses (with :class:`~g1_mimic.deploy.contract.ContractError` naming the field) a
contract whose version it does not read, that is not self-consistent, whose dims do not match the
ONNX tensors, that differs from the contract embedded in the ONNX file, or whose joints are not
the robot's.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from g1_mimic.motion.format import Motion, load_motion

from .contract import (
    CONTRACT_FILENAME,
    OFFSET_REFERENCE,
    ContractError,
    check_format,
    check_matches_embedded,
    check_onnx_dims,
    check_robot_joints,
    contract_from_metadata,
    load_contract,
    validate_contract,
)
from .failures import BEYONDMIMIC_TERMINATIONS, FailureChecker
from .observations import ObservationBuilder
from .reference import ReferenceMotion
from .state import RobotState

__all__ = ["PolicyRuntime", "StepOutput", "load_policy_contract"]


@dataclass
class StepOutput:
    """What :meth:`PolicyRuntime.step` returns.

    Attributes:
        observation: ``[observation_dim]`` float32 policy input.
        action: ``[J]`` raw policy output (after ``raw_clip``), policy joint order.
        joint_pos_target: ``[J]`` PD position targets (rad), policy joint order (``contract["joint_names"]``).
        joint_pos_target_sdk: ``[29]`` the same targets in Unitree SDK motor order; motors the policy
            does not drive hold ``nan``.
    """

    observation: np.ndarray
    action: np.ndarray
    joint_pos_target: np.ndarray
    joint_pos_target_sdk: np.ndarray


def _onnx_width(shape: Sequence[Any]) -> int | None:
    last = shape[-1] if shape else None
    return int(last) if isinstance(last, int) else None


def load_policy_contract(
    policy: str | os.PathLike,
    contract: str | os.PathLike | Mapping[str, Any] | None = None,
    require_supported_terms: bool = True,
) -> tuple[Any, dict[str, Any]]:
    """Open the ONNX policy and its contract, and check them against each other.

    Args:
        policy: the exported ``policy.onnx``.
        contract: a contract file or dict; default ``policy.json`` beside the ONNX file, else the
            contract embedded in the ONNX metadata.
        require_supported_terms: refuse observation terms the runtime cannot compute.

    Checks, in this order (the first failure is raised, naming the field): the format and version;
    that the contract equals the one embedded in the ONNX file (when it has one); the contract's
    internal consistency (:func:`~g1_mimic.deploy.contract.validate_contract`); the observation and
    action widths against the ONNX input and output.

    Returns:
        ``(onnxruntime.InferenceSession, contract dict)``.

    Raises:
        ContractError: version, consistency, dims or a difference from the embedded contract (named).
        FileNotFoundError: no policy file, or no contract anywhere.
    """
    import onnxruntime as ort

    policy = Path(policy)
    if not policy.is_file():
        raise FileNotFoundError(f"{policy}: no such ONNX policy file")
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    try:
        session = ort.InferenceSession(str(policy), sess_options=opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types (InvalidProtobuf, Fail, ...)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ContractError("<file>", f"{policy} is not a loadable ONNX model ({first}); re-export it with scripts/play.py --export_only") from None
    embedded = contract_from_metadata(session.get_modelmeta().custom_metadata_map)
    if contract is None:
        beside = policy.with_name(CONTRACT_FILENAME)
        if beside.is_file():
            contract = beside
        elif embedded is not None:
            contract = embedded
        else:
            raise FileNotFoundError(f"{policy}: no {CONTRACT_FILENAME} beside it and no contract in its metadata")
    data = load_contract(contract) if not isinstance(contract, Mapping) else dict(contract)
    check_format(data)
    if embedded is not None:
        check_matches_embedded(data, embedded, str(policy))
    validate_contract(data, require_supported_terms=require_supported_terms)
    check_onnx_dims(
        data, _onnx_width(session.get_inputs()[0].shape), _onnx_width(session.get_outputs()[0].shape), str(policy)
    )
    return session, data


class PolicyRuntime:
    """Runs an exported tracking policy on robot states (see the module docstring).

    Args:
        policy: ``policy.onnx`` written by ``g1_mimic.rl.export``.
        motion: the reference clip (canonical ``.npz`` path or :class:`Motion`).
        contract: contract file or dict (default: ``policy.json`` beside the ONNX, else embedded).
        robot_joint_names: joint order of the :class:`RobotState` arrays (default: the contract's
            policy order); must be exactly the policy's joints.
        tail_mode: override the contract's reference tail (``"hold"``/``"blend"``) after the clip.

    Attributes:
        contract: the checked contract.
        joint_names / sdk_joint_names: policy and SDK joint orders.
        stiffness / damping / effort_limit: PD gains and limits, policy order; ``*_sdk`` in SDK order.
        control_dt: policy period (s).
        reference: the :class:`ReferenceMotion` (joints in the reference order of the contract).
        failures: a :class:`FailureChecker` with the env's failure conditions.
        obs_noise_scale: multiplies the training observation noise (0, the default, is the deploy
            setting; sim2sim uses it to test robustness); ``rng`` draws it.
    """

    def __init__(
        self,
        policy: str | os.PathLike,
        motion: str | os.PathLike | Motion,
        contract: str | os.PathLike | Mapping[str, Any] | None = None,
        robot_joint_names: Sequence[str] | None = None,
        tail_mode: str | None = None,
    ):
        self.session, self.contract = load_policy_contract(policy, contract)
        c = self.contract
        self.joint_names: tuple[str, ...] = tuple(c["joint_names"])
        self.sdk_joint_names: tuple[str, ...] = tuple(c["sdk_joint_names"])
        self.policy_to_sdk = np.asarray(c["policy_to_sdk"], dtype=np.int64)
        self.robot_joint_names: tuple[str, ...] = (
            tuple(robot_joint_names) if robot_joint_names is not None else self.joint_names
        )
        check_robot_joints(c, self.robot_joint_names, "the robot state (robot_joint_names)")
        self.control_dt = float(c["control_dt"])
        self.physics_dt = float(c["physics_dt"])
        joints = c["joints"]
        self.stiffness = np.asarray(joints["stiffness"], dtype=np.float64)
        self.damping = np.asarray(joints["damping"], dtype=np.float64)
        self.effort_limit = np.asarray(joints["effort_limit"], dtype=np.float64)
        self.default_joint_pos = np.asarray(joints["default_pos"], dtype=np.float64)
        self.stiffness_sdk = self.to_sdk(self.stiffness, fill=0.0)
        self.damping_sdk = self.to_sdk(self.damping, fill=0.0)
        action = c["action"]
        self.action_scale = np.asarray(action["scale"], dtype=np.float64)
        self.offset_kind: str = action["offset_kind"]
        self.action_offset = None if action.get("offset") is None else np.asarray(action["offset"], dtype=np.float64)
        self.target_clip = None if action.get("clip") is None else np.asarray(action["clip"], dtype=np.float64)
        self.raw_clip = action.get("raw_clip")
        self.filter_alpha = float(action.get("filter_alpha", 1.0))
        ref_cfg = c["reference"]
        if not isinstance(motion, Motion):
            motion = load_motion(motion)
        self.motion = motion
        bodies = [c["robot"]["anchor_body"], c["robot"]["root_body"], *c["robot"]["tracked_bodies"]]
        bodies += list(c["terminations"].get("ee_body_pos", {}).get("body_names", []))
        bodies += [b for b in BEYONDMIMIC_TERMINATIONS["ee_body_pos"]["body_names"] if b in motion.body_names]
        ref_joint_default = dict(zip(self.joint_names, self.default_joint_pos, strict=True))
        ref_joints = list(ref_cfg["joint_names"])
        self.reference = ReferenceMotion(
            motion,
            joint_names=ref_joints,
            body_names=bodies,
            tail_mode=tail_mode or ref_cfg.get("tail_mode", "hold"),
            tail_blend_time_s=float(ref_cfg.get("tail_blend_time_s", 0.0)),
            default_joint_pos=[ref_joint_default.get(j, 0.0) for j in ref_joints],
        )
        missing = [j for j in self.joint_names if j not in set(ref_joints)]
        if self.offset_kind == OFFSET_REFERENCE and missing:
            raise ContractError(
                "reference.joint_names", f"reference-offset actions need the reference of joints {missing}"
            )
        self._ref_cols = np.array([ref_joints.index(j) for j in self.joint_names if j in ref_joints], dtype=np.int64)
        self.observations = ObservationBuilder(c, self.reference, self.robot_joint_names)
        self.failures = FailureChecker(c)
        self._input_name = self.session.get_inputs()[0].name
        self.obs_noise_scale = 0.0
        self.rng = np.random.default_rng(0)
        self.last_action = np.zeros(len(self.joint_names))
        self._filtered = np.zeros(len(self.joint_names))

    # ------------------------------------------------------------------------------ conversions
    def to_sdk(self, values_policy_order: np.ndarray, fill: float = np.nan) -> np.ndarray:
        """Reorder ``[J]`` policy-order values into SDK motor order ``[len(sdk_joint_names)]`` (``fill`` elsewhere)."""
        out = np.full(len(self.sdk_joint_names), fill, dtype=np.float64)
        out[self.policy_to_sdk] = np.asarray(values_policy_order, dtype=np.float64)
        return out

    def from_sdk(self, values_sdk_order: np.ndarray) -> np.ndarray:
        """Pick the policy joints' values ``[J]`` out of an SDK-ordered array."""
        return np.asarray(values_sdk_order, dtype=np.float64)[self.policy_to_sdk]

    # ---------------------------------------------------------------------------------- episode
    def reset(self) -> None:
        """Start an episode: zero last action and filter state, empty observation history."""
        self.last_action = np.zeros(len(self.joint_names))
        self._filtered = np.zeros(len(self.joint_names))
        self.observations.reset()

    def observation_terms(self, state: RobotState, t: float) -> dict[str, np.ndarray]:
        """The current frame of every observation term (noise-free, clipped, scaled; no history), float64."""
        self._check_state(state)
        return self.observations.process(self.observations.raw_terms(self._ordered(state), t, self.last_action))

    def observation(self, state: RobotState, t: float, update_history: bool = True) -> np.ndarray:
        """The policy input ``[observation_dim]`` (float32) at reference time ``t`` (s)."""
        self._check_state(state)
        raw = self.observations.raw_terms(self._ordered(state), t, self.last_action)
        frames = self.observations.process(raw, self.obs_noise_scale, self.rng)
        return self.observations.assemble(frames, update_history=update_history)

    def infer(self, observation: np.ndarray) -> np.ndarray:
        """Run the ONNX policy on one observation; returns the action ``[J]`` after ``raw_clip``."""
        obs = np.asarray(observation, dtype=np.float32).reshape(1, -1)
        action = self.session.run(None, {self._input_name: obs})[0].reshape(-1).astype(np.float64)
        if self.raw_clip is not None:
            action = np.clip(action, -self.raw_clip, self.raw_clip)
        return action

    def targets(self, action: np.ndarray, t: float, update_filter: bool = True) -> np.ndarray:
        """PD position targets ``[J]`` (rad, policy order) for ``action`` at reference time ``t`` (s).

        ``offset + scale * f`` with ``f`` the low-pass filtered action (``filter_alpha`` = 1: the
        action itself), clipped to ``action.clip`` when the contract has one.
        """
        action = np.asarray(action, dtype=np.float64).reshape(-1)
        if self.filter_alpha < 1.0:
            filtered = self.filter_alpha * action + (1.0 - self.filter_alpha) * self._filtered
            if update_filter:
                self._filtered = filtered
        else:
            filtered = action
        if self.offset_kind == OFFSET_REFERENCE:
            ref = self.reference.at(t)
            offset = ref.joint_pos[self._ref_cols] + self.control_dt * ref.joint_vel[self._ref_cols]
        else:
            offset = self.action_offset
        target = offset + self.action_scale * filtered
        if self.target_clip is not None:
            target = np.clip(target, self.target_clip[:, 0], self.target_clip[:, 1])
        return target

    def step(self, state: RobotState, t: float) -> StepOutput:
        """One control step at reference time ``t`` (s): observe, infer, remember the action, return targets."""
        obs = self.observation(state, t, update_history=True)
        action = self.infer(obs)
        self.last_action = action
        target = self.targets(action, t)
        return StepOutput(
            observation=obs, action=action, joint_pos_target=target, joint_pos_target_sdk=self.to_sdk(target)
        )

    # ---------------------------------------------------------------------------------- helpers
    def _check_state(self, state: RobotState) -> None:
        names = state.joint_names if state.joint_names is not None else self.robot_joint_names
        if len(names) != state.joint_pos.shape[0]:
            raise ValueError(f"RobotState holds {state.joint_pos.shape[0]} joints, expected {len(names)}")
        if state.joint_names is not None and set(state.joint_names) != set(self.robot_joint_names):
            raise ContractError(
                "joint_names",
                f"the robot state's joints {state.joint_names} are not the policy's {self.robot_joint_names}",
            )

    def _ordered(self, state: RobotState) -> RobotState:
        """``state`` with its joint arrays in :attr:`robot_joint_names` order."""
        if state.joint_names is None or tuple(state.joint_names) == self.robot_joint_names:
            return state
        idx = [state.joint_names.index(n) for n in self.robot_joint_names]
        return RobotState(
            root_pos_w=state.root_pos_w,
            root_quat_w=state.root_quat_w,
            root_lin_vel_w=state.root_lin_vel_w,
            root_ang_vel_w=state.root_ang_vel_w,
            joint_pos=state.joint_pos[idx],
            joint_vel=state.joint_vel[idx],
            anchor_pos_w=state.anchor_pos_w,
            anchor_quat_w=state.anchor_quat_w,
            joint_names=self.robot_joint_names,
        )
