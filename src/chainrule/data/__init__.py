"""Datasets and batching: ``DataLoader(TensorDataset(X, y), batch_size=32, shuffle=True)``,
built-in synthetic sets (``make_moons`` ...), real ones (``load_digits``), and
``load_dataset(name, **options)`` for all of them by name.
"""

from .dataset import (
    ChainDataset,
    ConcatDataset,
    Dataset,
    IterableDataset,
    Subset,
    TensorDataset,
    random_split,
)
from .loader import DataLoader, default_collate, default_convert
from .real import load_digits, load_mnist1d, stratified_split
from .registry import DATASETS, DataBundle, dataset_options, load_dataset
from .sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)
from .synthetic import make_blobs, make_circles, make_moons, make_regression, make_spiral, make_xor

__all__ = [
    "BatchSampler", "ChainDataset", "IterableDataset", "RandomSampler", "Sampler",
    "SequentialSampler", "SubsetRandomSampler", "WeightedRandomSampler", "default_convert",
    "DATASETS", "ConcatDataset", "DataBundle", "DataLoader", "Dataset", "Subset",
    "TensorDataset", "dataset_options", "default_collate", "load_dataset", "load_digits",
    "load_mnist1d", "make_blobs", "make_circles", "make_moons", "make_regression", "make_spiral",
    "make_xor", "random_split", "stratified_split",
]
