"""Export a trained policy to ONNX and TorchScript with its deploy contract (and a deploy.yaml).

The deploy contract (:mod:`g1_mimic.deploy.contract`, described in ``docs/deploy.md``) is read
from the live env's managers, one source of truth: the observation manager's active ``policy``
terms (names, dims, scale, clip, history, the joints/bodies each reads; the configured noise comes
from the env cfg and is training-only), the action term (joint order, scale, offset, clip,
filtering), the robot's data (PD gains, effort/velocity limits, armature, default pose, limits,
root centre of mass), the motion command (anchor, tracked bodies, reference joint order, tail) and
the termination manager (failure thresholds). It is written beside the ONNX file as
``policy.json``, stored inside the ONNX file (``metadata_props``: one entry per top-level key,
JSON-encoded; :func:`read_onnx_metadata` decodes it), and rendered as unitree_rl_lab-style
``deploy.yaml``.
"""

from __future__ import annotations

import copy
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch

from g1_mimic.deploy.contract import (
    CONTRACT_FILENAME,
    CONTRACT_FORMAT,
    CONTRACT_VERSION,
    GRAPH_FILENAME,
    OFFSET_DEFAULT,
    OFFSET_REFERENCE,
    TERM_KINDS,
    UNSUPPORTED_KIND,
    ContractError,
    contract_from_metadata,
    contract_to_metadata,
    validate_contract,
    write_json_atomic,
)
from g1_mimic.deploy.deploy_yaml import DEPLOY_YAML_FILENAME, write_deploy_yaml
from g1_mimic.rl.manager_view import group_is_time_major, joint_action_term, observation_terms
from g1_mimic.robots.g1_constants import SDK_JOINT_NAMES

__all__ = ["deploy_contract", "export_policy", "read_onnx_metadata"]

_INTERPOLATION = (
    "frame i at i/fps s; f = min(max(t, 0) * fps, T - 1); linear between frames floor(f) and "
    "min(floor(f) + 1, T - 1) for joints, positions and velocities, short-arc slerp for orientations; "
    "past the clip end see tail_mode (hold: last frame, zero velocities)"
)


def _floats(x: Any, n: int | None = None) -> list[float] | float:
    """A tensor's first env row (or a whole 1-D tensor, or a list) as floats; a scalar as a float (or n copies)."""
    if isinstance(x, list | tuple):
        x = torch.as_tensor(x)
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu()
        if x.dim() >= 2:
            x = x[0]
        return [float(v) for v in x.reshape(-1)]
    return [float(x)] * n if n is not None else float(x)


def _pairs(x: torch.Tensor | list) -> list[list[float]]:
    """Per-joint (low, high) pairs of a ``[N, J, 2]`` / ``[J, 2]`` tensor or nested list as floats."""
    x = torch.as_tensor(x).detach().cpu()
    if x.dim() == 3:
        x = x[0]
    return [[float(a), float(b)] for a, b in x.tolist()]


def _tensor(proxy: Any) -> torch.Tensor:
    return proxy.torch if hasattr(proxy, "torch") else proxy


def _json_param(value: Any, robot: Any) -> Any:
    """A term parameter as JSON (scene entities by name with their resolved joints/bodies)."""
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, list | tuple):
        return [_json_param(v, robot) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_param(v, robot) for k, v in value.items()}
    if type(value).__name__ == "SceneEntityCfg":
        out: dict[str, Any] = {"name": value.name}
        if value.name == "robot" and robot is not None:
            out["joint_names"] = _resolve(robot.joint_names, value.joint_ids)
            out["body_names"] = _resolve(robot.body_names, value.body_ids)
        return out
    return repr(value)


def _resolve(names: list[str], ids: Any) -> list[str]:
    if isinstance(ids, slice):
        return list(names)[ids]
    return [names[int(i)] for i in ids]


def _noise(cfg: Any) -> dict[str, Any] | None:
    """A noise cfg as JSON: ``{"type", "operation", parameters}``; None when absent."""
    if cfg is None:
        return None
    kind = type(cfg).__name__
    out: dict[str, Any] = {"operation": getattr(cfg, "operation", "add")}
    if kind == "UniformNoiseCfg":
        out.update(type="uniform", n_min=_floats(cfg.n_min), n_max=_floats(cfg.n_max))
    elif kind == "GaussianNoiseCfg":
        out.update(type="gaussian", mean=_floats(cfg.mean), std=_floats(cfg.std))
    elif kind == "ConstantNoiseCfg":
        out.update(type="constant", bias=_floats(cfg.bias))
    else:
        out.update(type=kind, repr=repr(cfg))
    return out



