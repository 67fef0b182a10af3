"""``save`` / ``load``: nested state (tensors, arrays, numbers, strings) in one safetensors file.

The arrays are the safetensors tensors; the structure around them is JSON in the file's
metadata, next to a format marker, a version and a SHA-256 checksum of structure and arrays.
Loading parses JSON and raw array bytes only, so it never executes code from the file.
``cr.save({'model': model.state_dict(), 'epoch': 3}, 'ckpt.safetensors'); cr.load(...)``

Both directions stream: ``save`` writes each array's memory straight to the file and ``load``
reads each array straight into its final ndarray, after checking the 8-byte header, the header's
size and every array's extent against the file's size, so memory stays near one payload and a
file that is not one of ours is refused before its bulk is read.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Mapping
from typing import Any, BinaryIO, cast

import numpy as np

from .atomic import atomic_write
from .tensor import Tensor

FORMAT = "chainrule"
VERSION = 1
# Checking a header costs about twice parsing its JSON, which a crafted header can fill with
# entries: the bound keeps the worst refusal well under a second. It holds ~20,000 tensors of a
# state dict with their structure; long lists of numbers belong in arrays.
MAX_HEADER_BYTES = 4 * 2**20
MAX_DEPTH = 100  # nesting of lists, tuples and dicts
_ALIGN = 8  # safetensors pads the header so the arrays start 8-byte aligned
_DTYPES = {"BOOL": "|b1", "U8": "|u1", "I8": "|i1", "U16": "<u2", "I16": "<i2", "F16": "<f2",
           "U32": "<u4", "I32": "<i4", "F32": "<f4", "U64": "<u8", "I64": "<i8", "F64": "<f8"}
_CODES = {np.dtype(v): k for k, v in _DTYPES.items()}
_ITEMSIZES = {k: np.dtype(v).itemsize for k, v in _DTYPES.items()}

PathLike = str | os.PathLike
_Entry = tuple[int, int, str, tuple[str, tuple[int, ...]]]  # begin, end, name, (dtype, shape)


class LoadError(ValueError, RuntimeError):
    """``cr.load`` was given a file that is not an intact chainrule file (truncated, corrupted,
    crafted, another format). The message names the file and what is wrong. A ValueError (what
    chainrule documented) and a RuntimeError (what ``torch.load`` raises for a bad archive)."""


# ---- encoding: objects -> JSON-able structure + named arrays ------------------------------
class _Encoder:
    """Turns an object into JSON-able values, collecting arrays under keys ``a0, a1, ...``.

    Tags start with ``$`` (a dict whose keys are not all plain strings, or any key starting
    with ``$``, is stored as a list of pairs, so user data can never be mistaken for a tag).
    The same array object stored twice is written once and comes back as one object. Arrays are
    stored as the values they hold: little-endian and C-contiguous (the bytes safetensors
    defines), so a big-endian or strided array comes back equal (little-endian); a masked
    array keeps its mask and fill value.
    """

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}
        self._seen: dict[int, str] = {}
        self._keep: list = []  # holds the objects whose id() is a key in _seen

    def _array_key(self, obj: Any, arr: np.ndarray, where: str) -> str:
        if id(obj) in self._seen:
            return self._seen[id(obj)]
        little = arr.dtype.newbyteorder("<")
        if little not in _CODES:
            raise TypeError(f"save: {where}: cannot store arrays of dtype {arr.dtype} "
                            "(bool, integer and floating dtypes of up to 64 bits only)")
        arr = np.asarray(arr, dtype=little)  # values kept; a copy only to swap bytes
        key = f"a{len(self.arrays)}"
        self.arrays[key] = arr if arr.flags.c_contiguous else arr.copy(order="C")
        self._seen[id(obj)] = key
        self._keep.append(obj)
        return key

    def encode(self, obj: Any, where: str, depth: int = 0) -> Any:
        plain = obj is None or isinstance(obj, (bool, int, float, str))
        if plain and not isinstance(obj, np.generic):  # np.float64 subclasses float
            return obj
        if depth >= MAX_DEPTH:  # the same bound load checks
            raise ValueError(f"save: {where}: nested deeper than {MAX_DEPTH} levels")
        if isinstance(obj, np.generic):
            return {"$scalar": self._array_key(obj, np.asarray(obj), where)}
        if isinstance(obj, Tensor):
            return {"$tensor": self._array_key(obj, obj._data, where),
                    "requires_grad": obj.requires_grad}
        if isinstance(obj, np.ma.MaskedArray):
            return {"$masked": [self.encode(np.ma.getdata(obj), f"{where}.data", depth + 1),
                                self.encode(np.ma.getmaskarray(obj), f"{where}.mask", depth + 1),
                                self.encode(obj.fill_value, f"{where}.fill_value", depth + 1)]}
        if isinstance(obj, np.ndarray):
            return {"$ndarray": self._array_key(obj, np.asarray(obj), where)}
        if isinstance(obj, list):
            return [self.encode(v, f"{where}[{i}]", depth + 1) for i, v in enumerate(obj)]
        if isinstance(obj, tuple):
            return {"$tuple": [self.encode(v, f"{where}[{i}]", depth + 1)
                               for i, v in enumerate(obj)]}
        if isinstance(obj, Mapping):
            if all(isinstance(k, str) and not k.startswith("$") for k in obj):
                return {k: self.encode(v, f"{where}[{k!r}]", depth + 1) for k, v in obj.items()}
            return {"$dict": [[self.encode(k, f"{where} key {k!r}", depth + 1),
                               self.encode(v, f"{where}[{k!r}]", depth + 1)]
                              for k, v in obj.items()]}
        raise TypeError(f"save: {where}: cannot store an object of type {type(obj).__name__} "
                        "(tensors, arrays, numbers, strings, None, and lists, tuples and "
                        "dicts of them)")


def _checksum(structure: str, arrays: Mapping[str, np.ndarray]) -> str:
    """SHA-256 over the structure JSON and every array's name, dtype, shape and bytes."""
    h = hashlib.sha256(structure.encode())
    for key in sorted(arrays):
        arr = arrays[key]
        h.update(f"\0{key}\0{arr.dtype.str}\0{arr.shape}\0".encode())
        h.update(_raw(arr))
    return h.hexdigest()


