"""``deploy.yaml`` in the layout of unitree_rl_lab's G1 deploy config, generated from the deploy contract.

unitree_rl_lab (``export_deploy_cfg``) writes, and its C++ deploy reads: ``joint_ids_map`` (for each
policy joint, its Unitree SDK motor index), ``step_dt`` (s), ``stiffness`` / ``damping`` (**SDK
motor order**), ``default_joint_pos`` (**policy order**), ``commands``, ``actions.<Term>`` with
``clip``, ``joint_names``, ``scale``, ``offset``, ``joint_ids``, and ``observations.<name>`` (in
input order) with ``params``, ``clip``, ``scale`` (one value per dim) and ``history_length`` (1 =
no history). Its schema is not published as a spec; this is the closest honest rendering of our
contract (``docs/deploy.md`` lists every field). Differences, on purpose:

* values keep full float precision (unitree_rl_lab rounds to 3 significant digits);
* observation keys are the names unitree_rl_lab registers for the same quantity where one exists
  (``motion_command``, ``motion_anchor_ori_b``, ``base_ang_vel``, ``joint_pos_rel``,
  ``joint_vel_rel``, ``last_action``); ours without a counterpart keep descriptive names
  (``motion_anchor_pos_b``, ``base_lin_vel``: the root centre-of-mass velocity, ``future_reference``);
* reference-offset actions are written as ``ReferenceJointPositionAction`` with ``offset: null`` and
  an ``offset_kind``, so a consumer that only knows ``JointPositionAction`` refuses them instead of
  adding a wrong constant offset.

The contract stays the source of truth; this file is derived from it and never read back.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from g1_mimic.fileio import atomic_write_text

from .contract import OFFSET_REFERENCE, term_frame_dim, validate_contract

__all__ = ["DEPLOY_YAML_FILENAME", "deploy_yaml_dict", "write_deploy_yaml"]

DEPLOY_YAML_FILENAME = "deploy.yaml"

#: Observation key per term kind: unitree_rl_lab's registered name where it has one.
_OBS_KEY = {
    "reference_joint_pos_vel": "motion_command",
    "reference_anchor_ori6d_b": "motion_anchor_ori_b",
    "reference_anchor_pos_b": "motion_anchor_pos_b",
    "root_ang_vel_b": "base_ang_vel",
    "root_lin_vel_b": "base_lin_vel",
    "joint_pos_rel": "joint_pos_rel",
    "joint_vel_rel": "joint_vel_rel",
    "last_action": "last_action",
    "future_reference": "future_reference",
}


def deploy_yaml_dict(contract: Mapping[str, Any]) -> dict[str, Any]:
    """The deploy.yaml content (a plain dict, key order significant) of a validated contract."""
    validate_contract(contract, require_supported_terms=False)
    names = list(contract["joint_names"])
    p2s = list(contract["policy_to_sdk"])
    n_sdk = len(contract["sdk_joint_names"])
    joints = contract["joints"]

    def sdk_order(values: list[float]) -> list[float]:
        out = [0.0] * n_sdk
        for i, k in enumerate(p2s):
            out[k] = float(values[i])
        return out

    action = contract["action"]
    is_ref = action["offset_kind"] == OFFSET_REFERENCE
    act: dict[str, Any] = {
        "clip": action["clip"],
        "joint_names": names,
        "scale": [float(v) for v in action["scale"]],
        "offset": None if is_ref else [float(v) for v in action["offset"]],
        "joint_ids": None,
    }
    if is_ref:
        act["offset_kind"] = action["offset_kind"]
        act["offset_formula"] = action["offset_formula"]
        lead = action.get("reference_lead_s")
        act["reference_lead_s"] = float(contract["control_dt"] if lead is None else lead)
    observations: dict[str, Any] = {}
    for term in contract["observation"]["terms"]:
        key = _OBS_KEY.get(term["kind"], term["name"])
        if key in observations:
            key = f"{key}_{term['name']}"
        frame = term_frame_dim(term, contract) or term["dim"] // max(term["history_length"], 1)
        scale = term["scale"]
        if scale is None:
            scale = [1.0] * frame
        elif not isinstance(scale, list):
            scale = [float(scale)] * frame
        params = {k: v for k, v in term["params"].items() if k != "asset_cfg"}
        if term["kind"] in ("joint_pos_rel", "joint_vel_rel") and term["joint_names"] != names:
            params["asset_cfg"] = {"joint_ids": [names.index(j) for j in term["joint_names"]]}
        observations[key] = {
            "params": params,
            "clip": term["clip"],
            "scale": scale,
            "history_length": max(int(term["history_length"]), 1),
        }
    return {
        "joint_ids_map": p2s,
        "step_dt": float(contract["control_dt"]),
        "stiffness": sdk_order(joints["stiffness"]),
        "damping": sdk_order(joints["damping"]),
        "default_joint_pos": [float(v) for v in joints["default_pos"]],
        "commands": {},
        "actions": {"ReferenceJointPositionAction" if is_ref else "JointPositionAction": act},
        "observations": observations,
    }


def write_deploy_yaml(contract: Mapping[str, Any], path: str | os.PathLike) -> Path:
    """Write :func:`deploy_yaml_dict` of ``contract`` to ``path`` atomically (temporary file + rename)."""
    import yaml

    path = Path(path)
    content = deploy_yaml_dict(contract)
    header = (
        f"# deploy.yaml generated by g1_mimic from the deploy contract ({contract['task']}, contract v{contract['format_version']}).\n"
        "# Layout of unitree_rl_lab's G1 deploy config; field meanings in docs/deploy.md. Policy order = contract joint_names;\n"
        "# joint_ids_map[i] = Unitree SDK motor index of policy joint i; stiffness/damping in SDK order.\n"
    )
    body = yaml.safe_dump(content, default_flow_style=None, sort_keys=False, width=110)
    return atomic_write_text(path, header + body)