def observation_kinds() -> dict:
    """The contract's kind of each observation function the exported graph computes (``mdp`` function ->
    kind name, e.g. ``mdp.joint_vel_rel`` -> ``"joint_vel_rel"``)."""
    from g1_mimic.tasks.mimic import mdp

    return {
        mdp.motion_anchor_pos_b: "reference_anchor_pos_b",
        mdp.motion_anchor_ori_b: "reference_anchor_ori6d_b",
        mdp.base_lin_vel: "root_lin_vel_b",
        mdp.base_ang_vel: "root_ang_vel_b",
        mdp.joint_pos_rel: "joint_pos_rel",
        mdp.joint_vel_rel: "joint_vel_rel",
        mdp.last_action: "last_action",
        mdp.future_reference: "future_reference",
    }

def deploy_contract(env, runner=None, task: str | None = None) -> dict[str, Any]:
    """The deploy contract of the task env ``env`` (unwrapped ManagerBasedRLEnv), read from its managers.

    Args:
        env: the env the policy runs in (the play cfg: observation noise off, nominal gains).
        runner: the rsl_rl runner; its env wrapper's ``clip_actions`` becomes ``action.raw_clip``.
        task: task id to record (default: the env's gym spec id; None when the env was not made by gym).

    The ``onnx`` section is filled by :func:`export_policy` from the exported graph.
    """
    from g1_mimic.tasks.mimic import mdp
    from g1_mimic.tasks.mimic.mdp.commands import MotionCommand

    action_name, term = joint_action_term(env, "export: the deploy contract")
    robot = env.scene[term.cfg.asset_name]
    data = robot.data
    action_io = term.IO_descriptor  # Isaac Lab's public description of a joint action: joints, scale, offset, clip
    joint_names = list(action_io.joint_names)
    n = len(joint_names)
    jids = [robot.joint_names.index(j) for j in joint_names]
    unknown = [j for j in joint_names if j not in SDK_JOINT_NAMES]
    if unknown:
        raise ValueError(f"export: joints {unknown} are not Unitree G1 SDK joints")

    def per_joint(proxy: Any) -> list[float]:
        return [float(v) for v in _tensor(proxy)[0, jids].detach().cpu()]

    def per_joint_pairs(proxy: Any) -> list[list[float]]:
        return [[float(a), float(b)] for a, b in _tensor(proxy)[0, jids].detach().cpu().tolist()]

    cmd = None
    for name in env.command_manager.active_terms:
        if isinstance(env.command_manager.get_term(name), MotionCommand):
            cmd_name, cmd = name, env.command_manager.get_term(name)
            break
    if cmd is None:
        raise ValueError("export: the env has no MotionCommand; the deploy contract describes tracking policies")
    root_body = cmd.cfg.root_body_name
    root_idx = robot.body_names.index(root_body)
    com_offset = [float(v) for v in _tensor(data.body_com_pos_b)[0, root_idx].detach().cpu()]
    step_dt = float(env.step_dt)

    # ---------------------------------------------------------------- action
    is_ref = isinstance(term, mdp.ReferenceJointPositionAction)
    tcfg = term.cfg
    raw_clip = getattr(getattr(runner, "env", None), "clip_actions", None) if runner is not None else None
    action = {
        "term": action_name,
        "type": type(term).__name__,
        "scale": _floats(action_io.scale, n),
        "offset_kind": OFFSET_REFERENCE if is_ref else OFFSET_DEFAULT,
        "offset": None if is_ref else _floats(action_io.offset, n),
        "offset_formula": (
            "reference.joint_pos(t) + reference_lead_s * reference.joint_vel(t)" if is_ref else "offset (constant, rad)"
        ),
        "reference_lead_s": float(term.lead_s) if is_ref else None,
        "target_formula": "clip(offset + scale * filtered(action))",
        "clip": _pairs(action_io.clip) if action_io.clip is not None else None,
        "raw_clip": float(raw_clip) if raw_clip is not None else None,
        "filter_alpha": float(getattr(tcfg, "filter_alpha", 1.0)),
        "training_only": {
            "noise_std": float(getattr(tcfg, "noise_std", 0.0)),
            "delay_range": [int(v) for v in getattr(tcfg, "delay_range", (0, 0))],
        },
    }

    # ---------------------------------------------------------------- observation
    group = "policy"
    group_cfg = getattr(env.cfg.observations, group, None)  # as configured (noise applies in training only)
    kinds = observation_kinds()
    terms = []
    inputs = []
    for name, tc, dim in observation_terms(env, group):
        func = tc.func
        params = dict(tc.params)
        kind = kinds.get(func, UNSUPPORTED_KIND)
        if func is mdp.generated_commands:
            kind = "reference_joint_pos_vel" if params.get("command_name") == cmd_name else UNSUPPORTED_KIND
        if kind == "last_action" and params.get("action_name") not in (None, action_name):
            kind = UNSUPPORTED_KIND
        if (
            kind in ("reference_anchor_pos_b", "reference_anchor_ori6d_b", "future_reference")
            and params.get("command_name") != cmd_name
        ):
            kind = UNSUPPORTED_KIND
        if tc.modifiers:
            kind = UNSUPPORTED_KIND  # custom modifiers cannot be reproduced outside Isaac Lab
        joints: list[str] | None = None
        bodies: list[str] | None = None
        offsets_s: list[float] | None = None
        asset_cfg = params.get("asset_cfg")
        if kind in ("joint_pos_rel", "joint_vel_rel"):
            joints = _resolve(robot.joint_names, asset_cfg.joint_ids)
        elif kind in ("root_lin_vel_b", "root_ang_vel_b"):
            bodies = [root_body]
        elif kind == "last_action":
            joints = joint_names
        elif kind == "reference_joint_pos_vel":
            joints, offsets_s = list(cmd.joint_names), [0.0]
            inputs.append(
                {"used_by": name, "fields": ["joint_pos", "joint_vel"], "bodies": [], "time_offsets_s": [0.0]}
            )
        elif kind in ("reference_anchor_pos_b", "reference_anchor_ori6d_b"):
            bodies, offsets_s = [cmd.anchor_name], [0.0]
            inputs.append(
                {
                    "used_by": name,
                    "fields": ["body_pos_w", "body_quat_w"],
                    "bodies": [cmd.anchor_name],
                    "time_offsets_s": [0.0],
                }
            )
        elif kind == "future_reference":
            joints, bodies = list(cmd.joint_names), [cmd.anchor_name]
            offsets_s = [int(k) * step_dt for k in params.get("offsets", (1, 2, 3))]
            params.setdefault("offsets", [1, 2, 3])
            inputs.append(
                {
                    "used_by": name,
                    "fields": ["joint_pos", "body_pos_w", "body_quat_w"],
                    "bodies": [cmd.anchor_name],
                    "time_offsets_s": offsets_s,
                }
            )
        scale = tc.scale
        if isinstance(scale, torch.Tensor):
            scale = float(scale) if scale.numel() == 1 else [float(v) for v in scale.reshape(-1)]
        elif scale is not None:
            scale = float(scale) if isinstance(scale, int | float) else [float(v) for v in scale]
        configured = getattr(getattr(group_cfg, name, None), "noise", None)
        info = TERM_KINDS.get(kind, {})
        terms.append(
            {
                "name": name,
                "function": f"{func.__module__}.{getattr(func, '__name__', type(func).__name__)}",
                "kind": kind,
                "dim": int(torch.tensor(dim).prod()),
                "shape": [int(v) for v in dim],
                "frame": info.get("frame"),
                "units": info.get("units"),
                "meaning": info.get("meaning"),
                "joint_names": joints,
                "body_names": bodies,
                "time_offsets_s": offsets_s,
                "params": {k: _json_param(v, robot) for k, v in params.items()},
                "scale": scale,
                "clip": [float(v) for v in tc.clip] if tc.clip is not None else None,
                "noise": _noise(configured),
                "history_length": int(tc.history_length),
                "flatten_history_dim": bool(tc.flatten_history_dim),
                "training_only": {
                    "delay_lag": [int(getattr(tc, "delay_min_lag", 0)), int(getattr(tc, "delay_max_lag", 0))]
                },
            }
        )
    if is_ref:
        inputs.append(
            {
                "used_by": f"action.{action_name}",
                "fields": ["joint_pos", "joint_vel"],
                "bodies": [],
                "time_offsets_s": [0.0],
            }
        )
    observation = {
        "group": group,
        "history_order": "time" if group_is_time_major(env, group) else "term",
        "processing": "term(state, reference) -> noise (training only) -> clip -> scale -> history (oldest first)",
        "noise_applied_in_training": bool(getattr(group_cfg, "enable_corruption", False))
        if group_cfg is not None
        else None,
        "terms": terms,
    }

    # ---------------------------------------------------------------- terminations
    terminations: dict[str, Any] = {}
    other: list[str] = []
    tm = env.termination_manager
    for name in tm.active_terms:
        tc = tm.get_term_cfg(name)
        if tc.func is mdp.bad_anchor_pos_z_only:
            terminations["anchor_pos"] = {"env_term": name, "threshold": float(tc.params["threshold"])}
        elif tc.func is mdp.bad_anchor_ori:
            terminations["anchor_ori"] = {"env_term": name, "threshold": float(tc.params["threshold"])}
        elif tc.func is mdp.bad_motion_body_pos_z_only:
            terminations["ee_body_pos"] = {
                "env_term": name,
                "threshold": float(tc.params["threshold"]),
                "body_names": list(tc.params["body_names"]),
            }
        elif tc.func is mdp.nonfinite_state:
            terminations["nonfinite_state"] = {"env_term": name}
        elif not tc.time_out:
            other.append(name)
    terminations["not_reproduced"] = other

    library = cmd.library
    reference = {
        "command": cmd_name,
        "anchor_body": cmd.anchor_name,
        "root_body": root_body,
        "tracked_bodies": list(cmd.body_names),
        "joint_names": list(cmd.joint_names),
        "inputs": inputs,
        "time_offsets_s": sorted({t for i in inputs for t in i["time_offsets_s"]}),
        "time": "t = episode_length * control_dt from the clip start (the reference and the robot describe the same instant)",
        "interpolation": _INTERPOLATION,
        "tail_mode": cmd.cfg.tail_mode,
        "tail_blend_time_s": float(cmd.cfg.tail_blend_time_s),
        "tail_s": float(cmd.cfg.tail_s),
        "motion_file": str(cmd.cfg.motion_file),
        "clip_names": list(library.clip_names),
    }
    spec = getattr(env, "spec", None)
    return {
        "format": CONTRACT_FORMAT,
        "format_version": CONTRACT_VERSION,
        "task": task or (spec.id if spec is not None else None),
        "robot_model": "unitree_g1_29dof",
        "quaternion_order": "xyzw",
        "control_dt": step_dt,
        "physics_dt": float(env.physics_dt),
        "decimation": int(env.cfg.decimation),
        "joint_names": joint_names,
        "sdk_joint_names": list(SDK_JOINT_NAMES),
        "policy_to_sdk": [SDK_JOINT_NAMES.index(j) for j in joint_names],
        "action_dim": n,
        "observation_dim": int(sum(t["dim"] for t in terms)),
        "joints": {
            "default_pos": per_joint(data.default_joint_pos),
            "default_vel": per_joint(data.default_joint_vel),
            "stiffness": per_joint(data.joint_stiffness),
            "damping": per_joint(data.joint_damping),
            "effort_limit": per_joint(data.joint_effort_limits),
            "velocity_limit": per_joint(data.joint_vel_limits),
            "armature": per_joint(data.joint_armature),
            "pos_limits": per_joint_pairs(data.joint_pos_limits),
            "soft_pos_limits": per_joint_pairs(data.soft_joint_pos_limits),
            "pd": "tau = stiffness * (target - q) - damping * qd, clipped to +-effort_limit, at physics_dt",
        },
        "robot": {
            "root_body": root_body,
            "anchor_body": cmd.anchor_name,
            "root_com_offset_b": com_offset,
            "tracked_bodies": list(cmd.body_names),
        },
        "action": action,
        "observation": observation,
        "reference": reference,
        "terminations": terminations,
        "onnx": {"input_name": None, "output_name": None, "batch_size": 1},
    }


