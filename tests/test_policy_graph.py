"""The policy graph (``policy_graph.onnx``) against the real env: the env's own actions and targets to 1e-5.

An untrained policy (random weights, so the actions are not trivially zero) drives the env; at every
control step the robot state, the clip time and the env's action are recorded, then the exported
ONNX graph, run in onnxruntime on those measurements alone, must give the same action, PD
targets and failure quantities. Three envs: the default task; reference-offset actions (led by the servo lag) with future frames and history;
no state estimation with the action filter.
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
    "env.actions.joint_pos.lead_s=0.0837",  # the reference's velocity fed forward (not one control step)
]
#: ``--variant no_state_estimation`` (no anchor position, no base linear velocity in the actor) with the low-pass action
#: filter of ``--variant actuation`` (its delay and noise are training randomisation, not part of the policy)
ESTIMATION_FREE_OVERRIDES = [
    "env.observations.policy.motion_anchor_pos_b=null",
    "env.observations.policy.base_lin_vel=null",
    "env.actions.joint_pos.filter_alpha=0.8",
]
TOL = 1e-5
pytestmark = pytest.mark.slow


def _record(overrides: list[str], out_dir, steps: int) -> dict:
    """Export (contract + graph), then roll the untrained policy out recording what the graph needs."""
    from g1_mimic.rl.export import export_policy
    from g1_mimic.rl.session import policy_session
    from g1_mimic.robots.g1_constants import END_EFFECTOR_BODIES, SDK_JOINT_NAMES
    from g1_mimic.tasks.mimic.mdp.terminations import anchor_gravity_error, anchor_height_error, body_height_error

    def random_start(cfg):
        cfg.commands.motion.start_at_zero = False

    with policy_session(TASK, None, num_envs=2, device="cpu", overrides=overrides, env_cfg_hook=random_start) as s:
        env = s.unwrapped
        paths = export_policy(s.runner, env, out_dir)
        actor = s.runner.alg.get_policy().as_jit().eval()
        robot, cmd = env.scene["robot"], env.command_manager.get_term("motion")
        ee = [cmd.body_names.index(b) for b in END_EFFECTOR_BODIES]
        term = env.action_manager.get_term(env.action_manager.active_terms[0])
        to_sdk = [robot.joint_names.index(j) for j in SDK_JOINT_NAMES]
        anchor = robot.body_names.index(cmd.anchor_name)
        ee_robot = [robot.body_names.index(b) for b in END_EFFECTOR_BODIES]
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
                    "env_reanchored_ee": cmd.relative_body_pose_w()[0][:, ee] - o.unsqueeze(1),
                    "ee_body_pos_w": d.body_link_pos_w.torch[:, ee_robot] - o.unsqueeze(1),
                    # what the env's termination terms compare with their thresholds
                    "env_anchor_height_error": anchor_height_error(cmd.anchor_pos_w, cmd.robot_anchor_pos_w),
                    "env_anchor_gravity_error": anchor_gravity_error(cmd.anchor_quat_w, cmd.robot_anchor_quat_w),
                    "env_ee_height_error": body_height_error(cmd.relative_body_pose_w()[0][:, ee], cmd.robot_body_pos_w[:, ee]),
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


@pytest.fixture(scope="module")
def estimation_free_run(tmp_path_factory):
    return _record(ESTIMATION_FREE_OVERRIDES, tmp_path_factory.mktemp("graph_estimation_free"), steps=6)


def _replay(run: dict, env_id: int) -> None:
    """The deploy GraphRuntime over one env's records (it carries the graph's state); compare with the env."""
    from g1_mimic.deploy import GraphRuntime, RobotState
    from g1_mimic.robots.g1_constants import END_EFFECTOR_BODIES, SDK_JOINT_NAMES

    c = run["contract"]
    rt = GraphRuntime(run["paths"]["policy_graph.onnx"])
    env_to_sdk_targets = [c["joint_names"].index(j) for j in SDK_JOINT_NAMES]
    ee_rows = [rt.body_names.index(b) for b in END_EFFECTOR_BODIES]
    perm = np.random.default_rng(env_id).permutation(len(SDK_JOINT_NAMES))
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
            body_pos_w=dict(zip(END_EFFECTOR_BODIES, r["ee_body_pos_w"], strict=True)),
        )
        # joints in another order (as a robot stack may hold them): mapped by name, the same outputs
        shuffled = RobotState(
            root_pos_w=np.zeros(3), root_quat_w=r["root_quat_w"], root_lin_vel_w=r["root_lin_vel_w"],
            root_ang_vel_w=r["root_ang_vel_w"], joint_pos=r["joint_pos"][perm], joint_vel=r["joint_vel"][perm],
            anchor_pos_w=r["anchor_pos_w"], anchor_quat_w=r["anchor_quat_w"],
            joint_names=tuple(SDK_JOINT_NAMES[j] for j in perm), body_pos_w=state.body_pos_w,
        )
        t = float(r["time_s"][0])
        assert np.array_equal(rt.reference_at(t, shuffled).action, rt.reference_at(t, state).action)
        out = rt.step(state, t)
        err = np.abs(out.reference_reanchored_body_pos_w[ee_rows] - r["env_reanchored_ee"]).max()
        assert err <= TOL, f"step {k} env {env_id}: the graph's re-anchored end effectors differ from the env's by {err:.3g}"
        err = np.abs(out.action - r["env_action"]).max()
        assert err <= TOL, f"step {k} env {env_id}: the graph's action differs from the env's by {err:.3g}"
        err = np.abs(out.joint_pos_target_sdk - r["env_targets"][env_to_sdk_targets]).max()
        assert err <= TOL, f"step {k} env {env_id}: the graph's PD targets differ from the env's by {err:.3g}"
        for name in ("anchor_height_error", "anchor_gravity_error", "ee_height_error"):
            err = np.abs(getattr(out, name) - r[f"env_{name}"]).max()
            assert err <= TOL, f"step {k} env {env_id}: the graph's {name} differs from the env's by {err:.3g}"


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
    assert c["action"]["reference_lead_s"] == pytest.approx(0.0837)
    assert [n for n in c["policy_graph"]["inputs"] if n["name"].startswith("history_")] == [
        {"name": "history_joint_pos", "shape": [1, 3, 29], "dtype": "float32"},
        {"name": "history_actions", "shape": [1, 2, 29], "dtype": "float32"},
    ]
    _replay(history_run, env_id)


@pytest.mark.parametrize("env_id", [0, 1])
def test_graph_gives_the_env_actions_without_state_estimation_and_with_an_action_filter(estimation_free_run, env_id):
    c = estimation_free_run["contract"]
    assert "filter_state" in [i["name"] for i in c["policy_graph"]["inputs"]]
    assert c["observation_dim"] == 160 - 3 - 3  # no anchor position, no base linear velocity
    _replay(estimation_free_run, env_id)


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


def _on_reference(rt, out, anchor_pos=None, anchor_quat=None, bodies=None):
    """A robot state standing on the reference of ``out`` (anchor pose and end-effector positions replaceable)."""
    from g1_mimic.deploy import RobotState

    a, r = rt.body_names.index(rt.anchor_body), rt.body_names.index("pelvis")
    if bodies is None:
        bodies = {b: out.reference_body_pos_w[rt.body_names.index(b)] for b in rt.ee_bodies}
    return RobotState(
        root_pos_w=out.reference_body_pos_w[r], root_quat_w=out.reference_body_quat_w[r],
        root_lin_vel_w=out.reference_body_lin_vel_w[r], root_ang_vel_w=out.reference_body_ang_vel_w[r],
        joint_pos=np.zeros(29), joint_vel=np.zeros(29),
        anchor_pos_w=out.reference_body_pos_w[a] if anchor_pos is None else anchor_pos,
        anchor_quat_w=out.reference_body_quat_w[a] if anchor_quat is None else anchor_quat,
        body_pos_w=bodies,
    )


def test_alignment_is_a_rigid_yaw_and_translation(default_run):
    from g1_mimic.deploy import GraphRuntime
    from g1_mimic.motion import quat as Q

    rt = GraphRuntime(default_run["paths"]["policy_graph.onnx"])
    plain = rt.reference_at(1.3, _zero_state())
    yaw, shift = 1.2, np.array([2.0, -1.0, 0.05])
    rt.align(yaw, shift)
    qa = np.array([0.0, 0.0, np.sin(0.5 * yaw), np.cos(0.5 * yaw)])
    moved = rt.reference_at(1.3, _on_reference(rt, plain))
    assert np.allclose(moved.reference_body_pos_w, Q.rotate(qa, plain.reference_body_pos_w) + shift, atol=1e-5)
    assert np.allclose(np.abs(np.sum(moved.reference_body_quat_w * Q.multiply(qa, plain.reference_body_quat_w), -1)), 1.0, atol=1e-6)
    assert np.allclose(moved.reference_body_lin_vel_w, Q.rotate(qa, plain.reference_body_lin_vel_w), atol=1e-5)
    assert np.allclose(moved.reference_body_ang_vel_w, Q.rotate(qa, plain.reference_body_ang_vel_w), atol=1e-5)
    assert np.array_equal(moved.reference_joint_pos, plain.reference_joint_pos)
    rt.align(0.0, (0.0, 0.0, 0.0))
    assert np.allclose(rt.reference_at(1.3, _zero_state()).reference_body_pos_w, plain.reference_body_pos_w, atol=1e-6)


def _zero_state():
    from g1_mimic.deploy import RobotState
    from g1_mimic.robots.g1_constants import END_EFFECTOR_BODIES

    ident = np.array([0.0, 0.0, 0.0, 1.0])
    return RobotState(
        np.zeros(3), ident, np.zeros(3), np.zeros(3), np.zeros(29), np.zeros(29), np.zeros(3), ident,
        body_pos_w=dict.fromkeys(END_EFFECTOR_BODIES, np.zeros(3)),
    )


def test_failure_checks_fire_at_their_thresholds(default_run):
    from g1_mimic.deploy import BEYONDMIMIC_TERMINATIONS, GraphRuntime
    from g1_mimic.motion import quat as Q
    from g1_mimic.robots.g1_constants import END_EFFECTOR_BODIES

    rt = GraphRuntime(default_run["paths"]["policy_graph.onnx"])
    assert rt.ee_bodies == list(END_EFFECTOR_BODIES) and rt.failure_source.startswith("contract")
    assert {k: {n: v for n, v in rt.terminations[k].items() if n != "env_term"} for k in rt.terminations} == BEYONDMIMIC_TERMINATIONS
    a = rt.body_names.index(rt.anchor_body)
    ref = rt.reference_at(2.0, _zero_state())
    anchor_pos, anchor_quat = ref.reference_body_pos_w[a], ref.reference_body_quat_w[a]

    def check(pos, quat, bodies):
        out = rt.reference_at(2.0, _on_reference(rt, ref, pos, quat, bodies))  # re-anchored to this robot anchor
        return rt.failures(out)

    bodies = {b: ref.reference_body_pos_w[rt.body_names.index(b)].copy() for b in rt.ee_bodies}
    assert check(anchor_pos, anchor_quat, bodies) == []
    # anchor height: 0.24 m off is fine, 0.26 m is a failure (the re-anchored end-effector targets keep the
    # reference anchor height, so a robot sunk as a whole trips the end-effector check too)
    for dz, expected in ((-0.24, []), (-0.26, ["anchor_pos"])):
        assert check(anchor_pos + [0.0, 0.0, dz], anchor_quat, bodies) == expected
    sunk = {b: v + [0.0, 0.0, -0.26] for b, v in bodies.items()}
    assert check(anchor_pos + [0.0, 0.0, -0.26], anchor_quat, sunk) == ["anchor_pos", "ee_body_pos"]
    # a horizontal shift and a yaw of the whole robot are no failure (re-anchoring, in the graph)
    q_yaw = np.array([0.0, 0.0, np.sin(0.4), np.cos(0.4)])
    turned = {b: Q.rotate(q_yaw, v - anchor_pos) + anchor_pos + [0.5, -0.2, 0.0] for b, v in bodies.items()}
    assert check(anchor_pos + [0.5, -0.2, 0.0], Q.multiply(q_yaw, anchor_quat), turned) == []
    # tilting the anchor: gravity z in the anchor frame changes; the threshold is 0.8 of it
    g = np.array([0.0, 0.0, -1.0])
    outcomes = set()
    for angle in np.radians([60.0, 75.0, 82.0, 95.0]):
        tilted = Q.multiply(np.array([np.sin(0.5 * angle), 0.0, 0.0, np.cos(0.5 * angle)]), anchor_quat)
        gz = abs(Q.rotate(Q.conjugate(anchor_quat), g)[2] - Q.rotate(Q.conjugate(tilted), g)[2])
        assert ("anchor_ori" in check(anchor_pos, tilted, bodies)) == (gz > 0.8), np.degrees(angle)
        outcomes.add(bool(gz > 0.8))
    assert outcomes == {True, False}
    raised = dict(bodies)
    raised["left_wrist_yaw_link"] = bodies["left_wrist_yaw_link"] + [0.0, 0.0, 0.3]
    assert check(anchor_pos, anchor_quat, raised) == ["ee_body_pos"]
    bad = dict(bodies)
    bad["right_ankle_roll_link"] = np.array([0.0, 0.0, np.nan])  # a broken height measurement
    assert check(anchor_pos, anchor_quat, bad) == ["nonfinite_state"]


def test_failure_check_needs_the_end_effectors_it_measures(default_run):
    """A state without the end effectors the policy's failure check measures is refused by name (not checked as zeros)."""
    from dataclasses import replace

    from g1_mimic.deploy import GraphRuntime

    rt = GraphRuntime(default_run["paths"]["policy_graph.onnx"])
    state = _zero_state()
    with pytest.raises(ValueError, match="right_wrist_yaw_link"):
        rt.step(replace(state, body_pos_w={b: v for b, v in state.body_pos_w.items() if b != "right_wrist_yaw_link"}), 0.0)
    with pytest.raises(ValueError, match="lacks"):
        rt.step(replace(state, body_pos_w=None), 0.0)
