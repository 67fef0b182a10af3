"""The classic backprop worked examples, each traced by ``cr.inspect.explain``.

Run: ``python examples/worked_examples.py``. Every number a textbook derives by hand is printed
by the explanation: forward values, local derivatives, and the products the chain rule sends.
"""

import numpy as np

import chainrule as cr
from chainrule.inspect.explain import explain, keep_values


def squared_error():
    """L = (w x - y)^2 with w = 2, x = 3, y = 10: forward 6, -4, 16; backward -8, x1, x3."""
    w, x, y = (cr.tensor(v, dtype=cr.float64, requires_grad=True) for v in (2.0, 3.0, 10.0))
    L = (w * x - y) ** 2
    e = explain(L, names={"w": w, "x": x, "y": y})
    print(e)
    print(f"\n=> dL/dw = {e.grads['w'].item():g}\n")
    return e


def tanh_neuron():
    """a = tanh(w x + b) with x = 1, w = -2, b = 3: a = 0.7616, da/dw = da/db = 1 - a^2."""
    x, w, b = (cr.tensor(v, dtype=cr.float64, requires_grad=True) for v in (1.0, -2.0, 3.0))
    z = w * x + b
    L = cr.tanh(z)
    e = explain(L, names={"x": x, "w": w, "b": b, "z": z})
    print(e)
    print(f"\n=> dL/dw = dL/db = 1 - tanh(z)^2 = {e.grads['w'].item():.4f}\n")
    return e


def two_two_one_network():
    """A 2-2-1 network, sigmoid hidden units, linear output, loss (y - y_hat)^2 / 2.

    The delta terms of the textbook derivation are the incoming gradients of explain's steps:
    delta_o = dL/dy_hat = -(y - y_hat), and delta_h = dL/dz_h = delta_o v sigma'(z_h).
    """
    f64 = cr.float64
    x = cr.tensor([[0.5, -1.0]], dtype=f64)
    W = cr.tensor([[0.1, -0.3], [0.2, 0.4]], dtype=f64, requires_grad=True)
    b = cr.tensor([0.0, 0.1], dtype=f64, requires_grad=True)
    v = cr.tensor([[0.7], [-0.5]], dtype=f64, requires_grad=True)
    c = cr.tensor([0.2], dtype=f64, requires_grad=True)
    y = cr.tensor([[1.0]], dtype=f64)
    with keep_values():  # so the explanation also shows the constants x and y
        z_h = x @ W + b
        h = cr.sigmoid(z_h)
        y_hat = h @ v + c
        L = 0.5 * ((y - y_hat) ** 2).sum()
    names = {"x": x, "W": W, "b": b, "v": v, "c": c, "y": y, "z_h": z_h, "h": h, "y_hat": y_hat}
    e = explain(L, names=names)
    print(e)
    delta_o = e.step("y_hat").grad
    delta_h = e.step("z_h").grad
    s = h.detach().numpy()
    by_hand_o = -(y.numpy() - y_hat.detach().numpy())
    by_hand_h = by_hand_o * v.detach().numpy().T * s * (1 - s)
    print(f"\ndelta_o = dL/dy_hat = {delta_o.item():.4f}   by hand -(y - y_hat) = "
          f"{by_hand_o.item():.4f}")
    print(f"delta_h = dL/dz_h = {np.round(delta_h, 4).tolist()}   by hand "
          f"delta_o v sigma'(z_h) = {np.round(by_hand_h, 4).tolist()}")
    return e


if __name__ == "__main__":
    print("=" * 72, "\n1. Squared error of a linear model\n")
    squared_error()
    print("=" * 72, "\n2. A tanh neuron\n")
    tanh_neuron()
    print("=" * 72, "\n3. A 2-2-1 network and its delta terms\n")
    two_two_one_network()
