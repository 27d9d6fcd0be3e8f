"""The env on a YAML list of clips: every clip is played, evaluation order is one clip per env."""

from __future__ import annotations

from pathlib import Path

import torch
from envutil import make_env

REPO = Path(__file__).resolve().parents[1]


def test_env_plays_every_clip_of_a_yaml_list():
    def edit(cfg):
        cfg.commands.motion.motion_file = str(REPO / "config" / "bundled_clips.yaml")
        cfg.commands.motion.sequential_clips = True  # play cfg starts at frame 0; env i plays clip i % 5

    env = make_env(num_envs=5, play=True, edit=edit)
    try:
        env.reset()
        cmd = env.command_manager.get_term("motion")
        assert cmd.library.clip_names == ["wave", "weight_shift", "bow", "twist", "squat"]
        assert cmd.clip_ids.tolist() == [0, 1, 2, 3, 4]
        assert torch.all(cmd.time_s == 0)
        for _ in range(20):
            obs, rew, *_ = env.step(torch.zeros(5, 29))
            assert torch.isfinite(obs["policy"]).all() and torch.isfinite(rew).all()
        assert (env.episode_length_buf == 20).all(), "standing starts survive 0.4 s under PD"
        assert torch.allclose(cmd.time_s, torch.full((5,), 0.4), atol=1e-5)
        # each env's reference is its own clip at 0.4 s, mapped by name onto the robot's joints
        expected = cmd.library.get_state(torch.arange(5), torch.full((5,), 0.4))
        assert torch.allclose(cmd.joint_pos, expected.joint_pos, atol=1e-6)
        # the clips are distinct motions (they all start and end in the default pose)
        mid = cmd.library.get_state(torch.tensor([0, 4]), torch.tensor([3.0, 3.0]))
        assert not torch.allclose(mid.joint_pos[0], mid.joint_pos[1], atol=1e-2)
    finally:
        env.close()
