"""chainrule.utils.data against torch.utils.data: paths, collation, samplers, DataLoader rules."""

from __future__ import annotations

import collections

import numpy as np
import pytest

import chainrule as cr
from chainrule.utils import data as crdata
from tests.oracle import torch

tdata = torch.utils.data
Point = collections.namedtuple("Point", ["x", "y"])


def _same(ours, theirs) -> None:
    """Collated structures equal: same containers, tensors of the same dtype and values."""
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, cr.Tensor)
        assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    elif isinstance(theirs, dict):
        assert type(ours) is type(theirs) and ours.keys() == theirs.keys()
        for key in theirs:
            _same(ours[key], theirs[key])
    elif isinstance(theirs, (list, tuple)):
        assert type(ours).__name__ == type(theirs).__name__ and len(ours) == len(theirs)
        for o, t in zip(ours, theirs, strict=True):
            _same(o, t)
    else:
        assert ours == theirs


def _to_torch(sample):
    if isinstance(sample, cr.Tensor):
        return torch.from_numpy(sample.numpy().copy())
    if isinstance(sample, dict):
        return {k: _to_torch(v) for k, v in sample.items()}
    if isinstance(sample, Point):
        return Point(*(_to_torch(v) for v in sample))
    if isinstance(sample, (list, tuple)):
        return type(sample)(_to_torch(v) for v in sample)
    return sample


BATCHES = {
    "int_then_float": [1, 2.5], "bool_then_int": [True, 2], "bools": [True, False],
    "float_then_int": [2.5, 1], "float_then_bool": [1.5, True], "ints": [3, 4],
    "np_float32": [np.float32(1), np.float32(2)], "np_mixed": [np.float32(1), np.float64(2)],
    "np_int32": [np.int32(1), np.int32(2)], "np_0d_arrays": [np.array(1.5), np.array(2.5)],
    "np_arrays": [np.ones((2, 3), np.float32), np.zeros((2, 3), np.float32)],
    "np_int_arrays": [np.arange(3), np.arange(3) * 2],
    "tensors": [cr.ones(2, 2), cr.zeros(2, 2)],
    "tuples": [(np.float32(0.5), 1, "a"), (np.float32(1.5), 2.5, "b")],
    "lists": [[1, 2], [3, 4]], "strings": ["a", "b"],
    "dicts": [{"x": np.ones(2), "y": 1}, {"x": np.zeros(2), "y": 2}],
    "namedtuples": [Point(1.0, 2), Point(3.0, 4)],
    "nested": [{"a": [(1, 2.0)], "b": "s"}, {"a": [(3, 4.0)], "b": "t"}],
}


@pytest.mark.parametrize("name", sorted(BATCHES))
def test_default_collate_matches_torch(name):
    batch = BATCHES[name]
    _same(crdata.default_collate(batch), tdata.default_collate(_to_torch(batch)))


@pytest.mark.parametrize(("batch", "error", "message"), [
    ([np.ones(2), np.ones(3)], RuntimeError, "stack expects each tensor to be equal size"),
    ([[1, 2], [1]], RuntimeError, "each element in list of batch should be of equal size"),
    ([object()], TypeError, "default_collate: batch must contain tensors"),
    ([np.array(["a"])], TypeError, "default_collate: batch must contain tensors"),
])
def test_default_collate_errors_as_torch(batch, error, message):
    with pytest.raises(error, match=message):
        tdata.default_collate(batch)
    with pytest.raises(error, match=message):
        crdata.default_collate(batch)


def test_module_paths_are_pytorchs():
    from chainrule.utils.data.dataloader import DataLoader, default_collate
    from chainrule.utils.data.dataset import Dataset, TensorDataset
    from chainrule.utils.data.sampler import RandomSampler, Sampler

    assert DataLoader is cr.data.DataLoader and default_collate is cr.data.default_collate
    assert Dataset is cr.data.Dataset and TensorDataset is cr.data.TensorDataset
    assert issubclass(RandomSampler, Sampler)
    assert crdata.get_worker_info() is tdata.get_worker_info() is None


@pytest.mark.parametrize("kwargs", [
    dict(shuffle=True, sampler=[0, 1]),
    dict(batch_sampler=[[0, 1]], batch_size=2),
    dict(batch_sampler=[[0, 1]], shuffle=True),
    dict(batch_sampler=[[0, 1]], drop_last=True),
    dict(batch_sampler=[[0, 1]], sampler=[0]),
    dict(batch_size=None, drop_last=True),
    dict(num_workers=-1), dict(timeout=-1), dict(prefetch_factor=2),
    dict(persistent_workers=True), dict(batch_size=0),
])
def test_dataloader_rejects_what_torch_rejects(kwargs):
    ds = list(range(6))
    with pytest.raises(ValueError) as theirs:
        tdata.DataLoader(ds, **kwargs)
    with pytest.raises(ValueError) as ours:
        crdata.DataLoader(ds, **kwargs)
    assert str(ours.value) == str(theirs.value)


