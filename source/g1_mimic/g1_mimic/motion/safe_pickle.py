"""Load motion pickles (``.pkl``, joblib dumps) and torch files without running code from them.

Unpickling an untrusted file can call any importable function (``os.system`` included).
:func:`load_pickle` uses a restricted unpickler whose ``find_class`` admits only what plain data
needs:

* numpy array / scalar reconstruction: ``numpy.core.multiarray._reconstruct``,
  ``numpy.core.multiarray.scalar``, ``numpy.core.numeric._frombuffer`` (pickle protocol 5),
  their ``numpy._core`` spellings (numpy >= 2), ``numpy.ndarray`` and ``numpy.dtype``;
* builtin containers and values: ``dict``, ``list``, ``tuple``, ``set``, ``frozenset``,
  ``bytearray``, ``bytes``, ``str``, ``int``, ``float``, ``complex``, ``bool``, ``range``,
  ``slice`` and ``collections.OrderedDict``;
* ``_codecs.encode`` restricted to the ``latin1`` codec (how protocol-2 pickles store bytes);
* joblib's ``NumpyArrayWrapper`` (``joblib.dump`` writes each array as this marker followed by
  the raw array bytes): the marker is replaced by a data-only stand-in and the array bytes are
  read here, so joblib files load **without joblib installed**. Arrays of Python objects inside
  joblib files are refused.

Everything else (``os.system``, ``builtins.eval``, any user class such as an old MimicKit
``Motion`` object) is refused with :class:`UnsafePickleError`, naming the file and the class.

Compression is detected from the file's first bytes: gzip, zlib (joblib's default
``compress=True``), bz2 and xz/lzma are decompressed with the standard library; lz4 and the
pre-0.10 joblib ``ZF`` format are refused with an explanation.

:func:`load_torch` reads ``.pt``/``.pth`` files with ``torch.load(..., weights_only=True)``
(torch's own restricted unpickler) and converts tensors to numpy arrays.
"""

from __future__ import annotations

import builtins
import bz2
import collections
import gzip
import io
import lzma
import pickle
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from g1_mimic.motion.format import MotionFormatError

try:  # numpy >= 2
    from numpy._core.multiarray import _reconstruct as _np_reconstruct
    from numpy._core.multiarray import scalar as _np_scalar
    from numpy._core.numeric import _frombuffer as _np_frombuffer
except ImportError:  # pragma: no cover - numpy 1.x
    from numpy.core.multiarray import _reconstruct as _np_reconstruct  # type: ignore[no-redef]
    from numpy.core.multiarray import scalar as _np_scalar  # type: ignore[no-redef]
    from numpy.core.numeric import _frombuffer as _np_frombuffer  # type: ignore[no-redef]

__all__ = ["UnsafePickleError", "load_pickle", "load_pickle_bytes", "load_torch", "to_numpy_tree"]


class UnsafePickleError(MotionFormatError):
    """A pickle asked for a class or function outside the allow-list (or used an unsupported encoding)."""


class _JoblibArrayMarker:
    """Data-only stand-in for ``joblib.numpy_pickle.NumpyArrayWrapper`` (attributes set by BUILD)."""

    subclass: Any
    shape: tuple[int, ...]
    order: str
    dtype: np.dtype
    numpy_array_alignment_bytes: int | None


class _NeedsJoblibReader(Exception):
    """Internal: the fast unpickler met a joblib array marker; retry with the streaming reader."""


def _latin1_encode(text: str, encoding: str = "utf-8") -> bytes:
    """``_codecs.encode`` as protocol-2 pickles use it (``latin1`` only; other codecs refused)."""
    if encoding.replace("-", "").lower() not in ("latin1", "iso88591"):
        raise pickle.UnpicklingError(f"_codecs.encode with codec {encoding!r} is not allowed")
    return text.encode("latin1")


_NUMPY_FUNCS: dict[tuple[str, str], Any] = {}
for _mod in ("numpy.core.multiarray", "numpy._core.multiarray"):
    _NUMPY_FUNCS[(_mod, "_reconstruct")] = _np_reconstruct
    _NUMPY_FUNCS[(_mod, "scalar")] = _np_scalar
for _mod in ("numpy.core.numeric", "numpy._core.numeric"):
    _NUMPY_FUNCS[(_mod, "_frombuffer")] = _np_frombuffer

