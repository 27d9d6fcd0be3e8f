"""rsl_rl PPO settings: BeyondMimic's on GPU, a sized-down variant on CPU."""

from __future__ import annotations

from isaaclab.utils import configclass
from isaaclab_rl.rsl_rl import RslRlMLPModelCfg, RslRlOnPolicyRunnerCfg, RslRlPpoAlgorithmCfg, RslRlSymmetryCfg
from isaaclab_tasks.utils import PresetCfg

from g1_mimic.device import cuda_available
from g1_mimic.rl.symmetry import mirror_observations_actions


@configclass
class SymmetryPresetCfg(PresetCfg):
    """Left-right symmetry augmentation of the PPO update: none (``default``) or, with ``presets=symmetry``,
    every mini-batch doubled by its mirror image (:mod:`g1_mimic.rl.symmetry`, rsl_rl's ``Symmetry``)."""

    default: RslRlSymmetryCfg | None = None
    symmetry: RslRlSymmetryCfg = RslRlSymmetryCfg(
        use_data_augmentation=True, data_augmentation_func=mirror_observations_actions
    )


@configclass
class G1MimicPpoAlgorithmCfg(RslRlPpoAlgorithmCfg):
    """rsl_rl's PPO settings plus the update's torch thread count and the action-noise anneal
    (:class:`g1_mimic.rl.ppo.G1MimicPPO`)."""

    class_name: str = "g1_mimic.rl.ppo:G1MimicPPO"

    update_threads: int | None = None
    """Torch threads of the PPO update (the rollout keeps the process's count); None: unchanged."""

    noise_anneal_from: float | None = None
    """Share of the run (its ``--max_minutes`` budget, else its iterations) after which the action noise's std
    upper bound falls linearly to ``noise_anneal_to_std`` at the end; None: no anneal."""

    noise_anneal_to_std: float = 0.1
    """The action noise's std upper bound at the end of an annealed run."""

    symmetry_cfg: RslRlSymmetryCfg | None = SymmetryPresetCfg()


@configclass
class G1MimicPPORunnerCfg(RslRlOnPolicyRunnerCfg):
    """BeyondMimic PPO: 24 steps/env, [512, 256, 128] ELU, lr 1e-3 adaptive (KL 0.01), 5 epochs x 4 minibatches.

    Without CUDA the runner uses the CPU and smaller, faster settings (see ``apply_cpu_defaults``).
    """

    num_steps_per_env = 24
    max_iterations = 30000
    save_interval = 500
    # the motion command's clip time is start + episode_length_buf * step_dt: a made-up initial length (Isaac Lab's
    # default) would start every env's first episode off its reference and feed the curricula a false outcome
    init_at_random_ep_len = False
    experiment_name = "g1_mimic"
    obs_groups = {"actor": ["policy"], "critic": ["critic"]}
    actor = RslRlMLPModelCfg(
        hidden_dims=[512, 256, 128],
        activation="elu",
        obs_normalization=True,
        distribution_cfg=RslRlMLPModelCfg.GaussianDistributionCfg(init_std=1.0),
    )
    critic = RslRlMLPModelCfg(hidden_dims=[512, 256, 128], activation="elu", obs_normalization=True)
    algorithm = G1MimicPpoAlgorithmCfg(
        value_loss_coef=1.0,
        use_clipped_value_loss=True,
        clip_param=0.2,
        entropy_coef=0.005,
        num_learning_epochs=5,
        num_mini_batches=4,
        learning_rate=1.0e-3,
        schedule="adaptive",
        gamma=0.99,
        lam=0.95,
        desired_kl=0.01,
        max_grad_norm=1.0,
    )

    def __post_init__(self):
        if not cuda_available():
            self.apply_cpu_defaults()

    def apply_cpu_defaults(self) -> None:
        """CPU runner: smaller network, fewer epochs, lower initial noise, the update on every core the
        process may use (the physics threads are idle then); checkpoints every 50 iterations."""
        from g1_mimic.physics.mujoco_cpu_solver import default_num_threads

        self.device = "cpu"
        self.algorithm.update_threads = default_num_threads()
        self.save_interval = 50
        self.max_iterations = 1000
        self.actor.hidden_dims = [256, 128, 128]
        self.critic.hidden_dims = [256, 128, 128]
        self.actor.distribution_cfg.init_std = 0.5
        self.algorithm.num_learning_epochs = 4
        self.algorithm.num_mini_batches = 2


@configclass
class G1MimicCPULearnPPORunnerCfg(G1MimicPPORunnerCfg):
    """PPO for ``Isaac-G1-Mimic-CPU-Learn-v0``: the CPU defaults with low exploration noise (std 0.3, held
    at or below 0.4) and a KL target of 0.05 for the adaptive learning rate.

    The entropy bonus pushes the noise std up through a run (0.3 to 0.5-0.67 in 20 minutes); held at 0.4
    the gentlest real clip plays through from frame 0 in evaluation and sim2sim (``docs/performance.md``,
    section 5). Over the second half of the run (of its ``--max_minutes`` budget, else of its iterations)
    that cap falls to 0.1 (``algorithm.noise_anneal_from=0.5``; ``agent.algorithm.noise_anneal_from=null``
    turns it off): the policy's last updates are taken on the motion it will play, not on noisy variants
    of it (measured on two real clips in ``docs/performance.md``, section 5).

    The adaptive schedule keeps the policy's KL divergence per update near ``desired_kl``; for a Gaussian
    policy that is ``sum((d mean)^2) / (2 std^2)``, so the lower the noise, the smaller the mean step a KL
    target allows: with std 0.3, BeyondMimic's 0.01 (tuned for std 1.0) holds the learning rate far below
    its 1e-3 start (measured in ``docs/performance.md``, section 4)."""

    experiment_name = "g1_mimic_cpu_learn"

    def apply_cpu_defaults(self) -> None:
        super().apply_cpu_defaults()
        self.actor.distribution_cfg.init_std = 0.3
        self.actor.distribution_cfg.std_range = (0.05, 0.4)
        self.algorithm.desired_kl = 0.05
        self.algorithm.noise_anneal_from = 0.5
        self.save_interval = 100
        self.max_iterations = 5000  # bound the run with scripts/train.py --max_minutes


@configclass
class G1MimicCPURobustPPORunnerCfg(G1MimicCPULearnPPORunnerCfg):
    """PPO for ``Isaac-G1-Mimic-CPU-Robust-v0``: the CPU learning PPO, its runs in their own log folder."""

    experiment_name = "g1_mimic_cpu_robust"