def _batches(loader) -> list:
    return [b.tolist() if hasattr(b, "tolist") else b for b in loader]


@pytest.mark.parametrize("kwargs", [
    dict(batch_size=4), dict(batch_size=4, drop_last=True), dict(batch_size=None),
    dict(sampler=[5, 3, 1]), dict(sampler=[5, 3, 1], batch_size=2),
    dict(batch_sampler=[[0, 9], [4]]),
    dict(batch_size=3, collate_fn=lambda b: sum(b)),
])
def test_dataloader_batches_as_torch(kwargs):
    ds = list(range(10))
    ours, theirs = crdata.DataLoader(ds, **kwargs), tdata.DataLoader(ds, **kwargs)
    assert _batches(ours) == _batches(theirs) and len(ours) == len(theirs)


def test_iterable_dataset_batches_as_torch():
    def stream(base):
        class Stream(base):
            def __iter__(self):
                return iter(range(7))
        return Stream()

    for kwargs in (dict(batch_size=3), dict(batch_size=3, drop_last=True), dict(batch_size=None)):
        ours = _batches(crdata.DataLoader(stream(crdata.IterableDataset), **kwargs))
        assert ours == _batches(tdata.DataLoader(stream(tdata.IterableDataset), **kwargs))
    with pytest.raises(ValueError, match="expected unspecified shuffle option"):
        crdata.DataLoader(stream(crdata.IterableDataset), shuffle=True)
    chained = crdata.ChainDataset([stream(crdata.IterableDataset)] * 2)
    assert list(chained) == list(range(7)) * 2


def test_samplers_without_randomness_match_torch():
    ds = list(range(10))
    assert list(crdata.SequentialSampler(ds)) == list(tdata.SequentialSampler(ds))
    for drop_last in (False, True):
        ours = crdata.BatchSampler(crdata.SequentialSampler(ds), 3, drop_last)
        theirs = tdata.BatchSampler(tdata.SequentialSampler(ds), 3, drop_last)
        assert list(ours) == list(theirs) and len(ours) == len(theirs)
    with pytest.raises(ValueError, match="batch_size should be a positive integer value"):
        crdata.BatchSampler(ds, 0, False)
    with pytest.raises(TypeError, match="replacement should be a boolean value"):
        crdata.RandomSampler(ds, replacement=1)


def test_random_samplers_cover_and_replay():
    ds = list(range(20))
    gen = cr.Generator().manual_seed(3)
    first = list(crdata.RandomSampler(ds, generator=gen))
    assert sorted(first) == ds
    assert list(crdata.RandomSampler(ds, generator=cr.Generator().manual_seed(3))) == first
    assert len(list(crdata.RandomSampler(ds, num_samples=45, generator=gen))) == 45
    draws = list(crdata.RandomSampler(ds, replacement=True, num_samples=70, generator=gen))
    assert len(draws) == 70 and set(draws) <= set(ds)
    subset = list(crdata.SubsetRandomSampler([2, 4, 6], generator=gen))
    assert sorted(subset) == [2, 4, 6]
    loader = crdata.DataLoader(ds, batch_size=6, shuffle=True,
                               generator=cr.Generator().manual_seed(1))
    assert sorted(sum((b.tolist() for b in loader), [])) == ds


def test_shuffle_order_equals_pytorchs():
    ds = list(range(25))
    for seed in (0, 7):
        cr.manual_seed(seed)
        torch.manual_seed(seed)
        assert _batches(crdata.DataLoader(ds, 4, shuffle=True)) == _batches(
            tdata.DataLoader(ds, 4, shuffle=True))
        ours = crdata.DataLoader(ds, 4, shuffle=True, generator=cr.Generator().manual_seed(seed))
        theirs = tdata.DataLoader(ds, 4, shuffle=True,
                                  generator=torch.Generator().manual_seed(seed))
        assert _batches(ours) == _batches(theirs)
        assert [s.indices for s in crdata.random_split(
            ds, [20, 5], generator=cr.Generator().manual_seed(seed))] == [
            s.indices for s in tdata.random_split(
                ds, [20, 5], generator=torch.Generator().manual_seed(seed))]


def test_weighted_sampler_draws_only_weighted_indices():
    draws = list(crdata.WeightedRandomSampler([0.0, 1.0, 2.0], 50))
    assert len(draws) == 50 and set(draws) <= {1, 2}


@pytest.mark.parametrize("replacement", [True, False])
def test_weighted_sampler_draws_pytorchs_indices(replacement):
    weights = [0.1, 0.9, 0.4, 0.0, 2.0]
    for seed in (0, 3):
        ours = crdata.WeightedRandomSampler(weights, 4, replacement,
                                            generator=cr.Generator().manual_seed(seed))
        theirs = tdata.WeightedRandomSampler(weights, 4, replacement,
                                             generator=torch.Generator().manual_seed(seed))
        assert list(ours) == list(theirs)
