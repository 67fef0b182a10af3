"""PyTorch's import path for the data tools: ``from chainrule.utils.data import DataLoader``."""

from ..data import (
    ConcatDataset,
    DataLoader,
    Dataset,
    Subset,
    TensorDataset,
    default_collate,
    random_split,
)
from ..data.distributed import DistributedSampler

__all__ = ["ConcatDataset", "DataLoader", "Dataset", "Subset", "TensorDataset",
           "default_collate", "random_split", "DistributedSampler"]
