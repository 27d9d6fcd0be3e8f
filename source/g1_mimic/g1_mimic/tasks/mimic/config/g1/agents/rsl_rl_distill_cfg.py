"""rsl_rl distillation settings: per-clip PPO experts teach one student (DAgger, :mod:`g1_mimic.rl.distill`)."""

from __future__ import annotations

from isaaclab.utils import configclass
from isaaclab_rl.rsl_rl import RslRlDistillationAlgorithmCfg, RslRlDistillationRunnerCfg, RslRlMLPModelCfg

from g1_mimic.device import cuda_available


@configclass
class MultiExpertTeacherCfg(RslRlMLPModelCfg):
    """The teacher: one frozen PPO actor per clip (:class:`g1_mimic.rl.distill.MultiExpertTeacher`).

    Its hidden sizes are read from each expert's weights; ``hidden_dims`` is unused.
    """

    class_name: str = "g1_mimic.rl.distill:MultiExpertTeacher"
    hidden_dims: list[int] = []
    activation: str = "elu"
    experts: list[str] = []
    """PPO checkpoints, one per clip, in the motion list's clip order (``scripts/distill.py`` fills it)."""
    route_group: str = "expert_route"


@configclass
class G1MimicDistillRunnerCfg(RslRlDistillationRunnerCfg):
    """DAgger on ``Isaac-G1-Mimic-CPU-Distill-v0``: a student with the CPU-Learn actor's network (so its
    checkpoints load as that task's policy) regresses onto the experts' mean actions, acting with noise
    std 0.1 (fixed: the behaviour-cloning loss does not train it), 4 epochs over each 24-step rollout, an
    Adam step every 8 env steps of samples."""

    num_steps_per_env = 24
    max_iterations = 5000  # bound the run with scripts/train.py --max_minutes
    save_interval = 100
    experiment_name = "g1_mimic_cpu_distill"
    # the motion command's clip time is start + episode_length_buf * step_dt: a made-up initial length (Isaac Lab's
    # default) would start every env's first episode off its reference and feed the curricula a false outcome
    init_at_random_ep_len = False
    obs_groups = {"student": ["policy"], "teacher": ["policy"]}
    student = RslRlMLPModelCfg(
        hidden_dims=[256, 128, 128],
        activation="elu",
        obs_normalization=True,
        distribution_cfg=RslRlMLPModelCfg.GaussianDistributionCfg(init_std=0.1),
    )
    teacher = MultiExpertTeacherCfg()
    algorithm = RslRlDistillationAlgorithmCfg(
        class_name="g1_mimic.rl.distill:MultiExpertDistillation",
        num_learning_epochs=4,
        learning_rate=1.0e-3,
        gradient_length=8,
        max_grad_norm=1.0,
        loss_type="mse",
    )

    def __post_init__(self):
        if not cuda_available():
            self.device = "cpu"