def _raw(arr: np.ndarray) -> memoryview:
    """The bytes of a C-contiguous array as a flat uint8 view (no copy)."""
    return arr.reshape(-1).view(np.uint8).data


# ---- save ----------------------------------------------------------------------------------
def save(obj: Any, f: PathLike | BinaryIO) -> None:
    """Write ``obj`` (nested dicts/lists/tuples of Tensors, ndarrays, numbers, strings, None)
    to ``f``, a path (written atomically: a temp file in the same directory, fsync, rename) or
    a binary file object. ``cr.save(model.state_dict(), 'model.safetensors')``
    """
    encoder = _Encoder()
    tree = encoder.encode(obj, "obj")
    try:
        structure = json.dumps(tree, separators=(",", ":"))
    except ValueError as e:  # an int with more digits than Python turns into text
        raise ValueError(f"save: obj: cannot store it as JSON ({e})") from None
    arrays = encoder.arrays
    # large items first, so every array starts aligned to its item size
    order = sorted(arrays, key=lambda k: (-arrays[k].dtype.itemsize, int(k[1:])))
    header: dict[str, Any] = {"__metadata__": {
        "format": FORMAT, "version": str(VERSION), "structure": structure,
        "checksum": _checksum(structure, arrays)}}
    offset = 0
    for key in order:
        arr = arrays[key]
        header[key] = {"dtype": _CODES[arr.dtype], "shape": list(arr.shape),
                       "data_offsets": [offset, offset + arr.nbytes]}
        offset += arr.nbytes
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-(8 + len(text)) % _ALIGN)
    if len(text) > MAX_HEADER_BYTES:
        raise ValueError(f"save: obj: its structure takes {len(text) / 2**20:.1f} MiB of JSON, "
                         f"more than a chainrule file holds ({MAX_HEADER_BYTES // 2**20} MiB): "
                         "store long lists of numbers as arrays or tensors")

    def write(out: BinaryIO) -> None:
        out.write(len(text).to_bytes(8, "little"))
        out.write(text)
        for key in order:
            if arrays[key].size:
                out.write(_raw(arrays[key]))

    if hasattr(f, "write"):  # a file object: anything with write()
        write(cast(BinaryIO, f))
    else:
        atomic_write(f, write)


