"""Built-in datasets by name, with a train/test split: ``load_dataset('moons', noise=0.2)``."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..tensor import Tensor
from . import real, synthetic
from .dataset import TensorDataset


@dataclass(frozen=True)
class DataBundle:
    """A named dataset split in two, and what a model for it needs to know.

    ``task`` is ``'classification'`` (int64 labels ``0..num_classes-1``) or ``'regression'``
    (float32 targets of shape ``(n, num_outputs)``, ``num_classes`` None).
    """

    name: str
    task: str
    train: TensorDataset
    test: TensorDataset
    num_features: int
    num_classes: int | None
    num_outputs: int


# name -> (generator, task); synthetic generators return (X, y), real ones a split already
_SYNTHETIC: dict[str, tuple[Callable, str]] = {
    "regression": (synthetic.make_regression, "regression"),
    "xor": (synthetic.make_xor, "classification"),
    "moons": (synthetic.make_moons, "classification"),
    "circles": (synthetic.make_circles, "classification"),
    "spiral": (synthetic.make_spiral, "classification"),
    "blobs": (synthetic.make_blobs, "classification"),
}
_REAL: dict[str, Callable] = {"digits": real.load_digits, "mnist1d": real.load_mnist1d}
DATASETS = tuple(_SYNTHETIC) + tuple(_REAL)


def dataset_options(name: str) -> dict[str, object]:
    """The options ``load_dataset(name, ...)`` accepts, with their defaults."""
    fn = _lookup(name)
    options = {p.name: p.default for p in inspect.signature(fn).parameters.values()}
    options.setdefault("test_fraction", 0.2)
    return options


def _lookup(name: str) -> Callable:
    if name in _SYNTHETIC:
        return _SYNTHETIC[name][0]
    if name in _REAL:
        return _REAL[name]
    raise ValueError(f"unknown dataset {name!r}; choose one of: {', '.join(DATASETS)}")


def load_dataset(name: str, **options) -> DataBundle:
    """A built-in dataset split into train and test, the same for the same options.

    Synthetic sets (``regression xor moons circles spiral blobs``) take their generator's
    options plus ``test_fraction`` (default 0.2; classification splits are stratified). The
    real ones (``digits mnist1d``) need ``pip install chainrule[datasets]``.
    ``data = load_dataset('spiral', n_classes=4, seed=1); data.train, data.num_classes``
    """
    accepted = dataset_options(name)
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ValueError(f"dataset {name!r}: unknown option(s) {', '.join(unknown)} "
                         f"(accepted: {', '.join(accepted)})")
    if name in _REAL:
        x_train, y_train, x_test, y_test = _REAL[name](**options)
        task = "classification"
    else:
        make, task = _SYNTHETIC[name]
        test_fraction = options.pop("test_fraction", 0.2)
        x, y = make(**options)
        x_train, y_train, x_test, y_test = _split(x, y, task, test_fraction,
                                                  options.get("seed", accepted["seed"]))
    if task == "classification":
        num_classes = int(max(y_train._data.max(), y_test._data.max())) + 1
        num_outputs = num_classes
    else:
        num_classes, num_outputs = None, y_train.shape[1]
    return DataBundle(name=name, task=task, train=TensorDataset(x_train, y_train),
                      test=TensorDataset(x_test, y_test), num_features=x_train.shape[1],
                      num_classes=num_classes, num_outputs=num_outputs)


def _split(x: Tensor, y: Tensor, task: str, test_fraction: float, seed: int
           ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    if task == "classification":
        train_idx, test_idx = real.stratified_split(y._data, test_fraction, seed)
    else:
        if not 0 < test_fraction < 1:
            raise ValueError(f"test_fraction must be in (0, 1) (got {test_fraction!r})")
        n_test = int(round(test_fraction * len(x)))
        # the regression inputs are i.i.d. draws, so the last rows are a random sample
        train_idx, test_idx = np.arange(len(x) - n_test), np.arange(len(x) - n_test, len(x))
    if len(train_idx) == 0 or len(test_idx) == 0:
        raise ValueError(f"test_fraction={test_fraction} leaves an empty split of {len(x)} "
                         "samples")
    return (Tensor(x._data[train_idx]), Tensor(y._data[train_idx]),
            Tensor(x._data[test_idx]), Tensor(y._data[test_idx]))
