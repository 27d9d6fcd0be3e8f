"""Warp CPU graph replay (g1_mimic.physics.cpu_graph): recording semantics, and bit-identical physics
against eager stepping for the MuJoCo-Warp preset and around the MuJoCo-C stepping."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import warp as wp
from envutil import make_env

from g1_mimic.physics import cpu_graph


@wp.kernel
def _add_one(a: wp.array(dtype=wp.float32)):
    i = wp.tid()
    a[i] = a[i] + 1.0


def test_recording_defers_work_and_replays_host_calls_in_order():
    a = wp.zeros(4, dtype=wp.float32, device="cpu")
    calls = []

    def host():
        calls.append(a.numpy().copy())
        a.numpy()[:] *= 2.0

    def step():
        wp.launch(_add_one, dim=4, inputs=[a], device="cpu")
        cpu_graph.host_call(host)
        wp.launch(_add_one, dim=4, inputs=[a], device="cpu")

    graph = cpu_graph.SegmentedCPUGraph()
    graph.record(step)
    assert not calls and np.all(a.numpy() == 0.0)  # recorded, not run
    assert graph.host_calls == 1 and not cpu_graph.recording()
    graph.replay()
    assert np.all(a.numpy() == 3.0) and np.all(calls[0] == 1.0)  # (0 + 1) * 2 + 1
    graph.replay()
    assert np.all(a.numpy() == 9.0) and np.all(calls[1] == 4.0)


def test_host_call_runs_now_outside_a_recording():
    ran = []
    cpu_graph.host_call(lambda: ran.append(1))
    assert ran == [1]


def _trajectory(preset: str, edit=None, steps: int = 8, envs: int = 4) -> tuple[torch.Tensor, dict]:
    def configure(cfg):
        cfg.episode_length_s = 0.1  # time-outs (resets) within the horizon
        if edit is not None:
            edit(cfg)

    g = torch.Generator().manual_seed(3)
    actions = 0.4 * torch.randn(steps, envs, 29, generator=g)
    env = make_env(envs, play=True, overrides=[f"presets={preset}"], edit=configure)
    try:
        env.reset()
        robot, sensor = env.scene["robot"], env.scene["contact_forces"]
        rows, resets = [], 0
        for a in actions:
            _, reward, terminated, truncated, _ = env.step(a)
            resets += int((terminated | truncated).sum())
            rows.append(torch.cat([
                robot.data.joint_pos.torch.flatten(), robot.data.joint_vel.torch.flatten(),
                robot.data.root_pos_w.torch.flatten(), sensor.data.net_forces_w.torch.flatten(), reward,
            ]))
        recorded = {name: entry[1].host_calls for name, entry in cpu_graph.NewtonMJWarpCPUGraphManager._cpu_graphs.items()}
        assert resets > 0
        return torch.stack(rows), recorded
    finally:
        env.close()


def _set_cpu_graph(flag: bool):
    def edit(cfg):
        cfg.sim.physics.solver_cfg.cpu_graph = flag

    return edit


@pytest.mark.parametrize(
    ("eager", "graphed", "recording"),
    [
        (("newton_mjwarp", None), ("newton_mjwarp_cpu_graph", None), {"physics_only": 0}),
        # the MuJoCo-C preset folds the control period: one recorded step per env step
        (("mujoco_cpu", _set_cpu_graph(False)), ("mujoco_cpu", _set_cpu_graph(True)), {"period": 2}),
    ],
    ids=["mujoco_warp", "mujoco_c"],
)
def test_graph_replay_is_bit_identical_to_eager_stepping(eager, graphed, recording):
    reference, none_recorded = _trajectory(*eager)
    replayed, recorded = _trajectory(*graphed)
    assert none_recorded == {}
    # the physics step was recorded (MuJoCo C stepping and contact bookkeeping as host calls) and replayed
    assert recorded == recording
    assert torch.equal(reference, replayed), (reference - replayed).abs().max()
