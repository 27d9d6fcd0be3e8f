"""Sim2sim (``scripts/sim2sim.py``, ``g1_mimic.deploy.sim2sim``): runs the policy graph without Isaac Lab or
torch, takes its physics parameters from the contract, and applies delay, pushes, noise and start times as
documented.

The policy is an untrained one exported once from the real env (Isaac Lab on Newton, CPU)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import mujoco
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> dict[str, Path]:
    """An untrained default-task policy exported by ``export_policy`` (the env is closed afterwards)."""
    from g1_mimic.rl.export import export_policy
    from g1_mimic.rl.session import policy_session

    out = tmp_path_factory.mktemp("export")
    with policy_session("Isaac-G1-Mimic-v0", None, num_envs=1, device="cpu") as s:
        paths = export_policy(s.runner, s.unwrapped, out)
    return paths


def _contract(exported) -> dict:
    return json.loads(exported["policy.json"].read_text())


_NO_TORCH_RUN = r"""
import json, runpy, sys
policy, out, yaml_out, script, cfg_script = sys.argv[1:6]
sys.argv = [script, "--policy", policy, "--motion", "wave", "--json", out, "--episodes", "2", "--standing_s", "1",
            "--obs_noise", "1.0", "--delay_steps", "1", "--push_at", "0.4", "--push_vel", "0.3,0", "--pd", "torque"]
try:
    runpy.run_path(script, run_name="__main__")
except SystemExit as exc:
    assert exc.code in (0, None), f"sim2sim exited {exc.code}"
sys.argv = [cfg_script, "--policy", policy, "--out", yaml_out]
try:
    runpy.run_path(cfg_script, run_name="__main__")
except SystemExit as exc:
    assert exc.code in (0, None), f"export_deploy_config exited {exc.code}"
