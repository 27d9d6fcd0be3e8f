"""The batched MuJoCo C step in C threads (``batch_step.c``): build, cache and load it.

The C file is compiled on first use with the system C compiler (``$CC``, else ``cc``/``gcc``)
against the headers and the ``libmujoco`` shipped in the installed ``mujoco`` wheel, into
``$G1_MIMIC_NATIVE_CACHE`` (default ``~/.cache/g1_mimic/native``). The library's file name holds
a hash of the C source, the MuJoCo version and the platform, so a new MuJoCo or a changed source
builds a new one; builds are written to a temporary name and renamed (safe with several processes).
``tools/install.sh`` builds it once.

:func:`load` returns the loaded library, or raises :class:`NativeStepUnavailable` saying why
(no compiler, compile error, ABI mismatch); the solver then falls back to its Python threads.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import mujoco

logger = logging.getLogger(__name__)

SOURCE = Path(__file__).with_name("batch_step.c")
"""The C source of the batched step."""
ABI_VERSION = 3
"""``G1M_ABI_VERSION`` of the C source this module's :class:`Batch` matches."""


class NativeStepUnavailable(RuntimeError):
    """The C batched step cannot be built or loaded here (the message says why and what to do)."""


class Batch(ctypes.Structure):
    """``g1m_batch`` of ``batch_step.c`` (field for field; see there for shapes and units)."""

    _fields_ = [
        ("num_envs", ctypes.c_int64),
        ("num_threads", ctypes.c_int64),
        ("models", ctypes.c_void_p),
        ("datas", ctypes.c_void_p),
        ("state_in", ctypes.c_void_p),
        ("nin", ctypes.c_int64),
        ("spec_in", ctypes.c_int64),
        ("state_out", ctypes.c_void_p),
        ("nout", ctypes.c_int64),
        ("spec_out", ctypes.c_int64),
        ("niter", ctypes.c_void_p),
        ("stage", ctypes.c_int64),
        ("cap", ctypes.c_int64),
        ("efc_rows", ctypes.c_int64),
        ("nbody", ctypes.c_int64),
        ("count", ctypes.c_void_p),
        ("produced", ctypes.c_void_p),
        ("raw", ctypes.c_void_p),
        ("nefc", ctypes.c_void_p),
        ("efc_force", ctypes.c_void_p),
        ("xpos", ctypes.c_void_p),
        ("xmat", ctypes.c_void_p),
        ("qfrc_actuator", ctypes.c_void_p),
        ("nv", ctypes.c_int64),
        ("patch", ctypes.c_int64),
        ("work_models", ctypes.c_void_p),
        ("nseg", ctypes.c_int64),
        ("seg_off", ctypes.c_void_p),
        ("seg_len", ctypes.c_void_p),
        ("params", ctypes.c_void_p),
        ("nparam", ctypes.c_int64),
        ("substeps", ctypes.c_int64),
        ("next", ctypes.c_int64),
    ]


