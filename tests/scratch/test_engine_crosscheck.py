"""The textbook network's hand-written gradients equal the engine's on the same weights and data.

For every hidden activation and every output/loss pair, the same network is written with
chainrule Tensors (float64) and backpropagated by autograd; weights, biases, loss and all
gradients must agree with ``NeuralNetwork.backward`` to rtol 1e-10.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule.scratch import ACTIVATIONS, NeuralNetwork
from chainrule.scratch.activations import LEAKY_SLOPE

RTOL = 1e-10
PAIRS = [("linear", "mse"), ("sigmoid", "bce"), ("softmax", "cross_entropy"),
         ("sigmoid", "mse"), ("softmax", "mse")]

# The same functions, written with engine ops (so autograd derives their gradients itself).
ENGINE_HIDDEN = {
    "relu": cr.relu,
    "leaky_relu": lambda z: cr.where(z > 0, z, z * LEAKY_SLOPE),
    "sigmoid": cr.sigmoid,
    "tanh": cr.tanh,
    "swish": lambda z: z * cr.sigmoid(z),
    "gelu": lambda z: z * 0.5 * (1 + cr.erf(z / math.sqrt(2.0))),
}
ENGINE_OUTPUT = {
    "linear": lambda z: z,
    "sigmoid": cr.sigmoid,
    "softmax": lambda z: cr.softmax(z, dim=1),
}


def engine_loss(name: str, p, y):
    if name == "mse":
        return ((p - y) ** 2).mean()
    if name == "bce":
        return -(y * cr.log(p) + (1 - y) * cr.log(1 - p)).mean()
    return -(y * cr.log(p)).sum() / p.shape[0]  # cross-entropy of one-hot rows, batch mean


def make_data(n_in: int, n_out: int, loss: str, m: int = 7, seed: int = 3):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, n_in))
    if loss == "cross_entropy":
        y = np.eye(n_out)[rng.integers(0, n_out, size=m)]
    elif loss == "bce":
        y = rng.integers(0, 2, size=(m, n_out)).astype(np.float64)
    else:
        y = rng.uniform(0.0, 1.0, size=(m, n_out))
    return X, y


def engine_gradients(net: NeuralNetwork, X, y, activation: str, output: str, loss: str):
    """Loss and (grads_w, grads_b) of ``net``'s exact weights, by autograd."""
    Ws = [cr.tensor(w.copy(), requires_grad=True) for w in net.weights]
    bs = [cr.tensor(b.copy(), requires_grad=True) for b in net.biases]
    a = cr.tensor(X)
    for i, (W, b) in enumerate(zip(Ws, bs)):
        z = a @ W + b  # batch-first, W of shape (n_in, n_out), as the textbook network
        a = ENGINE_OUTPUT[output](z) if i == len(Ws) - 1 else ENGINE_HIDDEN[activation](z)
    L = engine_loss(loss, a, cr.tensor(y))
    L.backward()
    return L.item(), [W.grad.numpy() for W in Ws], [b.grad.numpy() for b in bs]


def test_engine_table_covers_every_activation():
    assert set(ENGINE_HIDDEN) == set(ACTIVATIONS)


@pytest.mark.parametrize("output,loss", PAIRS)
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_gradients_identical_to_engine(activation, output, loss):
    net = NeuralNetwork([3, 5, 4, 2], activation=activation, output=output, loss=loss,
                        seed=11)
    for b in net.biases:  # nonzero biases, so the bias gradients are exercised too
        b += np.linspace(-0.2, 0.3, b.size)
    X, y = make_data(3, 2, loss)
    out = net.forward(X)
    grads_w, grads_b = net.backward(y)
    L, engine_w, engine_b = engine_gradients(net, X, y, activation, output, loss)
    assert L == pytest.approx(net.loss_function.fn(out, y), rel=RTOL)
    for i, (gw, ew) in enumerate(zip(grads_w, engine_w)):
        np.testing.assert_allclose(gw, ew, rtol=RTOL, atol=1e-14, err_msg=f"dW[{i}]")
    for i, (gb, eb) in enumerate(zip(grads_b, engine_b)):
        np.testing.assert_allclose(gb, eb, rtol=RTOL, atol=1e-14, err_msg=f"db[{i}]")


def test_training_steps_identical_to_engine():
    """Ten full-batch steps of each: the weights stay equal (the update rule is shared)."""
    net = NeuralNetwork([2, 6, 1], learning_rate=0.05, activation="tanh", seed=0)
    X, y = make_data(2, 1, "mse", m=9)
    Ws = [cr.tensor(w.copy(), requires_grad=True) for w in net.weights]
    bs = [cr.tensor(b.copy(), requires_grad=True) for b in net.biases]
    for _ in range(10):
        net.forward(X)
        net.update(*net.backward(y))
        h = cr.tanh(cr.tensor(X) @ Ws[0] + bs[0])
        L = ((h @ Ws[1] + bs[1] - cr.tensor(y)) ** 2).mean()
        L.backward()
        with cr.no_grad():
            for p in Ws + bs:
                p -= 0.05 * p.grad
                p.grad = None
    for w, W in zip(net.weights + net.biases, Ws + bs):
        np.testing.assert_allclose(w, W.detach().numpy(), rtol=RTOL, atol=1e-14)
