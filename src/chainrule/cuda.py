"""``cr.cuda``: PyTorch's CUDA queries, answered for a CPU-only library.

``if cr.cuda.is_available(): ...`` is False, so programs written for either take the CPU path.
"""

from __future__ import annotations

from .devices import DeviceError


def is_available() -> bool:
    return False


def device_count() -> int:
    return 0


def is_initialized() -> bool:
    return False


def manual_seed(seed: int) -> None:
    """Seeds nothing: there is no CUDA generator (PyTorch also ignores it without CUDA)."""


def manual_seed_all(seed: int) -> None:
    """Seeds nothing: there is no CUDA generator (PyTorch also ignores it without CUDA)."""


def synchronize(device=None) -> None:
    """Nothing to wait for: every chainrule op has finished when it returns."""


def empty_cache() -> None:
    """Nothing to free: chainrule holds no device memory cache."""


def current_device() -> int:
    raise DeviceError("cuda.current_device(): no CUDA device: chainrule runs on the CPU only")


def get_device_name(device=None) -> str:
    raise DeviceError("cuda.get_device_name(): no CUDA device: chainrule runs on the CPU only")
