"""Gym registration of the G1 tracking tasks: id, env cfg, rsl_rl agent cfg(s)."""

import gymnasium as gym

from . import agents

_PPO = f"{agents.__name__}.rsl_rl_ppo_cfg"
_TASKS = {
    # id: (env cfg class in env_cfg.py, PPO runner cfg class, extra agent entry points)
    "Isaac-G1-Mimic-v0": ("G1MimicEnvCfg", "G1MimicPPORunnerCfg", {}),
    "Isaac-G1-Mimic-Play-v0": ("G1MimicPlayEnvCfg", "G1MimicPPORunnerCfg", {}),
    "Isaac-G1-Mimic-CPU-Learn-v0": ("G1MimicCPULearnEnvCfg", "G1MimicCPULearnPPORunnerCfg", {}),
    "Isaac-G1-Mimic-CPU-Robust-v0": ("G1MimicCPURobustEnvCfg", "G1MimicCPURobustPPORunnerCfg", {}),
    # the student's checkpoints load as the CPU-Learn PPO cfg's policy (play, evaluate, export, sim2sim)
    "Isaac-G1-Mimic-CPU-Distill-v0": (
        "G1MimicCPUDistillEnvCfg",
        "G1MimicCPULearnPPORunnerCfg",
        {"rsl_rl_distill_cfg_entry_point": f"{agents.__name__}.rsl_rl_distill_cfg:G1MimicDistillRunnerCfg"},
    ),
}

for _id, (_env, _ppo, _extra) in _TASKS.items():
    gym.register(
        id=_id,
        entry_point="g1_mimic.tasks.mimic.env:MimicRLEnv",
        disable_env_checker=True,
        kwargs={
            "env_cfg_entry_point": f"{__name__}.env_cfg:{_env}",
            "rsl_rl_cfg_entry_point": f"{_PPO}:{_ppo}",
            **_extra,
            "default_agent": "rsl_rl",
        },
    )
