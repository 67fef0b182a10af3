"""DataLoader order (seeded, reproducible, complete), drop_last, collation, random_split."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import (
    DataLoader,
    Dataset,
    Subset,
    TensorDataset,
    default_collate,
    random_split,
)


def _dataset(n: int = 23) -> TensorDataset:
    x = cr.tensor(np.arange(n * 2, dtype=np.float32).reshape(n, 2))
    return TensorDataset(x, cr.arange(n))


def _epoch_order(loader: DataLoader) -> list[int]:
    return [int(i) for _, y in loader for i in y.numpy()]


def test_order_is_reproducible_for_a_seed_and_differs_for_another():
    ds = _dataset()
    a = _epoch_order(DataLoader(ds, 5, shuffle=True, generator=cr.Generator().manual_seed(0)))
    b = _epoch_order(DataLoader(ds, 5, shuffle=True, generator=cr.Generator().manual_seed(0)))
    c = _epoch_order(DataLoader(ds, 5, shuffle=True, generator=cr.Generator().manual_seed(1)))
    assert a == b
    assert a != c
    assert a != list(range(23))


def test_each_epoch_covers_every_sample_once_in_a_new_order():
    loader = DataLoader(_dataset(), 4, shuffle=True, generator=cr.Generator().manual_seed(3))
    first, second = _epoch_order(loader), _epoch_order(loader)
    assert sorted(first) == sorted(second) == list(range(23))
    assert first != second


def test_global_generator_is_used_without_a_generator():
    loader = DataLoader(_dataset(), 4, shuffle=True)
    cr.manual_seed(7)
    a = _epoch_order(loader)
    cr.manual_seed(7)
    assert _epoch_order(loader) == a
    cr.manual_seed(8)
    assert _epoch_order(loader) != a


def test_generator_state_between_epochs_replays_the_next_epoch():
    gen = cr.Generator().manual_seed(5)
    loader = DataLoader(_dataset(), 4, shuffle=True, generator=gen)
    _epoch_order(loader)
    saved = gen.get_state()
    expected = _epoch_order(loader)
    gen.set_state(saved)
    assert _epoch_order(loader) == expected


def test_order_is_drawn_when_the_iterator_is_created():
    gen = cr.Generator().manual_seed(5)
    loader = DataLoader(_dataset(), 4, shuffle=True, generator=gen)
    before = gen.get_state()
    it = iter(loader)
    assert gen.get_state().tolist() != before.tolist()  # drawn already, not on the first next()
    next(it)


def test_without_shuffle_the_order_is_sequential():
    assert _epoch_order(DataLoader(_dataset(), 6)) == list(range(23))


@pytest.mark.parametrize("drop_last, sizes", [(False, [5, 5, 5, 5, 3]), (True, [5, 5, 5, 5])])
def test_drop_last_and_len(drop_last, sizes):
    loader = DataLoader(_dataset(), 5, shuffle=True, drop_last=drop_last,
                        generator=cr.Generator().manual_seed(0))
    got = [len(y) for _, y in loader]
    assert got == sizes
    assert len(loader) == len(sizes)


def test_batches_are_stacked_rows():
    ds = _dataset()
    x, y = next(iter(DataLoader(ds, 3)))
    assert isinstance(x, cr.Tensor) and x.shape == (3, 2) and x.dtype == np.float32
    assert y.dtype == np.int64
    np.testing.assert_array_equal(x.numpy(), ds.tensors[0].numpy()[:3])


class _Rows(Dataset):
    """A plain map-style dataset (no batch fast path)."""

    def __init__(self, ds):
        self.ds = ds

    def __len__(self):
        return len(self.ds)

    def __getitem__(self, i):
        return self.ds[i]


def test_fast_path_matches_per_sample_collation():
    ds = _dataset()
    fast = list(DataLoader(ds, 4, shuffle=True, generator=cr.Generator().manual_seed(2)))
    slow = list(DataLoader(_Rows(ds), 4, shuffle=True, generator=cr.Generator().manual_seed(2)))
    assert len(fast) == len(slow)
    for (fx, fy), (sx, sy) in zip(fast, slow, strict=True):
        assert fx.dtype == sx.dtype and fy.dtype == sy.dtype
        np.testing.assert_array_equal(fx.numpy(), sx.numpy())
        np.testing.assert_array_equal(fy.numpy(), sy.numpy())


def test_subclass_overriding_getitem_is_not_bypassed():
    class Doubled(TensorDataset):
        def __getitem__(self, i):
            x, y = super().__getitem__(i)
            return x * 2, y

    ds = Doubled(cr.ones(4, 2), cr.arange(4))
    x, _ = next(iter(DataLoader(ds, 4)))
    np.testing.assert_array_equal(x.numpy(), np.full((4, 2), 2.0, dtype=np.float32))


def test_collate_fn_is_used():
    loader = DataLoader(_dataset(), 4, collate_fn=lambda batch: len(batch))
    assert list(loader) == [4] * 5 + [3]


def test_default_collate_types_match_pytorch():
    torch = pytest.importorskip("torch")
    from torch.utils.data import default_collate as torch_collate

    samples = [(np.float32(i), float(i), i, bool(i % 2), np.ones(3) * i, "s")
               for i in range(4)]
    ours, theirs = default_collate(samples), torch_collate(samples)
    assert isinstance(ours, list) and len(ours) == len(theirs) == 6
    for o, t in zip(ours[:5], theirs[:5], strict=True):
        assert str(o.dtype) == str(t.dtype).replace("torch.", "")
        np.testing.assert_array_equal(o.numpy(), t.numpy())
    assert ours[5] == theirs[5] == ("s",) * 4
    dicts = default_collate([{"a": cr.ones(2), "b": 1}, {"a": cr.zeros(2), "b": 2}])
    assert dicts["a"].shape == (2, 2) and dicts["b"].tolist() == [1, 2]
    assert torch.is_tensor(theirs[0])


def test_default_collate_rejects_ragged_and_unknown_samples():
    with pytest.raises(RuntimeError, match=r"equal size, but got \(2,\) at entry 0 and \(3,\)"):
        default_collate([np.ones(2), np.ones(3)])
    with pytest.raises(RuntimeError, match="each element in list of batch should be of equal"):
        default_collate([[1, 2], [1]])
    with pytest.raises(TypeError, match="object"):
        default_collate([object(), object()])


def test_bad_arguments():
    with pytest.raises(ValueError, match="batch_size should be a positive integer"):
        DataLoader(_dataset(), 0)
    with pytest.raises(TypeError, match="Generator"):
        DataLoader(_dataset(), 2, shuffle=True, generator=np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"same first dimension.*\(3, 2\), \(4,\)"):
        TensorDataset(cr.ones(3, 2), cr.ones(4))


def test_random_split_is_a_seeded_partition():
    ds = _dataset(10)
    a, b = random_split(ds, [7, 3], generator=cr.Generator().manual_seed(0))
    assert isinstance(a, Subset) and (len(a), len(b)) == (7, 3)
    assert sorted(a.indices + b.indices) == list(range(10))
    again, _ = random_split(ds, [7, 3], generator=cr.Generator().manual_seed(0))
    other, _ = random_split(ds, [7, 3], generator=cr.Generator().manual_seed(1))
    assert again.indices == a.indices != other.indices
    # fractions as PyTorch: floor, then remainders one each from the first split on
    sizes = [len(s) for s in random_split(_dataset(11), [0.5, 0.3, 0.2],
                                          generator=cr.Generator().manual_seed(0))]
    assert sizes == [6, 3, 2]
    # a Subset keeps the fast path and the samples it names
    x, y = next(iter(DataLoader(a, 7)))
    np.testing.assert_array_equal(y.numpy(), np.array(a.indices))
    with pytest.raises(ValueError, match="sum of lengths"):
        random_split(ds, [5, 3])