# ---- load ----------------------------------------------------------------------------------
def load(f: PathLike | BinaryIO, map_location: str | None = None) -> Any:
    """Read what ``save`` wrote: ``state = cr.load('ckpt.safetensors')``.

    Raises ``LoadError`` (a ValueError and a RuntimeError) naming the file for anything that is
    not an intact chainrule file (truncated, another format, a plain safetensors file, a failed
    checksum, a crafted structure). ``map_location`` exists for PyTorch compatibility: only
    ``None`` and ``'cpu'`` are accepted.
    """
    if map_location not in (None, "cpu"):
        raise ValueError(f"load: map_location={map_location!r} is not supported (CPU only)")
    if hasattr(f, "read"):  # a file object: anything with read()
        return _Reader(cast(BinaryIO, f), str(getattr(f, "name", "<file object>"))).load()
    source = os.fspath(f)
    with open(source, "rb") as fh:
        return _Reader(fh, source).load()


class _Reader:
    """One load: checks the bounds before reading, then reads each array into place."""

    def __init__(self, fh: BinaryIO, source: str) -> None:
        self.fh = fh
        self.source = source
        self.size = _remaining_size(fh)  # None for a stream that cannot tell

    def error(self, what: str) -> LoadError:
        return LoadError(f"{self.source}: {what}")

    def load(self) -> Any:
        n = self._header_size()
        metadata, entries = self._header(n)
        arrays = self._arrays(n, entries)
        structure = metadata["structure"]
        if _checksum(structure, arrays) != metadata["checksum"]:
            raise self.error("checksum mismatch: the file was modified or corrupted after it "
                             "was written")
        try:
            tree = json.loads(structure)
        except RecursionError:
            raise self.error("corrupt structure (nested too deeply)") from None
        except ValueError as e:  # JSONDecodeError, or an integer too long to convert
            raise self.error(f"corrupt structure JSON ({e})") from None
        return _Decoder(arrays, self.error).decode(tree, 0)

    def _header_size(self) -> int:
        prefix = self.fh.read(8)
        if len(prefix) < 8:
            raise self.error(f"not a chainrule file (only {len(prefix)} bytes; truncated or "
                             "empty)")
        n = int.from_bytes(prefix, "little")
        if not 2 <= n <= MAX_HEADER_BYTES:
            raise self.error(f"not a chainrule file (its first 8 bytes give a header of {n} "
                             f"bytes, a chainrule header has 2 to {MAX_HEADER_BYTES}; is it a "
                             "PyTorch/pickle file or another format?)")
        if self.size is not None and 8 + n > self.size:
            raise self.error(f"truncated file (header needs {8 + n} bytes, file has "
                             f"{self.size})")
        return n

    def _header(self, n: int) -> tuple[dict[str, str], list[_Entry]]:
        """Parse and check the JSON header: the marker, the version, and that the arrays'
        extents tile the rest of the file exactly (as safetensors requires)."""
        data = self.fh.read(n)
        if len(data) < n:
            raise self.error(f"truncated file (header needs {8 + n} bytes, file has "
                             f"{8 + len(data)})")
        if data[:1] != b"{":
            raise self.error("not a chainrule file (no safetensors header; is it a "
                             "PyTorch/pickle file or another format?)")
        try:
            header = json.loads(data.decode("utf-8"))
        except RecursionError:
            raise self.error("corrupt header (nested too deeply)") from None
        except ValueError as e:  # UnicodeDecodeError, JSONDecodeError, a too-long integer
            raise self.error(f"corrupt header ({e})") from None
        metadata = header.get("__metadata__") if isinstance(header, dict) else None
        if not isinstance(metadata, dict) or metadata.get("format") != FORMAT:
            raise self.error(f"a safetensors file but not a chainrule one (no 'format: "
                             f"{FORMAT}' marker); read it with safetensors directly")
        version = metadata.get("version")
        if version != str(VERSION):
            raise self.error(f"chainrule format version {version!r} is not supported (this "
                             f"chainrule reads version {VERSION})")
        for field in ("structure", "checksum"):
            if not isinstance(metadata.get(field), str):
                raise self.error(f"corrupt header (missing {field!r})")
        entries = sorted(self._entry(key, entry) for key, entry in header.items()
                         if key != "__metadata__")
        end = 0
        for begin, stop, key, _ in entries:
            if begin != end:
                raise self.error(f"corrupt header (array {key!r} starts at byte {begin} of "
                                 f"the data, expected {end})")
            end = stop
        if self.size is not None and 8 + n + end != self.size:
            what = "truncated file" if 8 + n + end > self.size else "corrupt file"
            raise self.error(f"{what} (header and arrays take {8 + n + end} bytes, the file "
                             f"has {self.size})")
        return metadata, entries

    def _entry(self, key: str, entry: Any) -> _Entry:
        if not isinstance(entry, dict):
            raise self.error(f"corrupt header (array {key!r}: not an object)")
        dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
        if not isinstance(dtype, str) or dtype not in _DTYPES:
            raise self.error(f"corrupt header (array {key!r}: dtype {dtype!r} is not one of "
                             f"{', '.join(_DTYPES)})")
        if not (isinstance(shape, list) and len(shape) <= 64
                and all(type(d) is int and d >= 0 for d in shape)):
            raise self.error(f"corrupt header (array {key!r}: bad shape {shape!r})")
        if not (isinstance(offsets, list) and len(offsets) == 2
                and all(type(o) is int for o in offsets) and 0 <= offsets[0] <= offsets[1]):
            raise self.error(f"corrupt header (array {key!r}: bad data_offsets {offsets!r})")
        nbytes = math.prod(shape) * _ITEMSIZES[dtype]
        if offsets[1] - offsets[0] != nbytes:
            raise self.error(f"corrupt header (array {key!r}: shape {shape} of {dtype} needs "
                             f"{nbytes} bytes, data_offsets give {offsets[1] - offsets[0]})")
        return offsets[0], offsets[1], key, (_DTYPES[dtype], tuple(shape))

    def _arrays(self, n: int, entries: list[_Entry]
                ) -> dict[str, np.ndarray]:
        arrays = {}
        for begin, _, key, (dtype, shape) in entries:
            try:
                arr = np.empty(shape, dtype)
            except (MemoryError, ValueError, OverflowError):  # huge dims (size 0), or no file size
                raise self.error(f"corrupt header (array {key!r} of shape {shape} "
                                 "cannot be allocated)") from None
            got = _read_into(self.fh, _raw(arr)) if arr.size else 0
            if got < arr.nbytes:
                raise self.error(f"truncated file (array {key!r} needs "
                                 f"{8 + n + begin + arr.nbytes} bytes, file has "
                                 f"{8 + n + begin + got})")
            arrays[key] = arr
        if self.size is None and self.fh.read(1):
            raise self.error("corrupt file (bytes after the last array)")
        return arrays