def cache_dir() -> Path:
    """Where built libraries are kept: ``$G1_MIMIC_NATIVE_CACHE`` or ``~/.cache/g1_mimic/native``."""
    env = os.environ.get("G1_MIMIC_NATIVE_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "g1_mimic" / "native"


def _mujoco_paths() -> tuple[Path, Path]:
    """``(include dir, libmujoco file)`` of the installed mujoco wheel."""
    root = Path(mujoco.__file__).resolve().parent
    include = root / "include"
    libs = sorted(root.glob("libmujoco.so*")) or sorted(root.glob("libmujoco*.dylib"))
    if not (include / "mujoco" / "mujoco.h").is_file() or not libs:
        raise NativeStepUnavailable(
            f"the mujoco package at {root} has no C headers (include/mujoco/mujoco.h) or no libmujoco shared library"
        )
    return include, libs[0]


def library_path() -> Path:
    """File name of the library for this source, MuJoCo version and platform (in :func:`cache_dir`)."""
    tag = hashlib.sha256(
        SOURCE.read_bytes() + f"|{mujoco.__version__}|{platform.machine()}|{sys.platform}".encode()
    ).hexdigest()[:16]
    return cache_dir() / f"g1m_batch_step-{tag}.so"


def _compiler() -> str:
    """The C compiler to use: ``$CC``, else the first of cc, gcc, clang on PATH."""
    cc = os.environ.get("CC")
    if cc:
        return cc
    for name in ("cc", "gcc", "clang"):
        if shutil.which(name):
            return name
    raise NativeStepUnavailable("no C compiler found (set CC, or install gcc: apt-get install gcc)")


def build(force: bool = False) -> Path:
    """Compile ``batch_step.c`` into :func:`library_path` unless it is there already; returns the path."""
    target = library_path()
    if target.is_file() and not force:
        return target
    if not sys.platform.startswith("linux"):
        raise NativeStepUnavailable(f"the C batched step is built on Linux only (this is {sys.platform})")
    include, lib = _mujoco_paths()
    cc = _compiler()
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=target.stem + ".", suffix=".tmp.so", dir=target.parent)
    os.close(fd)
    cmd = [
        cc, "-O2", "-shared", "-fPIC", "-std=c11", "-I", str(include), str(SOURCE), "-o", tmp,
        str(lib), f"-Wl,-rpath,{lib.parent}", "-lpthread",
    ]
    try:
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True)
        except OSError as err:
            raise NativeStepUnavailable(f"running the C compiler {cc!r} failed: {err} (set CC to a working compiler)") from err
        if proc.returncode != 0:
            raise NativeStepUnavailable(f"compiling {SOURCE.name} failed ({' '.join(cmd)}):\n{proc.stderr.strip()}")
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    logger.info("Built the C batched MuJoCo step: %s", target)
    return target


_LIB: ctypes.CDLL | None = None


def load() -> ctypes.CDLL:
    """The C batched step, built if needed and checked against this module (cached per process)."""
    global _LIB
    if _LIB is not None:
        return _LIB
    path = build()
    try:
        lib = ctypes.CDLL(str(path))
    except OSError as err:
        raise NativeStepUnavailable(f"loading {path} failed: {err}") from err
    lib.g1m_abi_version.restype = ctypes.c_int
    lib.g1m_sizeof_contact.restype = ctypes.c_int64
    lib.g1m_sizeof_batch.restype = ctypes.c_int64
    lib.g1m_batch_step.restype = ctypes.c_int
    lib.g1m_batch_step.argtypes = [ctypes.POINTER(Batch)]
    for name in ("g1m_sizeof_option", "g1m_sizeof_statistic", "g1m_model_nbuffer"):
        getattr(lib, name).restype = ctypes.c_int64
    lib.g1m_model_nbuffer.argtypes = [ctypes.c_void_p]
    for name in ("g1m_model_option", "g1m_model_statistic", "g1m_model_buffer"):
        getattr(lib, name).restype = ctypes.c_void_p
        getattr(lib, name).argtypes = [ctypes.c_void_p]
    if lib.g1m_abi_version() != ABI_VERSION or lib.g1m_sizeof_batch() != ctypes.sizeof(Batch):
        raise NativeStepUnavailable(
            f"{path} does not match this g1_mimic (ABI {lib.g1m_abi_version()}, struct size {lib.g1m_sizeof_batch()} "
            f"vs {ABI_VERSION}, {ctypes.sizeof(Batch)}); delete it to rebuild"
        )
    _LIB = lib
    return lib


def available() -> tuple[bool, str]:
    """``(True, path)`` when the C batched step loads here, else ``(False, why)``."""
    try:
        load()
    except NativeStepUnavailable as err:
        return False, str(err)
    return True, str(library_path())


__all__ = ["ABI_VERSION", "Batch", "NativeStepUnavailable", "available", "build", "cache_dir", "library_path", "load"]
