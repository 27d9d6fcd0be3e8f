"""A Newton ``SolverMuJoCo`` that integrates every world with MuJoCo C (CPU), in a thread pool.

Why: on a CPU, MuJoCo-Warp launches ~155 Warp kernels per physics step from Python; MuJoCo C
steps the same G1 many times faster per core (``docs/performance.md``, section 1). Newton's own ``use_mujoco_cpu=True``
simulates only the template world, so it is no multi-env path.

Shape: everything of Newton's MuJoCo-Warp path stays (the N-world ``mjw_model``/``mjw_data``,
the Newton <-> MuJoCo coordinate and control kernels, resets, model-change updates); only the
integration (``_mujoco_warp_step``) is replaced by :meth:`BatchedMuJoCoSolver._integrate`, which per
physics step

1. gathers the inputs of all worlds from ``mjw_data`` (Warp CPU arrays, read as zero-copy numpy
   views) into one ``(N, nstate_in)`` float64 array in MuJoCo's ``mj_getState`` layout: time [s],
   ``qpos`` (generalised coordinates: free-joint position [m] and wxyz quaternion, hinge angles
   [rad]), ``qvel`` [m/s, rad/s], ``act``, ``qacc_warmstart``, ``ctrl`` (here PD position [rad] and
   velocity [rad/s] targets), ``qfrc_applied`` [N, N m], ``xfrc_applied`` (per body, world frame:
   force [N] then torque [N m] at the body's COM), and ``eq_active``/mocap poses when the model has
   them;
2. steps the envs in ``num_threads`` threads (the calling one included), each with its own
   ``MjData``: ``mj_setState`` (the env's full state) -> ``mj_step`` (:attr:`~BatchedMuJoCoSolver.substeps`
   times: the MuJoCo-C manager folds a whole control period into one call) ->
   ``mj_getState`` into an ``(N, nstate_out)`` array (time, qpos, qvel, act, qacc_warmstart), then
   the env's contacts are staged for :meth:`update_contacts` (:mod:`.contacts`). By default the
   threads are C threads (:mod:`.native`: one ctypes call per physics step, no interpreter between
   envs); without a C compiler, Python threads make the same calls (``mj_step`` releases the GIL,
   the Python per env around it does not: less task throughput, ``docs/performance.md`` section 1);
3. scatters the outputs back into ``mjw_data`` (float32), where Newton's ``_update_newton_state``
   converts them to ``State.joint_q/joint_qd`` and runs forward kinematics, as for MuJoCo-Warp.

An ``MjData`` therefore holds nothing across steps, and a few per-thread datas stay in cache (as in
``mujoco.rollout``; faster per step than one ``MjData`` per env, ``docs/performance.md``). Each env has an ``MjModel``
with its own parameters: :meth:`notify_model_changed` lets Newton update the per-world ``mjw_model``
fields (and recompute the derived constants), then copies them into the MuJoCo C models; worlds with
identical parameters share one model. The C threads step one working model each and copy an env's
differing parameters (~8 kB for the G1) into it before the env's step, rather than touching one
model per env (same results, faster with randomised envs, whose models miss the caches; ``docs/performance.md``, section 2).
Because ``mjw_data`` stays the source of truth, Newton's per-world ``reset`` (zeroing ``qacc_warmstart``, ``ctrl``, ``act``, ``qfrc_applied``,
``xfrc_applied`` of the reset worlds) clears the warm-starts of exactly those envs.

Integration and the host side of the contact conversion are :func:`.cpu_graph.host_call` s, so the
MuJoCo-C manager can replay the Newton kernels around them from recorded Warp CPU graphs.
"""

from __future__ import annotations

import copy
import ctypes
import functools
import logging
import os
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import mujoco
import numpy as np
import warp as wp
from newton import Contacts, Model, State
from newton.solvers import SolverMuJoCo

from . import native
from .contacts import ContactStaging
from .cpu_graph import host_call
from .versions import check_pinned_versions

logger = logging.getLogger(__name__)

ALTERNATIVE = "presets=newton_mjwarp"
"""The preset to name in errors about what this solver cannot do."""

