"""Contact-aware terms (``--variant contacts``): reference contact labels, contact matching, illegal contact."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from envutil import make_env

from g1_mimic.data import bundled_motion
from g1_mimic.motion.contacts import contact_labels_for, estimate_contact_labels
from g1_mimic.motion.format import MotionFormatError, load_motion
from g1_mimic.motion.library import MotionLibrary
from g1_mimic.robots.g1_constants import FEET_BODIES


def test_estimate_labels_from_height_and_speed():
    T = 5
    pos = np.zeros((T, 2, 3))
    vel = np.zeros((T, 2, 3))
    pos[:, :, 2] = 0.05  # both feet resting at the same height
    pos[2, 1, 2] = 0.15  # right foot lifted 10 cm at frame 2
    vel[3, 0, 0] = 1.0  # left foot sliding at 1 m/s at frame 3
    vel[4, 0, 2] = 1.0  # vertical speed alone does not break contact
    labels = estimate_contact_labels(pos, vel)
    expected = np.ones((T, 2), dtype=bool)
    expected[2, 1] = False
    expected[3, 0] = False
    np.testing.assert_array_equal(labels, expected)


def test_labels_come_from_the_file_or_are_estimated():
    motion = load_motion(bundled_motion("wave"))
    labels, source = contact_labels_for(motion, list(reversed(FEET_BODIES)))
    assert source == "file" and labels.shape == (motion.num_frames, 2) and labels.all()
    unlabelled = dataclasses.replace(motion, contact_labels=None, contact_body_names=())
    est, source = contact_labels_for(unlabelled, list(FEET_BODIES))
    assert source == "estimated"
    assert est.mean() > 0.95  # the wave clip keeps both feet planted
    with pytest.raises(MotionFormatError, match="contact_body_names.*body_names"):
        contact_labels_for(unlabelled, ["no_such_foot"])


def test_library_serves_nearest_frame_labels_and_holds_the_last_after_the_clip():
    motion = load_motion(bundled_motion("wave"))
    labels = np.ones((motion.num_frames, 2), dtype=bool)
    labels[10, 0] = False  # left foot off the ground at frame 10 only
    labels[-1, 1] = False  # right foot off in the last frame
    motion = dataclasses.replace(motion, contact_labels=labels, contact_body_names=tuple(FEET_BODIES))
    lib = MotionLibrary([motion], motion.joint_names, ["pelvis"], contact_body_names=FEET_BODIES)
    assert lib.contact_label_source == ["file"]
    dt = 1.0 / motion.fps
    t = torch.tensor([10 * dt, 10.4 * dt, 10.6 * dt, 100.0])
    state = lib.get_state(torch.zeros(4, dtype=torch.long), t)
    assert state.contact.tolist() == [[0.0, 1.0], [0.0, 1.0], [1.0, 1.0], [1.0, 0.0]]
    assert MotionLibrary([motion], motion.joint_names, ["pelvis"]).get_state(torch.zeros(1, dtype=torch.long), t[:1]).contact is None


@pytest.fixture(scope="module")
def env():
    from g1_mimic.rl.variants import variant_overrides

    def edit(cfg):
        cfg.commands.motion.start_at_zero = True

    e = make_env(num_envs=2, play=True, edit=edit, overrides=variant_overrides(["contacts"]))
    yield e
    e.close()


def test_contacts_variant_matches_feet_contacts_of_a_robot_on_the_reference(env):
    from g1_mimic.tasks.mimic import mdp

    env.reset()
    for _ in range(10):  # settle on the ground, actions 0 = default pose targets near the wave reference
        env.step(torch.zeros(2, 29))
    cfg = env.reward_manager.get_term_cfg("feet_contact_match")
    assert cfg.weight == 0.5
    cmd = env.command_manager.get_term("motion")
    assert cmd.ref.contact.tolist() == [[1.0, 1.0], [1.0, 1.0]]
    r = mdp.feet_contact_match(env, **cfg.params)
    torch.testing.assert_close(r, torch.ones(2))
    cmd.ref.contact[0, 1] = 0.0  # the reference lifts the right foot of env 0: half the feet disagree
    r = mdp.feet_contact_match(env, **cfg.params)
    torch.testing.assert_close(r, torch.tensor([0.5, 1.0]))


def test_illegal_contact_termination_is_on_in_the_contacts_variant(env):
    from isaaclab.managers import SceneEntityCfg

    from g1_mimic.tasks.mimic import mdp

    cfg = env.termination_manager.get_term_cfg("illegal_contact")
    assert cfg.func is mdp.illegal_body_contact
    # standing on the feet: nothing but the feet touches
    assert not mdp.illegal_body_contact(env, **cfg.params).any()
    # the same check with the feet declared illegal fires for both envs
    feet = SceneEntityCfg("contact_forces", body_names=list(FEET_BODIES))
    feet.resolve(env.scene)
    assert mdp.illegal_body_contact(env, feet, threshold=1.0).all()


def test_contact_terms_exist_only_where_selected():
    """No placeholder terms: without ``presets=contacts`` neither contact term is in the managers' cfgs;
    with it both are, with every reward set (``presets=deepmimic,contacts``), bound to the G1's feet."""
    from isaaclab_tasks.utils import resolve_task_config

    import g1_mimic.tasks  # noqa: F401
    from g1_mimic.rl.variants import variant_overrides

    plain, _ = resolve_task_config("Isaac-G1-Mimic-v0", "rsl_rl_cfg_entry_point", overrides=[])
    assert plain.rewards.feet_contact_match is None and plain.terminations.illegal_contact is None
    both, _ = resolve_task_config(
        "Isaac-G1-Mimic-v0", "rsl_rl_cfg_entry_point", overrides=variant_overrides(["deepmimic", "contacts"])
    )
    assert type(both.rewards).__name__ == "DeepMimicRewardsCfg"
    assert both.rewards.feet_contact_match.weight == 0.5
    assert both.rewards.feet_contact_match.params["sensor_cfg"].body_names == list(FEET_BODIES)
    # MimicKit's own contact rule stays: the knees may touch too
    assert both.terminations.illegal_contact.params["sensor_cfg"].body_names == [
        r"^(?!left_knee_link$)(?!right_knee_link$)(?!left_ankle_.*_link$)(?!right_ankle_.*_link$).+$"
    ]
    contacts, _ = resolve_task_config("Isaac-G1-Mimic-v0", "rsl_rl_cfg_entry_point", overrides=variant_overrides(["contacts"]))
    assert contacts.terminations.illegal_contact.params["sensor_cfg"].body_names == [
        r"^(?!left_ankle_.*_link$)(?!right_ankle_.*_link$).+$"
    ]
