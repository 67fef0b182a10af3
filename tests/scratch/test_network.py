"""Tests of the textbook network: gradient checks, PyTorch as an oracle, training, errors."""

from __future__ import annotations

import ast
import dataclasses
import math
import pathlib
import warnings

import numpy as np
import pytest

import chainrule.scratch as scratch
from chainrule.scratch import ACTIVATIONS, LOSSES, OUTPUT_ACTIVATIONS, NeuralNetwork
from chainrule.scratch.activations import erf, erfc

HIDDEN = sorted(ACTIVATIONS)
PAIRS = [
    ("linear", "mse"),
    ("sigmoid", "bce"),
    ("softmax", "cross_entropy"),
    ("sigmoid", "mse"),
    ("softmax", "mse"),
]
KINKED = {"relu", "leaky_relu"}  # numerical derivatives are wrong within eps of z = 0


def make_data(n_in: int, n_out: int, loss: str, m: int = 6, seed: int = 0):
    """Small random inputs and targets of the kind each loss expects."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, n_in))
    if loss == "cross_entropy":
        y = rng.integers(0, n_out, size=m)  # class labels
    elif loss == "bce":
        y = rng.integers(0, 2, size=(m, n_out)).astype(np.float64)
    else:
        y = rng.uniform(0.0, 1.0, size=(m, n_out))
    return X, y


def assert_away_from_kinks(net: NeuralNetwork, X: np.ndarray, margin: float = 1e-3) -> None:
    """Precondition for checking relu/leaky_relu: no hidden pre-activation near z = 0."""
    net.forward(X)
    closest = min(np.abs(z).min() for z in net.zs[:-1])
    assert closest > margin, f"test data puts a hidden pre-activation at |z| = {closest}"


# --- gradient checks ---------------------------------------------------------------------


@pytest.mark.parametrize("activation", HIDDEN)
def test_gradient_check_hidden_activation(activation):
    net = NeuralNetwork([3, 5, 4, 2], activation=activation, seed=1)
    X, y = make_data(3, 2, "mse", m=16)
    if activation in KINKED:
        assert_away_from_kinks(net, X)
    assert net.gradient_check(X, y) < 1e-7


@pytest.mark.parametrize(("output", "loss"), PAIRS)
def test_gradient_check_output_and_loss(output, loss):
    net = NeuralNetwork([3, 5, 3], activation="tanh", output=output, loss=loss, seed=2)
    X, y = make_data(3, 3, loss, seed=3)
    assert net.gradient_check(X, y) < 1e-7


def test_gradient_check_single_output_bce_with_1d_targets():
    net = NeuralNetwork([2, 4, 1], activation="gelu", output="sigmoid", loss="bce", seed=0)
    X, y = make_data(2, 1, "bce", m=8)
    assert net.gradient_check(X, y.ravel()) < 1e-7


def test_gradient_check_exposes_the_textbook_mse_bug():
    # The common shortcut back-propagates (y_hat - y) / m instead of 2 (y_hat - y) / N; with one
    # output N = m, so the gradient is half the true one and the check must flag it.
    net = NeuralNetwork([2, 4, 1], activation="tanh", seed=0)
    X, y = make_data(2, 1, "mse", m=8)
    assert net.gradient_check(X, y) < 1e-7
    buggy = dataclasses.replace(LOSSES["mse"], grad=lambda y_hat, y: (y_hat - y) / len(y))
    net.loss_function = buggy
    assert net.gradient_check(X, y) == pytest.approx(1 / 3, rel=1e-6)  # |a - 2a| / (a + 2a)


def test_gradient_check_restores_parameters_and_keeps_dtype():
    net = NeuralNetwork([3, 4, 2], activation="swish", seed=0, dtype=np.float32)
    before = [p.copy() for p in net.weights + net.biases]
    X, y = make_data(3, 2, "mse")
    assert net.gradient_check(X, y) < 1e-7  # runs in float64 even for a float32 network
    for p, original in zip(net.weights + net.biases, before, strict=True):
        assert p.dtype == np.float32
        np.testing.assert_array_equal(p, original)


def test_cross_entropy_accepts_labels_or_one_hot():
    net = NeuralNetwork(
        [3, 5, 3], activation="tanh", output="softmax", loss="cross_entropy", seed=0
    )
    X, labels = make_data(3, 3, "cross_entropy")
    one_hot = np.eye(3)[labels]
    net.forward(X)
    from_labels = net.backward(labels)
    net.forward(X)
    from_one_hot = net.backward(one_hot)
    for a, b in zip(
        from_labels[0] + from_labels[1], from_one_hot[0] + from_one_hot[1], strict=True
    ):
        np.testing.assert_array_equal(a, b)
    assert net.loss(X, labels) == net.loss(X, one_hot)


# --- the MSE gradient at the output ------------------------------------------------------


def test_mse_output_gradient_is_two_residuals_over_n():
    # Three outputs: with two, 2 (y_hat - y) / N equals the buggy (y_hat - y) / m exactly.
    net = NeuralNetwork([3, 4, 3], activation="tanh", seed=0)
    X, y = make_data(3, 3, "mse", m=5)
    y_hat = net.forward(X)
    grads_w, grads_b = net.backward(y)
    expected = 2.0 * (y_hat - y) / y.size  # N = 5 * 3 elements, not the batch size 5
    np.testing.assert_allclose(LOSSES["mse"].grad(y_hat, y), expected, rtol=1e-15)
    np.testing.assert_allclose(net.deltas[-1], expected, rtol=1e-15)  # linear output: dZ = dA
    np.testing.assert_allclose(grads_b[-1], expected.sum(axis=0), rtol=1e-12)
    np.testing.assert_allclose(grads_w[-1], net.activations[-2].T @ expected, rtol=1e-12)
    assert LOSSES["mse"].fn(y_hat, y) == pytest.approx(np.mean((y_hat - y) ** 2), rel=1e-15)


# --- PyTorch (float64 autograd) as an oracle ---------------------------------------------


@pytest.fixture(scope="module")
def torch():
    from tests.oracle import torch

    return torch


def torch_loss_and_grads(torch, net: NeuralNetwork, X, y):
    """The same network written with torch ops; returns the loss and its parameter gradients."""
    F = torch.nn.functional
    hidden = {
        "relu": torch.relu,
        "leaky_relu": lambda z: F.leaky_relu(z, 0.01),
        "sigmoid": torch.sigmoid,
        "tanh": torch.tanh,
        "swish": F.silu,
        "gelu": lambda z: F.gelu(z, approximate="none"),
    }[net.hidden_activation.name]
    output = {
        "linear": lambda z: z,
        "sigmoid": torch.sigmoid,
        "softmax": lambda z: torch.softmax(z, dim=1),
    }[net.output_activation.name]
    target = torch.tensor(np.asarray(y, dtype=np.float64))
    if net.loss_function.name == "cross_entropy" and target.ndim == 1:
        target = F.one_hot(target.long(), net.layer_sizes[-1]).double()
    loss_fn = {
        "mse": F.mse_loss,
        "bce": lambda p, t: -(t * torch.log(p) + (1 - t) * torch.log(1 - p)).mean(),
        "cross_entropy": lambda p, t: -(t * torch.log(p)).sum(dim=1).mean(),
    }[net.loss_function.name]

    weights = [torch.tensor(w, requires_grad=True) for w in net.weights]
    biases = [torch.tensor(b, requires_grad=True) for b in net.biases]
    a = torch.tensor(X)
    for i, (w, b) in enumerate(zip(weights, biases, strict=True)):
        z = a @ w + b
        a = output(z) if i == len(weights) - 1 else hidden(z)
    loss = loss_fn(a, target.reshape(a.shape))
    loss.backward()
    return loss.item(), [w.grad.numpy() for w in weights], [b.grad.numpy() for b in biases]


def assert_matches_torch(torch, net, X, y):
    expected_loss, expected_w, expected_b = torch_loss_and_grads(torch, net, X, y)
    net.forward(X)
    grads_w, grads_b = net.backward(y)
    assert net.loss(X, y) == pytest.approx(expected_loss, rel=1e-12)
    for ours, theirs in zip(grads_w + grads_b, expected_w + expected_b, strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("activation", HIDDEN)
def test_gradients_match_torch_for_each_activation(torch, activation):
    net = NeuralNetwork([3, 5, 4, 2], activation=activation, seed=4)
    X, y = make_data(3, 2, "mse", m=7, seed=5)
    assert_matches_torch(torch, net, X, y)


@pytest.mark.parametrize(("output", "loss"), PAIRS)
def test_gradients_match_torch_for_each_output_and_loss(torch, output, loss):
    net = NeuralNetwork([3, 6, 4], activation="gelu", output=output, loss=loss, seed=6)
    X, y = make_data(3, 4, loss, m=7, seed=7)
    assert_matches_torch(torch, net, X, y)


# --- activations and losses on their own -------------------------------------------------


@pytest.mark.parametrize("name", HIDDEN)
def test_activation_derivative_matches_central_difference(name):
    act = ACTIVATIONS[name]
    z = np.linspace(-4.0, 4.0, 81) + 0.0123  # the shift keeps every point off the kink z = 0
    h = 1e-6
    numeric = (act.fn(z + h) - act.fn(z - h)) / (2 * h)
    analytic = act.derivative(z)
    error = np.abs(analytic - numeric) / np.maximum(np.abs(analytic) + np.abs(numeric), 1e-12)
    assert error.max() < 1e-7


def test_erf_is_exact_to_double_precision():
    x = np.concatenate([np.linspace(-7.0, 7.0, 2801), [0.0, 1e-20, 0.46875, 4.0, 30.0, -1e4]])
    np.testing.assert_allclose(erf(x), [math.erf(v) for v in x], rtol=2e-15, atol=0)
    np.testing.assert_allclose(erfc(x), [math.erfc(v) for v in x], rtol=2e-15, atol=0)
    assert np.isnan(erf(np.array([np.nan]))).all()


@pytest.mark.parametrize("name", ["sigmoid", "swish", "gelu", "tanh"])
def test_activations_do_not_overflow_for_huge_inputs(name):
    z = np.array([-1e4, 1e4])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = ACTIVATIONS[name].fn(z)
        derivative = ACTIVATIONS[name].derivative(z)
    assert np.isfinite(out).all() and np.isfinite(derivative).all()
    if name == "sigmoid":
        np.testing.assert_array_equal(out, [0.0, 1.0])


def test_softmax_is_stable_for_huge_logits():
    z = np.array([[1000.0, 1000.0, -1000.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p = OUTPUT_ACTIVATIONS["softmax"].fn(z)
    np.testing.assert_allclose(p, [[0.5, 0.5, 0.0]])


def test_bce_is_finite_for_saturated_probabilities():
    p = np.array([[0.0], [1.0]])
    y = np.array([[1.0], [0.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value = LOSSES["bce"].fn(p, y)
        grad = LOSSES["bce"].grad(p, y)
    assert value == pytest.approx(-math.log(1e-12))
    assert np.isfinite(grad).all()


# --- training ----------------------------------------------------------------------------


def test_training_fits_a_parabola():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1.0, 1.0, size=(200, 1))
    y = x**2 + 0.05 * rng.standard_normal((200, 1))
    net = NeuralNetwork([1, 16, 1], learning_rate=0.1, seed=0)
    losses = net.train(x, y, epochs=200, batch_size=20)
    assert len(losses) == 200
    assert losses[-1] < 0.1 * losses[0]
    assert net.loss(x, y) < 0.01  # the noise alone contributes 0.0025


def test_xor_reaches_full_accuracy():
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
    y = np.array([0, 1, 1, 0], dtype=np.float64)
    net = NeuralNetwork(
        [2, 4, 1],
        learning_rate=1.0,
        activation="tanh",
        output="sigmoid",
        loss="bce",
        init="xavier",
        seed=0,
    )
    losses = net.train(X, y, epochs=1000)
    predictions = (net.predict(X)[:, 0] > 0.5).astype(np.float64)
    np.testing.assert_array_equal(predictions, y)
    assert losses[-1] < 0.05


def test_training_is_reproducible_with_a_seed():
    X, y = make_data(3, 2, "mse", m=32)
    runs = [NeuralNetwork([3, 8, 2], seed=7).train(X, y, epochs=5, batch_size=8) for _ in range(2)]
    assert runs[0] == runs[1]


def test_float32_network_trains_in_float32():
    X, y = make_data(3, 2, "mse", m=16)
    net = NeuralNetwork([3, 8, 2], activation="gelu", seed=0, dtype=np.float32)
    losses = net.train(X, y, epochs=50)
    assert losses[-1] < losses[0]
    assert net.predict(X).dtype == np.float32
    assert all(p.dtype == np.float32 for p in net.weights + net.biases)


def test_update_is_plain_gradient_descent():
    net = NeuralNetwork([2, 3, 1], learning_rate=0.5, seed=0)
    before_w = [w.copy() for w in net.weights]
    before_b = [b.copy() for b in net.biases]
    grads_w = [np.ones_like(w) for w in net.weights]
    grads_b = [np.full_like(b, 2.0) for b in net.biases]
    net.update(grads_w, grads_b)
    for w, w0 in zip(net.weights, before_w, strict=True):
        np.testing.assert_allclose(w, w0 - 0.5)
    for b, b0 in zip(net.biases, before_b, strict=True):
        np.testing.assert_allclose(b, b0 - 1.0)


def test_initialisation_shapes_and_scale():
    net = NeuralNetwork([400, 300, 10], init="he", seed=0)
    assert [w.shape for w in net.weights] == [(400, 300), (300, 10)]
    assert [b.shape for b in net.biases] == [(300,), (10,)]
    assert all(not b.any() for b in net.biases)
    assert net.weights[0].std() == pytest.approx(math.sqrt(2 / 400), rel=0.02)
    xavier = NeuralNetwork([400, 300, 10], init="xavier", seed=0)
    assert xavier.weights[0].std() == pytest.approx(math.sqrt(2 / 700), rel=0.02)


# --- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"layer_sizes": [3]}, "at least two positive integers"),
        ({"layer_sizes": [3, 0, 1]}, "at least two positive integers"),
        ({"layer_sizes": [3, 2.5, 1]}, "at least two positive integers"),
        ({"layer_sizes": "31"}, "at least two positive integers"),
        ({"activation": "relux"}, "unknown activation 'relux'.*gelu"),
        ({"output": "tanh"}, "unknown output activation 'tanh'.*softmax"),
        ({"loss": "hinge"}, "unknown loss 'hinge'.*cross_entropy"),
        ({"init": "zeros"}, "unknown init 'zeros'.*xavier"),
        ({"loss": "bce"}, "needs probabilities"),
        ({"learning_rate": -0.1}, "learning_rate"),
        ({"dtype": np.int64}, "floating-point"),
    ],
)
def test_bad_construction_is_rejected(kwargs, message):
    arguments = {"layer_sizes": [3, 4, 2], **kwargs}
    with pytest.raises(ValueError, match=message):
        NeuralNetwork(**arguments)


def test_bad_data_is_rejected():
    net = NeuralNetwork([3, 4, 2], seed=0)
    with pytest.raises(ValueError, match=r"backward\(\).*call forward"):
        net.backward(np.zeros((5, 2)))
    with pytest.raises(ValueError, match=r"X must have shape \(batch, 3\), got \(5, 4\)"):
        net.forward(np.zeros((5, 4)))
    with pytest.raises(ValueError, match=r"X must have shape \(batch, 3\), got \(3,\)"):
        net.forward(np.zeros(3))
    net.forward(np.zeros((5, 3)))
    with pytest.raises(ValueError, match=r"y must have shape \(5, 2\).*got \(4, 2\)"):
        net.backward(np.zeros((4, 2)))
    with pytest.raises(ValueError, match=r"y must have shape \(5, 2\).*got \(5,\)"):
        net.backward(np.zeros(5))
    with pytest.raises(ValueError, match=r"y must have shape \(6, 2\)"):
        net.train(np.zeros((6, 3)), np.zeros((5, 2)), epochs=1)
    with pytest.raises(ValueError, match="batch_size"):
        net.train(np.zeros((6, 3)), np.zeros((6, 2)), epochs=1, batch_size=0)
    with pytest.raises(ValueError, match="expected 2 weight and bias gradients"):
        net.update(net.weights[:1], net.biases)


def test_bad_class_labels_are_rejected():
    net = NeuralNetwork([3, 4, 2], output="softmax", loss="cross_entropy", seed=0)
    X = np.zeros((3, 3))
    with pytest.raises(ValueError, match=r"class labels must lie in \[0, 1\]"):
        net.loss(X, np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="integer"):
        net.loss(X, np.array([0.0, 1.0, 1.0]))
    with pytest.raises(ValueError, match="one-hot"):
        net.loss(X, np.full((3, 2), 0.9))


def test_mse_refuses_silent_broadcasting():
    with pytest.raises(ValueError, match=r"mse: y must have the output's shape \(4, 1\)"):
        LOSSES["mse"].fn(np.zeros((4, 1)), np.zeros(4))


# --- ARCHITECTURE invariant 7 ------------------------------------------------------------


def test_scratch_imports_numpy_and_the_standard_library_only():
    allowed = {"numpy", "math", "copy", "operator", "collections", "dataclasses", "__future__"}
    for path in pathlib.Path(scratch.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                roots = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                if node.level:  # relative: must stay inside chainrule.scratch
                    assert node.level == 1, f"{path.name} imports outside scratch/"
                    continue
                roots = {node.module.split(".")[0]}
            else:
                continue
            assert roots <= allowed, f"{path.name} imports {roots - allowed}"
