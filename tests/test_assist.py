"""The training-only helpers on the real env: the fading root assist (``presets=assist``) holds a collapsing
robot up and fades while training succeeds; it and the drift termination (``presets=drift_termination``)
are absent from play and evaluation."""

from __future__ import annotations

import pytest
import torch
from envutil import make_env


def _deterministic(cfg):
    cfg.events.push_robot = None
    cfg.events.physics_material = None
    cfg.events.add_joint_default_pos = None
    cfg.events.base_com = None
    cfg.commands.motion.start_at_zero = True
    cfg.commands.motion.pose_range = {}
    cfg.commands.motion.velocity_range = {}
    cfg.commands.motion.joint_position_range = (0.0, 0.0)
    cfg.observations.policy.enable_corruption = False


def _assist_term(env):
    (term_cfg,) = [c for c in env.event_manager._mode_term_cfgs["interval"] if c.params.get("kp") is not None]
    return term_cfg.func


def test_assist_holds_a_collapsing_robot_closer_to_the_reference_and_fades_with_success():
    def edit(cfg):
        _deterministic(cfg)
        cfg.events.assist.params["interval_steps"] = 10**9  # no scale updates while measuring

    env = make_env(num_envs=1, play=False, edit=edit, overrides=["presets=assist"])
    try:
        term = _assist_term(env)
        cmd = env.command_manager.get_term("motion")
        knees = [i for i, n in enumerate(cmd.robot.joint_names) if "knee" in n]
        deficit = {}
        for scale in (0.0, 1.0):
            env.reset()
            term.scale = scale
            action = torch.zeros(1, env.action_manager.total_action_dim)
            action[:, knees] = 4.0  # bend both knees far past the reference: the robot sinks
            for _ in range(8):
                env.step(action)
            deficit[scale] = float(cmd.ref.body_pos_w[0, cmd.root_index, 2] - cmd.robot.data.root_link_pos_w.torch[0, 2])
        assert deficit[0.0] > 0.1  # without help the pelvis sinks > 10 cm in 0.16 s
        assert deficit[1.0] < 0.8 * deficit[0.0]
        # the wrench pulls up when the robot is below the reference, and respects its force cap
        force, torque = term.wrench(cmd, 1000.0, 200.0, 200.0, 10.0, 200.0, 100.0)
        assert force[0, 2] > 0 and float(force.norm()) <= 200.0 + 1e-3 and float(torque.norm()) <= 100.0 + 1e-3

        # the scale: down 0.05 per update while succeeding, up below 0.3, clamped to [0, 1]
        term.cfg.params["interval_steps"] = 0
        lib = cmd.library
        term.scale = 1.0
        lib.clip_success_rate[:] = 0.9
        for k in range(1, 4):
            env.event_manager.apply(mode="interval", dt=env.step_dt)
            assert term.scale == pytest.approx(1.0 - 0.05 * k)
        assert env.extras["log"]["Curriculum/assist_scale"] == pytest.approx(0.85)
        lib.clip_success_rate[:] = 0.45
        env.event_manager.apply(mode="interval", dt=env.step_dt)
        assert term.scale == pytest.approx(0.85)
        lib.clip_success_rate[:] = 0.1
        env.event_manager.apply(mode="interval", dt=env.step_dt)
        assert term.scale == pytest.approx(0.9)
        lib.clip_success_rate[:] = 1.0
        for _ in range(30):
            env.event_manager.apply(mode="interval", dt=env.step_dt)
        assert term.scale == 0.0
    finally:
        env.close()


@pytest.mark.parametrize(
    ("play", "overrides", "has_assist"),
    [
        (True, ["presets=assist"], False),  # play and evaluation: never helped
        (False, [], False),  # off by default
        (False, ["presets=assist,gain_randomization"], True),  # composes with the other events alternatives
    ],
)
def test_assist_only_where_asked_for(play, overrides, has_assist):
    env = make_env(num_envs=1, play=play, overrides=overrides)
    try:
        assert ("assist" in env.event_manager.active_terms.get("interval", [])) == has_assist
        if has_assist and "gain_randomization" in overrides[0]:
            assert "actuator_gains" in env.event_manager.active_terms["startup"]
    finally:
        env.close()


def test_drift_termination_trains_where_set_and_never_judges():
    from isaaclab_tasks.utils import resolve_task_config

    from g1_mimic.rl.session import drop_training_only
    from g1_mimic.rl.variants import variant_overrides

    env = make_env(num_envs=1, play=False, overrides=variant_overrides(["drift_termination"]))
    try:
        assert env.termination_manager.get_term_cfg("body_drift").params["threshold"] == pytest.approx(0.2)
        assert not env.termination_manager.get_term_cfg("body_drift").time_out  # a failure, not a time-out
    finally:
        env.close()
    cfg, _ = resolve_task_config("Isaac-G1-Mimic-CPU-Learn-v0", "rsl_rl_cfg_entry_point", overrides=["presets=drift_termination,assist"])
    assert cfg.terminations.body_drift is not None and cfg.events.assist is not None and cfg.curriculum is not None
    drop_training_only(cfg)  # what play, evaluation and export run
    assert cfg.terminations.body_drift is None and cfg.events.assist is None and cfg.curriculum is None
    # on by default in the CPU learning task (and the robust one built on it), off in the default task
    for task, on in [("Isaac-G1-Mimic-CPU-Learn-v0", True), ("Isaac-G1-Mimic-CPU-Robust-v0", True), ("Isaac-G1-Mimic-v0", False)]:
        default, _ = resolve_task_config(task, "rsl_rl_cfg_entry_point", overrides=[])
        assert (default.terminations.body_drift is not None) == on, task
        if on:
            assert default.terminations.body_drift.params["threshold"] == pytest.approx(0.2)
    off, _ = resolve_task_config("Isaac-G1-Mimic-CPU-Learn-v0", "rsl_rl_cfg_entry_point", overrides=["presets=no_drift_termination"])
    assert off.terminations.body_drift is None


def test_drift_termination_refuses_displaced_starts_that_reach_its_threshold():
    with pytest.raises(ValueError, match=r"displacement_range \[0.1, 0.3\] m reaches the drift termination's threshold \(0.2 m"):
        make_env(num_envs=1, play=False, overrides=["presets=drift_termination", "env.commands.motion.displaced_share=0.2"])
    env = make_env(num_envs=1, play=False, overrides=[
        "presets=drift_termination", "env.commands.motion.displaced_share=0.2", "env.commands.motion.displacement_range=[0.05,0.15]"])
    env.close()  # under the threshold: allowed
