"""g1_mimic.rl.ppo.G1MimicPPO: rsl_rl's PPO update on its own torch thread count, restored after; the
CPU runner cfg selects it with every core. A unit test of the algorithm on rsl_rl's own models and
rollout storage (small random rollouts: what is checked is the thread handling, not learning)."""

from __future__ import annotations

import pytest
import torch
from rsl_rl.models import MLPModel
from rsl_rl.storage import RolloutStorage
from tensordict import TensorDict

from g1_mimic.rl.ppo import G1MimicPPO

ENVS, STEPS, OBS, ACT = 8, 6, 5, 3


def _algorithm(update_threads):
    obs = TensorDict({"policy": torch.randn(ENVS, OBS)}, batch_size=[ENVS])
    groups = {"actor": ["policy"], "critic": ["policy"]}
    actor = MLPModel(obs, groups, "actor", ACT, hidden_dims=[16], distribution_cfg={
        "class_name": "GaussianDistribution", "init_std": 0.5})
    critic = MLPModel(obs, groups, "critic", 1, hidden_dims=[16])
    storage = RolloutStorage("rl", ENVS, STEPS, obs, [ACT], "cpu")
    alg = G1MimicPPO(actor, critic, storage, num_learning_epochs=2, num_mini_batches=2, device="cpu",
                     update_threads=update_threads)
    for _ in range(STEPS):
        with torch.inference_mode():
            alg.act(obs)
            obs = TensorDict({"policy": torch.randn(ENVS, OBS)}, batch_size=[ENVS])
            alg.process_env_step(obs, torch.randn(ENVS), torch.zeros(ENVS, dtype=torch.long), {})
    with torch.inference_mode():
        alg.compute_returns(obs)
    return alg


@pytest.mark.parametrize("update_threads", [1, 2, None])
def test_update_runs_on_its_threads_and_restores_the_count(update_threads):
    before = torch.get_num_threads()
    alg = _algorithm(update_threads)
    seen: list[int] = []
    alg.actor.register_forward_pre_hook(lambda *_: seen.append(torch.get_num_threads()))
    params = [p.detach().clone() for p in alg.actor.parameters()]
    losses = alg.update()
    assert seen and set(seen) == {before if update_threads is None else update_threads}
    assert torch.get_num_threads() == before
    assert all(k in losses for k in ("value", "surrogate")), losses
    assert any(not torch.equal(p, q) for p, q in zip(params, alg.actor.parameters(), strict=True))  # it did update


@pytest.mark.parametrize("bad", [0, -2, 1.5])
def test_bad_update_threads_are_refused(bad):
    with pytest.raises(ValueError, match="update_threads must be a positive integer"):
        _algorithm(bad)


def test_cpu_runner_cfg_selects_it_with_every_core():
    from g1_mimic.physics.mujoco_cpu_solver import default_num_threads
    from g1_mimic.tasks.mimic.config.g1.agents.rsl_rl_ppo_cfg import G1MimicCPULearnPPORunnerCfg

    cfg = G1MimicCPULearnPPORunnerCfg()
    cfg.apply_cpu_defaults()
    assert cfg.algorithm.class_name == "g1_mimic.rl.ppo:G1MimicPPO"
    assert cfg.algorithm.update_threads == default_num_threads()
    assert cfg.actor.distribution_cfg.init_std == 0.3 and cfg.algorithm.desired_kl == 0.05
    assert tuple(cfg.actor.distribution_cfg.std_range) == (0.05, 0.4)
