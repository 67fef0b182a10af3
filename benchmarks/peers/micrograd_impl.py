"""micrograd: scalar Values, one graph node per multiply-add (tiny MLP only)."""

from __future__ import annotations

from micrograd.engine import Value
from micrograd.nn import MLP


def version() -> str:
    from importlib.metadata import version as dist_version

    return dist_version("micrograd")


def tiny_step(weights, x, targets, lr):
    sizes = [weights[0][0].shape[1]] + [w.shape[0] for w, _ in weights]
    model = MLP(sizes[0], sizes[1:])  # ReLU on hidden layers, linear output: same network
    for layer, (w, b) in zip(model.layers, weights, strict=True):
        for j, neuron in enumerate(layer.neurons):
            for k, value in enumerate(neuron.w):
                value.data = float(w[j, k])
            neuron.b.data = float(b[j])
    rows = [[float(v) for v in row] for row in x]
    ys = [float(t[0]) for t in targets]

    def step() -> float:
        total = Value(0.0)
        for row, y in zip(rows, ys, strict=True):
            diff = model(row) - y
            total = total + diff * diff
        loss = total * (1.0 / len(rows))
        model.zero_grad()
        loss.backward()
        for p in model.parameters():
            p.data -= lr * p.grad
        return loss.data

    return step
