"""Devices as PyTorch names them; chainrule computes with NumPy on the CPU, so only ``cpu`` runs.

``cr.device("cpu")``, ``x.to("cpu")``, ``cr.zeros(3, device="cpu")``; asking for ``cuda`` or
``mps`` raises an error saying chainrule runs on the CPU.
"""

from __future__ import annotations

import numpy as np

# PyTorch's device types: any of these parses, only "cpu" runs here.
_KNOWN_TYPES = ("cpu", "cuda", "ipu", "xpu", "mkldnn", "opengl", "opencl", "ideep", "hip", "ve",
                "fpga", "maia", "xla", "lazy", "vulkan", "mps", "meta", "hpu", "mtia",
                "privateuseone")


class DeviceError(RuntimeError):
    """A device other than the CPU was requested."""


class device:  # noqa: N801  (PyTorch's name: cr.device)
    """Where a tensor lives: ``cr.device("cpu")``, ``cr.device("cpu", 0)``; ``.type``, ``.index``.

    As in PyTorch it equals other devices of the same type and index (not strings).
    """

    __slots__ = ("_type", "_index")
    _type: str
    _index: int | None

    def __init__(self, type: str | device, index: int | None = None) -> None:  # noqa: A002
        if isinstance(type, device):
            if index is not None:
                raise TypeError("device(): an index cannot be given with a device object")
            self._type, self._index = type._type, type._index
            return
        if not isinstance(type, str):
            raise TypeError(f"device(): expected a device string such as 'cpu' (got "
                            f"{type!r}); chainrule has no accelerator devices")
        name, _, idx = type.partition(":")
        if name not in _KNOWN_TYPES:
            raise RuntimeError(f"Expected one of {', '.join(_KNOWN_TYPES)} device type at start "
                               f"of device string: {type}")
        if idx:
            if index is not None:
                raise RuntimeError(f"device(): type (string) must not include an index because "
                                   f"index was passed explicitly: {type}")
            if not idx.isdigit():
                raise RuntimeError(f"Invalid device string: '{type}'")
            index = int(idx)
        if index is not None and (isinstance(index, bool) or not isinstance(index, int)
                                  or index < 0):
            raise RuntimeError(f"Device index must not be negative (got {index!r})")
        self._type, self._index = name, index

    @property
    def type(self) -> str:
        return self._type

    @property
    def index(self) -> int | None:
        return self._index

    def __eq__(self, other) -> bool:
        return isinstance(other, device) and (self._type, self._index) == (
            other._type, other._index)

    def __hash__(self) -> int:
        return hash((self._type, self._index))

    def __str__(self) -> str:
        return self._type if self._index is None else f"{self._type}:{self._index}"

    def __repr__(self) -> str:
        if self._index is None:
            return f"device(type='{self._type}')"
        return f"device(type='{self._type}', index={self._index})"

    def __reduce__(self):
        return device, (self._type, self._index)


CPU = device("cpu")


def as_device(value, op: str) -> device:
    """``value`` (a device, a string, or None for the default) as the CPU device, or an error
    saying chainrule runs on the CPU. ``as_device("cpu", "zeros")`` -> ``device(type='cpu')``"""
    if value is None:
        return _default
    if isinstance(value, int) and not isinstance(value, bool):
        raise DeviceError(f"{op}: device={value} names an accelerator ordinal; chainrule runs "
                          "on the CPU only (use device='cpu' or leave it out)")
    dev = value if isinstance(value, device) else device(value)
    if dev._type != "cpu":
        raise DeviceError(f"{op}: device '{dev}' is not available: chainrule runs on the CPU "
                          "only (NumPy). Use device='cpu' or leave device out; "
                          "cr.cuda.is_available() is False.")
    return CPU


def is_device(value) -> bool:
    """Whether ``value`` names a device (a device object or a device string such as 'cuda:0')."""
    if isinstance(value, device):
        return True
    return isinstance(value, str) and value.partition(":")[0] in _KNOWN_TYPES


_default = CPU


def set_default_device(device) -> None:
    """PyTorch's ``set_default_device``: only ``"cpu"`` (or None) is accepted here."""
    global _default
    _default = CPU if device is None else as_device(device, "set_default_device")


def get_default_device() -> device:
    return _default


def parse_to(args: tuple, kwargs: dict, op: str) -> tuple:
    """The dtype and ``copy`` flag of a ``.to(...)`` call in any of PyTorch's forms:
    ``to(dtype)``, ``to(device, dtype)``, ``to(tensor)``, keywords ``device``, ``dtype``,
    ``non_blocking``, ``copy``, ``memory_format``. A non-CPU device raises DeviceError."""
    kwargs = dict(kwargs)
    dtype = kwargs.pop("dtype", None)
    as_device(kwargs.pop("device", None), op)
    copy = bool(kwargs.pop("copy", False))
    kwargs.pop("non_blocking", None)
    kwargs.pop("memory_format", None)
    if kwargs:
        raise TypeError(f"{op}() got unexpected keyword arguments {sorted(kwargs)}")
    rest = list(args)
    if rest and (is_device(rest[0]) or isinstance(rest[0], int) and not isinstance(rest[0], bool)):
        as_device(rest.pop(0), op)
    if rest and hasattr(rest[0], "_data") and hasattr(rest[0], "grad_fn"):  # to(other_tensor)
        dtype = rest.pop(0).dtype
    elif rest and rest[0] is not None and not isinstance(rest[0], bool):
        dtype = rest.pop(0)
    elif rest and rest[0] is None:
        rest.pop(0)
    if len(rest) > 2 or not all(isinstance(a, bool) for a in rest):  # non_blocking, copy
        raise TypeError(f"{op}() received an invalid combination of arguments {args!r}: "
                        "expected (dtype), (device, dtype) or (tensor)")
    if len(rest) == 2:
        copy = rest[1]
    if dtype is not None:
        try:
            np.dtype(dtype)
        except TypeError:
            raise TypeError(f"{op}(): expected a dtype, a device or a tensor, got "
                            f"{dtype!r}") from None
    return dtype, copy
