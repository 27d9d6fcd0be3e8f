"""Config of the batched MuJoCo-C solver: MuJoCo-Warp's solver cfg plus threads, Jacobian layout, CPU graphs.

Light on purpose (no Newton import): the task's physics presets import it.
"""

from __future__ import annotations

from isaaclab.utils import configclass
from isaaclab_newton.physics import MJWarpSolverCfg


@configclass
class MuJoCoCPUSolverCfg(MJWarpSolverCfg):
    """MuJoCo C stepping every env on the CPU, behind Isaac Lab's Newton manager.

    Every field of :class:`~isaaclab_newton.physics.MJWarpSolverCfg` keeps its meaning (contact
    buffers, cone, impratio, integrator, tolerances, ...); they build the same MuJoCo model, and
    MuJoCo C integrates it. ``use_mujoco_cpu`` (Newton's single-world MuJoCo C) and
    ``use_mujoco_contacts=False`` are rejected when the solver is built.
    """

    class_type: type | str = "{DIR}.mujoco_cpu_manager:NewtonMuJoCoCPUManager"
    """Manager class: Isaac Lab's MuJoCo-Warp manager with :class:`BatchedMuJoCoSolver` as its solver.
    (Its name starts with ``Newton``, so Isaac Lab resolves the Newton assets and sensors.)"""

    solver_type: str = "mujoco_cpu"
    """Solver type tag (informational)."""

    num_threads: int | None = None
    """Threads that step envs in parallel (``mj_step`` releases the GIL); None: every core this
    process may run on (``os.sched_getaffinity``). 1 steps all envs on the simulation thread."""

    mujoco_c_jacobian: str = "sparse"
    """Constraint Jacobian layout of the MuJoCo C models: ``"sparse"``, ``"dense"`` or ``"auto"`` (MuJoCo
    picks dense below 60 DoF). A computational choice with the same results to ~1e-12: with the constraint
    solver busy (random actions) sparse steps the G1 (35 DoF, branching tree) faster than dense;
    standing quietly, both cost the same (``docs/performance.md``, section 2). The MuJoCo-Warp
    model is left as configured."""

    native_step: bool | None = None
    """Step the envs in C threads (``g1_mimic/physics/native/batch_step.c``, built with the system C
    compiler on first use and cached) instead of Python threads: the same MuJoCo calls per env, the
    same results, without the interpreter between envs. None: use it when it can be built (else
    Python threads, with a warning); True: require it; False: Python threads."""

    cpu_graph: bool = True
    """Replay the Warp work of each physics step around the MuJoCo C stepping (control and state
    conversion, forward kinematics, contact conversion, contact sensors) from recorded Warp CPU graphs
    instead of launching each kernel from Python (:mod:`g1_mimic.physics.cpu_graph`); same results."""

    fold_decimation: bool = True
    """Run the env's whole control period (``decimation`` x ``num_substeps`` physics steps of ``sim.dt``, the
    joint targets held) in one physics call: the env steps the physics once per control step (Isaac Lab's
    physics-owned decimation, ``handles_decimation``), MuJoCo C makes the steps back to back per env in one
    call, and Newton's conversions, the scene update and the sensors run once per control step instead of
    after every physics step. The physics is the same (held PD targets, MuJoCo's implicit PD at every
    physics step); what differs: the state stays in double precision within the period (it went through
    ``mjw_data``'s float32 after each step), contact sensors see the period's last step (their history holds
    the last control steps), finite-difference accelerations span the period, and ``env.sim.step()``
    advances a whole period. Only with implicit actuators (the PD inside MuJoCo); explicit actuator models
    step each physics step as before. False: one physics step per call."""