import g1_mimic.deploy, g1_mimic.deploy.sim2sim, g1_mimic.deploy.deploy_yaml  # everything of the deploy package
bad = sorted(m for m in sys.modules if m.split(".")[0] == "torch" or m.startswith("isaaclab"))
print("FORBIDDEN_MODULES=" + json.dumps(bad))
"""


def test_sim2sim_runs_without_isaaclab_or_torch(exported, tmp_path):
    out, yaml_out = tmp_path / "sim2sim.json", tmp_path / "deploy.yaml"
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            _NO_TORCH_RUN,
            str(exported["policy.onnx"]),
            str(out),
            str(yaml_out),
            str(REPO / "scripts" / "sim2sim.py"),
            str(REPO / "scripts" / "export_deploy_config.py"),
        ],
        env=dict(os.environ, OMP_NUM_THREADS="1"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("FORBIDDEN_MODULES="))
    assert json.loads(line.split("=", 1)[1]) == [], line
    assert "[sim2sim] episode 2/2" in proc.stdout
    report = json.loads(out.read_text())
    for key in ("success_rate", "mpkpe_m", "joint_pos_rmse_rad", "standing_after_end"):
        assert key in report, key
    assert report["episodes"] == 2 and 0.0 <= report["success_rate"] <= 1.0
    assert 0.0 < report["mpkpe_m"] < 2.0 and 0.0 < report["joint_pos_rmse_rad"] < 3.0
    assert report["options"]["pd"] == "torque" and report["options"]["delay_steps"] == 1
    assert report["failure_conditions"]["source"].startswith("contract")
    a, b = report["per_episode"]
    assert a["mpkpe_m"] != b["mpkpe_m"], "observation noise must make the episodes differ"
    assert yaml_out.read_text() == exported["deploy.yaml"].read_text()


def test_sim_takes_gains_limits_and_dt_from_the_contract(exported):
    from g1_mimic.deploy.mujoco_sim import MujocoG1

    c = _contract(exported)
    edited = json.loads(json.dumps(c))
    edited["joints"]["stiffness"] = [2.0 * k for k in c["joints"]["stiffness"]]
    edited["joints"]["armature"] = [0.5 * a for a in c["joints"]["armature"]]
    sim = MujocoG1(edited, friction=0.4)
    m, act, dof = sim.model, sim._act, sim._dadr
    assert np.allclose(m.actuator_gainprm[act, 0], edited["joints"]["stiffness"])
    assert np.allclose(m.actuator_biasprm[act, 1], -np.asarray(edited["joints"]["stiffness"]))
    assert np.allclose(m.actuator_biasprm[act, 2], -np.asarray(c["joints"]["damping"]))
    assert np.allclose(m.actuator_forcerange[act, 1], c["joints"]["effort_limit"])
    assert np.allclose(m.dof_armature[dof], edited["joints"]["armature"])
    assert m.opt.timestep == pytest.approx(c["physics_dt"]) and sim.decimation == c["decimation"]
    assert np.all(m.geom_friction[:, 0] == 0.4)
    # explicit torque mode: motors with unit gain driven by the contract's PD law, clipped to the effort limits
    torque = MujocoG1(c, pd="torque")
    q0 = np.asarray(c["joints"]["default_pos"])
    qd0 = np.linspace(-1.0, 1.0, q0.size)
    torque.reset([0, 0, 0.8], [0, 0, 0, 1], [0, 0, 0], [0, 0, 0], q0, qd0)
    torque.decimation = 1  # one physics step: the applied torque is the law on the state set above
    target = q0 + 1.0
    torque.step(target)
    kp, kd, lim = (np.asarray(c["joints"][k]) for k in ("stiffness", "damping", "effort_limit"))
    expected = np.clip(kp * (target - q0) - kd * qd0, -lim, lim)
    assert np.allclose(torque.model.actuator_gainprm[torque._act, 0], 1.0)
    assert np.allclose(torque.data.ctrl[torque._act], expected)
    assert np.any(np.abs(expected) == lim), "a 1 rad error saturates some joints"


def test_delay_push_and_recorded_rollout(exported, monkeypatch):
    from g1_mimic.deploy.graph_runtime import GraphRuntime
    from g1_mimic.deploy.mujoco_sim import MujocoG1
    from g1_mimic.deploy.sim2sim import Sim2SimOptions, reference_motion, rollout_motion, run_sim2sim

    produced, applied, pushes = [], [], []
    step, sim_step, push = GraphRuntime.step, MujocoG1.step, MujocoG1.push

    def record_step(self, state, t):
        out = step(self, state, t)
        cols = [self.sdk_joint_names.index(j) for j in self.joint_names]
        produced.append(out.joint_pos_target_sdk[cols].copy())
        return out

    def record_sim_step(self, target):
        applied.append(np.array(target, copy=True))
        sim_step(self, target)

    def record_push(self, dv):
        before = self.data.qvel[:3].copy()
        push(self, dv)
        pushes.append((self.time, self.data.qvel[:3] - before))

    monkeypatch.setattr(GraphRuntime, "step", record_step)
    monkeypatch.setattr(MujocoG1, "step", record_sim_step)
    monkeypatch.setattr(MujocoG1, "push", record_push)
    opts = Sim2SimOptions(standing_s=0.5, delay_steps=2, push_at_s=0.3, push_vel=(0.4, -0.1, 0.0), record=True)
    report, episodes, runtime = run_sim2sim(exported["policy_graph.onnx"], "wave", opts, progress=None)
    # every control step runs the graph; the last one only checks the end (its targets are not applied)
    assert len(applied) + 1 == len(produced) and len(applied) >= 4
    for k in range(len(applied)):
        assert np.array_equal(applied[k], produced[max(k - 2, 0)]), (
            f"step {k}: the target of step {max(k - 2, 0)} is due"
        )
    ep = episodes[0]
    if ep.length_s >= 0.3:
        assert len(pushes) == 1 and pushes[0][0] == pytest.approx(0.3, abs=1e-9)
        assert np.allclose(pushes[0][1], [0.4, -0.1, 0.0])
    # the recorded rollout is a canonical motion whose bodies are where MuJoCo had them
    assert len(ep.qpos) == len(ep.reference_qpos) == round(ep.length_s / runtime.control_dt) + 1
    sim = MujocoG1(runtime.contract)
    motion = rollout_motion(runtime, sim, ep.qpos)
    sim.data.qpos[:] = ep.qpos[-1]
    mujoco.mj_kinematics(sim.model, sim.data)
    for body in ("torso_link", "left_wrist_yaw_link"):
        i = motion.body_names.index(body)
        assert np.max(np.abs(motion.body_pos_w[-1, i] - sim.data.xpos[sim._body_id[body]])) < 1e-6
    # the reference it played: the first frame is where the episode started the robot
    ref = reference_motion(runtime, sim, ep)
    assert np.allclose(ref.body_pos_w[0], motion.body_pos_w[0], atol=1e-5)
    assert report["episodes"] == 1 and report["options"]["delay_steps"] == 2
    # the root's drift: the largest horizontal root offset from the reference while the clip plays, and its time
    dt, end = runtime.control_dt, runtime.clip_duration_s
    last = len(ep.qpos) - 1 if ep.failure else len(ep.qpos)  # the failing step is recorded, not measured
    playing = [k for k in range(1, last) if k * dt <= end + 0.5 * dt]
    drift = {k: float(np.linalg.norm(ep.qpos[k][:2] - ep.reference_qpos[k][:2])) for k in playing}
    k_max = max(drift, key=drift.get)
    assert ep.metrics["root_drift_max_m"] == pytest.approx(drift[k_max], abs=1e-9) and drift[k_max] > 0.0
    assert ep.metrics["root_drift_max_at_s"] == pytest.approx(k_max * dt, abs=1e-9)
    assert ep.metrics["root_drift_end_m"] == pytest.approx(drift[playing[-1]], abs=1e-9)
    assert report["root_drift_max_m"] == ep.metrics["root_drift_max_m"]
    # the timeline: [t, offset] every 0.2 s of clip time from the first measured step
    samples = report["per_episode"][0]["root_drift"]
    assert samples[0] == [pytest.approx(dt), pytest.approx(drift[1], abs=1e-9)]
    assert len(samples) == (len(playing) - 1) // 10 + 1
    assert all(d == pytest.approx(drift[round(t / dt)], abs=1e-9) for t, d in samples)


def test_start_time_and_refusals(exported):
    from g1_mimic.deploy.contract import ContractError
    from g1_mimic.deploy.sim2sim import Sim2SimOptions, run_sim2sim

    report, episodes, runtime = run_sim2sim(
        exported["policy_graph.onnx"], 0, Sim2SimOptions(start_s=1.0, standing_s=0.0, record=True), progress=None
    )
    # the episode starts on the reference 1 s into the clip: the robot's first pose is the reference's there
    start = runtime.reference_at(1.0, _state_of(episodes[0].qpos[0]))
    pelvis = runtime.body_names.index("pelvis")
    assert np.allclose(episodes[0].qpos[0][:3], start.reference_body_pos_w[pelvis], atol=1e-5)
    assert report["options"]["start_s"] == 1.0
    assert episodes[0].length_s <= runtime.clip_duration_s - 1.0 + 1e-6
    with pytest.raises(ValueError, match="start_s must be in"):
        run_sim2sim(exported["policy_graph.onnx"], 0, Sim2SimOptions(start_s=runtime.clip_duration_s + 1.0), progress=None)
    with pytest.raises(ContractError, match="no clip 'nope'"):
        run_sim2sim(exported["policy_graph.onnx"], "nope", progress=None)
    # the script: a clip the graph does not hold is refused with the re-export command
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "sim2sim.py"), "--policy", str(exported["policy.onnx"]), "--motion", "squat"],
        capture_output=True, text=True, timeout=120, env=dict(os.environ, OMP_NUM_THREADS="1"),
    )
    assert proc.returncode != 0 and "holds the clips" in proc.stderr and "--export_only" in proc.stderr


def _state_of(qpos):
    """A robot state with the recorded pose (only the reference outputs are read from it)."""
    from g1_mimic.deploy import RobotState

    q = np.asarray(qpos)
    quat = np.concatenate([q[4:7], q[3:4]])
    from g1_mimic.robots.g1_constants import END_EFFECTOR_BODIES

    return RobotState(
        q[:3], quat, np.zeros(3), np.zeros(3), np.zeros(29), np.zeros(29), q[:3], quat,
        body_pos_w=dict.fromkeys(END_EFFECTOR_BODIES, np.zeros(3)),
    )
