"""``save`` / ``load``: nested state (tensors, arrays, numbers, strings) in one safetensors file.

The arrays are the safetensors tensors; the structure around them is JSON in the file's
metadata, next to a format marker, a version and a SHA-256 checksum of structure and arrays.
Loading parses JSON and raw array bytes only, so it never executes code from the file.
``cr.save({'model': model.state_dict(), 'epoch': 3}, 'ckpt.safetensors'); cr.load(...)``
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from typing import Any, BinaryIO

import numpy as np

from .atomic import atomic_write
from .tensor import Tensor

FORMAT = "chainrule"
VERSION = 1
_MAX_HEADER = 100 * 1024 * 1024  # safetensors' own limit on the JSON header

PathLike = str | os.PathLike


def _safetensors_numpy():
    try:
        import safetensors.numpy
    except ImportError as e:
        raise ImportError("chainrule.save/load need the 'safetensors' package: "
                          "pip install chainrule[io]") from e
    return safetensors.numpy


# ---- encoding: objects -> JSON-able structure + named arrays ------------------------------
class _Encoder:
    """Turns an object into JSON-able values, collecting arrays under keys ``a0, a1, ...``.

    Tags start with ``$`` (a dict whose keys are not all plain strings, or any key starting
    with ``$``, is stored as a list of pairs, so user data can never be mistaken for a tag).
    The same array object stored twice is written once and comes back as one object.
    """

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}
        self._seen: dict[int, str] = {}
        self._keep: list = []  # holds the objects whose id() is a key in _seen

    def _array_key(self, obj: Any, arr: np.ndarray, where: str) -> str:
        if id(obj) in self._seen:
            return self._seen[id(obj)]
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"save: {where}: cannot store arrays of dtype {arr.dtype} "
                            "(bool, integer and floating dtypes only)")
        key = f"a{len(self.arrays)}"
        self.arrays[key] = arr if arr.flags.c_contiguous else arr.copy(order="C")
        self._seen[id(obj)] = key
        self._keep.append(obj)
        return key

    def encode(self, obj: Any, where: str) -> Any:
        if isinstance(obj, np.generic):  # before float: np.float64 subclasses float
            return {"$scalar": self._array_key(obj, np.asarray(obj), where)}
        if obj is None or isinstance(obj, (bool, int, float, str)):
            return obj
        if isinstance(obj, Tensor):
            return {"$tensor": self._array_key(obj, obj._data, where),
                    "requires_grad": obj.requires_grad}
        if isinstance(obj, np.ndarray):
            return {"$ndarray": self._array_key(obj, obj, where)}
        if isinstance(obj, list):
            return [self.encode(v, f"{where}[{i}]") for i, v in enumerate(obj)]
        if isinstance(obj, tuple):
            return {"$tuple": [self.encode(v, f"{where}[{i}]") for i, v in enumerate(obj)]}
        if isinstance(obj, Mapping):
            if all(isinstance(k, str) and not k.startswith("$") for k in obj):
                return {k: self.encode(v, f"{where}[{k!r}]") for k, v in obj.items()}
            return {"$dict": [[self.encode(k, f"{where} key {k!r}"),
                               self.encode(v, f"{where}[{k!r}]")] for k, v in obj.items()]}
        raise TypeError(f"save: {where}: cannot store an object of type {type(obj).__name__} "
                        "(tensors, arrays, numbers, strings, None, and lists, tuples and "
                        "dicts of them)")


def _decode(node: Any, arrays: dict[str, np.ndarray], made: dict[str, Any], source: str) -> Any:
    if node is None or isinstance(node, (bool, int, float, str)):
        return node
    if isinstance(node, list):
        return [_decode(v, arrays, made, source) for v in node]
    if not isinstance(node, dict):
        raise ValueError(f"{source}: corrupt structure (unexpected {type(node).__name__})")
    for tag in ("$tensor", "$ndarray", "$scalar"):
        if tag in node:
            key = node[tag]
            if key not in arrays:
                raise ValueError(f"{source}: corrupt structure (array {key!r} is missing)")
            if key not in made:
                arr = arrays[key]
                if tag == "$tensor":
                    made[key] = Tensor(arr, requires_grad=bool(node.get("requires_grad")))
                elif tag == "$scalar":
                    made[key] = arr[()]
                else:
                    made[key] = arr
            return made[key]
    if "$tuple" in node:
        return tuple(_decode(v, arrays, made, source) for v in node["$tuple"])
    if "$dict" in node:
        out = {}
        for pair in node["$dict"]:
            if not isinstance(pair, list) or len(pair) != 2:
                raise ValueError(f"{source}: corrupt structure (bad dict entry {pair!r})")
            key = _decode(pair[0], arrays, made, source)
            try:
                out[key] = _decode(pair[1], arrays, made, source)
            except TypeError:
                raise ValueError(f"{source}: corrupt structure (unhashable dict key)") from None
        return out
    if any(k.startswith("$") for k in node):
        raise ValueError(f"{source}: corrupt structure (unknown tag in {sorted(node)})")
    return {k: _decode(v, arrays, made, source) for k, v in node.items()}


def _checksum(structure: str, arrays: Mapping[str, np.ndarray]) -> str:
    """SHA-256 over the structure JSON and every array's name, dtype, shape and bytes."""
    h = hashlib.sha256(structure.encode())
    for key in sorted(arrays):
        arr = arrays[key]
        h.update(f"\0{key}\0{arr.dtype.str}\0{arr.shape}\0".encode())
        h.update(arr.tobytes(order="C"))
    return h.hexdigest()


