"""A floor for pure-Python autograd: the smallest generic tape engine (Tensors with a node, a
backward closure per op, a depth-first order, a dict of gradients) running the same MLP steps.
None of what chainrule's API keeps (version counters, hooks, grad mode, anomaly mode, errors,
higher derivatives): what is left is the Python work any tape over NumPy has to do per step.
``python benchmarks/mlp_step.py`` prints it beside chainrule and hand-written NumPy.
"""

from __future__ import annotations

import numpy as np


def version() -> str:
    return "floor"


class _Value:
    __slots__ = ("data", "grad", "inputs", "back")

    def __init__(self, data, inputs=(), back=None):
        self.data, self.grad, self.inputs, self.back = data, None, inputs, back


def _linear(x, w, b):
    xd, wd = x.data, w.data
    out = xd @ wd.T
    out += b.data

    def back(g):
        gx = g @ wd if x.back is not None else None
        return gx, g.T @ xd, np.ones(g.shape[0], g.dtype) @ g

    return _Value(out, (x, w, b), back)


def _relu(x):
    out = np.maximum(x.data, 0)
    return _Value(out, (x,), lambda g: (g * (out > 0),))


def _mse(x, target):
    diff = x.data - target
    return _Value(np.mean(diff * diff), (x,), lambda g: (diff * (g * 2.0 / diff.size),))


def _cross_entropy(x, labels):
    xd = x.data
    shifted = xd - xd.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    sum_exp = exp.sum(axis=1, keepdims=True)
    rows = np.arange(xd.shape[0])

    def back(g):
        dz = exp / sum_exp
        dz[rows, labels] -= 1
        dz *= g / xd.shape[0]
        return (dz,)

    loss = np.log(sum_exp[:, 0]).mean() - shifted[rows, labels].mean()
    return _Value(np.asarray(loss, xd.dtype), (x,), back)


def _backward(root) -> None:
    order, seen, stack = [], set(), [root]
    while stack:  # depth-first from the root: every node before its inputs on a chain
        v = stack.pop()
        if v.back is None or id(v) in seen:
            continue
        seen.add(id(v))
        order.append(v)
        stack.extend(v.inputs)
    grads = {id(root): np.ones((), root.data.dtype)}
    for v in order:
        for source, g in zip(v.inputs, v.back(grads.pop(id(v)))):
            if g is None:
                continue
            if source.back is None:
                source.grad = g if source.grad is None else source.grad + g
            else:
                key = id(source)
                grads[key] = g if key not in grads else grads[key] + g


def _step(weights, x, target, lr, loss_fn):
    layers = [(_Value(w.copy()), _Value(b.copy())) for w, b in weights]
    params = [p for pair in layers for p in pair]
    inputs = _Value(x)

    def step() -> float:
        for p in params:
            p.grad = None
        h = inputs
        for i, (w, b) in enumerate(layers):
            h = _linear(h, w, b)
            if i < len(layers) - 1:
                h = _relu(h)
        loss = loss_fn(h, target)
        _backward(loss)
        for p in params:
            p.data -= lr * p.grad
        return float(loss.data)

    return step


def mlp_step(weights, x, labels, lr):
    return _step(weights, x, labels, lr, _cross_entropy)


def tiny_step(weights, x, targets, lr):
    return _step(weights, x, targets, lr, _mse)
