"""Config selecting Warp CPU graph replay for the MuJoCo-Warp preset (light import; see :mod:`.cpu_graph`)."""

from __future__ import annotations

from isaaclab.utils import configclass
from isaaclab_newton.physics import MJWarpSolverCfg


@configclass
class MJWarpCPUGraphSolverCfg(MJWarpSolverCfg):
    """:class:`~isaaclab_newton.physics.MJWarpSolverCfg` whose physics steps replay from a Warp CPU graph."""

    class_type: type | str = "{DIR}.cpu_graph:NewtonMJWarpCPUGraphManager"
    """Manager class: Isaac Lab's MuJoCo-Warp manager with CPU graph replay."""
