"""Hand-written NumPy with explicit matrix formulas: the floor every framework is measured against.

Forward ``Z = A_prev W^T + b``; backward ``dW = dZ^T A_prev``, ``db = sum(dZ)``,
``dA_prev = dZ W``; cross-entropy from logits with ``dZ = (softmax - onehot) / B``.
"""

from __future__ import annotations

import numpy as np


def version() -> str:
    return np.__version__


def mlp_step(weights, x, labels, lr):
    params = [(w.copy(), b.copy()) for w, b in weights]
    batch = x.shape[0]
    rows = np.arange(batch)

    def step() -> float:
        acts = [x]
        h = x
        for i, (w, b) in enumerate(params):
            h = h @ w.T
            h += b
            if i < len(params) - 1:
                np.maximum(h, 0, out=h)
            acts.append(h)
        logits = acts[-1]
        shifted = logits - logits.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        sum_exp = exp.sum(axis=1, keepdims=True)
        loss = float(np.log(sum_exp[:, 0]).mean() - shifted[rows, labels].mean())
        dz = exp / sum_exp
        dz[rows, labels] -= 1
        dz /= batch
        for i in range(len(params) - 1, -1, -1):
            w, b = params[i]
            a_prev = acts[i]
            dw = dz.T @ a_prev
            db = dz.sum(axis=0)
            if i > 0:
                dz = dz @ w
                dz *= a_prev > 0  # ReLU': a_prev is the ReLU output
            w -= lr * dw
            b -= lr * db
        return loss

    return step


def tiny_step(weights, x, targets, lr):
    params = [(w.copy(), b.copy()) for w, b in weights]

    def step() -> float:
        acts = [x]
        h = x
        for i, (w, b) in enumerate(params):
            h = h @ w.T + b
            if i < len(params) - 1:
                h = np.maximum(h, 0)
            acts.append(h)
        diff = acts[-1] - targets
        loss = float((diff * diff).mean())
        dz = diff * (2.0 / diff.size)
        for i in range(len(params) - 1, -1, -1):
            w, b = params[i]
            a_prev = acts[i]
            dw = dz.T @ a_prev
            db = dz.sum(axis=0)
            if i > 0:
                dz = (dz @ w) * (a_prev > 0)
            w -= lr * dw
            b -= lr * db
        return loss

    return step
