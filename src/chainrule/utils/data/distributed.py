"""PyTorch's ``torch.utils.data.distributed`` path; the code is ``chainrule.data.distributed``."""

from ...data.distributed import DistributedSampler

__all__ = ["DistributedSampler"]
