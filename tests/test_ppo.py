"""g1_mimic.rl.ppo.G1MimicPPO: rsl_rl's PPO update on its own torch thread count, restored after (the
CPU runner cfg selects it with every core), and the action-noise anneal over the end of a run. Unit tests
of the algorithm on rsl_rl's own models and rollout storage (small random rollouts: what is checked is
the thread handling and the noise bound, not learning); the anneal inside a real training run is in
tests/test_train_export.py."""

from __future__ import annotations

import pytest
import torch
from rsl_rl.models import MLPModel
from rsl_rl.storage import RolloutStorage
from tensordict import TensorDict

from g1_mimic.rl.ppo import G1MimicPPO

ENVS, STEPS, OBS, ACT = 8, 6, 5, 3


def _algorithm(update_threads=None, **anneal):
    obs = TensorDict({"policy": torch.randn(ENVS, OBS)}, batch_size=[ENVS])
    groups = {"actor": ["policy"], "critic": ["policy"]}
    actor = MLPModel(obs, groups, "actor", ACT, hidden_dims=[16], distribution_cfg={
        "class_name": "GaussianDistribution", "init_std": 0.5, "std_range": (0.05, 0.4)})
    critic = MLPModel(obs, groups, "critic", 1, hidden_dims=[16])
    storage = RolloutStorage("rl", ENVS, STEPS, obs, [ACT], "cpu")
    alg = G1MimicPPO(actor, critic, storage, num_learning_epochs=2, num_mini_batches=2, device="cpu",
                     update_threads=update_threads, **anneal)
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
    assert cfg.algorithm.noise_anneal_from == 0.5 and cfg.algorithm.noise_anneal_to_std == 0.1  # the anneal by default


def test_the_noise_bound_falls_linearly_over_the_end_of_the_run():
    from g1_mimic.rl.train_loop import run_progress

    alg = _algorithm(noise_anneal_from=0.5, noise_anneal_to_std=0.1)
    for progress, cap in ((0.0, None), (0.49, None), (0.5, 0.4), (0.75, 0.25), (1.0, 0.1)):
        alg.set_progress(progress)
        assert alg.noise_cap() == (None if cap is None else pytest.approx(cap)), progress
    # the rollout samples with the bound: std 0.5 (init) clamped to 0.1 at the end
    obs = TensorDict({"policy": torch.randn(ENVS, OBS)}, batch_size=[ENVS])
    with torch.inference_mode():
        alg.act(obs)
    torch.testing.assert_close(alg.actor.output_std, torch.full((ENVS, ACT), 0.1))
    alg.update()  # and the update's log-probabilities too: the std stays at the bound
    torch.testing.assert_close(alg.actor.output_std.max(), torch.tensor(0.1))
    # how far a run is: its budget's share spent, or its iterations' share, whichever is further; at most 1
    assert run_progress(30.0, 60.0, 10, 100) == pytest.approx(0.5)
    assert run_progress(30.0, 60.0, 80, 100) == pytest.approx(0.8)
    assert run_progress(5.0, None, 3, 4) == pytest.approx(0.75) and run_progress(99.0, 60.0, 1, 4) == 1.0


def test_without_anneal_the_bound_stays():
    alg = _algorithm()
    alg.set_progress(1.0)
    assert alg.noise_cap() is None and alg.actor.distribution.std_range[1] == pytest.approx(0.4)


@pytest.mark.parametrize(("anneal", "message"), [
    ({"noise_anneal_from": 1.0}, "noise_anneal_from must be in \\[0, 1\\)"),
    ({"noise_anneal_from": -0.1}, "noise_anneal_from must be in"),
    ({"noise_anneal_from": 0.5, "noise_anneal_to_std": 0.0}, "noise_anneal_to_std must be positive"),
])
def test_bad_anneal_settings_are_refused(anneal, message):
    with pytest.raises(ValueError, match=message):
        _algorithm(**anneal)
