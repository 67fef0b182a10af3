"""SGD: stochastic gradient descent with optional momentum, Nesterov and weight decay."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..tensor import Tensor
from .optimizer import (
    Optimizer,
    ParamsT,
    check_kernel_options,
    check_nonnegative,
    check_number,
    floats,
)


class SGD(Optimizer):
    r"""Stochastic gradient descent (optionally with momentum), as ``torch.optim.SGD``.

    ``opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)``

    ::

        input: γ (lr), θ₀ (params), f(θ) (objective), λ (weight decay),
               μ (momentum), τ (dampening), nesterov, maximize
        for t = 1, 2, ...
            g_t ← ∇θ f_t(θ_{t-1})
            if maximize:  g_t ← -g_t
            if λ ≠ 0:     g_t ← g_t + λ θ_{t-1}
            if μ ≠ 0:
                if t > 1: b_t ← μ b_{t-1} + (1 - τ) g_t
                else:     b_t ← g_t
                if nesterov: g_t ← g_t + μ b_t
                else:        g_t ← b_t
            θ_t ← θ_{t-1} - γ g_t

    State per parameter: ``momentum_buffer`` (only when ``momentum != 0``).
    """

    _updates_arrays_only = True

    def __init__(self, params: ParamsT, lr: float = 1e-3, momentum: float = 0,
                 dampening: float = 0, weight_decay: float = 0, nesterov: bool = False, *,
                 maximize: bool = False, foreach: bool | None = None,
                 differentiable: bool = False, fused: bool | None = None) -> None:
        check_kernel_options("SGD", differentiable, foreach=foreach, fused=fused)
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, maximize=maximize)
        super().__init__(params, defaults)

    def _check_options(self, options: dict[str, Any]) -> None:
        check_nonnegative(options, "lr", "learning rate")
        check_nonnegative(options, "momentum", "momentum value")
        check_nonnegative(options, "weight_decay", "weight_decay value")
        check_number("dampening", options["dampening"])
        if options["nesterov"] and (options["momentum"] <= 0 or options["dampening"] != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")

    def _update_group(self, group: dict[str, Any], params: list[Tensor],
                      grads: list[np.ndarray]) -> None:
        lr, momentum, dampening, weight_decay = floats(group, "lr", "momentum", "dampening",
                                                       "weight_decay")
        nesterov, maximize = group["nesterov"], group["maximize"]
        for p, g in zip(params, grads, strict=True):
            x = p._data
            if maximize:
                g = -g
            if weight_decay != 0:
                g = g + weight_decay * x
            if momentum != 0:
                state = self.state[p]
                buf = state.get("momentum_buffer")
                if buf is None:
                    # the first buffer is the gradient itself (a copy: g may be the user's array)
                    buf = state["momentum_buffer"] = Tensor._make(np.array(g, copy=True))
                else:
                    b = buf._data
                    b *= momentum
                    b += (1 - dampening) * g
                g = g + momentum * buf._data if nesterov else buf._data
            x -= lr * g
