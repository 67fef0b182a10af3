"""Adam and AdamW: adaptive moment estimation, with L2 or decoupled weight decay."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..tensor import Tensor
from .optimizer import (
    Optimizer,
    ParamsT,
    check_betas,
    check_kernel_options,
    check_nonnegative,
    floats,
    increment,
    lerp_,
    step_tensor,
    zeros_state,
)


class Adam(Optimizer):
    r"""Adam (Kingma & Ba, 2014), as ``torch.optim.Adam``.

    ``opt = optim.Adam(model.parameters(), lr=1e-3)``

    ::

        input: γ (lr), β₁, β₂ (betas), θ₀ (params), f(θ) (objective), ε (eps),
               λ (weight decay), amsgrad, maximize, decoupled_weight_decay
        initialize: m₀ ← 0, v₀ ← 0, v̂₀_max ← 0
        for t = 1, 2, ...
            g_t ← ∇θ f_t(θ_{t-1})            (-∇θ f_t(θ_{t-1}) if maximize)
            if λ ≠ 0:
                if decoupled_weight_decay: θ_{t-1} ← θ_{t-1} - γ λ θ_{t-1}
                else:                      g_t ← g_t + λ θ_{t-1}
            m_t ← β₁ m_{t-1} + (1 - β₁) g_t
            v_t ← β₂ v_{t-1} + (1 - β₂) g_t²
            m̂_t ← m_t / (1 - β₁ᵗ)
            if amsgrad: v_t_max ← max(v_{t-1}_max, v_t);  v̂_t ← v_t_max / (1 - β₂ᵗ)
            else:       v̂_t ← v_t / (1 - β₂ᵗ)
            θ_t ← θ_{t-1} - γ m̂_t / (√v̂_t + ε)

    State per parameter: ``step`` (a 0-d Tensor), ``exp_avg`` (m), ``exp_avg_sq`` (v) and, with
    ``amsgrad``, ``max_exp_avg_sq``.
    """

    _updates_arrays_only = True

    def __init__(self, params: ParamsT, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False, differentiable: bool = False,
                 fused: bool | None = None, decoupled_weight_decay: bool = False) -> None:
        check_kernel_options(type(self).__name__, differentiable, foreach=foreach,
                             capturable=capturable, fused=fused)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                        maximize=maximize, decoupled_weight_decay=decoupled_weight_decay)
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
        amsgrad, maximize = group["amsgrad"], group["maximize"]
        decoupled = group["decoupled_weight_decay"]
        for p, g in zip(params, grads, strict=True):
            x = p._data
            state = self.state[p]
            if not state:
                state["step"] = step_tensor()
                state["exp_avg"] = zeros_state(p)
                state["exp_avg_sq"] = zeros_state(p)
                if amsgrad:
                    state["max_exp_avg_sq"] = zeros_state(p)
            step = increment(state["step"])
            if maximize:
                g = -g
            if weight_decay != 0:
                if decoupled:
                    x *= 1 - lr * weight_decay
                else:
                    g = g + weight_decay * x
            m, v = state["exp_avg"]._data, state["exp_avg_sq"]._data
            scratch = np.empty_like(v)  # one temporary for the whole update
            lerp_(m, g, 1 - beta1, scratch)
            # ((1 - β₂) g) g, addcmul_'s rounding, into an array even for a 0-d parameter
            np.multiply(g, 1 - beta2, out=scratch)
            scratch *= g
            v *= beta2
            v += scratch

            bias_correction1 = 1 - beta1 ** step
            bias_correction2_sqrt = (1 - beta2 ** step) ** 0.5
            step_size = lr / bias_correction1
            if amsgrad:
                if "max_exp_avg_sq" not in state:  # amsgrad switched on after some steps
                    state["max_exp_avg_sq"] = zeros_state(p)
                v_max = state["max_exp_avg_sq"]._data
                np.maximum(v_max, v, out=v_max)
                v = v_max
            denom = np.sqrt(v, out=scratch)
            denom /= bias_correction2_sqrt
            denom += eps
            update = np.divide(m, denom, out=denom)
            update *= -step_size
            x += update


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov & Hutter, 2019), as ``torch.optim.AdamW``.

    ``opt = optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-2)``

    ::

        for t = 1, 2, ...
            g_t ← ∇θ f_t(θ_{t-1})            (-∇θ f_t(θ_{t-1}) if maximize)
            θ_{t-1} ← θ_{t-1} - γ λ θ_{t-1}   (the decay never enters m or v)
            m_t, v_t, m̂_t, v̂_t as in Adam (amsgrad included)
            θ_t ← θ_{t-1} - γ m̂_t / (√v̂_t + ε)
    """

    def __init__(self, params: ParamsT, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False, foreach: bool | None = None, capturable: bool = False,
                 differentiable: bool = False, fused: bool | None = None) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         foreach=foreach, capturable=capturable, differentiable=differentiable,
                         fused=fused, decoupled_weight_decay=True)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        super().load_state_dict(state_dict)
        for group in self.param_groups:  # AdamW is always decoupled, whatever was saved
            group["decoupled_weight_decay"] = True