_BUILTIN_NAMES = (
    "dict",
    "list",
    "tuple",
    "set",
    "frozenset",
    "bytearray",
    "bytes",
    "str",
    "int",
    "float",
    "complex",
    "bool",
    "range",
    "slice",
)

#: (module, name) -> object handed to the unpickler. The complete allow-list.
ALLOWED: dict[tuple[str, str], Any] = {
    **_NUMPY_FUNCS,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("_codecs", "encode"): _latin1_encode,
    ("joblib.numpy_pickle", "NumpyArrayWrapper"): _JoblibArrayMarker,
    **{(mod, n): getattr(builtins, n) for mod in ("builtins", "__builtin__") for n in _BUILTIN_NAMES},
}


def _refuse(where: str, module: str, name: str) -> UnsafePickleError:
    return UnsafePickleError(
        f"{where}: refusing to unpickle '{module}.{name}': motion pickles may contain only dicts, lists, "
        "numbers, strings and numpy arrays (unpickling other classes can run arbitrary code). "
        "If you trust the file, re-save its data as plain dicts/arrays (e.g. np.savez or a dict of numpy arrays)."
    )


class _FastUnpickler(pickle.Unpickler):
    """C unpickler with the allow-list; bails out to the streaming reader on joblib markers."""

    def __init__(self, file: io.BufferedIOBase, where: str):
        super().__init__(file)
        self._where = where

    def find_class(self, module: str, name: str) -> Any:
        key = (module, name)
        if key == ("joblib.numpy_pickle", "NumpyArrayWrapper"):
            raise _NeedsJoblibReader
        if key in ALLOWED:
            return ALLOWED[key]
        raise _refuse(self._where, module, name)


class _StreamingUnpickler(pickle._Unpickler):  # type: ignore[name-defined]
    """Pure-Python unpickler with the allow-list that also reads joblib's inline array bytes."""

    dispatch = pickle._Unpickler.dispatch.copy()  # type: ignore[attr-defined]

    def __init__(self, file: io.BufferedIOBase, where: str):
        super().__init__(file)
        self._raw = file
        self._where = where

    def find_class(self, module: str, name: str) -> Any:
        key = (module, name)
        if key in ALLOWED:
            return ALLOWED[key]
        raise _refuse(self._where, module, name)

    def load_build(self) -> None:
        pickle._Unpickler.load_build(self)  # type: ignore[attr-defined]
        if isinstance(self.stack[-1], _JoblibArrayMarker):
            marker = self.stack.pop()
            self.stack.append(self._read_joblib_array(marker))

    dispatch[pickle.BUILD[0]] = load_build

    def _read_joblib_array(self, marker: _JoblibArrayMarker) -> np.ndarray:
        dtype = getattr(marker, "dtype", None)
        shape = tuple(int(s) for s in getattr(marker, "shape", ()))
        if not isinstance(dtype, np.dtype):
            raise UnsafePickleError(f"{self._where}: malformed joblib array record (no dtype)")
        if getattr(marker, "subclass", np.ndarray) is not np.ndarray:
            raise UnsafePickleError(f"{self._where}: joblib array of subclass {marker.subclass!r} is not supported")
        if dtype.hasobject:
            raise UnsafePickleError(
                f"{self._where}: joblib array of Python objects (dtype {dtype}) is not supported; "
                "store numeric arrays only"
            )
        if getattr(marker, "numpy_array_alignment_bytes", None) is not None:
            pad = self._raw.read(1)
            if len(pad) != 1:
                raise MotionFormatError(f"{self._where}: truncated joblib file (array padding)")
            self._raw.read(int.from_bytes(pad, "little"))
        count = int(np.prod(shape, dtype=np.int64)) if shape else 1
        nbytes = count * dtype.itemsize
        data = self._raw.read(nbytes)
        if len(data) != nbytes:
            raise MotionFormatError(
                f"{self._where}: truncated joblib file: array of shape {shape} needs {nbytes} bytes, found {len(data)}"
            )
        arr = np.frombuffer(data, dtype=dtype, count=count).copy()
        arr = arr.reshape(shape[::-1]).T if getattr(marker, "order", "C") == "F" else arr.reshape(shape)
        if not arr.dtype.isnative:
            arr = arr.astype(arr.dtype.newbyteorder("="))
        return arr


