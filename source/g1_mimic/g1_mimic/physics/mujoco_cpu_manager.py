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
    def folds_control_period(cls) -> bool:
        """Whether one physics step runs the env's whole control period (``fold_decimation`` of the solver cfg):
        asked for, every actuator implicit (PD inside MuJoCo: ``use_newton_actuators`` routes any other to
        Newton's actuator adapter, which then exists; Isaac Lab's own rule decides in that case)."""
        solver_cfg = getattr(PhysicsManager._cfg, "solver_cfg", None)
        sim = PhysicsManager._sim
        return (
            bool(getattr(solver_cfg, "fold_decimation", False))
            and bool(getattr(getattr(sim, "cfg", None), "use_newton_actuators", False))
            and cls._adapter is None
            and not cls._use_newton_actuators_active
        )

    @classmethod
    def handles_decimation(cls) -> bool:
        """True when :meth:`folds_control_period` (or Isaac Lab's rule: graph-safe Newton actuators): the env then
        calls :meth:`step` once per control step and updates its scene once."""
        return cls.folds_control_period() or super().handles_decimation()

    @classmethod
    def _is_all_graphable(cls) -> bool:
        """Route :meth:`step` to :meth:`_simulate_full` (the whole decimation loop) when the period is folded."""
        return cls.folds_control_period() or super()._is_all_graphable()

    @classmethod
    def _simulate_physics_only(cls) -> None:
        """Let the solver stage contacts only while a contact sensor reads them, then step."""
        cls._sync_contact_staging()
        super()._simulate_physics_only()

    @classmethod
    def _simulate_full(cls) -> None:
        """Let the solver stage contacts only while a contact sensor reads them, then step the decimation loop:
        folded into one solver call per env when nothing runs between its physics steps, else Isaac Lab's loop."""
        cls._sync_contact_staging()
        if cls.folds_control_period() and cls._nothing_between_physics_steps():
            cls._replay("period", cls._simulate_period)
        else:
            super()._simulate_full()

    @classmethod
    def _nothing_between_physics_steps(cls) -> bool:
        """No actuator adapter, callbacks or Newton collision pipeline that Isaac Lab's loop would run between
        the physics steps of a control period (then they can run back to back in MuJoCo C)."""
        return (
            cls._adapter is None
            and not cls._post_actuator_callbacks
            and not cls._state_force_callbacks
            and not cls._needs_collision_pipeline
        )

    @classmethod
    def _simulate_period(cls) -> None:
        """One control period, ``decimation`` x ``num_substeps`` physics steps of the solver's dt, in one solver
        call (:attr:`BatchedMuJoCoSolver.substeps`), then the post-step callbacks and the sensors, as
        :meth:`_simulate_full` does after its loop."""
        backend = cls.backend
        solver = cls._solver
        cls._stage_body_forces()
        cls._apply_staged_body_forces(backend.state_0)
        solver.substeps = cls._decimation * cls._num_substeps
        try:
            if cls._use_single_state:
                cls._step_solver(backend.state_0, backend.state_0, backend.control, None, cls._solver_dt)
            else:
                cls._step_solver(backend.state_0, backend.state_1, backend.control, None, cls._solver_dt)
                backend.state_0.assign(backend.state_1)  # the articulation views are bound to state_0's arrays
        finally:
            solver.substeps = 1
        backend.state_0.clear_forces()
        for callback in cls._post_step_callbacks:
            callback()
        cls._update_sensors(None)

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