def export_policy(runner, env, out_dir: str | os.PathLike) -> dict[str, Path]:
    """Write ``policy.onnx`` (contract in its metadata), ``policy.pt`` (TorchScript), ``policy.json``
    (the deploy contract) and ``deploy.yaml`` into ``out_dir``.

    Every file is written in a temporary folder inside ``out_dir`` and renamed into place, so an
    interrupted export never leaves a half-written file. Returns the paths written by name.
    """
    import onnx

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    contract = deploy_contract(env, runner)
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".export-") as tmp:
        runner.export_policy_to_onnx(path=tmp, filename="policy.onnx")
        runner.export_policy_to_jit(path=tmp, filename="policy.pt")
        onnx_path = os.path.join(tmp, "policy.onnx")
        model = onnx.load(onnx_path)
        contract["onnx"] = {
            "input_name": model.graph.input[0].name,
            "output_name": model.graph.output[0].name,
            "batch_size": 1,
            "opset": int(model.opset_import[0].version) if model.opset_import else None,
        }
        graph_path = os.path.join(tmp, GRAPH_FILENAME)
        contract["policy_graph"] = _export_graph(runner, env, contract, graph_path)
        validate_contract(contract, require_supported_terms=False)
        files = ["policy.onnx", "policy.pt", CONTRACT_FILENAME, DEPLOY_YAML_FILENAME]
        for path in (onnx_path, graph_path):
            if not os.path.exists(path):
                continue
            model = onnx.load(path)
            del model.metadata_props[:]
            for key, value in contract_to_metadata(contract).items():
                prop = model.metadata_props.add()
                prop.key = key
                prop.value = value
            onnx.save(model, path)
        if os.path.exists(graph_path):
            files.append(GRAPH_FILENAME)
        write_json_atomic(contract, os.path.join(tmp, CONTRACT_FILENAME))
        write_deploy_yaml(contract, os.path.join(tmp, DEPLOY_YAML_FILENAME))
        paths = {}
        for name in files:
            dst = out_dir / name
            shutil.move(os.path.join(tmp, name), dst)
            paths[name] = dst
    return paths


