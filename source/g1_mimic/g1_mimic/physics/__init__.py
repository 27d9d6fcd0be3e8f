"""Physics back-ends of g1_mimic beyond Isaac Lab's own: the batched MuJoCo-C solver (``presets=mujoco_cpu``).

- :class:`MuJoCoCPUSolverCfg` (light import): the solver cfg selected by the task's ``mujoco_cpu`` preset.
- :mod:`.mujoco_cpu_manager` / :mod:`.mujoco_cpu_solver`: the Newton manager and solver (import Newton).
- :mod:`.versions`: the newton / mujoco-warp / mujoco versions they rely on.
- :class:`MJWarpCPUGraphSolverCfg` / :mod:`.cpu_graph`: Warp CPU graph replay for the MuJoCo-Warp preset.
"""

from .cpu_graph_cfg import MJWarpCPUGraphSolverCfg
from .mujoco_cpu_cfg import MuJoCoCPUSolverCfg
from .versions import PINNED_VERSIONS, PinnedVersionError, check_pinned_versions

__all__ = ["MJWarpCPUGraphSolverCfg", "MuJoCoCPUSolverCfg", "PINNED_VERSIONS", "PinnedVersionError", "check_pinned_versions"]
