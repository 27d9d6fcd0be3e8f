"""Isaac Lab Newton manager that builds :class:`BatchedMuJoCoSolver` instead of MuJoCo-Warp's solver."""

from __future__ import annotations

import inspect

import numpy as np
from isaaclab.physics import PhysicsManager
from isaaclab_newton.physics import NewtonManager
from newton import Model
from newton.solvers import SolverMuJoCo

from .cpu_graph import NewtonMJWarpCPUGraphManager
from .mujoco_cpu_cfg import MuJoCoCPUSolverCfg
from .mujoco_cpu_solver import BatchedMuJoCoSolver


class NewtonMuJoCoCPUManager(NewtonMJWarpCPUGraphManager):
    """Isaac Lab's MuJoCo-Warp manager whose solver steps every env with MuJoCo C on the CPU.

    Contact buffers, resets (per-world warm-start clearing), model-change notifications and sensors
    follow the MuJoCo-Warp manager unchanged. With ``cpu_graph`` (the default) the Warp work of each
    physics step around the MuJoCo C stepping (control/state conversion, forward kinematics, contact
    conversion, sensors) is replayed from recorded CPU graphs (:mod:`.cpu_graph`); CUDA graphs are
    never used.
    """

    _builder_attribute_solvers = (SolverMuJoCo,)

    @classmethod
    def _create_solver(cls, model: Model, solver_cfg: MuJoCoCPUSolverCfg) -> BatchedMuJoCoSolver:
        """Construct the batched MuJoCo-C solver from the MuJoCo-Warp fields of ``solver_cfg``."""
        valid = set(inspect.signature(SolverMuJoCo.__init__).parameters) - {"self", "model"}
        kwargs = {k: v for k, v in solver_cfg.to_dict().items() if k in valid}
        if "deterministic" in valid:
            kwargs["deterministic"] = NewtonManager._deterministic_mode
        # ls_parallel is deprecated in newton; forwarding it (even as False) emits a warning.
        kwargs.pop("ls_parallel", None)
        return BatchedMuJoCoSolver(
            model,
            num_threads=getattr(solver_cfg, "num_threads", None),
            mujoco_c_jacobian=getattr(solver_cfg, "mujoco_c_jacobian", "sparse"),
            native_step=getattr(solver_cfg, "native_step", None),
            **kwargs,
        )

    @classmethod
    def _supports_cuda_graph_capture(cls) -> bool:
        """MuJoCo C runs on host threads: no CUDA graph."""
        return False

    @classmethod
    def _cpu_graph_enabled(cls) -> bool:
        """Record/replay the Warp work around MuJoCo C unless the cfg turns ``cpu_graph`` off."""
        cfg = PhysicsManager._cfg
        solver_cfg = getattr(cfg, "solver_cfg", None)
        return bool(getattr(solver_cfg, "cpu_graph", True)) and super()._cpu_graph_enabled()

    @classmethod
    def _simulate_physics_only(cls) -> None:
        """Let the solver stage contacts only while a contact sensor reads them, then step."""
        cls._sync_contact_staging()
        super()._simulate_physics_only()

    @classmethod
    def _simulate_full(cls) -> None:
        """Let the solver stage contacts only while a contact sensor reads them, then step."""
        cls._sync_contact_staging()
        super()._simulate_full()

    @classmethod
    def _sync_contact_staging(cls) -> None:
        """Tell the solver whether :meth:`update_contacts` will be called after this step."""
        solver = NewtonManager._solver
        if isinstance(solver, BatchedMuJoCoSolver):
            solver.stage_contacts = bool(NewtonManager._report_contacts)

    @classmethod
    def clear(cls) -> None:
        """Stop the solver's stepping threads, then clear the Newton state."""
        solver = NewtonManager._solver
        if isinstance(solver, BatchedMuJoCoSolver):
            solver.close()
        super().clear()

    @classmethod
    def _get_solver_convergence_steps(cls) -> dict[str, float | int]:
        """Constraint-solver iterations of the last step over envs (``debug_mode`` logging)."""
        niter = NewtonManager._solver.solver_iterations()
        return {"max": np.max(niter), "mean": np.mean(niter), "min": np.min(niter), "std": np.std(niter)}
