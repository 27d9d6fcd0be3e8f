"""Warp CPU graph replay of Isaac Lab's Newton physics step (Isaac Lab records graphs on CUDA only).

Warp 1.17 records the work issued on a CPU device during a capture (its "APIC" operation stream:
kernel launches, ``wp.capture_while`` loops, copies and memsets) without running it, and
:func:`warp.capture_launch` replays the recording from C++, without the Python cost of each launch
(argument packing, for each of the ~155 launches of a MuJoCo-Warp physics step; measured in
``docs/performance.md``, section 2).

:class:`SegmentedCPUGraph` records a physics step as Warp graphs separated by *host calls*:
Python that must run at replay time (MuJoCo C stepping, numpy bookkeeping) registers itself with
:func:`host_call`, which closes the graph being recorded, keeps the callable, and opens the next
graph. Replay runs the graphs and the host calls in their recorded order.

:class:`NewtonMJWarpCPUGraphManager` is Isaac Lab's MuJoCo-Warp manager with that replay on the
CPU: the first physics step runs eagerly (kernel compilation, lazy allocations), the second records
``_simulate_physics_only`` (or ``_simulate_full``), and every step replays the recording. It is
recorded again whenever Isaac Lab invalidates its graphs (hard reset, new solver) or a Python-side
input of the recorded code changes (state/control/contact buffers, callbacks, sensors). The
MuJoCo-C manager (:mod:`.mujoco_cpu_manager`) derives from it, so the Newton kernels around its
MuJoCo C stepping are replayed the same way.

Replay reproduces eager stepping bit for bit (``tests/test_mujoco_cpu_graph.py``). Requirements,
checked before recording (eager stepping otherwise): CPU device and ``update_data_interval == 1``
(Newton's data-sync decision is Python-side and would be frozen into the recording).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import warp as wp
from isaaclab.physics import PhysicsManager
from isaaclab_newton.physics import NewtonManager
from isaaclab_newton.physics.mjwarp_manager import NewtonMJWarpManager

logger = logging.getLogger(__name__)

_RECORDING: SegmentedCPUGraph | None = None
"""The recording in progress, if any (host calls are deferred into it)."""


def host_call(fn: Callable[[], None]) -> None:
    """Run ``fn`` now, or, while a :class:`SegmentedCPUGraph` records, at this point of every replay."""
    if _RECORDING is None:
        fn()
    else:
        _RECORDING._split(fn)


def recording() -> bool:
    """True while a :class:`SegmentedCPUGraph` records (Warp work is recorded, not run)."""
    return _RECORDING is not None


class SegmentedCPUGraph:
    """A CPU step recorded as Warp graphs interleaved with host calls (see the module docstring)."""

    def __init__(self) -> None:
        """An empty recording."""
        self.segments: list[wp.Graph | Callable[[], None]] = []

    @property
    def host_calls(self) -> int:
        """Number of host calls between the recorded graphs."""
        return sum(1 for seg in self.segments if not isinstance(seg, wp.Graph))

    def record(self, target: Callable[[], None]) -> None:
        """Record ``target`` (its Warp work is recorded, not run; its host calls are kept, not run)."""
        global _RECORDING
        if _RECORDING is not None:
            raise RuntimeError("A CPU graph recording is already in progress.")
        self.segments = []
        _RECORDING = self
        try:
            wp.capture_begin(device="cpu")
            try:
                target()
            finally:
                self.segments.append(wp.capture_end(device="cpu"))
        finally:
            _RECORDING = None

    def _split(self, fn: Callable[[], None]) -> None:
        """Close the graph being recorded, keep ``fn``, open the next graph."""
        self.segments.append(wp.capture_end(device="cpu"))
        self.segments.append(fn)
        wp.capture_begin(device="cpu")

    def replay(self) -> None:
        """Run the recorded graphs and host calls in order."""
        for seg in self.segments:
            if isinstance(seg, wp.Graph):
                wp.capture_launch(seg)
            else:
                seg()


class NewtonMJWarpCPUGraphManager(NewtonMJWarpManager):
    """:class:`NewtonMJWarpManager` that replays each CPU physics step from a recorded Warp graph."""

    _cpu_graphs: dict[str, tuple[tuple, SegmentedCPUGraph]] = {}
    _cpu_graph_warm: set[str] = set()

    @classmethod
    def _invalidate_graph(cls) -> None:
        """Drop the recorded CPU graphs along with Isaac Lab's CUDA graph."""
        super()._invalidate_graph()
        NewtonMJWarpCPUGraphManager._cpu_graphs = {}
        NewtonMJWarpCPUGraphManager._cpu_graph_warm = set()

    @classmethod
    def clear(cls) -> None:
        """Drop the recorded CPU graphs with the rest of the Newton state."""
        NewtonMJWarpCPUGraphManager._cpu_graphs = {}
        NewtonMJWarpCPUGraphManager._cpu_graph_warm = set()
        super().clear()

    @classmethod
    def _graph_signature(cls) -> tuple:
        """Identity of every Python-side input the recorded step depends on."""
        backend = NewtonManager.backend
        return (
            id(NewtonManager._solver), id(NewtonManager._contacts), id(backend.state_0), id(backend.state_1),
            id(backend.control), cls._decimation, cls._num_substeps, cls._solver_dt,
            tuple(id(cb) for cb in NewtonManager._state_force_callbacks),
            tuple(id(cb) for cb in NewtonManager._post_step_callbacks),
            tuple(id(cb) for cb in NewtonManager._post_actuator_callbacks),
            tuple(id(s) for s in NewtonManager._newton_contact_sensors.values()),
            tuple(id(s) for s in NewtonManager._newton_frame_transform_sensors),
            tuple(id(s) for s in NewtonManager._newton_imu_sensors),
            NewtonManager._report_contacts, id(NewtonManager._adapter),
        )

    @classmethod
    def _cpu_graph_enabled(cls) -> bool:
        """Whether to record/replay: CPU device and per-step Python decisions that cannot change."""
        device = PhysicsManager._device
        solver = NewtonManager._solver
        return (
            device is not None
            and "cuda" not in str(device)
            and solver is not None
            and getattr(solver, "update_data_interval", 1) == 1
            and not getattr(solver, "use_mujoco_cpu", False)
        )

    @classmethod
    def _replay(cls, name: str, target: Callable[[], None]) -> None:
        """Run ``target`` through its CPU recording (eagerly on its first call, or when not enabled)."""
        if not cls._cpu_graph_enabled():
            target()
            return
        signature = cls._graph_signature()
        cached = cls._cpu_graphs.get(name)
        if cached is None or cached[0] != signature:
            if name not in cls._cpu_graph_warm:
                # compile kernels and let lazy allocations happen outside the recording
                target()
                cls._cpu_graph_warm.add(name)
                return
            graph = SegmentedCPUGraph()
            with wp.ScopedDevice("cpu"):
                graph.record(target)
            cached = (signature, graph)
            cls._cpu_graphs[name] = cached
            logger.info("Recorded the %s physics step into Warp CPU graphs (%d host calls).", name, graph.host_calls)
        with wp.ScopedDevice("cpu"):
            cached[1].replay()

    @classmethod
    def _simulate_physics_only(cls) -> None:
        """Solver substeps and sensors, replayed from a CPU recording."""
        cls._replay("physics_only", super()._simulate_physics_only)

    @classmethod
    def _simulate_full(cls) -> None:
        """Actuators, solver substeps and sensors over the decimation, replayed from a CPU recording."""
        cls._replay("full", super()._simulate_full)
