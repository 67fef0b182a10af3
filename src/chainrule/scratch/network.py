"""NeuralNetwork: a fully connected network trained by backpropagation written out by hand.

Plain NumPy in batch-first matrix form, one line per textbook equation; no autograd engine.
"""

from __future__ import annotations

import copy
import operator
from collections.abc import Sequence

import numpy as np

from .activations import ACTIVATIONS, OUTPUT_ACTIVATIONS
from .losses import LOSSES, one_hot

Array = np.ndarray

INITS = ("he", "xavier")

# (output, loss) pairs whose output-layer gradient collapses to dZ = (A - Y) / m: the loss
# derivative's denominator cancels the activation's derivative (see NeuralNetwork.backward).
SIMPLIFIED_PAIRS = frozenset({("sigmoid", "bce"), ("softmax", "cross_entropy")})

# Denominator floor of gradient_check's relative error, so that an exact 0 vs 0 counts as 0.
_TINY = 1e-12


def _lookup(table: dict, name: str, what: str):
    if name not in table:
        raise ValueError(f"unknown {what} {name!r}; expected one of: {', '.join(sorted(table))}")
    return table[name]


class NeuralNetwork:
    """A fully connected network with hand-written forward and backward passes.

        net = NeuralNetwork([2, 8, 1], activation="tanh", output="sigmoid", loss="bce", seed=0)
        losses = net.train(X, y, epochs=2000)

    Layer i (0-based) maps ``activations[i]`` to ``activations[i + 1]``; a batch of m
    examples is a matrix of m rows, so every equation below handles the whole batch at once.

    Forward::

        A[0] = X                                    (m, n_0)
        Z[i] = A[i] @ W[i] + b[i]                   W[i]: (n_i, n_{i+1}),  b[i]: (n_{i+1},)
        A[i + 1] = f(Z[i]) for hidden layers,  A[L] = g(Z[L - 1]) at the output

    Backward (dX means dLoss/dX)::

        dZ[L - 1] = g'(Z[L - 1])^T dA[L]            dA[L] = dLoss/dA[L] from the loss
        dW[i] = A[i]^T @ dZ[i]                      (n_i, n_{i+1})
        db[i] = sum of dZ[i] over the batch rows    (n_{i+1},)
        dA[i] = dZ[i] @ W[i]^T                      (m, n_i)
        dZ[i - 1] = dA[i] * f'(Z[i - 1])            f acts elementwise

    Update: ``W[i] -= learning_rate * dW[i]`` and ``b[i] -= learning_rate * db[i]``.

    Attributes: ``weights`` and ``biases`` (lists, one entry per layer); after ``forward``,
    ``zs`` (Z[i]) and ``activations`` (A[0] = X .. A[L]); after ``backward``, ``deltas``
    (dZ[i]).
    """

    def __init__(
        self,
        layer_sizes: Sequence[int],
        learning_rate: float = 0.1,
        activation: str = "relu",
        output: str = "linear",
        loss: str = "mse",
        init: str = "he",
        seed: int | None = None,
        dtype: np.dtype | type = np.float64,
    ) -> None:
        self.layer_sizes = self._check_layer_sizes(layer_sizes)
        if not np.isfinite(learning_rate) or learning_rate < 0:
            raise ValueError(f"learning_rate must be a finite number >= 0, got {learning_rate}")
        self.learning_rate = float(learning_rate)
        self.hidden_activation = _lookup(ACTIVATIONS, activation, "activation")
        self.output_activation = _lookup(OUTPUT_ACTIVATIONS, output, "output activation")
        self.loss_function = _lookup(LOSSES, loss, "loss")
        if output == "linear" and loss in ("bce", "cross_entropy"):
            # A log of an unbounded output is meaningless: these losses need probabilities.
            raise ValueError(
                f"loss {loss!r} needs probabilities: use output='sigmoid' or 'softmax', "
                "not 'linear'"
            )
        if init not in INITS:
            raise ValueError(f"unknown init {init!r}; expected one of: {', '.join(INITS)}")
        self.init = init
        self.dtype = np.dtype(dtype)
        if not np.issubdtype(self.dtype, np.floating):
            raise ValueError(f"dtype must be a floating-point type, got {self.dtype}")
        self.rng = np.random.default_rng(seed)

        self.weights: list[Array] = []
        self.biases: list[Array] = []
        for n_in, n_out in zip(self.layer_sizes[:-1], self.layer_sizes[1:], strict=True):
            # He keeps the variance of ReLU activations constant across layers (2 / n_in);
            # Glorot/Xavier balances forward and backward variance (2 / (n_in + n_out)).
            std = np.sqrt(2.0 / n_in) if init == "he" else np.sqrt(2.0 / (n_in + n_out))
            w = self.rng.standard_normal((n_in, n_out)) * std
            self.weights.append(w.astype(self.dtype))
            self.biases.append(np.zeros(n_out, dtype=self.dtype))

        self.zs: list[Array] = []
        self.activations: list[Array] = []
        self.deltas: list[Array] = []

    def __repr__(self) -> str:
        return (
            f"NeuralNetwork({list(self.layer_sizes)}, learning_rate={self.learning_rate}, "
            f"activation={self.hidden_activation.name!r}, "
            f"output={self.output_activation.name!r}, loss={self.loss_function.name!r})"
        )

    # --- validation -------------------------------------------------------------------------

    @staticmethod
    def _check_layer_sizes(layer_sizes: Sequence[int]) -> tuple[int, ...]:
        message = (
            "layer_sizes must be a sequence of at least two positive integers "
            f"(inputs, ..., outputs), got {layer_sizes!r}"
        )
        if isinstance(layer_sizes, (str, bytes)) or not isinstance(layer_sizes, Sequence):
            raise ValueError(message)
        try:
            sizes = tuple(operator.index(n) for n in layer_sizes)
        except TypeError:
            raise ValueError(message) from None
        if len(sizes) < 2 or any(n < 1 for n in sizes):
            raise ValueError(message)
        return sizes

    def _check_inputs(self, X: Array) -> Array:
        X = np.asarray(X)
        n_in = self.layer_sizes[0]
        if X.ndim != 2 or X.shape[1] != n_in:
            raise ValueError(f"X must have shape (batch, {n_in}), got {X.shape}")
        return X.astype(self.dtype, copy=False)

    def _check_targets(self, y: Array, batch: int) -> Array:
        """Return y as a (batch, n_out) float array; see ``backward`` for the accepted forms."""
        y = np.asarray(y)
        n_out = self.layer_sizes[-1]
        if self.loss_function.name == "cross_entropy" and y.ndim == 1:
            y = one_hot(y, n_out)  # integer class labels
        elif y.ndim == 1 and n_out == 1:
            y = y.reshape(-1, 1)  # one target per example
        if y.shape != (batch, n_out):
            raise ValueError(
                f"y must have shape ({batch}, {n_out}) to match the output for a batch of "
                f"{batch}, got {y.shape}"
            )
        y = y.astype(self.dtype, copy=False)
        pair = (self.output_activation.name, self.loss_function.name)
        if pair == ("softmax", "cross_entropy") and not np.allclose(y.sum(axis=1), 1.0):
            # backward's (A - Y) / m holds only for target rows that are distributions.
            raise ValueError("cross_entropy targets must be one-hot rows (each row sums to 1)")
        return y

    # --- the algorithm ----------------------------------------------------------------------

    def _propagate(self, X: Array) -> tuple[list[Array], list[Array]]:
        """The forward equations; returns (zs, activations) without touching the cache."""
        zs, activations = [], [X]
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            z = activations[-1] @ w + b  # Z[i] = A[i] @ W[i] + b[i]
            f = self.output_activation if i == last else self.hidden_activation
            zs.append(z)
            activations.append(f.fn(z))
        return zs, activations

    def forward(self, X: Array) -> Array:
        """Run the forward pass on a batch X of shape (m, n_0) and return the output A[L].

        Caches every Z[i] in ``zs`` and A[i] in ``activations`` for ``backward``.
        """
        self.zs, self.activations = self._propagate(self._check_inputs(X))
        self.deltas = []
        return self.activations[-1]

    def backward(self, y: Array) -> tuple[list[Array], list[Array]]:
        """Backpropagate the loss of the last ``forward`` against targets y.

        y has the output's shape (m, n_out); also accepted: shape (m,) when n_out == 1, and
        integer class labels of shape (m,) for cross_entropy. Returns ``(grads_w, grads_b)``,
        lists shaped like ``weights`` and ``biases``.

        Output layer: dZ = g'(Z)^T dA with dA = dLoss/dA[L] (for softmax, J^T dA with the
        softmax Jacobian). Two pairs simplify, and are computed in the simplified form:

        * sigmoid + bce: dA = (A - Y) / (N A (1 - A)) and g' = A (1 - A), so dZ = (A - Y) / N;
        * softmax + cross_entropy: dA = -Y / (m A), and each row of Y sums to 1, so
          dZ = A * (dA - sum_k dA_k A_k) = (A - Y) / m.

        (N = m for bce with one output; with several sigmoid outputs N = m * n_out.)
        """
        if not self.activations:
            raise ValueError("backward() needs the cached activations: call forward(X) first")
        out, z_out = self.activations[-1], self.zs[-1]
        Y = self._check_targets(y, out.shape[0])

        pair = (self.output_activation.name, self.loss_function.name)
        if pair in SIMPLIFIED_PAIRS:
            # (A - Y) / N for bce (N = Y.size), (A - Y) / m for cross_entropy (m = batch).
            n = Y.size if pair[1] == "bce" else Y.shape[0]
            dz = (out - Y) / n
        else:
            da = self.loss_function.grad(out, Y)  # dLoss/dA[L]
            dz = self.output_activation.vjp(z_out, out, da)  # chain through g

        grads_w, grads_b, deltas = [], [], []  # filled from the last layer back, then reversed
        for i in reversed(range(len(self.weights))):
            deltas.append(dz)
            grads_w.append(self.activations[i].T @ dz)  # dW[i] = A[i]^T @ dZ[i]
            grads_b.append(dz.sum(axis=0))  # db[i] = sum over the batch of dZ[i]
            if i > 0:
                da = dz @ self.weights[i].T  # dA[i] = dZ[i] @ W[i]^T
                dz = da * self.hidden_activation.derivative(self.zs[i - 1])  # dZ[i-1]
        self.deltas = deltas[::-1]
        return grads_w[::-1], grads_b[::-1]

    def update(self, grads_w: Sequence[Array], grads_b: Sequence[Array]) -> None:
        """Plain gradient descent: W[i] -= learning_rate * dW[i], b[i] -= learning_rate * db[i]."""
        if len(grads_w) != len(self.weights) or len(grads_b) != len(self.biases):
            raise ValueError(
                f"expected {len(self.weights)} weight and bias gradients, "
                f"got {len(grads_w)} and {len(grads_b)}"
            )
        for params, grads in ((self.weights, grads_w), (self.biases, grads_b)):
            for i, (p, g) in enumerate(zip(params, grads, strict=True)):
                if np.shape(g) != p.shape:
                    raise ValueError(
                        f"gradient {i} must have its parameter's shape {p.shape}, got {np.shape(g)}"
                    )
                p -= self.learning_rate * np.asarray(g, dtype=p.dtype)

    # --- conveniences -----------------------------------------------------------------------

    def predict(self, X: Array) -> Array:
        """The output A[L] for X (probabilities for sigmoid/softmax); leaves the cache alone."""
        return self._propagate(self._check_inputs(X))[1][-1]

    def loss(self, X: Array, y: Array) -> float:
        """The loss of the network on (X, y), without touching the cache."""
        X = self._check_inputs(X)
        return self.loss_function.fn(self.predict(X), self._check_targets(y, X.shape[0]))

    def train(
        self,
        X: Array,
        y: Array,
        epochs: int,
        batch_size: int | None = None,
        verbose: bool = False,
        shuffle: bool = True,
    ) -> list[float]:
        """Mini-batch gradient descent; returns the loss of each epoch.

            losses = net.train(X, y, epochs=100, batch_size=32)

        Each step is forward, backward, update on one batch (the whole set when batch_size
        is None). An epoch's loss is the mean of its batch losses, each measured before its
        update, weighted by batch size. With shuffle, examples are visited in a new random
        order (from the network's seeded generator) every epoch.
        """
        X = self._check_inputs(X)
        Y = self._check_targets(y, X.shape[0])
        m = X.shape[0]
        if operator.index(epochs) < 0:
            raise ValueError(f"epochs must be a non-negative integer, got {epochs}")
        if batch_size is None:
            batch_size = m
        if operator.index(batch_size) < 1:
            raise ValueError(f"batch_size must be a positive integer or None, got {batch_size}")

        losses: list[float] = []
        report_every = max(1, epochs // 10)
        for epoch in range(epochs):
            # One batch holding every example is the same in any order: no need to shuffle.
            order = self.rng.permutation(m) if shuffle and batch_size < m else np.arange(m)
            total = 0.0
            for start in range(0, m, batch_size):
                batch = order[start : start + batch_size]
                out = self.forward(X[batch])
                total += self.loss_function.fn(out, Y[batch]) * len(batch)
                self.update(*self.backward(Y[batch]))
            losses.append(total / m)
            if verbose and (epoch % report_every == 0 or epoch == epochs - 1):
                print(f"epoch {epoch + 1}/{epochs}  loss {losses[-1]:.6g}")
        return losses

    def gradient_check(self, X: Array, y: Array, eps: float = 1e-5) -> float:
        """The largest relative error between backprop and numerical gradients.

            assert net.gradient_check(X, y) < 1e-7

        For every weight and bias p, the two-sided difference
        numeric = (L(p + eps) - L(p - eps)) / (2 eps) is compared with the analytic gradient:
        error = |analytic - numeric| / max(|analytic| + |numeric|, 1e-12). Everything runs in
        float64 on a copy of the parameters, each restored after it is perturbed, so the
        network itself is never modified.

        Rounding limits the numeric side: L is known to about one ulp (2e-16 |L|), so the
        difference resolves derivatives only to ~1e-11 |L| at eps = 1e-5, and a component
        much below 1e-4 |L| can show an error above 1e-7 even when backprop is exact.
        """
        # A shallow copy with float64 copies of the parameters: perturbing them, and the
        # forward cache the copy builds, cannot touch this network even if the check fails.
        net = copy.copy(self)
        net.dtype = np.dtype(np.float64)
        net.weights = [w.astype(np.float64) for w in self.weights]
        net.biases = [b.astype(np.float64) for b in self.biases]
        X = net._check_inputs(X)
        Y = net._check_targets(y, X.shape[0])

        net.forward(X)
        grads_w, grads_b = net.backward(Y)

        worst = 0.0
        params = net.weights + net.biases
        for p, grad in zip(params, grads_w + grads_b, strict=True):
            for idx in np.ndindex(p.shape):
                original = p[idx]
                p[idx] = original + eps
                loss_plus = net.loss_function.fn(net.predict(X), Y)
                p[idx] = original - eps
                loss_minus = net.loss_function.fn(net.predict(X), Y)
                p[idx] = original
                numeric = (loss_plus - loss_minus) / (2.0 * eps)
                analytic = float(grad[idx])
                error = abs(analytic - numeric) / max(abs(analytic) + abs(numeric), _TINY)
                worst = max(worst, error)
        return worst
