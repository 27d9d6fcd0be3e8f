"""Gym registration of the G1 tracking tasks."""

import gymnasium as gym

from . import agents

gym.register(
    id="Isaac-G1-Mimic-v0",
    entry_point="g1_mimic.tasks.mimic.env:MimicRLEnv",
    disable_env_checker=True,
    kwargs={
        "env_cfg_entry_point": f"{__name__}.env_cfg:G1MimicEnvCfg",
        "rsl_rl_cfg_entry_point": f"{agents.__name__}.rsl_rl_ppo_cfg:G1MimicPPORunnerCfg",
        "default_agent": "rsl_rl",
    },
)

gym.register(
    id="Isaac-G1-Mimic-Play-v0",
    entry_point="g1_mimic.tasks.mimic.env:MimicRLEnv",
    disable_env_checker=True,
    kwargs={
        "env_cfg_entry_point": f"{__name__}.env_cfg:G1MimicPlayEnvCfg",
        "rsl_rl_cfg_entry_point": f"{agents.__name__}.rsl_rl_ppo_cfg:G1MimicPPORunnerCfg",
        "default_agent": "rsl_rl",
    },
)

gym.register(
    id="Isaac-G1-Mimic-CPU-Learn-v0",
    entry_point="g1_mimic.tasks.mimic.env:MimicRLEnv",
    disable_env_checker=True,
    kwargs={
        "env_cfg_entry_point": f"{__name__}.env_cfg:G1MimicCPULearnEnvCfg",
        "rsl_rl_cfg_entry_point": f"{agents.__name__}.rsl_rl_ppo_cfg:G1MimicCPULearnPPORunnerCfg",
        "default_agent": "rsl_rl",
    },
)

gym.register(
    id="Isaac-G1-Mimic-CPU-Distill-v0",
    entry_point="g1_mimic.tasks.mimic.env:MimicRLEnv",
    disable_env_checker=True,
    kwargs={
        "env_cfg_entry_point": f"{__name__}.env_cfg:G1MimicCPUDistillEnvCfg",
        # the student's checkpoints load as this PPO cfg's policy (play, evaluate, export, sim2sim)
        "rsl_rl_cfg_entry_point": f"{agents.__name__}.rsl_rl_ppo_cfg:G1MimicCPULearnPPORunnerCfg",
        "rsl_rl_distill_cfg_entry_point": f"{agents.__name__}.rsl_rl_distill_cfg:G1MimicDistillRunnerCfg",
        "default_agent": "rsl_rl",
    },
)

gym.register(
    id="Isaac-G1-Mimic-CPU-Robust-v0",
    entry_point="g1_mimic.tasks.mimic.env:MimicRLEnv",
    disable_env_checker=True,
    kwargs={
        "env_cfg_entry_point": f"{__name__}.env_cfg:G1MimicCPURobustEnvCfg",
        "rsl_rl_cfg_entry_point": f"{agents.__name__}.rsl_rl_ppo_cfg:G1MimicCPURobustPPORunnerCfg",
        "default_agent": "rsl_rl",
    },
)
