"""Data parallelism across processes: ``from chainrule.nn.parallel import
DistributedDataParallel``."""

from .distributed import DistributedDataParallel

__all__ = ["DistributedDataParallel"]
