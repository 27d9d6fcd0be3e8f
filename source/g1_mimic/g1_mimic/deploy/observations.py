"""The policy observation in numpy, term by term, as the contract describes it.

Each term is computed exactly as the training env's term function does (see
:data:`g1_mimic.deploy.contract.TERM_KINDS`), then processed in Isaac Lab's order: noise (only when
simulating it, never on the robot) -> clip -> scale -> history. History (``history_length`` H > 0)
keeps the last H processed frames, oldest first, flattened per term (``history_order="term"``) or
frame by frame across terms (``"time"``); after a reset the first frame fills every slot, as
Isaac Lab's ``CircularBuffer`` does.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from . import rotations as R
from .contract import ContractError, validate_contract
from .reference import ReferenceFrame, ReferenceMotion
from .state import RobotState

__all__ = ["ObservationBuilder"]


class ObservationBuilder:
    """Builds the policy observation vector of a contract from a :class:`RobotState` and a reference.

    Args:
        contract: a validated deploy contract.
        reference: the reference motion (its joints must include every joint the terms read and its
            bodies the anchor body).
        state_joint_names: the joint order of the :class:`RobotState` arrays it will receive.
    """

    def __init__(self, contract: Mapping[str, Any], reference: ReferenceMotion, state_joint_names: Sequence[str]):
        validate_contract(contract)
        self.contract = contract
        self.reference = reference
        self.state_joint_names = tuple(state_joint_names)
        self.control_dt = float(contract["control_dt"])
        self.anchor = contract["robot"]["anchor_body"]
        self.com_offset_b = np.asarray(contract["robot"]["root_com_offset_b"], dtype=np.float64)
        self.time_major = contract["observation"]["history_order"] == "time"
        self.terms: list[dict[str, Any]] = list(contract["observation"]["terms"])
        policy_joints = list(contract["joint_names"])
        default_pos = np.asarray(contract["joints"]["default_pos"], dtype=np.float64)
        default_vel = np.asarray(contract["joints"]["default_vel"], dtype=np.float64)
        state_index = {n: i for i, n in enumerate(self.state_joint_names)}
        ref_index = {n: i for i, n in enumerate(reference.joint_names)}
        if self.anchor not in reference.body_index:
            raise ContractError(
                "robot.anchor_body", f"{self.anchor!r} is not a body of the reference {reference.body_names}"
            )
        self._plan: list[dict[str, Any]] = []
        for i, term in enumerate(self.terms):
            kind = term["kind"]
            joints = list(term.get("joint_names") or [])
            plan: dict[str, Any] = {"name": term["name"], "kind": kind, "history": int(term.get("history_length", 0))}
            if kind in ("joint_pos_rel", "joint_vel_rel"):
                missing = [j for j in joints if j not in state_index]
                if missing:
                    raise ContractError(
                        f"observation.terms[{i}].joint_names", f"joints {missing} are not in the robot state"
                    )
                plan["state_idx"] = np.array([state_index[j] for j in joints], dtype=np.int64)
                pol = [policy_joints.index(j) for j in joints]
                plan["default"] = (default_pos if kind == "joint_pos_rel" else default_vel)[pol]
            if kind in ("reference_joint_pos_vel", "future_reference"):
                missing = [j for j in joints if j not in ref_index]
                if missing:
                    raise ContractError(
                        f"observation.terms[{i}].joint_names", f"joints {missing} are not in the reference"
                    )
                plan["ref_idx"] = np.array([ref_index[j] for j in joints], dtype=np.int64)
            if kind == "future_reference":
                plan["offsets"] = [int(k) for k in term["params"]["offsets"]]
            scale = term.get("scale")
            plan["scale"] = None if scale is None else np.asarray(scale, dtype=np.float64)
            clip = term.get("clip")
            plan["clip"] = None if clip is None else (float(clip[0]), float(clip[1]))
            plan["noise"] = term.get("noise")
            self._plan.append(plan)
        self._history: dict[str, deque[np.ndarray]] = {}

    # -------------------------------------------------------------------------------- term math
    def raw_terms(self, state: RobotState, t: float, last_action: np.ndarray) -> dict[str, np.ndarray]:
        """Every term's value at reference time ``t`` before noise, clip, scale and history (float64)."""
        ref = self.reference.at(t)
        out: dict[str, np.ndarray] = {}
        for plan in self._plan:
            out[plan["name"]] = self._term(plan, state, ref, t, last_action)
        return out

    def _anchor_b(self, state: RobotState, ref: ReferenceFrame) -> tuple[np.ndarray, np.ndarray]:
        return R.subtract_frame_transforms(
            state.anchor_pos_w, state.anchor_quat_w, ref.pos(self.anchor), ref.quat(self.anchor)
        )

    def _term(
        self, plan: dict[str, Any], state: RobotState, ref: ReferenceFrame, t: float, last_action: np.ndarray
    ) -> np.ndarray:
        kind = plan["kind"]
        if kind == "reference_joint_pos_vel":
            idx = plan["ref_idx"]
            return np.concatenate([ref.joint_pos[idx], ref.joint_vel[idx]])
        if kind == "reference_anchor_pos_b":
            return self._anchor_b(state, ref)[0]
        if kind == "reference_anchor_ori6d_b":
            return R.rot6d(self._anchor_b(state, ref)[1])
        if kind == "root_lin_vel_b":
            q = state.root_quat_w
            v_com = state.root_lin_vel_w + np.cross(state.root_ang_vel_w, R.rotate(q, self.com_offset_b))
            return R.rotate_inverse(q, v_com)
        if kind == "root_ang_vel_b":
            return R.rotate_inverse(state.root_quat_w, state.root_ang_vel_w)
        if kind == "joint_pos_rel":
            return state.joint_pos[plan["state_idx"]] - plan["default"]
        if kind == "joint_vel_rel":
            return state.joint_vel[plan["state_idx"]] - plan["default"]
        if kind == "last_action":
            return np.asarray(last_action, dtype=np.float64).reshape(-1)
        if kind == "future_reference":
            parts = []
            for k in plan["offsets"]:
                fut = self.reference.at(t + k * self.control_dt)
                pos, quat = self._anchor_b(state, fut)
                parts += [fut.joint_pos[plan["ref_idx"]], pos, R.rot6d(quat)]
            return np.concatenate(parts)
        raise ContractError("observation.terms", f"term '{plan['name']}' has unsupported kind {kind!r}")

    # -------------------------------------------------------------------------------- processing
    @staticmethod
    def _noise(value: np.ndarray, noise: Mapping[str, Any], scale: float, rng: np.random.Generator) -> np.ndarray:
        kind = noise.get("type")
        op = noise.get("operation", "add")
        if kind == "uniform":
            lo, hi = float(noise["n_min"]) * scale, float(noise["n_max"]) * scale
            draw = rng.uniform(lo, hi, size=value.shape)
        elif kind == "gaussian":
            draw = float(noise.get("mean", 0.0)) * scale + float(noise["std"]) * scale * rng.standard_normal(
                value.shape
            )
        elif kind == "constant":
            draw = np.full(value.shape, float(noise["bias"]) * scale)
        else:
            raise ContractError("observation.terms[].noise", f"cannot simulate noise of type {kind!r}")
        if op == "add":
            return value + draw
        if op == "scale":
            return value * draw
        if op == "abs":
            return draw
        raise ContractError("observation.terms[].noise.operation", f"unknown operation {op!r}")

    def process(
        self, raw: Mapping[str, np.ndarray], noise_scale: float = 0.0, rng: np.random.Generator | None = None
    ) -> dict[str, np.ndarray]:
        """Noise (``noise_scale`` x the training noise, 0 = off), clip and scale every term, in Isaac Lab's order."""
        out: dict[str, np.ndarray] = {}
        for plan in self._plan:
            value = np.asarray(raw[plan["name"]], dtype=np.float64)
            if noise_scale > 0.0 and plan["noise"] is not None:
                value = self._noise(
                    value, plan["noise"], noise_scale, rng if rng is not None else np.random.default_rng()
                )
            if plan["clip"] is not None:
                value = np.clip(value, *plan["clip"])
            if plan["scale"] is not None:
                value = value * plan["scale"]
            out[plan["name"]] = value
        return out

    def reset(self) -> None:
        """Forget the observation history (call when an episode starts)."""
        self._history.clear()

    def assemble(self, frames: Mapping[str, np.ndarray], update_history: bool = True) -> np.ndarray:
        """Concatenate processed term frames into the policy input ``[observation_dim]`` (float32).

        ``update_history`` appends the frames to the history (once per control step); without it an
        empty history is filled with the current frames and an existing one is read unchanged, as
        Isaac Lab's ``compute(update_history=False)``.
        """
        per_term: list[np.ndarray] = []
        for plan in self._plan:
            name, h = plan["name"], plan["history"]
            frame = np.asarray(frames[name], dtype=np.float64)
            if h <= 0:
                per_term.append(frame[None])
                continue
            buf = self._history.get(name)
            if buf is None:
                filled = deque([frame] * h, maxlen=h)
                if update_history:
                    self._history[name] = filled
                buf = filled
            elif update_history:
                buf.append(frame)
            per_term.append(np.stack(list(buf)))
        if self.time_major:
            steps = per_term[0].shape[0]
            vec = np.concatenate([np.concatenate([p[k] for p in per_term]) for k in range(steps)])
        else:
            vec = np.concatenate([p.reshape(-1) for p in per_term])
        return vec.astype(np.float32)
