"""Adagrad: per-coordinate step sizes from the sum of all squared gradients so far."""

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
    step_tensor,
)


class Adagrad(Optimizer):
    r"""Adagrad (Duchi, Hazan & Singer, 2011), as ``torch.optim.Adagrad``.

    ``opt = optim.Adagrad(model.parameters(), lr=1e-2)``

    ::

        input: γ (lr), θ₀ (params), f(θ) (objective), λ (weight decay), τ (initial accumulator
               value), η (lr decay), ε (eps), maximize
        initialize: state_sum₀ ← τ
        for t = 1, 2, ...
            g_t ← ∇θ f_t(θ_{t-1})            (-∇θ f_t(θ_{t-1}) if maximize)
            γ̃ ← γ / (1 + (t - 1) η)
            if λ ≠ 0: g_t ← g_t + λ θ_{t-1}
            state_sum_t ← state_sum_{t-1} + g_t²
            θ_t ← θ_{t-1} - γ̃ g_t / (√state_sum_t + ε)

    State per parameter (created in ``__init__``, as PyTorch does): ``step`` and ``sum``.
    """

    def __init__(self, params: ParamsT, lr: float = 1e-2, lr_decay: float = 0,
                 weight_decay: float = 0, initial_accumulator_value: float = 0,
                 eps: float = 1e-10, foreach: bool | None = None, *, maximize: bool = False,
                 differentiable: bool = False, fused: bool | None = None) -> None:
        check_kernel_options("Adagrad", differentiable, foreach=foreach, fused=fused)
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, maximize=maximize)
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p, group)

    def _init_state(self, p: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        state = self.state[p]
        state["step"] = step_tensor()
        state["sum"] = Tensor._make(np.full_like(p._data, group["initial_accumulator_value"]))
        return state

    def _check_options(self, options: dict[str, Any]) -> None:
        check_nonnegative(options, "lr", "learning rate")
        check_nonnegative(options, "lr_decay", "lr_decay value")
        check_nonnegative(options, "weight_decay", "weight_decay value")
        check_nonnegative(options, "initial_accumulator_value", "initial_accumulator_value value")
        check_nonnegative(options, "eps", "epsilon value")

    def _update_group(self, group: dict[str, Any], params: list[Tensor],
                      grads: list[np.ndarray]) -> None:
        lr, lr_decay, eps, weight_decay = floats(group, "lr", "lr_decay", "eps", "weight_decay")
        maximize = group["maximize"]
        for p, g in zip(params, grads, strict=True):
            x = p._data
            state = self.state[p]
            if "sum" not in state:  # a group added later, or a state dict without this param
                state = self._init_state(p, group)
            step = increment(state["step"])
            if maximize:
                g = -g
            if weight_decay != 0:
                g = g + weight_decay * x
            clr = lr / (1 + (step - 1) * lr_decay)
            state_sum = state["sum"]._data
            state_sum += g * g
            std = np.sqrt(state_sum)
            std += eps
            update = g / std
            update *= -clr
            x += update
