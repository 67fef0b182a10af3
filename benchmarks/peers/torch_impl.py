"""PyTorch (CPU) as its users write it: nn.Linear, F.cross_entropy, optim.SGD."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def version() -> str:
    return torch.__version__


def set_threads(n: int) -> None:
    torch.set_num_threads(n)
    try:
        torch.set_num_interop_threads(n)
    except RuntimeError:
        pass  # only settable before the first parallel op


def _model(weights):
    layers = []
    for i, (w, b) in enumerate(weights):
        lin = torch.nn.Linear(w.shape[1], w.shape[0])
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(w))
            lin.bias.copy_(torch.from_numpy(b))
        layers.append(lin)
        if i < len(weights) - 1:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


def mlp_step(weights, x, labels, lr):
    model = _model(weights)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    xt, yt = torch.from_numpy(x), torch.from_numpy(labels)

    def step() -> float:
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(xt), yt)
        loss.backward()
        opt.step()
        return loss.item()

    return step


def tiny_step(weights, x, targets, lr):
    model = _model(weights)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    xt, tt = torch.from_numpy(x), torch.from_numpy(targets)

    def step() -> float:
        opt.zero_grad(set_to_none=True)
        loss = F.mse_loss(model(xt), tt)
        loss.backward()
        opt.step()
        return loss.item()

    return step


def _chain(x, w, n_ops):
    h = x
    for i in range(n_ops):
        h = h * w if i % 2 == 0 else h.tanh()
    return h.sum()


def op_chain(n_ops, size):
    x = torch.linspace(-1, 1, size, dtype=torch.float32).requires_grad_()
    w = torch.full((size,), 1.0001).requires_grad_()

    def step() -> float:
        x.grad = w.grad = None
        loss = _chain(x, w, n_ops)
        loss.backward()
        return loss.item()

    return step


def deep_chain(depth, size):
    """(forward, backward) of a ``depth``-op chain, timed separately."""
    x = torch.linspace(-1, 1, size, dtype=torch.float32).requires_grad_()
    w = torch.full((size,), 1.0001).requires_grad_()

    def forward():
        x.grad = w.grad = None
        return _chain(x, w, depth)

    def backward(loss):
        loss.backward()

    return forward, backward