#: ``mjw_model`` fields that Newton keeps per world (``SolverMuJoCo._expand_model_fields``, newton
#: 1.6.1) and that MuJoCo C reads while stepping. Copied into each env's ``MjModel``.
PER_WORLD_MODEL_FIELDS: tuple[str, ...] = (
    "qpos0", "qpos_spring",
    "body_pos", "body_quat", "body_ipos", "body_iquat", "body_mass", "body_subtreemass", "body_inertia",
    "body_invweight0", "body_gravcomp",
    "jnt_solref", "jnt_solimp", "jnt_pos", "jnt_axis", "jnt_stiffness", "jnt_range", "jnt_actfrcrange", "jnt_margin",
    "dof_armature", "dof_damping", "dof_invweight0", "dof_frictionloss", "dof_solimp", "dof_solref",
    "geom_solmix", "geom_solref", "geom_solimp", "geom_size", "geom_rbound", "geom_pos", "geom_quat",
    "geom_friction", "geom_margin", "geom_gap",
    "site_pos", "site_quat",
    "eq_solref", "eq_solimp", "eq_data",
    "actuator_gainprm", "actuator_biasprm", "actuator_dynprm", "actuator_ctrlrange", "actuator_forcerange",
    "actuator_actrange", "actuator_gear", "actuator_cranklength", "actuator_acc0", "actuator_lengthrange",
    "pair_solref", "pair_solreffriction", "pair_solimp", "pair_margin", "pair_gap", "pair_friction",
    "tendon_solref_lim", "tendon_solimp_lim", "tendon_solref_fri", "tendon_solimp_fri", "tendon_range",
    "tendon_actfrcrange", "tendon_margin", "tendon_stiffness", "tendon_damping", "tendon_armature",
    "tendon_frictionloss", "tendon_lengthspring", "tendon_length0", "tendon_invweight0",
)
#: Fields of :data:`PER_WORLD_MODEL_FIELDS` that MuJoCo derives from the others (``mj_setConst``).
DERIVED_MODEL_FIELDS: frozenset[str] = frozenset({
    "body_subtreemass", "body_invweight0", "dof_invweight0", "actuator_acc0", "actuator_lengthrange",
    "tendon_length0", "tendon_invweight0", "meaninertia",
})
#: Per-world solver options copied as they are (``impratio`` is stored as 1/sqrt in MuJoCo-Warp).
PER_WORLD_OPTION_FIELDS: tuple[str, ...] = (
    "tolerance", "ls_tolerance", "ccd_tolerance", "sleep_tolerance", "density", "viscosity", "gravity", "wind", "magnetic",
)

#: MuJoCo C instability warnings (non-finite ctrl/qpos/qvel/qacc). A diverged env is reset by the
#: task's non-finite-state termination; MuJoCo's own report (stdout and a MUJOCO_LOG.TXT in the
#: working directory) is replaced by one Python log record.
_INSTABILITY_WARNINGS: tuple[int, ...] = tuple(
    int(w) for w in (
        mujoco.mjtWarning.mjWARN_BADCTRL, mujoco.mjtWarning.mjWARN_BADQPOS, mujoco.mjtWarning.mjWARN_BADQVEL,
        mujoco.mjtWarning.mjWARN_BADQACC,
    )
)
_JACOBIAN: dict[str, int] = {
    "dense": int(mujoco.mjtJacobian.mjJAC_DENSE),
    "sparse": int(mujoco.mjtJacobian.mjJAC_SPARSE),
    "auto": int(mujoco.mjtJacobian.mjJAC_AUTO),
}
_S = mujoco.mjtState
#: Differing byte ranges of the model buffers closer than this are copied as one range (patched C step).
PATCH_MERGE_GAP = 64
#: State components gathered into MuJoCo C per step, in ``mj_getState`` order.
_INPUT_BITS: tuple[int, ...] = (
    _S.mjSTATE_TIME, _S.mjSTATE_QPOS, _S.mjSTATE_QVEL, _S.mjSTATE_ACT, _S.mjSTATE_WARMSTART, _S.mjSTATE_CTRL,
    _S.mjSTATE_QFRC_APPLIED, _S.mjSTATE_XFRC_APPLIED, _S.mjSTATE_EQ_ACTIVE, _S.mjSTATE_MOCAP_POS,
    _S.mjSTATE_MOCAP_QUAT,
)
#: State components scattered back to ``mjw_data`` per step.
_OUTPUT_BITS: tuple[int, ...] = (_S.mjSTATE_TIME, _S.mjSTATE_QPOS, _S.mjSTATE_QVEL, _S.mjSTATE_ACT, _S.mjSTATE_WARMSTART)
#: ``mjw_data`` field of each state component.
_DATA_FIELD: dict[int, str] = {
    int(_S.mjSTATE_TIME): "time", int(_S.mjSTATE_QPOS): "qpos", int(_S.mjSTATE_QVEL): "qvel",
    int(_S.mjSTATE_ACT): "act", int(_S.mjSTATE_WARMSTART): "qacc_warmstart", int(_S.mjSTATE_CTRL): "ctrl",
    int(_S.mjSTATE_QFRC_APPLIED): "qfrc_applied", int(_S.mjSTATE_XFRC_APPLIED): "xfrc_applied",
    int(_S.mjSTATE_EQ_ACTIVE): "eq_active", int(_S.mjSTATE_MOCAP_POS): "mocap_pos", int(_S.mjSTATE_MOCAP_QUAT): "mocap_quat",
}


