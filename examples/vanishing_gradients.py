"""Vanishing gradients: why deep sigmoid networks train slowly and ReLU networks do not.

Run: ``python examples/vanishing_gradients.py``. Backprop multiplies one local derivative per
layer; sigmoid's is at most 1/4, so the gradient shrinks geometrically on its way to the first
layers. The table shows each layer's weight-gradient norm for a 12-layer network.
"""

import numpy as np

import chainrule as cr

DEPTH, WIDTH, BATCH = 12, 32, 64


def layer_grad_norms(activation, gain: float, seed: int = 0) -> list[float]:
    """|dL/dW| of each layer of a DEPTH-layer MLP, for one random batch; weights drawn with
    variance gain^2 / WIDTH (gain 1 is Xavier-like for sigmoid, sqrt 2 is He for relu)."""
    rng = np.random.default_rng(seed)
    x = cr.tensor(rng.standard_normal((BATCH, WIDTH)))
    weights = [cr.tensor(rng.standard_normal((WIDTH, WIDTH)) * (gain / np.sqrt(WIDTH)),
                         requires_grad=True) for _ in range(DEPTH)]
    h = x
    for W in weights:
        h = activation(h @ W)
    loss = (h ** 2).mean()
    loss.backward()
    return [float(np.linalg.norm(W.grad.numpy())) for W in weights]


if __name__ == "__main__":
    sig = layer_grad_norms(cr.sigmoid, gain=1.0)
    relu = layer_grad_norms(cr.relu, gain=np.sqrt(2.0))
    print(f"{'layer':>5}  {'sigmoid |dL/dW|':>16}  {'relu |dL/dW|':>13}")
    for i, (s, r) in enumerate(zip(sig, relu), start=1):
        print(f"{i:>5}  {s:>16.3e}  {r:>13.3e}")
    print(f"\nfirst/last layer ratio: sigmoid {sig[0] / sig[-1]:.1e}, "
          f"relu {relu[0] / relu[-1]:.1e}")
    print("sigmoid'(z) <= 0.25, so each layer scales the gradient down; relu'(z) is 0 or 1.")