def _remaining_size(fh: BinaryIO) -> int | None:
    """Bytes from the current position to the end, or None if the stream cannot say."""
    try:
        if not fh.seekable():
            return None
        here = fh.tell()
        end = fh.seek(0, os.SEEK_END)
        fh.seek(here)
    except (AttributeError, OSError, ValueError):
        return None
    return end - here


def _read_into(fh: BinaryIO, view: memoryview) -> int:
    """Fill ``view`` from ``fh``; the number of bytes read (short only at the end of the file)."""
    got = 0
    readinto = getattr(fh, "readinto", None)
    while got < len(view):
        if readinto is not None:
            k = readinto(view[got:])
        else:
            chunk = fh.read(len(view) - got)
            k = len(chunk)
            view[got:got + k] = chunk
        if not k:
            break
        got += k
    return got


class _Decoder:
    """Rebuilds the object from the structure JSON, checking every node, so a crafted file gives
    a ``LoadError`` saying what is wrong rather than any other exception."""

    _TAGS = {"$tensor": {"$tensor", "requires_grad"}, "$ndarray": {"$ndarray"},
             "$scalar": {"$scalar"}, "$masked": {"$masked"}, "$tuple": {"$tuple"},
             "$dict": {"$dict"}}

    def __init__(self, arrays: dict[str, np.ndarray], error) -> None:
        self.arrays = arrays
        self.error = lambda what: error(f"corrupt structure ({what})")
        self.made: dict[str, tuple[str, Any]] = {}  # array key -> (tag, object made from it)

    def decode(self, node: Any, depth: int) -> Any:
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if depth >= MAX_DEPTH:
            raise self.error(f"nested deeper than {MAX_DEPTH} levels")
        if isinstance(node, list):
            return [self.decode(v, depth + 1) for v in node]
        tag = next((k for k in node if k.startswith("$")), None)
        if tag is None:
            return {k: self.decode(v, depth + 1) for k, v in node.items()}
        if self._TAGS.get(tag) != set(node):
            raise self.error(f"unknown tag or fields {sorted(node)}")
        value = node[tag]
        if tag in ("$tensor", "$ndarray", "$scalar"):
            return self._array(tag, value, node)
        if not isinstance(value, list):
            raise self.error(f"{tag} holds {type(value).__name__}, not a list")
        if tag == "$tuple":
            return tuple(self.decode(v, depth + 1) for v in value)
        if tag == "$masked":
            return self._masked(value, depth)
        out = {}
        for pair in value:
            if not isinstance(pair, list) or len(pair) != 2:
                raise self.error(f"bad dict entry {str(pair)[:80]}")
            key, value = self.decode(pair[0], depth + 1), self.decode(pair[1], depth + 1)
            try:
                out[key] = value
            except TypeError:
                raise self.error(f"unhashable dict key of type {type(key).__name__}") from None
        return out

    def _array(self, tag: str, key: Any, node: dict) -> Any:
        if not isinstance(key, str) or key not in self.arrays:
            raise self.error(f"{tag} refers to array {str(key)[:80]!r}, which the file lacks")
        if key in self.made:
            made_tag, made = self.made[key]
            if made_tag != tag:
                raise self.error(f"array {key!r} is used as both {made_tag} and {tag}")
            return made
        arr = self.arrays[key]
        if tag == "$tensor":
            requires_grad = node["requires_grad"]
            if not isinstance(requires_grad, bool):
                raise self.error(f"requires_grad is {requires_grad!r}, not a bool")
            if requires_grad and arr.dtype.kind != "f":
                raise self.error(f"array {key!r} of dtype {arr.dtype} marked requires_grad "
                                 "(only floating tensors can require gradients)")
            obj: Any = Tensor(arr, requires_grad=requires_grad)
        elif tag == "$scalar":
            if arr.ndim != 0:
                raise self.error(f"$scalar array {key!r} has shape {arr.shape}")
            obj = arr[()]
        else:
            obj = arr
        self.made[key] = (tag, obj)
        return obj

    def _masked(self, value: list, depth: int) -> np.ma.MaskedArray:
        parts = [self.decode(v, depth + 1) for v in value]
        if not (len(parts) == 3 and all(isinstance(p, np.ndarray) for p in parts[:2])
                and parts[1].dtype == bool and parts[0].shape == parts[1].shape
                and isinstance(parts[2], np.generic)):
            raise self.error("$masked needs data, a boolean mask of the same shape, and a "
                             "scalar fill value")
        try:
            return np.ma.MaskedArray(parts[0], mask=parts[1], fill_value=parts[2])
        except (TypeError, ValueError, OverflowError) as e:
            raise self.error(f"$masked fill value {parts[2]!r} ({e})") from None
