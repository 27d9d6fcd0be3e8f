"""Export a trained policy to ONNX and TorchScript with the metadata a deploy stack needs.

The metadata is read from the live env's managers (one source of truth): the action term's joint
order, scale and offset (default pose), the robot's PD gains and limits, the policy observation
layout (term names and dims in order) and the control/physics time steps. It is stored inside the
ONNX file (``metadata_props``, values JSON-encoded) and beside it as ``policy.json``.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch

METADATA_VERSION = 1


def _as_list(x: Any, n: int) -> list[float]:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu()
        if x.dim() == 2:
            x = x[0]
        return [float(v) for v in x.reshape(-1)[:n]]
    return [float(x)] * n


def policy_metadata(env) -> dict[str, Any]:
    """Deploy metadata of the task env ``env`` (unwrapped ManagerBasedRLEnv)."""
    term = env.action_manager.get_term("joint_pos")
    robot = env.scene["robot"]
    joint_names = list(term._joint_names)
    n = len(joint_names)
    jids = [robot.joint_names.index(j) for j in joint_names]
    data = robot.data

    def per_joint(proxy) -> list[float]:
        t = proxy.torch if hasattr(proxy, "torch") else proxy
        return [float(v) for v in t[0, jids].detach().cpu()]

    obs_mgr = env.observation_manager
    terms = obs_mgr.active_terms["policy"]
    dims = obs_mgr.group_obs_term_dim["policy"]
    obs_layout = [{"name": t, "dim": int(torch.tensor(d).prod())} for t, d in zip(terms, dims, strict=True)]
    cmd = env.command_manager.get_term("motion")
    return {
        "metadata_version": METADATA_VERSION,
        "task": "Isaac-G1-Mimic-v0",
        "joint_names": joint_names,
        "default_joint_pos": _as_list(term._offset, n),
        "action_scale": _as_list(term._scale, n),
        "action_offset": "reference_joint_pos" if hasattr(term.cfg, "command_name") else "default_joint_pos",
        "joint_stiffness": per_joint(data.joint_stiffness),
        "joint_damping": per_joint(data.joint_damping),
        "joint_effort_limit": per_joint(data.joint_effort_limits),
        "observation_names": [o["name"] for o in obs_layout],
        "observation_dims": [o["dim"] for o in obs_layout],
        "observation_dim": int(sum(o["dim"] for o in obs_layout)),
        "action_dim": n,
        "control_dt": float(env.step_dt),
        "physics_dt": float(env.physics_dt),
        "anchor_body": cmd.anchor_name,
        "tracked_bodies": list(cmd.body_names),
        "quaternion_order": "xyzw",
    }


def export_policy(runner, env, out_dir: str | os.PathLike) -> dict[str, Path]:
    """Write ``policy.onnx`` (with metadata), ``policy.pt`` (TorchScript) and ``policy.json`` into ``out_dir``.

    Files are written to a temporary folder first and moved into place, so an interrupted export
    never leaves a half-written policy. Returns the paths written.
    """
    import onnx

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    meta = policy_metadata(env)
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".export-") as tmp:
        runner.export_policy_to_onnx(path=tmp, filename="policy.onnx")
        runner.export_policy_to_jit(path=tmp, filename="policy.pt")
        model = onnx.load(os.path.join(tmp, "policy.onnx"))
        del model.metadata_props[:]
        for key, value in meta.items():
            prop = model.metadata_props.add()
            prop.key = key
            prop.value = json.dumps(value)
        onnx.save(model, os.path.join(tmp, "policy.onnx"))
        with open(os.path.join(tmp, "policy.json"), "w") as f:
            json.dump(meta, f, indent=2)
        paths = {}
        for name in ("policy.onnx", "policy.pt", "policy.json"):
            dst = out_dir / name
            shutil.move(os.path.join(tmp, name), dst)
            paths[name] = dst
    return paths


def read_onnx_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """Decode the JSON metadata stored in an exported ONNX file."""
    import onnx

    model = onnx.load(str(path))
    return {p.key: json.loads(p.value) for p in model.metadata_props}