def state_layout(model: mujoco.MjModel, bits: tuple[int, ...]) -> tuple[int, dict[int, slice]]:
    """``(spec, {bit: columns})`` of the ``mj_getState`` vector holding the non-empty components ``bits``."""
    spec, start, cols = 0, 0, {}
    for bit in sorted(int(b) for b in bits):
        size = mujoco.mj_stateSize(model, bit)
        if size == 0:
            continue
        spec |= bit
        cols[bit] = slice(start, start + size)
        start += size
    return spec, cols


def default_num_threads() -> int:
    """The CPU cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


class BatchedMuJoCoSolver(SolverMuJoCo):
    """Newton's MuJoCo solver with MuJoCo C stepping every world (CPU only; see the module docstring).

    Takes every argument of :class:`newton.solvers.SolverMuJoCo` plus ``num_threads`` and
    ``mujoco_c_jacobian``. Requires MuJoCo's own collision detection (``use_mujoco_contacts=True``)
    and a CPU model; does not compute post-constraint body accelerations/joint wrenches
    (``State.body_qdd``, ``State.body_parent_f``), run sleeping islands or actuator delays. Each
    raises with the alternative preset. Diverged worlds keep their NaNs (MuJoCo C's auto-reset to
    ``qpos0`` is disabled), as with MuJoCo-Warp.
    """

    def __init__(
        self,
        model: Model,
        *,
        num_threads: int | None = None,
        mujoco_c_jacobian: str = "sparse",
        native_step: bool | None = None,
        **kwargs: Any,
    ):
        """Build Newton's MuJoCo model (as for MuJoCo-Warp), then the MuJoCo C models and per-thread data.

        Args:
            model: The Newton model (CPU device).
            num_threads: Threads stepping envs in parallel; None uses every core this process may
                run on. 1 steps all envs on the calling thread.
            mujoco_c_jacobian: Constraint Jacobian layout of the MuJoCo C models (``"sparse"``,
                ``"dense"`` or ``"auto"``); same results, sparse is faster for the G1.
            native_step: Step the envs in C threads (:mod:`.native`, built with the system C
                compiler on first use) instead of Python threads; same calls, same results. None:
                when it can be built, else Python threads with a warning; True: required (raises
                :class:`~.native.NativeStepUnavailable` otherwise); False: Python threads.
            **kwargs: Keyword arguments of :class:`newton.solvers.SolverMuJoCo`.
        """
        check_pinned_versions()
        if kwargs.get("use_mujoco_cpu"):
            raise ValueError(
                "BatchedMuJoCoSolver always steps with MuJoCo C; use_mujoco_cpu=True (Newton's single-world "
                "MuJoCo C path) cannot be combined with it."
            )
        if not kwargs.get("use_mujoco_contacts", True):
            raise NotImplementedError(
                "The MuJoCo-C preset needs MuJoCo's own collision detection (use_mujoco_contacts=True): contacts "
                f"from Newton's collision pipeline cannot be injected into MuJoCo C. Use {ALTERNATIVE} for that."
            )
        if kwargs.get("enable_sleeping"):
            raise NotImplementedError(f"The MuJoCo-C preset does not run sleeping islands; use {ALTERNATIVE}.")
        if model.device.is_cuda:
            raise ValueError(f"The MuJoCo-C preset runs on the CPU only (device {model.device}); use {ALTERNATIVE} on CUDA.")
        if mujoco_c_jacobian not in _JACOBIAN:
            raise ValueError(f"mujoco_c_jacobian must be one of {sorted(_JACOBIAN)}, got {mujoco_c_jacobian!r}.")
        if num_threads is not None and num_threads < 1:
            raise ValueError(f"num_threads must be >= 1 or None, got {num_threads}.")
        super().__init__(model, **kwargs)
        tpl = self.mj_model
        if getattr(tpl, "nhistory", 0):
            raise NotImplementedError(f"Actuator/sensor delays (MuJoCo history buffers) are not supported; use {ALTERNATIVE}.")
        self.num_envs: int = int(self.mjw_data.nworld)
        """Worlds (envs) stepped by MuJoCo C."""
        self.num_threads: int = min(num_threads or default_num_threads(), max(1, self.num_envs))
        """Threads that step envs (the calling thread is one of them), each with its own ``MjData``."""
        self.substeps: int = 1
        """``mj_step`` calls per env in one :meth:`step`, each of the step's ``dt`` with the controls held; the
        MuJoCo-C manager sets it for the length of one recorded step to fold a control period into one call
        (the state stays in double precision between them). Read when :meth:`step` is called, so a recorded
        CPU graph replays the count it was recorded with."""
        self.stage_contacts: bool = True
        """Copy each env's contacts after its step for :meth:`update_contacts`. The MuJoCo-C manager
        turns it off while no contact sensor is registered."""
        # MuJoCo C resets diverged data to qpos0 by default; MuJoCo-Warp lets NaNs through to Isaac Lab's
        # non-finite-state termination. Keep MuJoCo-Warp's behaviour.
        tpl.opt.disableflags |= int(mujoco.mjtDisableBit.mjDSBL_AUTORESET)
        self._template: mujoco.MjModel = copy.copy(tpl)
        self._template.opt.jacobian = _JACOBIAN[mujoco_c_jacobian]
        self._template_ipos = tpl.body_ipos.copy()
        self._template_iquat = tpl.body_iquat.copy()
        self._env_models: list[mujoco.MjModel] = [self._template] * self.num_envs
        self._env_keys: list[bytes] = []
        self._unique_models: list[mujoco.MjModel] = [self._template]
        # One MjData per thread (as mujoco.rollout): an env's state lives in mjw_data and is set in full
        # before its step, so the data holds nothing across steps; a few hot datas stay in cache
        # (faster per step than one MjData per env; docs/performance.md).
        self._thread_datas: list[mujoco.MjData] = [mujoco.MjData(self._template) for _ in range(self.num_threads)]
        for data in self._thread_datas:
            for warning in _INSTABILITY_WARNINGS:
                data.warning[warning].number = 1  # MuJoCo prints and logs a warning type only while it is 0
        self._instabilities = self._instability_count()
        self._niter = np.zeros(self.num_envs, dtype=np.int64)
        self._timestep = float(tpl.opt.timestep)

        self._spec_in, self._cols_in = state_layout(tpl, _INPUT_BITS)
        self._spec_out, self._cols_out = state_layout(tpl, _OUTPUT_BITS)
        self._state_in = np.zeros((self.num_envs, mujoco.mj_stateSize(tpl, self._spec_in)))
        self._state_out = np.zeros((self.num_envs, mujoco.mj_stateSize(tpl, self._spec_out)))
        self._rows_in = list(self._state_in)
        self._rows_out = list(self._state_out)
        self._views: dict[str, tuple[Any, np.ndarray]] = {}

        self._elliptic = bool(tpl.opt.cone == mujoco.mjtCone.mjCONE_ELLIPTIC)
        self._staging = ContactStaging(
            self.num_envs, int(self.mjw_data.naconmax // self.num_envs), tpl.nbody, int(self.mjw_data.njmax)
        )
        self._geom_bodyid = wp.array(tpl.geom_bodyid.astype(np.int32), dtype=wp.int32, device="cpu")
        self._staged = False  # whether the last step staged its contacts
        self._warned_unstaged = False
        self._warned_unstable = False
        self._warned_dropped = False
        self._warned_threads = False
        self._qfrc_actuator_requested = False
        self._qfrc_actuator = np.zeros((self.num_envs, tpl.nv))

        self._native: ctypes.CDLL | None = None
        self.patch_models: bool = True
        """C step: each thread steps one working model into which each env's differing parameters are
        copied before its step, instead of one model per env (same results; fewer cache misses with
        randomised envs). Takes effect at the next model sync (:meth:`sync_env_models`)."""
        self._batch: native.Batch | None = None
        self._batch_keep: list[Any] = []
        if native_step is not False:
            try:
                self._native = native.load()
                if self._native.g1m_sizeof_contact() != self._staging.layout.itemsize:
                    raise native.NativeStepUnavailable(
                        f"sizeof(mjContact) is {self._native.g1m_sizeof_contact()} in the C library and "
                        f"{self._staging.layout.itemsize} in the Python bindings"
                    )
            except native.NativeStepUnavailable as err:
                if native_step:
                    raise
                self._native = None
                logger.warning("The C batched MuJoCo step is unavailable (%s); stepping envs in Python threads "
                               "(same results, slower).", err)
        self.native_step: bool = self._native is not None
        """Whether envs are stepped by the C batched step (else by Python threads)."""

        self._pool: ThreadPoolExecutor | None = None
        if self.num_threads > 1 and self._native is None:
            self._pool = ThreadPoolExecutor(self.num_threads - 1, thread_name_prefix="mujoco_c")
        self.sync_env_models()

    # ------------------------------------------------------------------ model parameters

    def sync_env_models(self) -> None:
        """Copy the per-world model fields of ``mjw_model`` into the MuJoCo C models of the envs.

        Worlds whose parameters are identical share one ``MjModel``; the others get their own copy.
        Identity is judged on the primary fields: the derived constants (``body_subtreemass``,
        ``*_invweight0``, ``actuator_acc0``, ``meaninertia``, ...) and the free-joint entries of
        ``qpos0``/``qpos_spring`` (each env's spawn position; unused by the dynamics without joint
        stiffness) differ between otherwise identical worlds only by float32 rounding. Every model gets
        the derived constants of its first world, as recomputed by Newton's MuJoCo-Warp path. Models
        of worlds whose parameters did not change since the last call are kept as they are.
        """
        mjw = self.mjw_model
        n = self.num_envs
        fields: list[tuple[str | None, str, np.ndarray]] = []
        tpl = self._template
        for name in PER_WORLD_MODEL_FIELDS:
            fields.append((None, name, self._world_rows(getattr(mjw, name), np.size(getattr(tpl, name)), name)))
        for name in PER_WORLD_OPTION_FIELDS:
            fields.append(("opt", name, self._world_rows(getattr(mjw.opt, name), np.size(getattr(tpl.opt, name)), name)))
        impratio = 1.0 / np.square(self._world_rows(mjw.opt.impratio_invsqrt, 1, "opt.impratio_invsqrt"))
        fields.append(("opt", "impratio", impratio))
        fields.append(("stat", "meaninertia", self._world_rows(mjw.stat.meaninertia, 1, "stat.meaninertia")))

        free_cols = self._free_joint_qpos_columns(fields)
        key_parts = [
            np.delete(rows, free_cols, axis=1) if name in ("qpos0", "qpos_spring") else rows
            for _, name, rows in fields
            if name not in DERIVED_MODEL_FIELDS
        ]
        key_parts = [np.broadcast_to(part, (n, part.shape[1])) for part in key_parts]
        key_matrix = np.ascontiguousarray(np.concatenate(key_parts, axis=1))
        keys = [key_matrix[w].tobytes() for w in range(n)]
        previous = dict(zip(self._env_keys, self._env_models, strict=True)) if self._env_keys else {}
        by_key: dict[bytes, mujoco.MjModel] = {}
        models: list[mujoco.MjModel] = []
        for w, key in enumerate(keys):
            model = by_key.get(key) or previous.get(key)
            if model is None:
                model = copy.copy(tpl)
                for group, name, rows in fields:
                    self._write_field(model, group, name, rows[w % rows.shape[0]])
                self._fix_inertial_frames(model)
                model.opt.timestep = self._timestep
            by_key[key] = model
            models.append(model)
        self._env_models = models
        self._env_keys = keys
        self._unique_models = list(by_key.values())
        if self._native is not None:
            self._bind_native()

    def _bind_native(self) -> None:
        """Point the C batch descriptor at this solver's models, datas and buffers (after the models change)."""

        def address(array: np.ndarray) -> int:
            if not array.flags["C_CONTIGUOUS"]:
                raise RuntimeError("C batched step: a buffer is not C-contiguous")
            return int(array.ctypes.data)

        staging = self._staging
        models = (ctypes.c_void_p * self.num_envs)(*[m._address for m in self._env_models])
        datas = (ctypes.c_void_p * self.num_threads)(*[d._address for d in self._thread_datas])
        batch = native.Batch(
            num_envs=self.num_envs, num_threads=self.num_threads,
            models=ctypes.addressof(models), datas=ctypes.addressof(datas),
            state_in=address(self._state_in), nin=self._state_in.shape[1], spec_in=self._spec_in,
            state_out=address(self._state_out), nout=self._state_out.shape[1], spec_out=self._spec_out,
            niter=address(self._niter), stage=0, cap=staging.cap, efc_rows=staging.efc_force.shape[1],
            nbody=staging.nbody, count=address(staging.count), produced=address(staging.produced),
            raw=address(staging.raw), nefc=address(staging.nefc), efc_force=address(staging.efc_force),
            xpos=address(staging.xpos), xmat=address(staging.xmat), qfrc_actuator=None,
            nv=self._qfrc_actuator.shape[1], patch=0, work_models=None, nseg=0, seg_off=None, seg_len=None,
            params=None, nparam=0, substeps=1, next=0,
        )
        # the pointer arrays and the models/datas they point to must outlive the descriptor
        keep: list[Any] = [models, datas, list(self._env_models), list(self._thread_datas)]
        tables = self._patch_tables() if self.patch_models else None
        if tables is not None:
            work_models, seg_off, seg_len, params = tables
            work = (ctypes.c_void_p * self.num_threads)(*[m._address for m in work_models])
            batch.patch = 1
            batch.work_models = ctypes.addressof(work)
            batch.nseg = seg_off.size
            batch.seg_off = address(seg_off)
            batch.seg_len = address(seg_len)
            batch.params = address(params)
            batch.nparam = params.shape[1]
            keep += [work, work_models, seg_off, seg_len, params]
        self._batch_keep = keep
        self._batch = batch

    def _model_bytes(self, model: mujoco.MjModel, part: str) -> np.ndarray:
        """Writable uint8 view of ``model``'s ``"buffer"`` (every array), ``"opt"`` or ``"stat"`` (C library)."""
        lib = self._native
        if part == "buffer":
            size, address = lib.g1m_model_nbuffer(model._address), lib.g1m_model_buffer(model._address)
        elif part == "opt":
            size, address = lib.g1m_sizeof_option(), lib.g1m_model_option(model._address)
        else:
            size, address = lib.g1m_sizeof_statistic(), lib.g1m_model_statistic(model._address)
        return np.ctypeslib.as_array((ctypes.c_uint8 * size).from_address(address))

    def _patch_tables(
        self,
    ) -> tuple[list[mujoco.MjModel], np.ndarray, np.ndarray, np.ndarray] | None:
        """Per-thread working models and per-env parameter rows for the C step's patched mode.

        The byte ranges of the model buffer where any env's model differs from the template (merged
        across gaps of less than :data:`PATCH_MERGE_GAP` bytes), and for every env its ``mjOption``,
        ``mjStatistic`` and those ranges; see ``batch_step.c``. None (each env steps its own model)
        when a model's buffer is laid out differently from the template's.

        Returns:
            ``(working models, range offsets [bytes], range lengths [bytes], (num_envs, nparam) uint8 rows)``.
        """
        template = self._model_bytes(self._template, "buffer")
        buffers = {id(m): self._model_bytes(m, "buffer") for m in self._unique_models}
        if any(b.size != template.size for b in buffers.values()):
            return None
        differ = np.zeros(template.size, dtype=bool)
        for buf in buffers.values():
            differ |= buf != template
        idx = np.flatnonzero(differ)
        if idx.size:
            breaks = np.flatnonzero(np.diff(idx) > PATCH_MERGE_GAP)
            starts = idx[np.r_[0, breaks + 1]]
            ends = idx[np.r_[breaks, idx.size - 1]] + 1
        else:
            starts = ends = np.zeros(0, dtype=np.int64)
        columns = np.concatenate([np.arange(a, b) for a, b in zip(starts, ends, strict=True)] or [np.zeros(0, np.int64)])
        rows: dict[int, np.ndarray] = {
            id(m): np.concatenate([self._model_bytes(m, "opt"), self._model_bytes(m, "stat"), buffers[id(m)][columns]])
            for m in self._unique_models
        }
        params = np.ascontiguousarray(np.stack([rows[id(m)] for m in self._env_models]))
        work_models = [copy.copy(self._template) for _ in range(self.num_threads)]
        return work_models, starts.astype(np.int64), (ends - starts).astype(np.int64), params

    def _free_joint_qpos_columns(self, fields: list[tuple[str | None, str, np.ndarray]]) -> np.ndarray:
        """``qpos`` columns of free joints without stiffness in any world (their ``qpos0`` is only a spawn pose)."""
        stiffness = next(rows for _, name, rows in fields if name == "jnt_stiffness")
        tpl = self._template
        cols = [
            np.arange(tpl.jnt_qposadr[j], tpl.jnt_qposadr[j] + 7)
            for j in range(tpl.njnt)
            if tpl.jnt_type[j] == mujoco.mjtJoint.mjJNT_FREE and not np.any(stiffness[:, j])
        ]
        return np.concatenate(cols) if cols else np.zeros(0, dtype=np.int64)

    def _world_rows(self, array: Any, size: int | None, name: str) -> np.ndarray:
        """``array`` (a per-world Warp array, leading dim 1 or N) as ``(1 or N, values)`` float64 rows.

        Args:
            array: The ``mjw_model`` field.
            size: Values per world the MuJoCo C field holds (None: not checked).
            name: Field name, for the error message.
        """
        values = np.asarray(array.numpy() if hasattr(array, "numpy") else array, dtype=np.float64)
        rows = values.reshape(max(1, values.shape[0] if values.ndim else 1), -1)
        if rows.shape[0] not in (1, self.num_envs) or (size is not None and rows.shape[1] != size):
            raise RuntimeError(
                f"mjw_model.{name} has shape {values.shape}, expected (1 or {self.num_envs}, {size} values): the "
                f"installed Newton/MuJoCo-Warp lay out model fields differently from the pinned versions. Use {ALTERNATIVE}."
            )
        return rows

    @staticmethod
    def _write_field(model: mujoco.MjModel, group: str | None, name: str, row: np.ndarray) -> None:
        """Write one world's values into ``model.<group>.<name>``."""
        owner = model if group is None else getattr(model, group)
        current = getattr(owner, name)
        if isinstance(current, np.ndarray):
            current[...] = row.reshape(current.shape)
        else:
            setattr(owner, name, float(row.reshape(-1)[0]))

    def _fix_inertial_frames(self, model: mujoco.MjModel) -> None:
        """Invalidate MuJoCo C's same-frame/simple-body shortcuts where a body's inertial frame moved.

        MuJoCo C skips the inertial-frame offset of bodies compiled with ``body_sameframe`` set (it
        takes ``xipos = xpos``); a randomised COM (``body_ipos``) would be silently ignored there.
        """
        moved = ~(
            np.isclose(model.body_ipos, self._template_ipos, rtol=0.0, atol=1e-6).all(axis=1)
            & np.isclose(model.body_iquat, self._template_iquat, rtol=0.0, atol=1e-6).all(axis=1)
        )
        if moved.any():
            model.body_sameframe[moved] = int(mujoco.mjtSameFrame.mjSAMEFRAME_NONE)
            model.body_simple[moved] = 0
            model.dof_simplenum[:] = 0

    def notify_model_changed(self, flags: int) -> None:
        """Let Newton update ``mjw_model`` for ``flags``, then copy the per-world fields to MuJoCo C."""
        super().notify_model_changed(flags)
        if hasattr(self, "_thread_datas"):  # the base constructor notifies before the MuJoCo C models exist
            self.sync_env_models()

    # ------------------------------------------------------------------ stepping

    def step(self, state_in: State, state_out: State, control: Any, contacts: Contacts | None, dt: float) -> None:
        """:attr:`substeps` physics steps of ``dt`` [s] each for every world, controls held (Newton's MuJoCo-Warp
        path around them once, MuJoCo C integration)."""
        if state_out.body_qdd is not None or state_out.body_parent_f is not None:
            raise NotImplementedError(
                "The MuJoCo-C preset does not compute body accelerations or joint wrenches (State.body_qdd / "
                f"body_parent_f, used by IMU and joint-wrench sensors); use {ALTERNATIVE}."
            )
        self._qfrc_actuator_requested = getattr(getattr(state_out, "mujoco", None), "qfrc_actuator", None) is not None
        super().step(state_in, state_out, control, contacts, dt)

    def _view(self, owner: Any, name: str) -> np.ndarray:
        """Zero-copy numpy view of the Warp CPU array ``owner.<name>`` (cached while the array lives)."""
        array = getattr(owner, name)
        key = f"{id(owner)}.{name}"
        cached = self._views.get(key)
        if cached is None or cached[0] is not array:
            view = array.numpy()
            cached = (array, view.reshape(view.shape[0], -1) if view.ndim > 1 else view.reshape(-1, 1))
            self._views[key] = cached
        return cached[1]

    def _mujoco_warp_step(self) -> None:
        """Replace MuJoCo-Warp's step with :meth:`_integrate` (a host call when the step is graph-recorded)."""
        if self.substeps < 1:
            raise ValueError(f"BatchedMuJoCoSolver.substeps must be >= 1, got {self.substeps}.")
        host_call(functools.partial(self._integrate, int(self.substeps)))

    def _integrate(self, substeps: int = 1) -> None:
        """Gather the inputs of every world from ``mjw_data``, ``mj_step`` each env ``substeps`` times, scatter
        the outputs back."""
        d = self.mjw_data
        dt = float(self._view(self.mjw_model.opt, "timestep")[0, 0])
        if dt != self._timestep:
            self._timestep = dt
            for model in self._unique_models:
                model.opt.timestep = dt
            if self._native is not None:
                self._bind_native()  # the patched parameter rows hold each model's options
        state_in = self._state_in
        for bit, cols in self._cols_in.items():
            state_in[:, cols] = self._view(d, _DATA_FIELD[bit])
        self._staged = self.stage_contacts
        self._run_all(substeps)
        state_out = self._state_out
        for bit, cols in self._cols_out.items():
            self._view(d, _DATA_FIELD[bit])[...] = state_out[:, cols]
        if self._qfrc_actuator_requested:
            self._view(d, "qfrc_actuator")[...] = self._qfrc_actuator
        count = self._instability_count()
        if count != self._instabilities:
            logger.log(
                logging.WARNING if not self._warned_unstable else logging.DEBUG,
                "MuJoCo C: %d new instability warning(s) (NaN/Inf/huge qpos, qvel, qacc or ctrl); the diverged envs "
                "carry the NaNs to Isaac Lab, whose non-finite-state termination resets them.",
                count - self._instabilities,
            )
            self._warned_unstable = True
            self._instabilities = count

    def _instability_count(self) -> int:
        """Instability warnings MuJoCo counted in the thread datas so far."""
        return sum(int(data.warning[w].number) for data in self._thread_datas for w in _INSTABILITY_WARNINGS)

    def _run_all(self, substeps: int = 1) -> None:
        """Step every env ``substeps`` times, spreading the envs over the threads; they are handed out one at a
        time (load balance)."""
        if self._batch is not None:
            batch = self._batch
            batch.substeps = substeps
            batch.stage = int(self._staged)
            batch.qfrc_actuator = int(self._qfrc_actuator.ctypes.data) if self._qfrc_actuator_requested else None
            status = self._native.g1m_batch_step(ctypes.byref(batch))  # ctypes releases the GIL for the call
            if status == -1:
                raise RuntimeError(f"C batched MuJoCo step: bad thread count {self.num_threads} or substeps {substeps}.")
            if status == -2 and not self._warned_threads:
                # every env was still stepped, by the threads that did start
                logger.warning("C batched MuJoCo step: a stepping thread could not be started; fewer threads ran.")
                self._warned_threads = True
            return
        envs = iter(range(self.num_envs))
        if self._pool is None:
            self._run_envs(envs, self._thread_datas[0], substeps)
            return
        futures: list[Future] = [
            self._pool.submit(self._run_envs, envs, data, substeps) for data in self._thread_datas[1:]
        ]
        self._run_envs(envs, self._thread_datas[0], substeps)
        for future in futures:
            future.result()

    def _run_envs(self, envs: Iterator[int], data: mujoco.MjData, substeps: int = 1) -> None:
        """Step the envs drawn from the shared iterator ``envs`` (``next`` on it is atomic under the GIL) in ``data``,
        ``substeps`` times each."""
        set_state, step, get_state = mujoco.mj_setState, mujoco.mj_step, mujoco.mj_getState
        models, rows_in, rows_out, niter = self._env_models, self._rows_in, self._rows_out, self._niter
        spec_in, spec_out = self._spec_in, self._spec_out
        stage = self._staging.stage if self._staged else None
        qfrc = self._qfrc_actuator if self._qfrc_actuator_requested else None
        for i in envs:
            model = models[i]
            set_state(model, data, rows_in[i], spec_in)
            for _ in range(substeps):
                step(model, data)
            get_state(model, data, rows_out[i], spec_out)
            niter[i] = data.solver_niter[0]
            if stage is not None:
                stage(i, data)
            if qfrc is not None:
                qfrc[i] = data.qfrc_actuator

    # ------------------------------------------------------------------ contacts and diagnostics

    def update_contacts(self, contacts: Contacts, state: State | None = None) -> None:
        """Fill Newton's ``contacts`` with the contacts of the last step of every env (see :mod:`.contacts`)."""
        if self.mjw_data.naconmax > contacts.rigid_contact_max:
            raise ValueError(
                f"MuJoCo naconmax ({self.mjw_data.naconmax}) exceeds contacts.rigid_contact_max "
                f"({contacts.rigid_contact_max}). Create Contacts with at least rigid_contact_max={self.mjw_data.naconmax}."
            )
        host_call(lambda: self._prepare_contacts(contacts))
        self._staging.launch(contacts, self.mjc_geom_to_newton_shape, self._geom_bodyid, self._elliptic)
        contacts.n_contacts = contacts.rigid_contact_count

    def _prepare_contacts(self, contacts: Contacts) -> None:
        """Host side of :meth:`update_contacts`: output offsets and the contact count."""
        if not self._staged:
            # the last step ran with stage_contacts off: nothing to report for it
            self._staging.count[:] = 0
            self._staging.produced[:] = 0
            if not self._warned_unstaged:
                logger.warning("update_contacts() after a step that did not stage contacts (stage_contacts=False): none reported.")
                self._warned_unstaged = True
        dropped = self._staging.prepare(contacts)
        if dropped and not self._warned_dropped:
            logger.warning(
                "MuJoCo C produced %d contacts more than the contact buffers hold (nconmax per env); the contact "
                "sensor misses them (the physics does not). Raise nconmax.", dropped,
            )
            self._warned_dropped = True

    def solver_iterations(self) -> np.ndarray:
        """``(N,)`` constraint-solver iterations of each env's last step."""
        return self._niter.copy()

    @property
    def env_models(self) -> list[mujoco.MjModel]:
        """The MuJoCo C model of each env (one object shared by envs with identical parameters)."""
        return list(self._env_models)

    def close(self) -> None:
        """Stop the stepping threads."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def __del__(self) -> None:
        pool = getattr(self, "_pool", None)
        if pool is not None:
            pool.shutdown(wait=False)
        parent_del = getattr(super(), "__del__", None)
        if parent_del is not None:
            parent_del()


__all__ = ["ALTERNATIVE", "BatchedMuJoCoSolver", "PER_WORLD_MODEL_FIELDS", "default_num_threads", "state_layout"]
