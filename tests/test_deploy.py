"""The deploy contract against the real env (Isaac Lab on Newton, CPU); sim2sim against the env.

Two envs are built, one at a time, each recorded into plain arrays and closed before the tests
read the records: the default task (default-pose action offsets, random start times) and
``presets=ref_actions,future_obs`` with observation history on two terms (reference offsets,
future reference frames, history). An untrained policy is exported from each (fast). The policy
graph's parity with the env (observations, references, targets) is ``tests/test_policy_graph.py``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import yaml

TASK = "Isaac-G1-Mimic-v0"
REF_OVERRIDES = [
    "presets=ref_actions,future_obs",
    "env.observations.policy.joint_pos.history_length=3",
    "env.observations.policy.actions.history_length=2",
]
TOL = 1e-5
pytestmark = pytest.mark.slow


# ------------------------------------------------------------------------------------------ helpers
def _snapshot(env, contract: dict[str, Any]) -> list[dict[str, Any]]:
    """Per env: the robot state as the deploy runtime reads it, the reference time and what the env computed."""
    robot = env.scene["robot"]
    d = robot.data
    cmd = env.command_manager.get_term("motion")
    om = env.observation_manager
    anchor = robot.body_names.index(contract["robot"]["anchor_body"])
    ee = contract["terminations"]["ee_body_pos"]["body_names"]
    ee_ids = [robot.body_names.index(b) for b in ee]
    current = om.compute_group("policy")  # no history update: the newest frames
    dims = [int(np.prod(x)) for x in om.group_obs_term_dim["policy"]]
    names = list(om.active_terms["policy"])
    out = []
    for i in range(env.num_envs):
        o = env.scene.env_origins[i].numpy()
        terms, k = {}, 0
        for name, dim in zip(names, dims, strict=True):
            terms[name] = current[i, k : k + dim].numpy().copy()
            k += dim
        out.append(
            {
                "state": {
                    "root_pos_w": d.root_link_pos_w.torch[i].numpy() - o,
                    "root_quat_w": d.root_link_quat_w.torch[i].numpy().copy(),
                    "root_lin_vel_w": d.root_link_lin_vel_w.torch[i].numpy().copy(),
                    "root_ang_vel_w": d.root_link_ang_vel_w.torch[i].numpy().copy(),
                    "joint_pos": d.joint_pos.torch[i].numpy().copy(),
                    "joint_vel": d.joint_vel.torch[i].numpy().copy(),
                    "anchor_pos_w": d.body_link_pos_w.torch[i, anchor].numpy() - o,
                    "anchor_quat_w": d.body_link_quat_w.torch[i, anchor].numpy().copy(),
                    "body_pos_w": {b: d.body_link_pos_w.torch[i, j].numpy() - o for b, j in zip(ee, ee_ids, strict=True)},
                },
                "robot_joint_names": list(robot.joint_names),
                "t": float(cmd.time_s[i]),
                "episode_length": int(env.episode_length_buf[i]),
                "last_action": env.action_manager.action[i].numpy().astype(np.float64),
                "obs": env.obs_buf["policy"][i].numpy().copy(),
                "terms": terms,
            }
        )
    return out


def _record(session, out_dir: Path, steps: int, seed: int) -> dict[str, Any]:
    """Export an untrained policy, then step with small random actions recording every observation instant."""
    from g1_mimic.rl.export import export_policy

    env = session.unwrapped
    paths = export_policy(session.runner, env, out_dir)
    contract = json.loads(paths["policy.json"].read_text())
    term = env.action_manager.get_term(env.action_manager.active_terms[0])
    robot = env.scene["robot"]
    live = {
        "action_joint_names": list(term._joint_names),
        "action_scale": term._scale[0].tolist(),
        "obs_names": list(env.observation_manager.active_terms["policy"]),
        "obs_dims": [int(np.prod(x)) for x in env.observation_manager.group_obs_term_dim["policy"]],
        "stiffness": robot.data.joint_stiffness.torch[0].tolist(),
        "damping": robot.data.joint_damping.torch[0].tolist(),
        "effort": robot.data.joint_effort_limits.torch[0].tolist(),
        "default_pos": robot.data.default_joint_pos.torch[0].tolist(),
        "robot_joint_names": list(robot.joint_names),
        "motion_file": env.command_manager.get_term("motion").cfg.motion_file,
    }
    torch.manual_seed(seed)  # the motion library draws start times from torch's global generator
    env.reset()
    gen = torch.Generator().manual_seed(seed)
    records = []
    for k in range(steps + 1):
        snap = _snapshot(env, contract)
        if k < steps:
            action = 0.3 * torch.randn(env.num_envs, 29, generator=gen)
            env.step(action)
            targets = term.processed_actions.clone()
            for i, s in enumerate(snap):
                s["next_action"] = action[i].numpy().astype(np.float64)
                s["next_targets"] = targets[i].numpy().astype(np.float64)
        records.append(snap)
    return {"paths": paths, "contract": contract, "live": live, "records": records, "env": env}


def _state(snap: dict[str, Any]):
    from g1_mimic.deploy import RobotState

    return RobotState(**snap["state"], joint_names=tuple(snap["robot_joint_names"]))


# ------------------------------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    """Default task: random start times, 2 envs, 4 recorded steps; the env is closed afterwards."""
    from g1_mimic.rl.session import policy_session

    def random_start(cfg):
        cfg.commands.motion.start_at_zero = False

    out = tmp_path_factory.mktemp("export_default")
    with policy_session(TASK, None, num_envs=2, device="cpu", env_cfg_hook=random_start) as s:
        rec = _record(s, out, steps=4, seed=0)
    rec.pop("env")
    return rec


@pytest.fixture(scope="module")
def ref_run(tmp_path_factory):
    """Reference offsets + future frames + history; then a zero-action rollout until env 0 fails."""
    from g1_mimic.rl.session import policy_session

    out = tmp_path_factory.mktemp("export_ref")
    with policy_session(TASK, None, num_envs=2, device="cpu", overrides=REF_OVERRIDES) as s:
        rec = _record(s, out, steps=5, seed=1)
        env = rec.pop("env")
        env.reset()
        ended = None
        for k in range(1, 200):
            _, _, terminated, truncated, _ = env.step(torch.zeros(env.num_envs, 29))
            if bool(terminated[0] or truncated[0]):
                tm = env.termination_manager
                ended = (k * env.step_dt, sorted(n for n in tm.active_terms if bool(tm.get_term(n)[0])))
                break
        rec["zero_action_end"] = ended
        # the same policy with every weight zero: zero actions, i.e. reference-offset PD with no feedback
        from g1_mimic.rl.export import export_policy

        with torch.no_grad():
            for p in s.runner.alg.get_policy().parameters():
                p.zero_()
        rec["zero_paths"] = export_policy(s.runner, env, out / "zero")
    return rec


# ------------------------------------------------------------------------------------------ contract
def test_contract_is_read_from_the_env(default_run):
    from g1_mimic.rl.export import read_onnx_metadata
    from g1_mimic.robots.g1_constants import SDK_JOINT_NAMES

    c, live = default_run["contract"], default_run["live"]
    assert c["format"] == "g1_mimic.deploy_contract" and c["format_version"] == 1
    assert c["joint_names"] == live["action_joint_names"]
    assert [t["name"] for t in c["observation"]["terms"]] == live["obs_names"]
    assert [t["dim"] for t in c["observation"]["terms"]] == live["obs_dims"]
    assert c["observation_dim"] == sum(live["obs_dims"]) == 160 and c["action_dim"] == 29
    assert np.allclose(c["action"]["scale"], live["action_scale"])
    assert c["action"]["offset_kind"] == "default_joint_pos" and np.allclose(c["action"]["offset"], live["default_pos"])
    ids = [live["robot_joint_names"].index(j) for j in c["joint_names"]]
    for key, values in (
        ("stiffness", live["stiffness"]),
        ("damping", live["damping"]),
        ("effort_limit", live["effort"]),
    ):
        assert np.allclose(c["joints"][key], np.asarray(values)[ids]), key
    assert [SDK_JOINT_NAMES[k] for k in c["policy_to_sdk"]] == c["joint_names"]
    assert c["sdk_joint_names"] == list(SDK_JOINT_NAMES)
    assert c["control_dt"] == pytest.approx(0.02) and c["physics_dt"] == pytest.approx(0.005) and c["decimation"] == 4
    assert c["reference"]["anchor_body"] == "torso_link" and c["robot"]["root_body"] == "pelvis"
    lin = next(t for t in c["observation"]["terms"] if t["name"] == "base_lin_vel")
    assert lin["kind"] == "root_lin_vel_b" and lin["noise"] == {
        "operation": "add",
        "type": "uniform",
        "n_min": -0.5,
        "n_max": 0.5,
    }
    assert c["observation"]["noise_applied_in_training"] is False  # exported from the play cfg
    from g1_mimic.deploy import BEYONDMIMIC_TERMINATIONS

    for key, expected in BEYONDMIMIC_TERMINATIONS.items():  # the sim2sim fallback is the default task's
        assert {k: v for k, v in c["terminations"][key].items() if k != "env_term"} == expected, key
    assert c["onnx"]["input_name"] == "obs" and c["onnx"]["output_name"] == "actions"
    assert read_onnx_metadata(default_run["paths"]["policy.onnx"]) == c


def test_anchor_kinematics_match_env(default_run):
    from g1_mimic.deploy import AnchorKinematics

    fk = AnchorKinematics("torso_link")
    for step in default_run["records"]:
        for snap in step:
            st = snap["state"]
            pos, quat = fk.anchor_pose(st["root_pos_w"], st["root_quat_w"], st["joint_pos"], snap["robot_joint_names"])
            assert np.max(np.abs(pos - st["anchor_pos_w"])) < 1e-4
            assert abs(abs(float(np.dot(quat, st["anchor_quat_w"]))) - 1.0) < 1e-6
            ee = fk.body_pos_w(st["root_pos_w"], st["root_quat_w"], st["joint_pos"], snap["robot_joint_names"], list(st["body_pos_w"]))
            assert all(np.max(np.abs(ee[b] - p)) < 1e-4 for b, p in st["body_pos_w"].items())


def test_onnx_policy_matches_torchscript(default_run):
    from g1_mimic.deploy import load_policy_contract

    session, _ = load_policy_contract(default_run["paths"]["policy.onnx"])
    jit = torch.jit.load(str(default_run["paths"]["policy.pt"]))
    real = np.stack([snap["obs"] for step in default_run["records"] for snap in step]).astype(np.float32)
    rand = np.random.default_rng(0).normal(size=(6, real.shape[1])).astype(np.float32)
    for obs in np.concatenate([real, rand]):
        mine = session.run(None, {session.get_inputs()[0].name: obs[None]})[0][0]
        with torch.no_grad():
            ref = jit(torch.from_numpy(obs[None])).numpy()[0]
        assert np.max(np.abs(mine - ref)) <= TOL


def _edited(contract: dict[str, Any], edit: str) -> dict[str, Any]:
    c = json.loads(json.dumps(contract))
    if edit == "swap_joints":
        c["joint_names"][0], c["joint_names"][1] = c["joint_names"][1], c["joint_names"][0]
    elif edit == "dim":
        c["observation"]["terms"][0]["dim"] -= 1
    elif edit == "version":
        c["format_version"] += 1
    elif edit == "stiffness":
        c["joints"]["stiffness"][3] *= 2.0
    elif edit == "lead":
        c["action"]["reference_lead_s"] = -0.05
    return c


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        ("swap_joints", "joint_names[0]"),
        ("dim", "observation.terms[0].dim"),
        ("version", "format_version"),
        ("stiffness", "joints.stiffness[3]"),
        ("lead", "action.reference_lead_s"),
    ],
)
def test_hand_edited_contract_is_refused(default_run, tmp_path, edit, field):
    from g1_mimic.deploy import ContractError, load_policy_contract

    bad = tmp_path / "policy.json"
    bad.write_text(json.dumps(_edited(default_run["contract"], edit)))
    with pytest.raises(ContractError) as info:
        load_policy_contract(default_run["paths"]["policy.onnx"], contract=bad)
    assert info.value.field == field
    assert f"'{field}'" in str(info.value)


def test_contract_checks_without_embedded_copy(default_run, tmp_path):
    """An ONNX file without metadata: the contract's own consistency and the tensor widths are still checked."""
    import onnx

    from g1_mimic.deploy import ContractError, GraphRuntime, load_policy_contract, validate_contract

    c = default_run["contract"]
    with pytest.raises(ContractError) as info:
        validate_contract(_edited(c, "swap_joints"))
    assert info.value.field == "policy_to_sdk[0]"
    with pytest.raises(ContractError) as info:
        validate_contract(_edited(c, "dim"))
    assert info.value.field == "observation.terms[0].dim"
    model = onnx.load(str(default_run["paths"]["policy.onnx"]))
    del model.metadata_props[:]
    bare = tmp_path / "bare.onnx"
    onnx.save(model, str(bare))
    shorter = json.loads(json.dumps(c))
    dropped = shorter["observation"]["terms"].pop()  # a consistent contract for a 131-wide input
    shorter["observation_dim"] -= dropped["dim"]
    with pytest.raises(ContractError) as info:
        load_policy_contract(bare, contract=shorter)
    assert info.value.field == "observation_dim" and "ONNX input" in str(info.value)
    # a robot state without one of the policy's joints is refused by name
    snap = default_run["records"][0][0]
    names = list(snap["robot_joint_names"])
    names[-1] = "hand_joint"
    state = _state(snap)
    state.joint_names = tuple(names)
    with pytest.raises(ContractError) as info:
        GraphRuntime(default_run["paths"]["policy_graph.onnx"]).step(state, 0.0)
    assert info.value.field == "joint_names" and repr(snap["robot_joint_names"][-1]) in str(info.value)


