"""RMSprop: scale each step by a running average of squared gradients."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..tensor import Tensor
from .optimizer import (
    Optimizer,
    ParamsT,
    check_kernel_options,
    check_nonnegative,
    floats,
    increment,
    lerp_,
    step_tensor,
    zeros_state,
)


class RMSprop(Optimizer):
    r"""RMSprop (Hinton's lecture 6e; centered form from Graves, 2013), as ``torch.optim.RMSprop``.

    ``opt = optim.RMSprop(model.parameters(), lr=1e-2, alpha=0.99)``

    ::

        input: γ (lr), α (alpha), θ₀ (params), f(θ) (objective), ε (eps), λ (weight decay),
               μ (momentum), centered, maximize
        initialize: v₀ ← 0 (square average), b₀ ← 0 (buffer), g₀_ave ← 0
        for t = 1, 2, ...
            g_t ← ∇θ f_t(θ_{t-1})            (-∇θ f_t(θ_{t-1}) if maximize)
            if λ ≠ 0: g_t ← g_t + λ θ_{t-1}
            v_t ← α v_{t-1} + (1 - α) g_t²
            ṽ_t ← v_t
            if centered:
                g_t_ave ← α g_{t-1}_ave + (1 - α) g_t
                ṽ_t ← v_t - (g_t_ave)²
            if μ > 0:
                b_t ← μ b_{t-1} + g_t / (√ṽ_t + ε)
                θ_t ← θ_{t-1} - γ b_t
            else:
                θ_t ← θ_{t-1} - γ g_t / (√ṽ_t + ε)

    State per parameter: ``step``, ``square_avg``, ``momentum_buffer`` (``momentum > 0``) and
    ``grad_avg`` (``centered``).
    """

    def __init__(self, params: ParamsT, lr: float = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0, momentum: float = 0,
                 centered: bool = False, capturable: bool = False, foreach: bool | None = None,
                 maximize: bool = False, differentiable: bool = False) -> None:
        check_kernel_options("RMSprop", differentiable, foreach=foreach, capturable=capturable)
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _check_options(self, options: dict[str, Any]) -> None:
        check_nonnegative(options, "lr", "learning rate")
        check_nonnegative(options, "eps", "epsilon value")
        check_nonnegative(options, "momentum", "momentum value")
        check_nonnegative(options, "weight_decay", "weight_decay value")
        check_nonnegative(options, "alpha", "alpha value")

    def _update_group(self, group: dict[str, Any], params: list[Tensor],
                      grads: list[np.ndarray]) -> None:
        lr, alpha, eps, weight_decay, momentum = floats(group, "lr", "alpha", "eps",
                                                        "weight_decay", "momentum")
        centered, maximize = group["centered"], group["maximize"]
        for p, g in zip(params, grads, strict=True):
            x = p._data
            state = self.state[p]
            if not state:
                state["step"] = step_tensor()
                state["square_avg"] = zeros_state(p)
            # buffers an option needs, also when the option was switched on after some steps
            if momentum > 0 and "momentum_buffer" not in state:
                state["momentum_buffer"] = zeros_state(p)
            if centered and "grad_avg" not in state:
                state["grad_avg"] = zeros_state(p)
            increment(state["step"])
            if maximize:
                g = -g
            if weight_decay != 0:
                g = g + weight_decay * x
            square_avg = state["square_avg"]._data
            square_avg *= alpha
            square_avg += (1 - alpha) * g * g
            if centered:
                grad_avg = state["grad_avg"]._data
                lerp_(grad_avg, g, 1 - alpha)
                avg = np.sqrt(square_avg - grad_avg * grad_avg)
            else:
                avg = np.sqrt(square_avg)
            avg += eps
            if momentum > 0:
                buf = state["momentum_buffer"]._data
                buf *= momentum
                buf += g / avg
                x -= lr * buf
            else:
                update = g / avg
                update *= -lr
                x += update
