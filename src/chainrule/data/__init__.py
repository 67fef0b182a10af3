"""Datasets and batching: ``DataLoader(TensorDataset(X, y), batch_size=32, shuffle=True)``,
built-in synthetic sets (``make_moons`` ...), real ones (``load_digits``), and
``load_dataset(name, **options)`` for all of them by name.
"""

from .dataset import ConcatDataset, Dataset, Subset, TensorDataset, random_split
from .loader import DataLoader, default_collate
from .real import load_digits, load_mnist1d, stratified_split
from .registry import DATASETS, DataBundle, dataset_options, load_dataset
from .synthetic import make_blobs, make_circles, make_moons, make_regression, make_spiral, make_xor

__all__ = [
    "DATASETS", "ConcatDataset", "DataBundle", "DataLoader", "Dataset", "Subset",
    "TensorDataset", "dataset_options", "default_collate", "load_dataset", "load_digits",
    "load_mnist1d", "make_blobs", "make_circles", "make_moons", "make_regression", "make_spiral",
    "make_xor", "random_split", "stratified_split",
]
