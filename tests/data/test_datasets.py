"""Built-in datasets: shapes, dtypes, determinism, splits, the registry and the extras."""

import importlib
import random

import numpy as np
import pytest

import chainrule as cr
from chainrule import data
from chainrule.data import DATASETS, load_dataset

CLASSIFIERS = {
    data.make_xor: (200, 2), data.make_moons: (200, 2), data.make_circles: (200, 2),
    data.make_spiral: (300, 3), data.make_blobs: (300, 3),
}


@pytest.mark.parametrize("make", list(CLASSIFIERS), ids=lambda f: f.__name__)
def test_classification_sets(make):
    n, classes = CLASSIFIERS[make]
    x, y = make(seed=0)
    assert x.shape == (n, 2) and x.dtype == np.float32
    assert y.shape == (n,) and y.dtype == np.int64
    if make is not data.make_xor:  # XOR labels come from uniform points, not fixed counts
        assert np.bincount(y.numpy()).tolist() == [n // classes] * classes
    assert set(np.unique(y.numpy())) == set(range(classes))
    x2, y2 = make(seed=0)
    np.testing.assert_array_equal(x.numpy(), x2.numpy())
    np.testing.assert_array_equal(y.numpy(), y2.numpy())
    x3, _ = make(seed=1)
    assert not np.array_equal(x.numpy(), x3.numpy())
    # shuffled: the first rows are not all one class
    assert len(set(y.numpy()[:20].tolist())) > 1


def test_regression_is_x_squared_plus_noise():
    x, y = data.make_regression(seed=0)
    assert x.shape == y.shape == (100, 1) and x.dtype == y.dtype == np.float32
    assert x.numpy().min() >= -2 and x.numpy().max() <= 2
    residual = y.numpy() - x.numpy() ** 2
    assert 0.07 < residual.std() < 0.13
    xc, yc = data.make_regression(n_samples=50, noise=0.0, seed=3)
    assert xc.shape == (50, 1)
    np.testing.assert_allclose(yc.numpy(), xc.numpy() ** 2, rtol=1e-6)


def test_spiral_and_blobs_options():
    x, y = data.make_spiral(n_samples=100, n_classes=5, seed=0)
    assert x.shape == (100, 2) and y.numpy().max() == 4
    x, y = data.make_blobs(n_samples=90, n_classes=3, n_features=4, seed=0)
    assert x.shape == (90, 4)
    with pytest.raises(ValueError, match="make_moons: n_samples"):
        data.make_moons(n_samples=0)
    with pytest.raises(ValueError, match="make_regression: noise"):
        data.make_regression(noise=-1.0)


def test_generators_leave_the_global_rng_alone():
    cr.manual_seed(0)
    state = cr.get_rng_state()
    for name in ("regression", "xor", "moons", "circles", "spiral", "blobs"):
        load_dataset(name)
    assert cr.get_rng_state().tolist() == state.tolist()


def test_registry_splits_and_metadata():
    assert set(DATASETS) >= {"regression", "xor", "moons", "circles", "spiral", "blobs",
                             "digits", "mnist1d"}
    bundle = load_dataset("spiral", n_classes=4, n_samples=200, seed=1)
    assert bundle.task == "classification" and bundle.num_classes == bundle.num_outputs == 4
    assert bundle.num_features == 2 and (len(bundle.train), len(bundle.test)) == (160, 40)
    # stratified: each class keeps its share in the test split
    assert np.bincount(bundle.test.tensors[1].numpy()).tolist() == [10, 10, 10, 10]
    reg = load_dataset("regression", test_fraction=0.25)
    assert reg.task == "regression" and reg.num_classes is None and reg.num_outputs == 1
    assert (len(reg.train), len(reg.test)) == (75, 25)
    again = load_dataset("spiral", n_classes=4, n_samples=200, seed=1)
    np.testing.assert_array_equal(again.train.tensors[0].numpy(), bundle.train.tensors[0].numpy())


def test_registry_errors_name_the_choices():
    with pytest.raises(ValueError, match="unknown dataset 'nope'.*moons"):
        load_dataset("nope")
    with pytest.raises(ValueError, match="unknown option.*colour.*accepted: n_samples"):
        load_dataset("moons", colour="red")


def test_digits():
    pytest.importorskip("sklearn", reason="scikit-learn (the datasets extra) is missing")
    x_train, y_train, x_test, y_test = data.load_digits()
    assert x_train.shape[1] == 64 and len(x_train) + len(x_test) == 1797
    assert x_train.dtype == np.float32 and y_train.dtype == np.int64
    assert x_train.numpy().min() == 0.0 and x_train.numpy().max() == 1.0
    # stratified 80/20: every class has ~20% of its images in the test split
    test_counts = np.bincount(y_test.numpy(), minlength=10)
    all_counts = test_counts + np.bincount(y_train.numpy(), minlength=10)
    assert np.all(np.abs(test_counts - 0.2 * all_counts) <= 0.5)
    again = data.load_digits()
    np.testing.assert_array_equal(again[3].numpy(), y_test.numpy())


def test_mnist1d_is_generated_locally_and_deterministic(tmp_path, monkeypatch):
    pytest.importorskip("mnist1d", reason="mnist1d (the datasets extra) is missing")
    monkeypatch.chdir(tmp_path)  # anything written to the working directory would show here
    np.random.seed(123)
    random.seed(123)
    np_state, py_state = np.random.get_state()[1].copy(), random.getstate()
    x_train, y_train, x_test, y_test = data.load_mnist1d(n_samples=400)
    assert x_train.shape == (320, 40) and x_test.shape == (80, 40)
    assert x_train.dtype == np.float32 and y_train.dtype == np.int64
    assert set(np.unique(y_train.numpy())) == set(range(10))
    again = data.load_mnist1d(n_samples=400)
    np.testing.assert_array_equal(again[0].numpy(), x_train.numpy())
    assert not np.array_equal(data.load_mnist1d(n_samples=400, seed=1)[0].numpy(),
                              x_train.numpy())
    # mnist1d reseeds the global generators; they are put back
    np.testing.assert_array_equal(np.random.get_state()[1], np_state)
    assert random.getstate() == py_state
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("loader, module", [(data.load_digits, "sklearn.datasets"),
                                            (data.load_mnist1d, "mnist1d.data")])
def test_missing_extra_names_the_install_command(monkeypatch, loader, module):
    real_import = importlib.import_module

    def fake_import(name, *args):
        if name == module:
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args)

    monkeypatch.setattr(importlib, "import_module", fake_import)
    with pytest.raises(ImportError, match=r"pip install chainrule\[datasets\]"):
        loader()