def _decompress(raw: bytes, where: str) -> bytes:
    """Undo gzip/zlib/bz2/xz/lzma compression detected from the magic bytes; plain pickles pass through."""
    try:
        if raw[:2] == b"\x1f\x8b":
            return gzip.decompress(raw)
        if raw[:3] == b"BZh":
            return bz2.decompress(raw)
        if raw[:6] == b"\xfd7zXZ\x00" or raw[:3] == b"\x5d\x00\x00":
            return lzma.decompress(raw)
        if raw[:1] == b"\x78" and raw[1:2] in (b"\x01", b"\x5e", b"\x9c", b"\xda"):
            return zlib.decompress(raw)
    except (OSError, EOFError, zlib.error, lzma.LZMAError, ValueError) as exc:
        raise MotionFormatError(f"{where}: corrupt compressed pickle ({exc})") from exc
    if raw[:4] == b"\x04\x22\x4d\x18":
        raise MotionFormatError(
            f"{where}: lz4-compressed joblib file; re-save it uncompressed or with compress=('zlib', 3) "
            "(lz4 is not in the standard library)"
        )
    if raw[:2] == b"ZF":
        raise MotionFormatError(f"{where}: pre-0.10 joblib 'ZF' file; re-save it with a current joblib or pickle")
    return raw


def load_pickle_bytes(raw: bytes, where: str = "<bytes>") -> Any:
    """Unpickle ``raw`` (possibly compressed, possibly a joblib dump) with the allow-list."""
    data = _decompress(raw, where)
    if not data:
        raise MotionFormatError(f"{where}: empty file, expected a pickle")
    try:
        return _FastUnpickler(io.BytesIO(data), where).load()
    except _NeedsJoblibReader:
        pass
    except UnsafePickleError:
        raise
    except MotionFormatError:
        raise
    except Exception as exc:
        raise MotionFormatError(f"{where}: cannot unpickle ({type(exc).__name__}: {exc})") from exc
    try:
        return _StreamingUnpickler(io.BytesIO(data), where).load()
    except MotionFormatError:
        raise
    except Exception as exc:
        raise MotionFormatError(f"{where}: cannot read joblib file ({type(exc).__name__}: {exc})") from exc


def load_pickle(path: str | Path) -> Any:
    """Unpickle the file at ``path`` with the allow-list (see the module docstring).

    Raises :class:`UnsafePickleError` naming the file and the refused class, or
    :class:`~g1_mimic.motion.format.MotionFormatError` for unreadable/corrupt files.
    """
    path = Path(path)
    if not path.exists():
        raise MotionFormatError(f"{path}: no such file")
    return load_pickle_bytes(path.read_bytes(), str(path))


def to_numpy_tree(obj: Any) -> Any:
    """Recursively convert torch tensors in dicts/lists/tuples to numpy arrays (other leaves unchanged)."""
    if isinstance(obj, dict):
        return {k: to_numpy_tree(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return type(obj)(to_numpy_tree(v) for v in obj)
    if hasattr(obj, "detach") and hasattr(obj, "cpu") and hasattr(obj, "numpy"):
        return obj.detach().cpu().numpy()
    return obj


def load_torch(path: str | Path) -> Any:
    """Read a ``.pt``/``.pth`` file with ``torch.load(weights_only=True)``; tensors become numpy arrays.

    ``weights_only=True`` is torch's restricted unpickler (tensors, containers, primitives);
    anything else is refused and reported as :class:`UnsafePickleError` naming the file.
    """
    path = Path(path)
    if not path.exists():
        raise MotionFormatError(f"{path}: no such file")
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - torch is a dependency
        raise MotionFormatError(f"{path}: reading .pt files needs torch, which is not installed") from exc
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise UnsafePickleError(
            f"{path}: torch.load(weights_only=True) refused the file: {str(exc).splitlines()[0]} "
            "Motion .pt files may contain only tensors, numbers, strings, dicts and lists."
        ) from exc
    except Exception as exc:
        raise MotionFormatError(f"{path}: cannot read torch file ({type(exc).__name__}: {exc})") from exc
    return to_numpy_tree(obj)
