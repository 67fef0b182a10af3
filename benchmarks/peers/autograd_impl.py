"""HIPS autograd: a loss written with autograd.numpy, differentiated by ``grad``."""

from __future__ import annotations

import autograd.numpy as anp
import numpy as np
from autograd.scipy.special import logsumexp

from autograd import grad, value_and_grad


def version() -> str:
    from importlib.metadata import version as dist_version

    return dist_version("autograd")


def _forward(params, h):
    for i, (w, b) in enumerate(params):
        h = anp.dot(h, w.T) + b
        if i < len(params) - 1:
            h = anp.maximum(h, 0)
    return h


def mlp_step(weights, x, labels, lr):
    params = [(w.copy(), b.copy()) for w, b in weights]
    onehot = np.eye(weights[-1][0].shape[0], dtype=np.float32)[labels]

    def loss_fn(ps):
        logits = _forward(ps, x)
        logp = logits - logsumexp(logits, axis=1, keepdims=True)
        return -anp.sum(logp * onehot) / x.shape[0]

    loss_and_grad = value_and_grad(loss_fn)

    def step() -> float:
        nonlocal params
        loss, grads = loss_and_grad(params)
        params = [(w - lr * gw, b - lr * gb) for (w, b), (gw, gb) in zip(params, grads,
                                                                           strict=True)]
        return float(loss)

    return step


def tiny_step(weights, x, targets, lr):
    params = [(w.copy(), b.copy()) for w, b in weights]

    def loss_fn(ps):
        diff = _forward(ps, x) - targets
        return anp.mean(diff * diff)

    loss_and_grad = value_and_grad(loss_fn)

    def step() -> float:
        nonlocal params
        loss, grads = loss_and_grad(params)
        params = [(w - lr * gw, b - lr * gb) for (w, b), (gw, gb) in zip(params, grads,
                                                                           strict=True)]
        return float(loss)

    return step


def op_chain(n_ops, size):
    x = np.linspace(-1, 1, size, dtype=np.float32)
    w = np.full(size, 1.0001, dtype=np.float32)

    def chain(leaves):
        h, w = leaves
        for i in range(n_ops):
            h = h * w if i % 2 == 0 else anp.tanh(h)
        return anp.sum(h)

    chain_grad = grad(chain)  # one backward for both leaves, passed as a tuple

    def step() -> float:
        gx, gw = chain_grad((x, w))
        return float(gx[0] + gw[0])

    return step
