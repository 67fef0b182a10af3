"""MyGrad: NumPy-backed tensors with a PyTorch-like backward."""

from __future__ import annotations

import mygrad as mg
import numpy as np
from mygrad.nnet.activations import relu
from mygrad.nnet.losses import softmax_crossentropy


def version() -> str:
    return mg.__version__


def _params(weights):
    return [(mg.tensor(w.T.copy()), mg.tensor(b.copy())) for w, b in weights]


def _forward(params, h):
    for i, (w, b) in enumerate(params):
        h = mg.matmul(h, w) + b
        if i < len(params) - 1:
            h = relu(h)
    return h


def _sgd(params, lr):
    for pair in params:
        for p in pair:
            p.data -= lr * p.grad  # .data is writable; MyGrad clears .grad on the next backward


def mlp_step(weights, x, labels, lr):
    params = _params(weights)

    def step() -> float:
        loss = softmax_crossentropy(_forward(params, x), labels)
        loss.backward()
        _sgd(params, lr)
        return float(loss.item())

    return step


def tiny_step(weights, x, targets, lr):
    params = _params(weights)

    def step() -> float:
        diff = _forward(params, x) - targets
        loss = mg.mean(diff * diff)
        loss.backward()
        _sgd(params, lr)
        return float(loss.item())

    return step


def op_chain(n_ops, size):
    x = mg.tensor(np.linspace(-1, 1, size, dtype=np.float32))
    w = mg.tensor(np.full(size, 1.0001, dtype=np.float32))

    def step() -> float:
        h = x
        for i in range(n_ops):
            h = h * w if i % 2 == 0 else mg.tanh(h)
        loss = mg.sum(h)
        loss.backward()
        return float(loss.item())

    return step
