"""tinygrad (lazy tensors realized per step) on its CPU device."""

from __future__ import annotations

import numpy as np
from tinygrad import Tensor
from tinygrad.helpers import Context
from tinygrad.nn.optim import SGD


def version() -> str:
    from importlib.metadata import version as dist_version

    return dist_version("tinygrad")


def _params(weights):
    # tinygrad >= 0.11: every float tensor is a parameter; backward fills .grad for all of them
    return [(Tensor(w.copy()), Tensor(b.copy())) for w, b in weights]


def _forward(params, h):
    for i, (w, b) in enumerate(params):
        h = h.linear(w.T, b)
        if i < len(params) - 1:
            h = h.relu()
    return h


def _stepper(params, loss_fn, lr):
    opt = SGD([p for pair in params for p in pair], lr=lr)

    def step() -> float:
        with Context(TRAINING=1):
            opt.zero_grad()
            loss = loss_fn()
            loss.backward()
            # one realize for the loss and the update: realizing the loss after opt.step()
            # would compute it lazily from the already updated weights
            Tensor.realize(loss, *opt.schedule_step())
        return float(loss.item())

    return step


def mlp_step(weights, x, labels, lr):
    params = _params(weights)
    xt, yt = Tensor(x), Tensor(labels.astype(np.int32))
    return _stepper(params, lambda: _forward(params, xt).sparse_categorical_crossentropy(yt), lr)


def tiny_step(weights, x, targets, lr):
    params = _params(weights)
    xt, tt = Tensor(x), Tensor(targets)
    return _stepper(params, lambda: ((_forward(params, xt) - tt) ** 2).mean(), lr)


def op_chain(n_ops, size):
    import sys

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 20 * n_ops))  # its graph walks recurse
    x = Tensor(np.linspace(-1, 1, size, dtype=np.float32))
    w = Tensor(np.full(size, 1.0001, dtype=np.float32))

    def step() -> float:
        x.grad = w.grad = None
        h = x
        for i in range(n_ops):
            h = h * w if i % 2 == 0 else h.tanh()
        loss = h.sum()
        loss.backward()
        Tensor.realize(loss, x.grad, w.grad)
        return float(loss.item())

    return step
