"""The policy graph: one torch module from what the robot measures to joint position targets, exported to ONNX.

``policy.onnx`` (rsl_rl's export) maps an observation vector to an action; the deploy side must then
rebuild the observation, the reference and the targets itself. :class:`PolicyGraph` puts all of it
in one graph, built from the deploy contract (public fields, :mod:`g1_mimic.deploy.contract`), the
reference clips and the actor:

* the reference at ``time_s`` in clip ``clip_index`` is :meth:`g1_mimic.motion.clips.ClipStore.get_state`
  itself (the training env's interpolation and tail rule; the clips are baked into the graph), then
  expressed in the robot's world by ``align_quat_w`` / ``align_pos_w`` (``p' = R p + t``, the
  deploy-time alignment; identity and zero keep the motion file's frame);
* each observation term from one torch expression per kind (the anchor pose with the training
  terms' own :func:`~g1_mimic.tasks.mimic.mdp.quat.subtract_frame_transforms` and
  :func:`~g1_mimic.tasks.mimic.mdp.quat.rot6d`), then clip, scale and history in Isaac Lab's order
  (noise is training-only and not in the graph);
* the actor (observation normaliser, MLP, deterministic output), ``raw_clip``, the action filter,
  and the targets ``clip(offset + scale * filtered(action))``, in SDK motor order (reference offsets by
  the action term's own :func:`~g1_mimic.tasks.mimic.mdp.actions.reference_offset`).

Inputs (batch 1; the robot state in the robot's world frame, quaternions xyzw): ``time_s [1, 1]``
(s from the clip start), ``clip_index [1]`` (int64), ``joint_pos`` / ``joint_vel [1, 29]`` (rad,
rad/s, SDK order), ``root_quat_w [1, 4]``, ``root_lin_vel_w [1, 3]`` (root link origin, m/s; only when the
actor observes the base's linear velocity: a robot without state estimation is not asked for it),
``root_ang_vel_w [1, 3]`` (rad/s, world), ``anchor_pos_w [1, 3]`` (m), ``anchor_quat_w [1, 4]``,
``ee_body_pos_w [1, E, 3]`` (m, world: the end effectors the failure check measures, when it has any),
``last_action [1, J]`` (the previous ``action`` output, zeros after a reset), ``align_quat_w [1, 4]``,
``align_pos_w [1, 3]``; with observation history ``reset [1, 1]`` (1 at an episode's first step:
every history slot takes the current frame, as Isaac Lab's ``CircularBuffer``) and per history term
``history_<term> [1, H, dim]``; with an action filter ``filter_state [1, J]``.

Outputs: ``joint_pos_target [1, 29]`` (rad, SDK order; NaN for motors the policy does not drive),
``action [1, J]`` (feed back as ``last_action``); the reference at ``time_s`` in the robot's world:
``reference_body_pos_w [1, B, 3]``, ``reference_body_quat_w [1, B, 4]``, ``reference_body_lin_vel_w``
and ``reference_body_ang_vel_w [1, B, 3]`` (of :attr:`PolicyGraph.body_names`), ``reference_joint_pos``
and ``reference_joint_vel [1, Jr]`` (the clips' joint order), and ``reference_reanchored_body_pos_w
[1, B, 3]`` (the reference bodies moved to the robot anchor's xy and yaw,
:func:`~g1_mimic.tasks.mimic.mdp.quat.reanchor_body_pos`: what the end-effector failure condition
compares heights with); the failure quantities of the env's termination conditions (the torch functions
of :mod:`g1_mimic.tasks.mimic.mdp.terminations` the env uses): ``anchor_height_error [1]`` (m),
``anchor_gravity_error [1]`` and, when end effectors are checked, ``ee_height_error [1, E]`` (m, of
:attr:`PolicyGraph.ee_bodies`, measured by the input ``ee_body_pos_w [1, E, 3]``: their world positions);
then ``history_<term>`` and ``filter_state`` (the next values of the state inputs).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import isaaclab.utils.math as math_utils
import torch

from g1_mimic.deploy.contract import GRAPH_FILENAME, OFFSET_REFERENCE, ContractError, failure_conditions
from g1_mimic.motion.clips import ClipStore
from g1_mimic.tasks.mimic.mdp.actions import reference_offset
from g1_mimic.tasks.mimic.mdp.quat import reanchor_body_pos, rot6d, subtract_frame_transforms
from g1_mimic.tasks.mimic.mdp.terminations import anchor_gravity_error, anchor_height_error, body_height_error

__all__ = ["GRAPH_FILENAME", "PolicyGraph", "export_policy_graph", "graph_inputs"]

#: The observation kinds the graph computes (every kind of :data:`g1_mimic.deploy.contract.TERM_KINDS`).
GRAPH_KINDS = (
    "reference_joint_pos_vel",
    "reference_anchor_pos_b",
    "reference_anchor_ori6d_b",
    "root_lin_vel_b",
    "root_ang_vel_b",
    "joint_pos_rel",
    "joint_vel_rel",
    "last_action",
    "future_reference",
)

#: The reference outputs, in order, after ``joint_pos_target`` and ``action``.
REFERENCE_OUTPUTS = (
    "reference_body_pos_w",
    "reference_body_quat_w",
    "reference_body_lin_vel_w",
    "reference_body_ang_vel_w",
    "reference_joint_pos",
    "reference_joint_vel",
    "reference_reanchored_body_pos_w",
)

#: The failure quantities, after the reference outputs (``ee_height_error`` only when end effectors are checked).
FAILURE_OUTPUTS = ("anchor_height_error", "anchor_gravity_error", "ee_height_error")

_STATE_INPUTS = (
    ("time_s", (1, 1)),
    ("joint_pos", (1, 29)),
    ("joint_vel", (1, 29)),
    ("root_quat_w", (1, 4)),
    ("root_lin_vel_w", (1, 3)),
    ("root_ang_vel_w", (1, 3)),
    ("anchor_pos_w", (1, 3)),
    ("anchor_quat_w", (1, 4)),
)


class PolicyGraph(torch.nn.Module):
    """Robot measurements, clip time and previous action -> joint position targets (see the module docstring).

    Args:
        contract: the policy's deploy contract (as :func:`g1_mimic.rl.export.deploy_contract` writes it).
        clips: the reference clips (the env's motion library or a :class:`ClipStore` with the
            contract's ``reference.joint_names`` and the anchor among its bodies).
        actor: the deterministic policy, observation ``[1, observation_dim]`` -> action ``[1, J]``
            (rsl_rl's ``runner.alg.get_policy().as_jit()``).

    Raises:
        ContractError: a term kind the graph does not compute, or a joint/body the clips lack (named).
    """

    def __init__(self, contract: Mapping[str, Any], clips: ClipStore, actor: torch.nn.Module):
        super().__init__()
        self.contract = contract
        self.clips = clips
        self.actor = actor
        sdk = list(contract["sdk_joint_names"])
        policy_joints = list(contract["joint_names"])
        self.num_actions = len(policy_joints)
        self.control_dt = float(contract["control_dt"])
        self.body_names: list[str] = list(clips.body_names)
        anchor = contract["robot"]["anchor_body"]
        if anchor not in self.body_names:
            raise ContractError("robot.anchor_body", f"{anchor!r} is not a body of the reference clips {self.body_names}")
        self.anchor_index = self.body_names.index(anchor)
        ref_joints = list(clips.joint_names)
        joints = contract["joints"]
        default_pos = torch.tensor(joints["default_pos"], dtype=torch.float32)
        default_vel = torch.tensor(joints["default_vel"], dtype=torch.float32)
        self.register_buffer("com_offset_b", torch.tensor(contract["robot"]["root_com_offset_b"], dtype=torch.float32))

        def sdk_index(names: Sequence[str], where: str) -> torch.Tensor:
            missing = [n for n in names if n not in sdk]
            if missing:
                raise ContractError(where, f"joints {missing} are not SDK joints {sdk}")
            return torch.tensor([sdk.index(n) for n in names], dtype=torch.long)

        def ref_index(names: Sequence[str], where: str) -> torch.Tensor:
            missing = [n for n in names if n not in ref_joints]
            if missing:
                raise ContractError(where, f"joints {missing} are not in the reference clips")
            return torch.tensor([ref_joints.index(n) for n in names], dtype=torch.long)

        self.terms: list[dict[str, Any]] = []
        self.history_terms: list[str] = []
        for i, term in enumerate(contract["observation"]["terms"]):
            kind, where = term["kind"], f"observation.terms[{i}]"
            if kind not in GRAPH_KINDS:
                raise ContractError(f"{where}.kind", f"term '{term['name']}' of kind {kind!r} has no graph form")
            history = int(term.get("history_length", 0))
            # the contract's dim counts every history frame; the graph's state holds [H, frame dim]
            plan: dict[str, Any] = {"name": term["name"], "kind": kind, "dim": int(term["dim"]) // max(history, 1)}
            names = list(term.get("joint_names") or [])
            if kind in ("joint_pos_rel", "joint_vel_rel"):
                plan["sdk_idx"] = sdk_index(names, f"{where}.joint_names")
                pol = torch.tensor([policy_joints.index(j) for j in names], dtype=torch.long)
                plan["default"] = (default_pos if kind == "joint_pos_rel" else default_vel)[pol]
            if kind in ("reference_joint_pos_vel", "future_reference"):
                plan["ref_idx"] = ref_index(names, f"{where}.joint_names")
            if kind == "future_reference":
                plan["offsets"] = [int(k) for k in term["params"]["offsets"]]
            scale, clip = term.get("scale"), term.get("clip")
            plan["scale"] = None if scale is None else torch.tensor(scale, dtype=torch.float32)
            plan["clip"] = None if clip is None else (float(clip[0]), float(clip[1]))
            plan["history"] = history
            if plan["history"] > 0:
                self.history_terms.append(term["name"])
            self.terms.append(plan)
        conditions, _ = failure_conditions(contract)
        self.ee_bodies: list[str] = list(conditions.get("ee_body_pos", {}).get("body_names", []))
        absent = [b for b in self.ee_bodies if b not in self.body_names]
        if absent:
            raise ContractError("terminations.ee_body_pos.body_names", f"{absent} are not bodies of the reference clips")
        self.register_buffer("ee_index", torch.tensor([self.body_names.index(b) for b in self.ee_bodies], dtype=torch.long))
        self.time_major = contract["observation"]["history_order"] == "time"
        action = contract["action"]
        self.register_buffer("action_scale", torch.tensor(action["scale"], dtype=torch.float32))
        self.reference_offset = action["offset_kind"] == OFFSET_REFERENCE
        self.action_ref_idx = ref_index(policy_joints, "action.offset_kind") if self.reference_offset else None
        lead = action.get("reference_lead_s")  # absent in contracts written before it existed: one control step
        self.reference_lead_s = float(contract["control_dt"] if lead is None else lead)
        offset = action.get("offset")
        self.register_buffer("action_offset", torch.tensor(offset if offset is not None else [0.0] * self.num_actions))
        tclip = action.get("clip")
        self.target_clip = None if tclip is None else torch.tensor(tclip, dtype=torch.float32)
        self.raw_clip = action.get("raw_clip")
        self.filter_alpha = float(action.get("filter_alpha", 1.0))
        self.policy_to_sdk = torch.tensor(contract["policy_to_sdk"], dtype=torch.long)
        self.num_sdk = len(sdk)

    # ------------------------------------------------------------------------------------ schema
    @property
    def input_names(self) -> list[str]:
        """The graph's inputs, in order."""
        names = ["time_s", "clip_index"] + self._state_inputs() + ["last_action", "align_quat_w", "align_pos_w"]
        if self.history_terms:
            names += ["reset"] + [f"history_{n}" for n in self.history_terms]
        if self.filter_alpha < 1.0:
            names.append("filter_state")
        return names

    @property
    def output_names(self) -> list[str]:
        """The graph's outputs, in order."""
        names = ["joint_pos_target", "action", *REFERENCE_OUTPUTS, *FAILURE_OUTPUTS[: 3 if self.ee_bodies else 2]]
        names += [f"history_{n}_out" for n in self.history_terms]
        if self.filter_alpha < 1.0:
            names.append("filter_state_out")
        return names

    def _state_inputs(self) -> list[str]:
        """The robot-state inputs after ``time_s`` that the graph uses (ONNX export drops unused ones)."""
        uses_lin_vel = any(p["kind"] == "root_lin_vel_b" for p in self.terms)
        names = [n for n, _ in _STATE_INPUTS[1:] if n != "root_lin_vel_w" or uses_lin_vel]
        return names + (["ee_body_pos_w"] if self.ee_bodies else [])

    def history_shape(self, name: str) -> tuple[int, int, int]:
        """``[1, H, dim]`` of the history state of term ``name``."""
        plan = next(p for p in self.terms if p["name"] == name)
        return (1, plan["history"], plan["dim"])

    def example_inputs(self) -> tuple[torch.Tensor, ...]:
        """Inputs of a standing robot at the clip start (the shapes and dtypes the graph takes)."""
        ident = torch.tensor([[0.0, 0.0, 0.0, 1.0]])
        x = {n: torch.zeros(shape) for n, shape in _STATE_INPUTS}
        x["ee_body_pos_w"] = torch.zeros(1, len(self.ee_bodies), 3)
        x["root_quat_w"] = ident.clone()
        x["anchor_quat_w"] = ident.clone()
        out = [x["time_s"], torch.zeros(1, dtype=torch.long)] + [x[n] for n in self._state_inputs()]
        out += [torch.zeros(1, self.num_actions), ident.clone(), torch.zeros(1, 3)]
        if self.history_terms:
            out += [torch.ones(1, 1)] + [torch.zeros(self.history_shape(n)) for n in self.history_terms]
        if self.filter_alpha < 1.0:
            out.append(torch.zeros(1, self.num_actions))
        return tuple(out)

    # ------------------------------------------------------------------------------------ pieces
    def reference(
        self, clip_index: torch.Tensor, time_s: torch.Tensor, align_quat_w: torch.Tensor, align_pos_w: torch.Tensor
    ) -> tuple[torch.Tensor, ...]:
        """Reference ``(joint_pos [1, Jr], joint_vel [1, Jr], body_pos_w [1, B, 3], body_quat_w [1, B, 4],
        body_lin_vel_w [1, B, 3], body_ang_vel_w [1, B, 3])`` at ``time_s`` in the robot's world (aligned)."""
        state = self.clips.get_state(clip_index.reshape(1), time_s.reshape(1))
        qa = align_quat_w.reshape(1, 1, 4).expand(1, len(self.body_names), 4)
        body_pos = math_utils.quat_apply(qa, state.body_pos_w) + align_pos_w.reshape(1, 1, 3)
        body_quat = math_utils.quat_mul(qa, state.body_quat_w)
        lin_vel = math_utils.quat_apply(qa, state.body_lin_vel_w)
        ang_vel = math_utils.quat_apply(qa, state.body_ang_vel_w)
        return state.joint_pos, state.joint_vel, body_pos, body_quat, lin_vel, ang_vel

    def _term(self, plan, x, ref, clip_index, time_s, align_quat_w, align_pos_w) -> torch.Tensor:
        kind = plan["kind"]
        joint_pos_ref, joint_vel_ref, body_pos, body_quat = ref[:4]
        anchor_pos, anchor_quat = x["anchor_pos_w"], x["anchor_quat_w"]
        if kind == "reference_joint_pos_vel":
            return torch.cat((joint_pos_ref[:, plan["ref_idx"]], joint_vel_ref[:, plan["ref_idx"]]), dim=-1)
        if kind in ("reference_anchor_pos_b", "reference_anchor_ori6d_b"):
            pos, quat = subtract_frame_transforms(
                anchor_pos, anchor_quat, body_pos[:, self.anchor_index], body_quat[:, self.anchor_index]
            )
            return pos if kind == "reference_anchor_pos_b" else rot6d(quat)
        if kind == "root_lin_vel_b":
            q = x["root_quat_w"]
            v_com = x["root_lin_vel_w"] + torch.linalg.cross(
                x["root_ang_vel_w"], math_utils.quat_apply(q, self.com_offset_b.reshape(1, 3)), dim=-1
            )
            return math_utils.quat_apply_inverse(q, v_com)
        if kind == "root_ang_vel_b":
            return math_utils.quat_apply_inverse(x["root_quat_w"], x["root_ang_vel_w"])
        if kind == "joint_pos_rel":
            return x["joint_pos"][:, plan["sdk_idx"]] - plan["default"]
        if kind == "joint_vel_rel":
            return x["joint_vel"][:, plan["sdk_idx"]] - plan["default"]
        if kind == "last_action":
            return x["last_action"]
        # future_reference
        parts = []
        for k in plan["offsets"]:
            f_pos, _, f_body_pos, f_body_quat, _, _ = self.reference(
                clip_index, time_s + k * self.control_dt, align_quat_w, align_pos_w
            )
            pos, quat = subtract_frame_transforms(
                anchor_pos, anchor_quat, f_body_pos[:, self.anchor_index], f_body_quat[:, self.anchor_index]
            )
            parts += [f_pos[:, plan["ref_idx"]], pos, rot6d(quat)]
        return torch.cat(parts, dim=-1)

    # ------------------------------------------------------------------------------------ forward
    def forward(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """One control step: the tensors of :attr:`input_names` in order -> those of :attr:`output_names`."""
        x = dict(zip(self.input_names, inputs, strict=True))
        clip_index, time_s = x["clip_index"], x["time_s"]
        align_quat_w, align_pos_w = x["align_quat_w"], x["align_pos_w"]
        ref = self.reference(clip_index, time_s, align_quat_w, align_pos_w)
        histories = {n: x[f"history_{n}"] for n in self.history_terms}
        first = x["reset"].reshape(1, 1, 1) > 0.5 if self.history_terms else None
        per_term: list[torch.Tensor] = []
        new_histories: list[torch.Tensor] = []
        for plan in self.terms:
            value = self._term(plan, x, ref, clip_index, time_s, align_quat_w, align_pos_w)
            if plan["clip"] is not None:
                value = value.clamp(*plan["clip"])
            if plan["scale"] is not None:
                value = value * plan["scale"]
            if plan["history"] > 0:
                buf = histories[plan["name"]]
                frame = value.unsqueeze(1)
                shifted = torch.cat((buf[:, 1:], frame), dim=1)
                buf = torch.where(first, frame.expand_as(buf), shifted)
                new_histories.append(buf)
                per_term.append(buf)
            else:
                per_term.append(value.unsqueeze(1))
        if self.time_major:
            steps = per_term[0].shape[1]
            obs = torch.cat([torch.cat([p[:, k] for p in per_term], dim=-1) for k in range(steps)], dim=-1)
        else:
            obs = torch.cat([p.reshape(1, -1) for p in per_term], dim=-1)
        action = self.actor(obs)
        if self.raw_clip is not None:
            action = action.clamp(-float(self.raw_clip), float(self.raw_clip))
        outputs_state: list[torch.Tensor] = list(new_histories)
        filtered = action
        if self.filter_alpha < 1.0:
            filtered = self.filter_alpha * action + (1.0 - self.filter_alpha) * x["filter_state"]
            outputs_state.append(filtered)
        if self.reference_offset:
            offset = reference_offset(ref[0][:, self.action_ref_idx], ref[1][:, self.action_ref_idx], self.reference_lead_s)
        else:
            offset = self.action_offset.reshape(1, -1)
        target = offset + self.action_scale * filtered
        if self.target_clip is not None:
            target = torch.minimum(torch.maximum(target, self.target_clip[:, 0]), self.target_clip[:, 1])
        target_sdk = torch.full((1, self.num_sdk), float("nan")).index_copy(1, self.policy_to_sdk, target)
        a = self.anchor_index
        reanchored = reanchor_body_pos(ref[2][:, a], ref[3][:, a], x["anchor_pos_w"], x["anchor_quat_w"], ref[2])
        failure = [
            anchor_height_error(ref[2][:, a], x["anchor_pos_w"]),
            anchor_gravity_error(ref[3][:, a], x["anchor_quat_w"]),
        ]
        if self.ee_bodies:
            failure.append(body_height_error(reanchored[:, self.ee_index], x["ee_body_pos_w"]))
        return (target_sdk, action, ref[2], ref[3], ref[4], ref[5], ref[0], ref[1], reanchored, *failure, *outputs_state)


def graph_inputs(graph: PolicyGraph) -> list[dict[str, Any]]:
    """The graph's input schema: name, shape, dtype (the contract's ``policy_graph.inputs``)."""
    shapes = [tuple(t.shape) for t in graph.example_inputs()]
    dtypes = [str(t.dtype).removeprefix("torch.") for t in graph.example_inputs()]
    return [{"name": n, "shape": list(s), "dtype": d} for n, s, d in zip(graph.input_names, shapes, dtypes, strict=True)]


def export_policy_graph(graph: PolicyGraph, path: str | os.PathLike) -> Path:
    """Trace ``graph`` to ONNX (opset 18) at ``path``; returns the path. The caller writes it atomically."""
    path = Path(path)
    graph.eval()
    # the TorchScript-based exporter: torch.export's fails in its constant folding on the baked clip
    # tensors (torch 2.13, onnxscript: ".numpy() is not supported for tensor subclasses")
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", (DeprecationWarning, torch.jit.TracerWarning))
        torch.onnx.export(
            graph,
            graph.example_inputs(),
            str(path),
            export_params=True,
            opset_version=18,
            input_names=graph.input_names,
            output_names=graph.output_names,
            dynamo=False,
        )
    import onnx

    kept = [i.name for i in onnx.load(str(path), load_external_data=False).graph.input]
    if kept != graph.input_names:
        # the exporter drops inputs the traced graph does not use; the contract must list exactly the file's
        dropped = [n for n in graph.input_names if n not in kept]
        raise RuntimeError(f"{path}: the ONNX export dropped the unused graph inputs {dropped}; PolicyGraph.input_names must leave them out")
    return path