def test_deploy_yaml_follows_the_contract(default_run, ref_run):
    for rec, action_key in ((default_run, "JointPositionAction"), (ref_run, "ReferenceJointPositionAction")):
        c = rec["contract"]
        text = rec["paths"]["deploy.yaml"].read_text()
        cfg = yaml.safe_load(text)
        assert list(cfg) == [
            "joint_ids_map",
            "step_dt",
            "stiffness",
            "damping",
            "default_joint_pos",
            "commands",
            "actions",
            "observations",
        ]
        assert cfg["joint_ids_map"] == c["policy_to_sdk"] and cfg["step_dt"] == pytest.approx(c["control_dt"])
        for key, src in (("stiffness", "stiffness"), ("damping", "damping")):
            for i, k in enumerate(c["policy_to_sdk"]):
                assert cfg[key][k] == pytest.approx(c["joints"][src][i])
        assert cfg["default_joint_pos"] == pytest.approx(c["joints"]["default_pos"])
        act = cfg["actions"][action_key]
        assert act["scale"] == pytest.approx(c["action"]["scale"]) and act["joint_names"] == c["joint_names"]
        assert (act["offset"] is None) == (action_key == "ReferenceJointPositionAction")
        if action_key == "ReferenceJointPositionAction":  # presets=ref_actions leads by one control step
            assert act["reference_lead_s"] == pytest.approx(c["control_dt"]) == pytest.approx(c["action"]["reference_lead_s"])
        obs = cfg["observations"]
        assert list(obs)[:3] == ["motion_command", "motion_anchor_pos_b", "motion_anchor_ori_b"]
        assert sum(len(v["scale"]) * v["history_length"] for v in obs.values()) == c["observation_dim"]
    hist = yaml.safe_load(ref_run["paths"]["deploy.yaml"].read_text())["observations"]
    assert hist["joint_pos_rel"]["history_length"] == 3 and hist["last_action"]["history_length"] == 2


# ------------------------------------------------------------------------------------------ reference offsets, future frames, history
def test_zero_action_policy_fails_in_sim2sim_as_in_the_env(ref_run, tmp_path):
    """Reference-offset PD with zero actions (no balance feedback): MuJoCo C and Newton agree on when it falls."""
    from g1_mimic.deploy.sim2sim import Sim2SimOptions, run_sim2sim

    assert ref_run["zero_action_end"] is not None, "the zero-action robot did not fall in the env within 4 s"
    env_time, env_terms = ref_run["zero_action_end"]
    report, episodes, _ = run_sim2sim(ref_run["zero_paths"]["policy_graph.onnx"], 0, Sim2SimOptions(standing_s=1.0), progress=None)
    assert report["success_rate"] == 0.0
    ep = episodes[0]
    assert abs(ep.failure_time_s - env_time) <= 0.2, (ep.failure_time_s, env_time, ep.failure, env_terms)
    assert set(ep.failure) & set(env_terms), (ep.failure, env_terms)
