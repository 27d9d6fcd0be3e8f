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
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .contract import ContractError, check_format, contract_from_metadata, validate_contract
from .state import RobotState

__all__ = ["GraphRuntime", "GraphStepOutput"]


@dataclass
class GraphStepOutput:
    """What :meth:`GraphRuntime.step` returns.

    Attributes:
        action: ``[J]`` raw policy output (policy joint order), fed back as the next ``last_action``.
        joint_pos_target_sdk: ``[29]`` PD position targets (rad) in SDK motor order (NaN: not driven).
        reference_body_pos_w: ``[B, 3]`` the reference bodies (:attr:`GraphRuntime.body_names`), m, robot world.
        reference_body_quat_w: ``[B, 4]`` their orientations, xyzw.
        reference_joint_pos: ``[Jr]`` reference joint angles (rad), the contract's reference joint order.
    """

    action: np.ndarray
    joint_pos_target_sdk: np.ndarray
    reference_body_pos_w: np.ndarray
    reference_body_quat_w: np.ndarray
    reference_joint_pos: np.ndarray


class GraphRuntime:
    """The policy graph on robot states (module docstring).

    Args:
        graph: ``policy_graph.onnx`` from ``g1_mimic.rl.export``.
        clip: the baked clip to play, by name or index (default: the first).

    Raises:
        FileNotFoundError: no such file.
        ContractError: not a policy graph of this format (its metadata names no ``policy_graph``), or
            an unknown clip (the field and the known clips are named).
    """

    def __init__(self, graph: str | os.PathLike, clip: str | int = 0):
        import onnxruntime as ort

        path = Path(graph)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such policy graph file")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
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
        names = list(schema["clip_names"])
        if isinstance(clip, str):
            if clip not in names:
                raise ContractError("policy_graph.clip_names", f"no clip {clip!r} in the graph; it holds {names}")
            clip = names.index(clip)
        if not 0 <= int(clip) < len(names):
            raise ContractError("policy_graph.clip_names", f"clip index {clip} out of range for {len(names)} clip(s)")
        self.clip_index = np.array([int(clip)], dtype=np.int64)
        self.clip_name = names[int(clip)]
        self.body_names: list[str] = list(schema["body_names"])
        self.input_names = [i["name"] for i in schema["inputs"]]
        self.output_names = list(schema["outputs"])
        self._state_shapes = {
            i["name"]: tuple(i["shape"]) for i in schema["inputs"] if i["name"].startswith(("history_", "filter_state"))
        }
        self.joint_names: tuple[str, ...] = tuple(contract["joint_names"])
        self.sdk_joint_names: tuple[str, ...] = tuple(contract["sdk_joint_names"])
        self.control_dt = float(contract["control_dt"])
        policy_to_sdk = np.asarray(contract["policy_to_sdk"], dtype=np.int64)
        joints = contract["joints"]
        self.stiffness_sdk = np.zeros(len(self.sdk_joint_names))
        self.damping_sdk = np.zeros(len(self.sdk_joint_names))
        self.stiffness_sdk[policy_to_sdk] = joints["stiffness"]
        self.damping_sdk[policy_to_sdk] = joints["damping"]
        self.align(0.0, (0.0, 0.0, 0.0))
        self.reset()

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

    def step(self, state: RobotState, t: float) -> GraphStepOutput:
        """One control step at clip time ``t`` (s): run the graph, keep its state, return the targets."""
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
            "last_action": self.last_action,
            "align_quat_w": self._align_quat,
            "align_pos_w": self._align_pos,
            "reset": np.array([[1.0 if self._first else 0.0]], dtype=f32),
            **self._state,
        }
        feed = {n: feed[n] for n in self.input_names}
        out = dict(zip(self.output_names, self.session.run(None, feed), strict=True))
        self._state = {n: out[f"{n}_out"] for n in self._state}
        self._first = False
        self.last_action = out["action"]
        return GraphStepOutput(
            action=out["action"][0].astype(np.float64),
            joint_pos_target_sdk=out["joint_pos_target"][0].astype(np.float64),
            reference_body_pos_w=out["reference_body_pos_w"][0].astype(np.float64),
            reference_body_quat_w=out["reference_body_quat_w"][0].astype(np.float64),
            reference_joint_pos=out["reference_joint_pos"][0].astype(np.float64),
        )
