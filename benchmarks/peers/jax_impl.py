"""JAX on the CPU: eager (op-by-op dispatch, no jit) and jax.jit of the whole step."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

jax.config.update("jax_platforms", "cpu")


def version() -> str:
    return jax.__version__


def _forward(params, h):
    for i, (w, b) in enumerate(params):
        h = h @ w.T + b
        if i < len(params) - 1:
            h = jax.nn.relu(h)
    return h


def _update(params, grads, lr):
    return [(w - lr * gw, b - lr * gb) for (w, b), (gw, gb) in zip(params, grads, strict=True)]


def _stepper(loss_fn, weights, lr, jit):
    params = [(jnp.asarray(w), jnp.asarray(b)) for w, b in weights]

    def train_step(ps):
        loss, grads = jax.value_and_grad(loss_fn)(ps)
        return loss, _update(ps, grads, lr)

    fn = jax.jit(train_step) if jit else train_step

    def step() -> float:
        nonlocal params
        loss, params = fn(params)
        return float(loss)  # blocks until the step has run

    return step


def mlp_step(weights, x, labels, lr, jit=False):
    xj, yj = jnp.asarray(x), jnp.asarray(labels)

    def loss_fn(ps):
        logp = jax.nn.log_softmax(_forward(ps, xj), axis=1)
        return -jnp.mean(jnp.take_along_axis(logp, yj[:, None], axis=1))

    return _stepper(loss_fn, weights, lr, jit)


def tiny_step(weights, x, targets, lr, jit=False):
    xj, tj = jnp.asarray(x), jnp.asarray(targets)

    def loss_fn(ps):
        diff = _forward(ps, xj) - tj
        return jnp.mean(diff * diff)

    return _stepper(loss_fn, weights, lr, jit)


def op_chain(n_ops, size, jit=False):
    x = jnp.asarray(np.linspace(-1, 1, size, dtype=np.float32))
    w = jnp.full((size,), 1.0001, dtype=jnp.float32)

    def chain(x, w):
        h = x
        for i in range(n_ops):
            h = h * w if i % 2 == 0 else jnp.tanh(h)
        return jnp.sum(h)

    g = jax.grad(chain, argnums=(0, 1))
    if jit:
        g = jax.jit(g)

    def step() -> float:
        gx, gw = g(x, w)
        return float(gx[0] + gw[0])

    return step
