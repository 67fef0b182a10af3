"""XOR, the problem a single neuron cannot solve, learnt by a 2-4-1 network with autograd.

Run: ``python examples/xor.py``. The parameters are plain tensors and the update is written out
(w <- w - lr * dL/dw), so every piece of the training step is visible. Try ``train(seed=0)``:
that start lands in a local minimum where two of the four cases stay at 0.5.
"""

import numpy as np

import chainrule as cr

X = cr.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
Y = cr.tensor([[0.0], [1.0], [1.0], [0.0]])


def train(epochs: int = 2000, lr: float = 0.5, seed: int = 1) -> tuple[list[float], cr.Tensor]:
    rng = np.random.default_rng(seed)
    W1 = cr.tensor(rng.normal(0, 1, (2, 4)).astype(np.float32), requires_grad=True)
    b1 = cr.zeros(4, requires_grad=True)
    W2 = cr.tensor(rng.normal(0, 1, (4, 1)).astype(np.float32), requires_grad=True)
    b2 = cr.zeros(1, requires_grad=True)
    params = [W1, b1, W2, b2]
    losses = []
    for _ in range(epochs):
        p = cr.sigmoid(cr.tanh(X @ W1 + b1) @ W2 + b2)  # forward
        loss = -(Y * cr.log(p) + (1 - Y) * cr.log(1 - p)).mean()  # binary cross-entropy
        for w in params:
            w.grad = None
        loss.backward()  # backward: dL/dw for every parameter
        with cr.no_grad():  # the update is not part of the graph
            for w in params:
                w -= lr * w.grad
        losses.append(loss.item())
    with cr.no_grad():
        p = cr.sigmoid(cr.tanh(X @ W1 + b1) @ W2 + b2)
    return losses, p


if __name__ == "__main__":
    losses, p = train()
    print(f"loss: {losses[0]:.4f} at the start, {losses[-1]:.4f} after {len(losses)} epochs")
    for x, target, prob in zip(X.tolist(), Y.tolist(), p.tolist()):
        print(f"  x = {x}  target {target[0]:.0f}  predicted {prob[0]:.3f}")
    correct = ((p.numpy() > 0.5) == (Y.numpy() > 0.5)).all()
    print("all four cases right" if correct else "not solved yet: train longer")
