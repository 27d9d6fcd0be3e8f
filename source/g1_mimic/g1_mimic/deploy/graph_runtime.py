"""Run the policy graph (``policy_graph.onnx``): read sensors, run the graph, send targets. numpy + onnxruntime only.

The graph (written by :mod:`g1_mimic.rl.policy_graph` at export) holds the observation terms, the
reference clips with their interpolation, the network and the action-to-target map; this runtime
only feeds it the measured state, the clip time and the previous action, and carries the graph's
state outputs (observation history, action filter) from one step to the next::

    rt = GraphRuntime("exported/policy_graph.onnx")          # contract: read from the graph's metadata
    rt.reset()
    t = 0.0
    while running:                                           # every rt.control_dt
        out = rt.step(read_robot_state(), t)                 # RobotState (g1_mimic.deploy.state)
        send_pd(out.joint_pos_target_sdk, rt.stiffness_sdk, rt.damping_sdk)
        t += rt.control_dt

:meth:`GraphRuntime.failures` compares the failure quantities the graph returns (the env's own
termination functions, traced) with the env's thresholds (the contract's ``terminations``): use it to stop a sim2sim episode, or as a
safety monitor on the robot (a real robot should be stopped well before these trip).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .contract import (
    BEYONDMIMIC_TERMINATIONS,
    ContractError,
    check_format,
    contract_from_metadata,
    failure_conditions,
    onnx_session,
    validate_contract,
)
from .state import RobotState

__all__ = ["BEYONDMIMIC_TERMINATIONS", "GraphRuntime", "GraphStepOutput"]

@dataclass
class GraphStepOutput:
    """What :meth:`GraphRuntime.step` returns (float64; the reference at the step's clip time, robot world).

    Attributes:
        action: ``[J]`` raw policy output (policy joint order), fed back as the next ``last_action``.
        joint_pos_target_sdk: ``[29]`` PD position targets (rad) in SDK motor order (NaN: not driven).
        reference_body_pos_w: ``[B, 3]`` the reference bodies (:attr:`GraphRuntime.body_names`), m.
        reference_body_quat_w: ``[B, 4]`` their orientations, xyzw.
        reference_body_lin_vel_w / reference_body_ang_vel_w: ``[B, 3]`` their velocities (m/s, rad/s).
        reference_joint_pos / reference_joint_vel: ``[Jr]`` reference joints (rad, rad/s), in
            :attr:`GraphRuntime.reference_joint_names` order.
        reference_reanchored_body_pos_w: ``[B, 3]`` the reference bodies moved to the robot anchor's xy
            and yaw (the end-effector failure condition compares heights with these).
        anchor_height_error: ``[]`` the anchor's height off the reference's (m).
        anchor_gravity_error: ``[]`` the z component of gravity in the anchor frame, off the reference's.
        ee_height_error: ``[E]`` each of :attr:`GraphRuntime.ee_bodies` off its re-anchored reference height
            (m; empty when the policy's failure conditions check no end effector).
    """

    action: np.ndarray
    joint_pos_target_sdk: np.ndarray
    reference_body_pos_w: np.ndarray
    reference_body_quat_w: np.ndarray
    reference_body_lin_vel_w: np.ndarray
    reference_body_ang_vel_w: np.ndarray
    reference_joint_pos: np.ndarray
    reference_joint_vel: np.ndarray
    reference_reanchored_body_pos_w: np.ndarray
    anchor_height_error: np.ndarray
    anchor_gravity_error: np.ndarray
    ee_height_error: np.ndarray


class GraphRuntime:
    """The policy graph on robot states (module docstring).

    Args:
        graph: ``policy_graph.onnx`` from ``g1_mimic.rl.export``.
        clip: the baked clip to play, by name or index (default: the first).

    Attributes:
        contract: the deploy contract (from the graph's metadata).
        clip_name / clip_duration_s: the clip played and its length (s).
        body_names / reference_joint_names: the rows of the reference outputs.
        terminations: the failure thresholds :meth:`failures` applies; ``failure_source`` says whence.

    Raises:
        FileNotFoundError: no such file.
        ContractError: not a policy graph of this format (its metadata names no ``policy_graph``), or
            an unknown clip (the field and the known clips are named).
    """

    def __init__(self, graph: str | os.PathLike, clip: str | int = 0):
        path = Path(graph)
        self.session = onnx_session(path)
        contract = contract_from_metadata(self.session.get_modelmeta().custom_metadata_map)
        if contract is None or not (contract.get("policy_graph") or {}).get("file"):
            raise ContractError("policy_graph", f"{path} carries no policy graph contract; re-export with scripts/play.py --export_only")
        inputs = [i.name for i in self.session.get_inputs()]
        if inputs != [i["name"] for i in contract["policy_graph"]["inputs"]]:
            raise ContractError(
                "policy_graph.inputs",
                f"{path} takes inputs {inputs}, not the policy graph's; give the exported {contract['policy_graph']['file']}",
            )
        check_format(contract)
        validate_contract(contract, require_supported_terms=False)
        self.contract = contract
        schema = contract["policy_graph"]
        self.clip_names: list[str] = list(schema["clip_names"])
        self.select_clip(clip)
        self.body_names: list[str] = list(schema["body_names"])
        self.reference_joint_names: list[str] = list(schema["reference_joint_names"])
        self.input_names = [i["name"] for i in schema["inputs"]]
        self.output_names = list(schema["outputs"])
        self._state_shapes = {
            i["name"]: tuple(i["shape"]) for i in schema["inputs"] if i["name"].startswith(("history_", "filter_state"))
        }
        self.joint_names: tuple[str, ...] = tuple(contract["joint_names"])
        self.sdk_joint_names: tuple[str, ...] = tuple(contract["sdk_joint_names"])
        self.control_dt = float(contract["control_dt"])
        self.policy_to_sdk = np.asarray(contract["policy_to_sdk"], dtype=np.int64)
        joints = contract["joints"]
        self.stiffness_sdk = np.zeros(len(self.sdk_joint_names))
        self.damping_sdk = np.zeros(len(self.sdk_joint_names))
        self.stiffness_sdk[self.policy_to_sdk] = joints["stiffness"]
        self.damping_sdk[self.policy_to_sdk] = joints["damping"]
        self.terminations, self.failure_source = failure_conditions(contract)
        self.anchor_body: str = contract["robot"]["anchor_body"]
        self.ee_bodies: list[str] = list(self.terminations.get("ee_body_pos", {}).get("body_names", []))
        if "anchor_height_error" not in self.output_names:
            raise ContractError("policy_graph.outputs", f"{path} has no failure outputs (exported before they existed); re-export with scripts/play.py --export_only")
        self.align(0.0, (0.0, 0.0, 0.0))
        self.reset()

    def select_clip(self, clip: str | int) -> None:
        """Play baked clip ``clip`` (name or index) from the next step on."""
        if isinstance(clip, str):
            if clip not in self.clip_names:
                raise ContractError("policy_graph.clip_names", f"no clip {clip!r} in the graph; it holds {self.clip_names}")
            clip = self.clip_names.index(clip)
        if not 0 <= int(clip) < len(self.clip_names):
            raise ContractError("policy_graph.clip_names", f"clip index {clip} out of range for {len(self.clip_names)} clip(s)")
        self.clip_index = np.array([int(clip)], dtype=np.int64)
        self.clip_name = self.clip_names[int(clip)]
        self.clip_duration_s = float(self.contract["policy_graph"]["clip_durations_s"][int(clip)])

    def align(self, yaw: float, translation: Sequence[float]) -> None:
        """Play the clip in the robot's world: reference ``p' = Rz(yaw) p + translation`` (rad, m)."""
        self._align_quat = np.array([[0.0, 0.0, np.sin(0.5 * yaw), np.cos(0.5 * yaw)]], dtype=np.float32)
        self._align_pos = np.asarray(translation, dtype=np.float32).reshape(1, 3)

    def reset(self) -> None:
        """Start an episode: zero previous action, history and filter state."""
        self.last_action = np.zeros((1, len(self.joint_names)), dtype=np.float32)
        self._state = {n: np.zeros(s, dtype=np.float32) for n, s in self._state_shapes.items()}
        self._first = True

    def _sdk(self, state: RobotState, values: np.ndarray) -> np.ndarray:
        names = state.joint_names if state.joint_names is not None else self.sdk_joint_names
        if tuple(names) == self.sdk_joint_names:
            return np.asarray(values, dtype=np.float32).reshape(1, -1)
        missing = [n for n in self.sdk_joint_names if n not in names]
        if missing:
            raise ContractError("joint_names", f"the robot state lacks joints {missing}")
        idx = [list(names).index(n) for n in self.sdk_joint_names]
        return np.asarray(values, dtype=np.float32)[idx].reshape(1, -1)

    def _ee_body_pos(self, state: RobotState) -> np.ndarray:
        """``[1, E, 3]`` world positions of :attr:`ee_bodies` from ``state.body_pos_w`` (m)."""
        missing = [b for b in self.ee_bodies if b not in (state.body_pos_w or {})]
        if missing:
            raise ValueError(
                f"RobotState.body_pos_w lacks {missing}: the policy's failure check measures these end effectors "
                "(AnchorKinematics.body_pos_w computes them from the root pose and the joints)"
            )
        return np.asarray([state.body_pos_w[b] for b in self.ee_bodies], dtype=np.float32).reshape(1, -1, 3)

    def _run(self, state: RobotState, t: float, first: bool) -> dict[str, np.ndarray]:
        f32 = np.float32
        feed = {
            "time_s": np.array([[t]], dtype=f32),
            "clip_index": self.clip_index,
            "joint_pos": self._sdk(state, state.joint_pos),
            "joint_vel": self._sdk(state, state.joint_vel),
            "root_quat_w": np.asarray(state.root_quat_w, dtype=f32).reshape(1, 4),
            "root_lin_vel_w": np.asarray(state.root_lin_vel_w, dtype=f32).reshape(1, 3),
            "root_ang_vel_w": np.asarray(state.root_ang_vel_w, dtype=f32).reshape(1, 3),
            "anchor_pos_w": np.asarray(state.anchor_pos_w, dtype=f32).reshape(1, 3),
            "anchor_quat_w": np.asarray(state.anchor_quat_w, dtype=f32).reshape(1, 4),
            "ee_body_pos_w": self._ee_body_pos(state),
            "last_action": self.last_action,
            "align_quat_w": self._align_quat,
            "align_pos_w": self._align_pos,
            "reset": np.array([[1.0 if first else 0.0]], dtype=f32),
            **self._state,
        }
        feed = {n: feed[n] for n in self.input_names}
        return dict(zip(self.output_names, self.session.run(None, feed), strict=True))

    @staticmethod
    def _output(out: Mapping[str, np.ndarray]) -> GraphStepOutput:
        fields = GraphStepOutput.__dataclass_fields__
        out = {"ee_height_error": np.zeros((1, 0)), **out}  # no end effector checked
        return GraphStepOutput(
            **{n: np.asarray(out["joint_pos_target" if n.endswith("_sdk") else n][0], dtype=np.float64) for n in fields}
        )

    def step(self, state: RobotState, t: float) -> GraphStepOutput:
        """One control step at clip time ``t`` (s): run the graph, keep its state, return the targets."""
        out = self._run(state, t, self._first)
        self._state = {n: out[f"{n}_out"] for n in self._state}
        self._first = False
        self.last_action = out["action"]
        return self._output(out)

    def reference_at(self, t: float, state: RobotState) -> GraphStepOutput:
        """The graph's outputs at clip time ``t`` for ``state`` without advancing the runtime (no state kept):
        the reference to start an episode from, before the first :meth:`step`."""
        return self._output(self._run(state, t, True))

    def failures(self, out: GraphStepOutput) -> list[str]:
        """Names of the failure conditions that hold in ``out`` (empty: tracking).

        The graph computes the env's quantities (:mod:`g1_mimic.tasks.mimic.mdp.terminations`, one definition);
        this compares them with :attr:`terminations`' thresholds: ``anchor_pos`` (anchor height off by
        more, m), ``anchor_ori`` (the z component of gravity in the anchor frame off by more),
        ``ee_body_pos`` (an end effector's height off its re-anchored reference by more, m); a non-finite
        quantity (a diverged or broken measurement) is ``nonfinite_state``.
        """
        errors = {"anchor_pos": out.anchor_height_error, "anchor_ori": out.anchor_gravity_error, "ee_body_pos": out.ee_height_error}
        if not all(np.all(np.isfinite(v)) for v in errors.values()):
            return ["nonfinite_state"]
        return [k for k, v in errors.items() if k in self.terminations and np.any(v > self.terminations[k]["threshold"])]
