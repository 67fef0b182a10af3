"""LAMB: Adam's direction, rescaled per layer by a trust ratio ||w|| / ||update||."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..tensor import Tensor
from .optimizer import (
    Optimizer,
    ParamsT,
    check_betas,
    check_nonnegative,
    floats,
    increment,
    step_tensor,
    zeros_state,
)


class LAMB(Optimizer):
    r"""LAMB, Algorithm 2 of You et al., "Large Batch Optimization for Deep Learning: Training
    BERT in 76 minutes" (ICLR 2020, arXiv:1904.00962). PyTorch has no LAMB.

    ``opt = optim.LAMB(model.parameters(), lr=1e-3, weight_decay=1e-2)``

    ::

        input: η (lr), β₁, β₂ (betas), ε (eps), λ (weight decay), x₁ (params), maximize
        initialize: m₀ ← 0, v₀ ← 0
        for t = 1, 2, ...   (each parameter Tensor is one "layer")
            g_t ← ∇ℓ(x_t)                     (-∇ℓ(x_t) if maximize)
            m_t ← β₁ m_{t-1} + (1 - β₁) g_t
            v_t ← β₂ v_{t-1} + (1 - β₂) g_t²
            m̂_t ← m_t / (1 - β₁ᵗ)
            v̂_t ← v_t / (1 - β₂ᵗ)
            r_t ← m̂_t / (√v̂_t + ε)
            u_t ← r_t + λ x_t
            ρ_t ← φ(‖x_t‖) / ‖u_t‖   if ‖x_t‖ > 0 and ‖u_t‖ > 0,   else 1
            x_{t+1} ← x_t - η ρ_t u_t

    Choices where the paper leaves room: φ is the identity (no clipping of ‖x_t‖); the moments
    are bias-corrected as in Adam, as Algorithm 2 writes them; norms are Euclidean norms over
    the whole parameter Tensor; the trust ratio is 1 when either norm is 0 (a parameter still
    at zero, such as a fresh bias, then takes a plain Adam step). State per parameter:
    ``step``, ``exp_avg`` (m), ``exp_avg_sq`` (v).
    """

    def __init__(self, params: ParamsT, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-6,
                 weight_decay: float = 0, *, maximize: bool = False) -> None:
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        maximize=maximize)
        super().__init__(params, defaults)

    def _check_options(self, options: dict[str, Any]) -> None:
        check_nonnegative(options, "lr", "learning rate")
        check_nonnegative(options, "eps", "epsilon value")
        check_betas(options["betas"])
        check_nonnegative(options, "weight_decay", "weight_decay value")

    def _update_group(self, group: dict[str, Any], params: list[Tensor],
                      grads: list[np.ndarray]) -> None:
        lr, eps, weight_decay = floats(group, "lr", "eps", "weight_decay")
        beta1, beta2 = (float(b) for b in group["betas"])
        maximize = group["maximize"]
        for p, g in zip(params, grads, strict=True):
            x = p._data
            state = self.state[p]
            if not state:
                state["step"] = step_tensor()
                state["exp_avg"] = zeros_state(p)
                state["exp_avg_sq"] = zeros_state(p)
            step = increment(state["step"])
            if maximize:
                g = -g
            m, v = state["exp_avg"]._data, state["exp_avg_sq"]._data
            m *= beta1
            m += (1 - beta1) * g
            v *= beta2
            v += (1 - beta2) * g * g
            denom = np.sqrt(v / (1 - beta2 ** step))
            denom += eps
            update = m / (1 - beta1 ** step)
            update /= denom
            if weight_decay != 0:
                update += weight_decay * x
            w_norm = math.sqrt(float(np.vdot(x, x)))
            u_norm = math.sqrt(float(np.vdot(update, update)))
            trust_ratio = w_norm / u_norm if w_norm > 0 and u_norm > 0 else 1.0
            update *= -lr * trust_ratio
            x += update
