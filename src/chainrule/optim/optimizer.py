"""Optimizer: the base class every update rule shares (param groups, state, state dicts).

It also notices gradients that were not reset between steps (``stale_gradient_steps``).
"""

from __future__ import annotations

import copy
import numbers
import weakref
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from .. import _dtypes
from ..autograd.grad_mode import enable_grad, no_grad
from ..tensor import Tensor

_SET_MESSAGE = ("optimizer parameters need to be organized in ordered collections, but the "
                "ordering of tensors in sets will change between runs. Please use a list instead.")

ParamsT = Iterable[Tensor] | Iterable[dict[str, Any]] | Iterable[tuple[str, Tensor]]


class Optimizer:
    """Base class of the optimizers, with PyTorch's contract.

    ``opt = optim.SGD(model.parameters(), lr=0.1); opt.zero_grad(); loss.backward(); opt.step()``

    ``params`` is an iterable of Tensors, of ``(name, Tensor)`` pairs, or of dicts (parameter
    groups) whose keys override ``defaults`` for their parameters. ``state[p]`` is a dict created
    lazily for each parameter (a Tensor hashes by identity, so it can key a dict).

    A subclass validates its options in ``_check_options(options)`` (called for the defaults and
    for every group) and updates one group in ``_update_group(group, params, grads)``, where
    ``grads`` are the gradients as ndarrays (never to be written: they belong to the user).
    ``step`` does the rest: the closure, ``no_grad``, bumping each updated parameter's version
    counter once, and the stale-gradient check.

    **Stale gradients.** Gradients accumulate across ``backward`` calls, so forgetting
    ``zero_grad`` silently sums the gradients of every batch seen so far. For each parameter the
    optimizer remembers a fingerprint of the gradient it last stepped on: a weak reference to the
    ``p.grad`` Tensor and that Tensor's version counter (O(1) per parameter, no data is read).
    If at the next step ``p.grad`` is the same Tensor and its version has moved, the engine has
    accumulated into it since the previous step without anyone resetting it: the step counts in
    ``stale_gradient_steps`` and ``stale_gradient_params`` lists the parameters concerned (for
    the most recent step only). ``zero_grad()`` of this optimizer clears the fingerprints, as
    does a fresh gradient Tensor (``zero_grad(set_to_none=True)``, ``model.zero_grad()``, an
    assignment to ``p.grad``). Not detected: accumulation under ``create_graph=True`` (the engine
    then builds a new gradient Tensor). Reported although harmless: zeroing ``p.grad`` in place by
    other means than this optimizer's ``zero_grad`` (e.g. ``p.grad.zero_()``) between steps.
    """

    def __init__(self, params: ParamsT, defaults: dict[str, Any]) -> None:
        self._check_options(defaults)
        self.defaults = defaults
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        self.stale_gradient_steps = 0
        self.stale_gradient_params: list[Tensor] = []
        # parameter -> (weak reference to the gradient Tensor last stepped on, its version)
        self._grad_seen: dict[Tensor, tuple[weakref.ref, int]] = {}
        self._opt_called = False  # read by lr schedulers to warn about a wrong call order

        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            f"Tensors or dicts, but got {type(params).__name__}")
        if isinstance(params, (set, frozenset)):
            raise TypeError(_SET_MESSAGE)
        param_groups: list[Any] = list(params)  # Tensors, (name, Tensor) pairs or dicts
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(dict(group))

    # ---- hooks for subclasses ----------------------------------------------------------------
    # True in a subclass whose ``_update_group`` works on arrays only (records no op): its step
    # then skips the ``no_grad`` context, whose two grad-mode switches cost more (~20k
    # instructions) than SGD's whole update of a small model
    _updates_arrays_only = False

    def _check_options(self, options: dict[str, Any]) -> None:
        """Raise ValueError for an invalid hyper-parameter (defaults and each group)."""

    def _update_group(self, group: dict[str, Any], params: list[Tensor],
                      grads: list[np.ndarray]) -> None:
        raise NotImplementedError(f"{type(self).__name__} does not implement _update_group")

    # ---- the step ----------------------------------------------------------------------------
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient; with ``closure`` (re-evaluated with
        gradients enabled) return its loss: ``opt.step()`` or ``loss = opt.step(closure)``."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        stale: list[Tensor] = []
        if self._updates_arrays_only:
            self._step_groups(stale)
        else:
            with no_grad():
                self._step_groups(stale)
        self.stale_gradient_params = stale
        if stale:
            self.stale_gradient_steps += 1
        self._opt_called = True
        return loss

    def _step_groups(self, stale: list[Tensor]) -> None:
        for group in self.param_groups:
            params, grads = self._params_with_grad(group, stale)
            if params:
                self._update_group(group, params, grads)
                for p in params:
                    # one in-place change per step: tensors saved for backward notice it
                    p._vc[0] += 1

    def _params_with_grad(self, group: dict[str, Any],
                          stale: list[Tensor]) -> tuple[list[Tensor], list[np.ndarray]]:
        """The group's parameters that have a gradient, their gradient arrays (in the
        parameter's dtype), and the stale-gradient fingerprint check."""
        params, grads = [], []
        seen_all = self._grad_seen
        ref = weakref.ref
        for p in group["params"]:
            gt = p.grad
            if gt is None:
                continue
            g, x = gt._data, p._data
            if g.shape != x.shape:
                raise RuntimeError(
                    f"{type(self).__name__}.step: gradient of shape {tuple(g.shape)} for a "
                    f"parameter of shape {tuple(x.shape)}; expected the same shape")
            if g.dtype != x.dtype:
                g = g.astype(x.dtype)
            version = gt._vc[0]
            seen = seen_all.get(p)
            if seen is not None and seen[0]() is gt:
                if version != seen[1]:
                    stale.append(p)
                    seen_all[p] = (seen[0], version)
            else:
                seen_all[p] = (ref(gt), version)
            params.append(p)
            grads.append(g)
        return params, grads

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all parameters: to ``None`` (default) or to zeros in place."""
        self._grad_seen.clear()
        for group in self.param_groups:
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                if set_to_none:
                    p.grad = None
                    continue
                g.grad_fn, g._rg = None, False
                if g._data.flags.writeable and g._data.flags.owndata:
                    g._data.fill(0)
                    g._vc[0] += 1
                else:  # a broadcast view or a borrowed array: give the gradient its own zeros
                    p.grad = Tensor._make(np.zeros_like(g._data))

    # ---- parameter groups --------------------------------------------------------------------
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own options: ``opt.add_param_group({'params':
        head.parameters(), 'lr': 1e-2})``."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError("param_group must have a 'params' entry")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(_SET_MESSAGE)
        else:
            params = list(params)
        names = [p[0] for p in params if isinstance(p, tuple)]
        params = [p[1] if isinstance(p, tuple) else p for p in params]
        if names:
            if len(names) != len(params):
                raise ValueError("all optimizer params should be with/without names. Some param "
                                 "names are missing")
            param_group["param_names"] = names
        param_group["params"] = params
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError("optimizer can only optimize Tensors, but one of the params is "
                                f"{type(p).__module__}.{type(p).__name__}")
            if not (p.is_leaf or p.retains_grad):
                raise ValueError("can't optimize a non-leaf Tensor")
        for name, default in self.defaults.items():
            param_group.setdefault(name, default)
        self._check_options(param_group)

        ids = [id(p) for p in params]
        if len(ids) != len(set(ids)):
            raise ValueError("optimizer contains a parameter group with duplicate parameters")
        existing = {id(p) for group in self.param_groups for p in group["params"]}
        for group in self.param_groups:
            if ("param_names" in param_group) != ("param_names" in group):
                which = "with names" if "param_names" in param_group else "without names"
                raise ValueError("all optimizer param groups should be with/without names. "
                                 f"cannot add param group {which} to the optimizer")
        if not existing.isdisjoint(ids):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    # ---- state dicts -------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state as PyTorch lays it out: ``{'state': {index: {...}},
        'param_groups': [{..., 'params': [indices]}]}``; arrays are Tensors (shared with the
        live state, as in PyTorch), so ``cr.save(opt.state_dict(), path)`` writes it."""
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for p in group["params"]:
                index.setdefault(id(p), len(index))
            packed["params"] = [index[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {index[id(p)]: dict(s) for p, s in self.state.items() if id(p) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a state saved by ``state_dict()`` (from an optimizer of the same class over
        parameters of the same shapes, in the same order): ``opt.load_state_dict(sd)``.

        Arrays are copied (and cast to each parameter's dtype, except ``'step'``), so the loaded
        optimizer never shares buffers with the dict it came from. The saved hyper-parameters
        (``lr`` included) replace the current ones, as in PyTorch.

        Unlike PyTorch, another algorithm's state is refused (``ValueError`` naming both): an
        ``SGD`` given ``Adam``'s state would otherwise keep ``betas`` it never reads and go on
        with momentum buffers it never had, training a different model than the one saved
        without a word. The algorithm is read off the hyper-parameter names of the param groups
        (PyTorch's layout has no class name); ``Adam`` and ``AdamW`` share theirs and PyTorch
        makes one of the other with ``decoupled_weight_decay``, so their states load into each
        other (``AdamW`` stays decoupled, as PyTorch's). A state lacking a hyper-parameter this
        optimizer added later loads with the default."""
        for key in ("state", "param_groups"):
            if key not in state_dict:
                raise ValueError(f"load_state_dict: the state dict has no {key!r} entry "
                                 "(expected the output of Optimizer.state_dict())")
        groups = self.param_groups
        saved_groups = copy.deepcopy(list(state_dict["param_groups"]))
        for s in saved_groups:
            self._check_same_algorithm(s)
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        for g, s in zip(groups, saved_groups, strict=True):
            if len(g["params"]) != len(s["params"]):
                raise ValueError("loaded state dict contains a parameter group that doesn't "
                                 "match the size of optimizer's group")
        id_map = {}
        for g, s in zip(groups, saved_groups, strict=True):
            for p, i in zip(g["params"], s["params"], strict=True):
                id_map[_index(i)] = p

        state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        for k, values in state_dict["state"].items():
            i = _index(k)
            if i not in id_map:
                raise ValueError(f"loaded state dict has state for parameter {k!r}, which none "
                                 "of its parameter groups lists")
            p = id_map[i]
            state[p] = {key: _cast_state(p, i, key, v) for key, v in values.items()}

        new_groups = []
        for g, s in zip(groups, saved_groups, strict=True):
            new = dict(s)
            new["params"] = g["params"]
            if "param_names" in g and "param_names" not in new:
                new["param_names"] = g["param_names"]
            for name, default in self.defaults.items():
                new.setdefault(name, default)
            self._check_options(new)
            new_groups.append(new)
        self.state = state
        self.param_groups = new_groups
        self._grad_seen.clear()

    def _check_same_algorithm(self, saved_group: Any) -> None:
        """Refuse a param group saved by another optimizer class (see ``load_state_dict``)."""
        if not isinstance(saved_group, dict):
            raise ValueError(f"load_state_dict: a param group is a {type(saved_group).__name__}, "
                             "expected a dict")
        known = _hyperparameter_names()
        mine, theirs = set(self.defaults), set(saved_group) & set().union(*known.values())
        owners = "/".join(cls.__name__ for cls, names in known.items() if names == theirs)
        if not theirs - mine and (not owners or theirs == mine):
            return  # the same names, or an older state lacking a hyper-parameter added since
        name = type(self).__name__
        extra, lacking = sorted(theirs - mine), sorted(mine - theirs)
        differences = [f"have {', '.join(extra)}, which {name} does not use"] if extra else []
        differences += [f"lack {', '.join(lacking)}"] if lacking else []
        raise ValueError(
            f"load_state_dict: cannot load the state of {owners or 'another optimizer'} into "
            f"{name}: its param groups {'; '.join(differences)}. Load it "
            f"into {owners or 'the optimizer class it was saved from'}, or start {name} afresh")

    def __repr__(self) -> str:
        lines = [type(self).__name__ + " ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {group[k]}" for k in sorted(group) if k != "params"]
        return "\n".join(lines) + "\n)"


# ---- helpers shared by the update rules ------------------------------------------------------


def _hyperparameter_names() -> dict[type, set[str]]:
    """Each optimizer class's hyper-parameter names (its ``defaults``' keys), read off an
    instance over one dummy parameter; classes that need more arguments are left out."""
    dummy = [Tensor._make(np.zeros(1, np.float32)).requires_grad_()]
    names: dict[type, set[str]] = {}
    pending: list[type] = list(Optimizer.__subclasses__())  # constructors differ from the base's
    while pending:
        cls = pending.pop(0)
        pending += cls.__subclasses__()
        try:
            names[cls] = set(cls(dummy).defaults)
        except Exception:  # noqa: BLE001  (a user's subclass with required arguments)
            continue
    return names



def _index(key) -> int:
    """A parameter index from a state dict (int, or its decimal string after a JSON trip)."""
    if isinstance(key, str) and key.lstrip("-").isdigit():
        return int(key)
    return key


def _cast_state(p: Tensor, index: int, key: str, value):
    """A deep copy of one loaded state value; arrays become Tensors in the parameter's dtype."""
    if isinstance(value, (Tensor, np.ndarray)):
        arr = value._data if isinstance(value, Tensor) else value
        if key != "step" and arr.ndim > 0 and arr.shape != p._data.shape:
            raise ValueError(f"load_state_dict: state[{index}][{key!r}] has shape "
                             f"{tuple(arr.shape)}, but parameter {index} has shape "
                             f"{tuple(p._data.shape)}")
        dtype = arr.dtype
        if key != "step" and arr.dtype.kind == "f" and p._data.dtype.kind == "f":
            dtype = p._data.dtype
        return Tensor._make(np.array(arr, dtype=dtype, copy=True, order="C"))
    return copy.deepcopy(value)


def step_tensor() -> Tensor:
    """A fresh step counter: a 0-d float Tensor, as PyTorch keeps ``state['step']``."""
    dtype = _dtypes.float64 if _dtypes.get_default_dtype() == _dtypes.float64 else _dtypes.float32
    return Tensor._make(np.zeros((), dtype=dtype))


def increment(step: Tensor) -> float:
    """Add one to a step counter in place and return the new count."""
    step._data += 1
    return float(step._data)


def zeros_state(p: Tensor) -> Tensor:
    return Tensor._make(np.zeros_like(p._data))


def lerp_(x: np.ndarray, end: np.ndarray, weight: float,
          scratch: np.ndarray | None = None) -> None:
    """``x += weight * (end - x)`` in place, in the form PyTorch's ``lerp_`` uses for ``weight``
    (so the moving averages round as PyTorch's do); ``scratch``, an array of x's shape and
    dtype, saves a temporary."""
    d = np.subtract(end, x, out=scratch)
    if abs(weight) < 0.5:
        d *= weight
        x += d
    else:
        d *= 1 - weight
        np.subtract(end, d, out=x)


def floats(group: dict[str, Any], *keys: str) -> list[float]:
    """Hyper-parameters as Python floats: a NumPy float64 scalar (from a schedule, say) would
    otherwise promote float32 parameters' temporaries and fresh buffers to float64."""
    return [float(group[k]) for k in keys]


def check_number(name: str, value) -> None:
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")


def check_kernel_options(name: str, differentiable: bool = False, **kernel_choices) -> None:
    """PyTorch's kernel switches (``foreach``, ``fused``, ``capturable``) pick among kernels
    that compute the same update, so chainrule's one NumPy kernel serves them all;
    ``differentiable=True`` (a step autograd can see through) is refused."""
    if differentiable:
        raise NotImplementedError(f"{name}: differentiable=True is not supported: chainrule's "
                                  "optimizers update parameters in place outside autograd")


def check_nonnegative(options: dict[str, Any], key: str, label: str) -> None:
    """PyTorch's validation: ``Invalid learning rate: -1`` (NaN is rejected too)."""
    value = options[key]
    check_number(key, value)
    if not 0.0 <= value:
        raise ValueError(f"Invalid {label}: {value}")


def check_betas(betas) -> None:
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
    for i, beta in enumerate(betas):
        check_number(f"betas[{i}]", beta)
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"Invalid beta parameter at index {i}: {beta}")
