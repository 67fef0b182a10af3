"""PyTorch's import paths for the data tools, ``from chainrule.utils.data import DataLoader``;
the code lives in ``chainrule.data`` (one home), these modules name it as PyTorch does:
``chainrule.utils.data.dataloader``, ``.sampler``, ``.dataset``.
"""

from ...data import (
    BatchSampler,
    ChainDataset,
    ConcatDataset,
    DataLoader,
    Dataset,
    IterableDataset,
    RandomSampler,
    Sampler,
    SequentialSampler,
    Subset,
    SubsetRandomSampler,
    TensorDataset,
    WeightedRandomSampler,
    default_collate,
    default_convert,
    random_split,
)
from ...data.distributed import DistributedSampler
from . import dataloader, dataset, distributed, sampler


def get_worker_info() -> None:
    """None, as in PyTorch's main process: chainrule loads data in-process (no workers)."""
    return None


def __getattr__(name: str):
    from ..._torch_names import missing_attribute

    raise missing_attribute("utils.data", name)


__all__ = [
    "BatchSampler", "ChainDataset", "ConcatDataset", "DistributedSampler",
    "DataLoader", "Dataset", "IterableDataset",
    "RandomSampler", "Sampler", "SequentialSampler", "Subset", "SubsetRandomSampler",
    "TensorDataset", "WeightedRandomSampler", "dataloader", "dataset", "default_collate",
    "default_convert", "distributed", "get_worker_info", "random_split", "sampler",
]