def _on_cpu(clips):
    """A shallow copy of a clip store (the motion library) whose tensors are on the CPU (the graph is traced there)."""
    if clips.device.type == "cpu":
        return clips
    out = copy.copy(clips)
    for name, value in vars(clips).items():
        if isinstance(value, torch.Tensor):
            setattr(out, name, value.cpu())
    out.device = torch.device("cpu")
    return out


def _export_graph(runner, env, contract: dict[str, Any], path: str) -> dict[str, Any]:
    """Write the policy graph (:mod:`g1_mimic.rl.policy_graph`, the env's clips baked in) to ``path``;
    returns the contract's ``policy_graph`` section (file, I/O schema, baked clips), or, for a policy
    whose observation has a term the graph cannot compute, ``{"file": None, "reason": ...}``."""
    from g1_mimic.rl.policy_graph import PolicyGraph, export_policy_graph, graph_inputs

    cmd = env.command_manager.get_term(contract["reference"]["command"])
    actor = runner.alg.get_policy().as_jit().to("cpu").eval()
    try:
        graph = PolicyGraph(contract, _on_cpu(cmd.library), actor)
    except ContractError as exc:
        return {"file": None, "reason": str(exc)}
    export_policy_graph(graph, path)
    return {
        "file": GRAPH_FILENAME,
        "inputs": graph_inputs(graph),
        "outputs": graph.output_names,
        "clip_names": list(cmd.library.clip_names),
        "clip_durations_s": [float(d) for d in cmd.library.clip_duration_s],
        "body_names": list(graph.body_names),
        "reference_joint_names": list(cmd.library.joint_names),
        "joint_order": "sdk_joint_names",
        "meaning": "rl/policy_graph.py: robot measurements, clip time and previous action -> PD targets",
    }


def read_onnx_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """Decode the deploy contract stored in an exported ONNX file's metadata (values JSON-decoded).

    Raises :class:`~g1_mimic.deploy.contract.ContractError` when the file's metadata holds no contract
    (an ONNX file not written by ``export_policy``)."""
    import onnx

    model = onnx.load(str(path))
    contract = contract_from_metadata({p.key: p.value for p in model.metadata_props})
    if contract is None:
        raise ContractError(
            "format", f"{path} carries no g1_mimic deploy contract in its metadata; export it with "
            "scripts/play.py --checkpoint CKPT --export_only (or give the policy.json written beside it)"
        )
    return contract
