"""cr.utils.tensorboard.SummaryWriter writes event files TensorBoard reads back."""

import numpy as np
import pytest

import chainrule as cr

pytest.importorskip("tensorboard", reason="the tensorboard extra is not installed")
from tensorboard.backend.event_processing.event_accumulator import (  # noqa: E402
    EventAccumulator,
)

from chainrule.utils.tensorboard import SummaryWriter  # noqa: E402


def _read(directory) -> EventAccumulator:
    acc = EventAccumulator(str(directory), size_guidance={"scalars": 0, "histograms": 0})
    acc.Reload()
    return acc


def test_scalars_and_histograms_round_trip(tmp_path):
    weights = cr.randn(1000, requires_grad=True)
    with SummaryWriter(tmp_path) as w:
        for step in range(3):
            w.add_scalar("loss", cr.tensor(1.5) / (step + 1), global_step=step)
            w.add_scalar("lr", 0.1, step)
        w.add_histogram("weights", weights, global_step=2)
        w.add_scalars("acc", {"train": cr.tensor([0.9]), "val": np.float32(0.8)}, 2)
    acc = _read(tmp_path)
    loss = acc.Scalars("loss")
    assert [e.step for e in loss] == [0, 1, 2]
    np.testing.assert_allclose([e.value for e in loss], [1.5, 0.75, 0.5], rtol=1e-6)
    assert [e.value for e in acc.Scalars("lr")] == pytest.approx([0.1] * 3)
    histo = acc.Histograms("weights")[0].histogram_value
    data = weights.detach().numpy().astype(np.float64)
    assert histo.num == 1000 and histo.min == data.min() and histo.max == data.max()
    assert sum(histo.bucket) == 1000
    assert histo.sum_squares == pytest.approx(float(data @ data))
    train = _read(tmp_path / "acc_train").Scalars("acc")
    val = _read(tmp_path / "acc_val").Scalars("acc")
    assert train[0].value == pytest.approx(0.9) and val[0].value == pytest.approx(0.8)


def test_histogram_matches_torchs_writer(tmp_path):
    import importlib

    from tests.oracle import torch

    TorchWriter = importlib.import_module("torch.utils.tensorboard").SummaryWriter  # noqa: N806

    values = np.random.default_rng(0).standard_normal(500)
    with SummaryWriter(tmp_path / "ours") as w:
        w.add_histogram("h", cr.from_numpy(values), 0, max_bins=50)
    with TorchWriter(str(tmp_path / "theirs")) as w:
        w.add_histogram("h", torch.from_numpy(values), 0, max_bins=50)
    ours = _read(tmp_path / "ours").Histograms("h")[0].histogram_value
    theirs = _read(tmp_path / "theirs").Histograms("h")[0].histogram_value
    assert list(ours.bucket) == list(theirs.bucket)
    assert list(ours.bucket_limit) == pytest.approx(list(theirs.bucket_limit))


def test_bad_values_say_what_was_expected(tmp_path):
    with SummaryWriter(tmp_path) as w, pytest.raises(ValueError, match="one element"):
        w.add_scalar("x", cr.ones(3))


def test_missing_extra_is_named(tmp_path, monkeypatch):
    import sys

    for name in [m for m in sys.modules if m.startswith("tensorboard")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "tensorboard", None)
    with pytest.raises(ImportError, match=r"chainrule\[tensorboard\]"):
        SummaryWriter(tmp_path)
