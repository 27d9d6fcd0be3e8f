"""The policy graph (``policy_graph.onnx``) against the real env: the env's own actions and targets to 1e-5.

An untrained policy (random weights, so the actions are not trivially zero) drives the env; at every
control step the robot state, the clip time and the env's action are recorded, then the exported
ONNX graph, run in onnxruntime on those measurements alone, must give the same action and PD
targets. Two envs: the default task, and reference-offset actions with future frames and history.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

TASK = "Isaac-G1-Mimic-v0"
HISTORY_OVERRIDES = [
    "presets=ref_actions,future_obs",
    "env.observations.policy.joint_pos.history_length=3",
    "env.observations.policy.actions.history_length=2",
]
TOL = 1e-5
pytestmark = pytest.mark.slow


def _record(overrides: list[str], out_dir, steps: int) -> dict:
    """Export (contract + graph), then roll the untrained policy out recording what the graph needs."""
    from g1_mimic.rl.export import export_policy
    from g1_mimic.rl.session import policy_session
    from g1_mimic.robots.g1_constants import SDK_JOINT_NAMES

    def random_start(cfg):
        cfg.commands.motion.start_at_zero = False

    with policy_session(TASK, None, num_envs=2, device="cpu", overrides=overrides, env_cfg_hook=random_start) as s:
        env = s.unwrapped
        paths = export_policy(s.runner, env, out_dir)
        actor = s.runner.alg.get_policy().as_jit().eval()
        robot, cmd = env.scene["robot"], env.command_manager.get_term("motion")
        term = env.action_manager.get_term(env.action_manager.active_terms[0])
        to_sdk = [robot.joint_names.index(j) for j in SDK_JOINT_NAMES]
        anchor = robot.body_names.index(cmd.anchor_name)
        torch.manual_seed(0)
        obs, _ = env.reset()
        records = []
        with torch.inference_mode():
            for k in range(steps):
                d = robot.data
                o = env.scene.env_origins
                action = actor(obs["policy"])
                snap = {
                    "time_s": cmd.time_s.clone().reshape(-1, 1),
                    "clip_index": cmd.clip_ids.clone(),
                    "joint_pos": d.joint_pos.torch[:, to_sdk].clone(),
                    "joint_vel": d.joint_vel.torch[:, to_sdk].clone(),
                    "root_quat_w": d.root_link_quat_w.torch.clone(),
                    "root_lin_vel_w": d.root_link_lin_vel_w.torch.clone(),
                    "root_ang_vel_w": d.root_link_ang_vel_w.torch.clone(),
                    "anchor_pos_w": d.body_link_pos_w.torch[:, anchor] - o,
                    "anchor_quat_w": d.body_link_quat_w.torch[:, anchor].clone(),
                    "last_action": env.action_manager.action.clone(),
                    "reset": ((env.episode_length_buf == 0) | (k == 0)).float().reshape(-1, 1),
                    "env_action": action.clone(),
                }
                obs, *_ = env.step(action)
                snap["env_targets"] = term.processed_actions.clone()
                records.append({key: v.numpy().copy() for key, v in snap.items()})
    return {"paths": paths, "contract": json.loads(paths["policy.json"].read_text()), "records": records}


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    return _record([], tmp_path_factory.mktemp("graph_default"), steps=6)


@pytest.fixture(scope="module")
def history_run(tmp_path_factory):
    return _record(HISTORY_OVERRIDES, tmp_path_factory.mktemp("graph_history"), steps=6)


def _replay(run: dict, env_id: int) -> None:
    """The deploy GraphRuntime over one env's records (it carries the graph's state); compare with the env."""
    from g1_mimic.deploy import GraphRuntime, RobotState
    from g1_mimic.robots.g1_constants import SDK_JOINT_NAMES

    c = run["contract"]
    rt = GraphRuntime(run["paths"]["policy_graph.onnx"])
    env_to_sdk_targets = [c["joint_names"].index(j) for j in SDK_JOINT_NAMES]
    for k, rec in enumerate(run["records"]):
        r = {n: v[env_id] for n, v in rec.items()}
        if r["reset"][0] > 0.5:
            rt.reset()
        rt.clip_index = r["clip_index"].reshape(1).astype(np.int64)
        rt.last_action = r["last_action"].reshape(1, -1).astype(np.float32)  # the env's, not our own
        state = RobotState(
            root_pos_w=np.zeros(3), root_quat_w=r["root_quat_w"], root_lin_vel_w=r["root_lin_vel_w"],
            root_ang_vel_w=r["root_ang_vel_w"], joint_pos=r["joint_pos"], joint_vel=r["joint_vel"],
            anchor_pos_w=r["anchor_pos_w"], anchor_quat_w=r["anchor_quat_w"], joint_names=SDK_JOINT_NAMES,
        )
        out = rt.step(state, float(r["time_s"][0]))
        err = np.abs(out.action - r["env_action"]).max()
        assert err <= TOL, f"step {k} env {env_id}: the graph's action differs from the env's by {err:.3g}"
        err = np.abs(out.joint_pos_target_sdk - r["env_targets"][env_to_sdk_targets]).max()
        assert err <= TOL, f"step {k} env {env_id}: the graph's PD targets differ from the env's by {err:.3g}"


def test_graph_schema_is_in_the_contract(default_run):
    import onnx

    model = onnx.load(str(default_run["paths"]["policy_graph.onnx"]))
    c = default_run["contract"]
    names = [i.name for i in model.graph.input]
    assert names[:4] == ["time_s", "clip_index", "joint_pos", "joint_vel"]
    assert [i["name"] for i in c["policy_graph"]["inputs"]] == names
    assert c["policy_graph"]["outputs"][:2] == ["joint_pos_target", "action"]
    assert c["policy_graph"]["clip_names"] == c["reference"]["clip_names"]
    meta = {p.key for p in model.metadata_props}
    assert {"format", "policy_graph", "observation"} <= meta


@pytest.mark.parametrize("env_id", [0, 1])
def test_graph_gives_the_env_actions_default_task(default_run, env_id):
    _replay(default_run, env_id)


@pytest.mark.parametrize("env_id", [0, 1])
def test_graph_gives_the_env_actions_with_history_future_frames_and_reference_offsets(history_run, env_id):
    c = history_run["contract"]
    assert c["action"]["offset_kind"] == "reference_joint_pos"
    assert [n for n in c["policy_graph"]["inputs"] if n["name"].startswith("history_")] == [
        {"name": "history_joint_pos", "shape": [1, 3, 29], "dtype": "float32"},
        {"name": "history_actions", "shape": [1, 2, 29], "dtype": "float32"},
    ]
    _replay(history_run, env_id)


def test_graph_refuses_a_term_it_cannot_compute(default_run):
    from g1_mimic.deploy.contract import ContractError
    from g1_mimic.motion.clips import ClipStore
    from g1_mimic.motion.format import load_motion
    from g1_mimic.rl.policy_graph import PolicyGraph

    c = json.loads(json.dumps(default_run["contract"]))
    c["observation"]["terms"][2]["kind"] = "unsupported"
    motion = load_motion(c["reference"]["motion_file"])
    clips = ClipStore([motion], c["reference"]["joint_names"], [c["robot"]["anchor_body"]])
    with pytest.raises(ContractError, match=r"observation.terms\[2\].kind"):
        PolicyGraph(c, clips, torch.nn.Identity())


def test_graph_runtime_refuses_an_unknown_clip_and_a_plain_policy(default_run):
    from g1_mimic.deploy import ContractError, GraphRuntime

    with pytest.raises(ContractError, match="no clip 'nope' in the graph"):
        GraphRuntime(default_run["paths"]["policy_graph.onnx"], clip="nope")
    with pytest.raises(ContractError, match="not the policy graph's; give the exported policy_graph.onnx"):
        GraphRuntime(default_run["paths"]["policy.onnx"])