# ---- save ----------------------------------------------------------------------------------
def save(obj: Any, f: PathLike | BinaryIO) -> None:
    """Write ``obj`` (nested dicts/lists/tuples of Tensors, ndarrays, numbers, strings, None)
    to ``f``, a path (written atomically: a temp file in the same directory, fsync, rename) or
    a binary file object. ``cr.save(model.state_dict(), 'model.safetensors')``
    """
    st = _safetensors_numpy()
    encoder = _Encoder()
    structure = json.dumps(encoder.encode(obj, "obj"), separators=(",", ":"))
    metadata = {"format": FORMAT, "version": str(VERSION), "structure": structure,
                "checksum": _checksum(structure, encoder.arrays)}
    payload = st.save(encoder.arrays, metadata=metadata)
    if hasattr(f, "write"):
        f.write(payload)
        return
    atomic_write(f, payload)


# ---- load ----------------------------------------------------------------------------------
def load(f: PathLike | BinaryIO, map_location: str | None = None) -> Any:
    """Read what ``save`` wrote: ``state = cr.load('ckpt.safetensors')``.

    Raises ValueError naming the file for anything that is not an intact chainrule file
    (truncated, another format, a plain safetensors file, a failed checksum). ``map_location``
    exists for PyTorch compatibility: only ``None`` and ``'cpu'`` are accepted.
    """
    if map_location not in (None, "cpu"):
        raise ValueError(f"load: map_location={map_location!r} is not supported (CPU only)")
    if hasattr(f, "read"):
        data, source = f.read(), getattr(f, "name", "<file object>")
    else:
        source = os.fspath(f)
        with open(source, "rb") as fh:
            data = fh.read()
    metadata = _read_metadata(data, source)
    st = _safetensors_numpy()
    try:
        arrays = st.load(data)
    except Exception as e:  # safetensors raises its own SafetensorError
        raise ValueError(f"{source}: corrupt or truncated safetensors data ({e})") from None
    structure = metadata["structure"]
    if _checksum(structure, arrays) != metadata["checksum"]:
        raise ValueError(f"{source}: checksum mismatch: the file was modified or corrupted "
                         "after it was written")
    try:
        tree = json.loads(structure)
    except json.JSONDecodeError as e:
        raise ValueError(f"{source}: corrupt structure JSON ({e})") from None
    return _decode(tree, arrays, {}, source)


def _read_metadata(data: bytes, source: str) -> dict[str, str]:
    """Check the safetensors header by hand, so every failure gets a precise message."""
    if len(data) < 8:
        raise ValueError(f"{source}: not a chainrule file (only {len(data)} bytes; truncated "
                         "or empty)")
    n = int.from_bytes(data[:8], "little")
    if n > _MAX_HEADER or not data[8:9] == b"{":
        raise ValueError(f"{source}: not a chainrule file (no safetensors header; is it a "
                         "PyTorch/pickle file or another format?)")
    if 8 + n > len(data):
        raise ValueError(f"{source}: truncated file (header needs {8 + n} bytes, file has "
                         f"{len(data)})")
    try:
        header = json.loads(data[8:8 + n].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{source}: corrupt header ({e})") from None
    metadata = header.get("__metadata__") if isinstance(header, dict) else None
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT:
        raise ValueError(f"{source}: a safetensors file but not a chainrule one (no "
                         f"'format: {FORMAT}' marker); read it with safetensors directly")
    version = metadata.get("version")
    if version != str(VERSION):
        raise ValueError(f"{source}: chainrule format version {version!r} is not supported "
                         f"(this chainrule reads version {VERSION})")
    for field in ("structure", "checksum"):
        if not isinstance(metadata.get(field), str):
            raise ValueError(f"{source}: corrupt header (missing {field!r})")
    try:
        ends = [int(entry["data_offsets"][1]) for key, entry in header.items()
                if key != "__metadata__"]
    except (TypeError, KeyError, IndexError, ValueError):
        raise ValueError(f"{source}: corrupt header (bad array entries)") from None
    if 8 + n + max(ends, default=0) > len(data):
        raise ValueError(f"{source}: truncated file (arrays need {8 + n + max(ends)} bytes, "
                         f"file has {len(data)})")
    return metadata
