"""doctor: run a short battery of checks on a model's gradients and name the mistakes it finds.

``report = cr.inspect.doctor(model, nn.MSELoss(), (x, y), optimizer); print(report)``
"""

from __future__ import annotations

import copy
import math
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .flow import Finding, GradientFlow


@dataclass
class DoctorReport:
    """What ``doctor`` found: ``findings`` (each with message, evidence, explanation and fix)
    and ``checks``, every check run with its outcome (``ok``, ``found`` or ``skipped: why``)."""

    findings: list[Finding]
    checks: list[tuple[str, str]] = field(default_factory=list)
    loss: float | None = None

    @property
    def ok(self) -> bool:
        return not self.findings

    def kinds(self) -> list[str]:
        return [f.kind for f in self.findings]

    def __str__(self) -> str:
        lines = [f"chainrule doctor: loss {self.loss:.6g}" if self.loss is not None
                 else "chainrule doctor"]
        if not self.findings:
            lines.append("no problem found")
        for i, f in enumerate(self.findings, 1):
            lines.append(f"{i}. {f.kind}: {f.message}")
            if f.explanation:
                lines.append(f"   why: {f.explanation}")
            lines.append(f"   fix: {f.fix}")
        lines.append("checks: " + "; ".join(f"{name} {outcome}" for name, outcome in self.checks))
        return "\n".join(lines)


def doctor(model, loss_fn: Callable, batch, optimizer=None, *, slice_size: int = 4,
           probe_steps: int = 5, eps: float = 1e-6, rtol: float = 1e-4,
           bce_margin: float = 1e-4, bce_fraction: float = 0.05, rise_tolerance: float = 0.01,
           seed: int = 0, **flow_thresholds: Any) -> DoctorReport:
    """Check ``model`` on one ``batch`` and report the common backprop mistakes, each with its
    fix. The user's model, optimizer and random stream are left untouched (the checks run on
    deep copies).

    ``batch`` is ``(inputs, target)`` (``loss_fn(model(inputs), target)``; ``inputs`` may be a
    tuple of tensors, or spelled out: ``(x1, x2, target)``) or ``(inputs,)`` / a tensor
    (``loss_fn(model(inputs))``), as ``cr.training.split_batch`` reads it. The checks:

    - *wrong_gradient*: the whole model's gradient against central differences (step ``eps``,
      relative tolerance ``rtol``) along a random direction per parameter, in float64, on the
      first ``slice_size`` examples; on a mismatch each module is checked alone, and the custom
      ``autograd.Function``s inside the smallest failing modules are named;
    - *no_gradient*: parameters that require grad but receive none (unused or detached);
    - *nonfinite*: NaN/Inf in the loss or the gradients, located with anomaly mode;
    - *vanishing*, *exploding*, *dead*, *saturated*: ``GradientFlow`` after one backward
      (``flow_thresholds`` override its ``FlowThresholds``);
    - *sigmoid_bce*: the model ends in a sigmoid, the loss is BCE, and more than
      ``bce_fraction`` of the outputs lie within ``bce_margin`` of 0 or 1;
    - *lr_too_high*: ``probe_steps`` steps of (a copy of) ``optimizer`` on the batch raise the
      loss by more than ``rise_tolerance`` (relative) or make it non-finite;
    - *accumulating_gradients*: ``optimizer.stale_gradient_steps`` > 0 (``zero_grad`` missing).
    """
    import chainrule as cr

    from ..training import split_batch

    inputs, target = split_batch(batch, "doctor", need_target=False)
    rng_state = cr.get_rng_state()

    def evaluate(m, xs, y):
        cr.set_rng_state(rng_state)  # the same dropout masks at every evaluation
        out = m(*xs)
        loss = loss_fn(out, y) if y is not None else loss_fn(out)
        if not isinstance(loss, cr.Tensor) or loss.numel() != 1:
            raise ValueError("doctor: loss_fn must return a scalar Tensor, got "
                             f"{type(loss).__name__} {getattr(loss, 'shape', '')}")
        return out, loss

    options = types.SimpleNamespace(
        slice_size=slice_size, probe_steps=probe_steps, eps=eps, rtol=rtol,
        bce_margin=bce_margin, bce_fraction=bce_fraction, rise_tolerance=rise_tolerance,
        seed=seed, flow_thresholds=flow_thresholds)
    try:
        with np.errstate(all="ignore"):  # the planted NaNs and overflows are reported, not warned
            return _battery(model, loss_fn, optimizer, inputs, target, evaluate, options)
    finally:
        cr.set_rng_state(rng_state)


def _battery(model, loss_fn, optimizer, inputs, target, evaluate, o) -> DoctorReport:
    findings: list[Finding] = []
    checks: list[tuple[str, str]] = []
    work = _copy(model)
    flow = GradientFlow(work, **o.flow_thresholds)
    out, loss = evaluate(work, inputs, target)
    loss_value = float(loss.item())
    loss.backward()
    flow.record()
    flow.remove()

    found = _nonfinite(work, loss_value, lambda: _copy(model), evaluate, inputs, target)
    _add(checks, findings, "nonfinite", found)
    if found:  # with NaN in play every other number is meaningless
        return DoctorReport(findings, checks, loss_value)
    wrong, depends = _gradcheck(model, evaluate, inputs, target, o.slice_size, o.eps, o.rtol,
                                o.seed)
    _add(checks, findings, "no_gradient", _no_gradient(work, depends))
    bce = _sigmoid_bce(out, loss, loss_fn, o.bce_margin, o.bce_fraction)
    if bce:  # saturated outputs hit BCE's log clamp, where finite differences mean nothing:
        # only a named custom Function's wrong backward is still worth reporting
        wrong = [f for f in wrong if "functions" in f.evidence]
    _add(checks, findings, "gradcheck", wrong)
    flow_findings = flow.diagnose()
    if bce:  # the output sigmoid's saturation is the BCE finding's subject: say it once
        flow_findings = [f for f in flow_findings
                         if not (f.kind == "saturated" and f.layer == flow.layer_names[-1])]
    _add(checks, findings, "flow", flow_findings)
    _add(checks, findings, "sigmoid_bce", bce)
    if optimizer is None:
        checks.append(("lr_probe", "skipped: no optimizer"))
        checks.append(("zero_grad", "skipped: no optimizer"))
    else:
        _add(checks, findings, "lr_probe",
             _lr_probe(model, optimizer, evaluate, inputs, target, o.probe_steps,
                       o.rise_tolerance))
        stale = getattr(optimizer, "stale_gradient_steps", None)
        if stale is None:
            checks.append(("zero_grad", "skipped: the optimizer does not count stale steps"))
        else:
            _add(checks, findings, "zero_grad", _stale(optimizer, stale))
    return DoctorReport(findings, checks, loss_value)


# ---- helpers -------------------------------------------------------------------------------
def _copy(model):
    work = copy.deepcopy(model)
    work.zero_grad(set_to_none=True)
    return work


def _add(checks: list, findings: list, name: str, found: list[Finding]) -> None:
    findings.extend(found)
    checks.append((name, f"found {len(found)}" if found else "ok"))


def _named_params(model) -> list[tuple[str, Any]]:
    return [(n, p) for n, p in model.named_parameters() if p.requires_grad]


# ---- NaN / Inf -------------------------------------------------------------------------------
def _nonfinite(work, loss_value, fresh, evaluate, inputs, target) -> list[Finding]:
    bad = [n for n, p in _named_params(work)
           if p.grad is not None and not np.all(np.isfinite(p.grad.numpy()))]
    if math.isfinite(loss_value) and not bad:
        return []
    from ..autograd import AnomalyError, detect_anomaly

    where = "anomaly mode found no single op to blame"
    fresh_model = fresh()
    running: list[str] = []  # modules entered and not yet left when the error is raised
    handles = []

    def leave(module, args, output) -> None:  # returns None: the output stays as it is
        if running:
            running.pop()

    for name, m in fresh_model.named_modules():
        def enter(module, args, name=name) -> None:
            running.append(name)

        handles.append(m.register_forward_pre_hook(enter))
        handles.append(m.register_forward_hook(leave))
    try:
        with detect_anomaly():
            _, loss = evaluate(fresh_model, inputs, target)
            loss.backward()
    except AnomalyError as e:
        where = str(e)
        if running:
            module = fresh_model.get_submodule(running[-1]) if running[-1] else fresh_model
            where += (f", in module {running[-1]!r} ({type(module).__name__})" if running[-1]
                      else f", in the model's own forward ({type(module).__name__})")
    finally:
        for h in handles:
            h.remove()
    what = f"the loss is {loss_value}" if not math.isfinite(loss_value) else \
        f"the gradient of {bad[0]!r}" + (f" (and {len(bad) - 1} more)" if len(bad) > 1 else "") \
        + " contains NaN/Inf"
    return [Finding(
        "nonfinite", bad[0] if bad else None, f"{what}; first bad op: {where}",
        {"loss": loss_value, "parameters": bad, "anomaly": where},
        "guard the op named above (clamp the input of log/sqrt/division, use log_softmax or "
        "BCEWithLogitsLoss instead of log(softmax) or log(sigmoid)), or lower the learning "
        "rate if the weights have grown huge",
        "one NaN or Inf reaches every weight through the backward pass and the next step "
        "destroys the model.")]


# ---- parameters without a gradient ---------------------------------------------------------
def _no_gradient(work, depends: dict[str, float]) -> list[Finding]:
    """``depends``: parameters without a gradient whose finite-difference derivative is not 0
    (the loss depends on them: their path was cut, not unused)."""
    found = []
    for name, p in _named_params(work):
        if p.grad is not None:
            continue
        if name in depends:
            said = (f"parameter {name!r} {tuple(p.shape)} received no gradient, yet the loss "
                    f"depends on it (finite differences: {depends[name]:.3g} along a random "
                    "direction): its path to the loss is detached")
            fix = ("remove the .detach() / .numpy() / no_grad block / re-wrapped tensor on its "
                   "way to the loss")
        else:
            said = f"parameter {name!r} {tuple(p.shape)} received no gradient: it is unused"
            fix = "use it in forward, or remove it (and pass the optimizer only what is used)"
        found.append(Finding(
            "no_gradient", name, said,
            {"parameter": name, "shape": tuple(p.shape), "numerical": depends.get(name, 0.0)},
            fix,
            "a parameter that gets no gradient never changes: the optimizer skips it."))
    return found


# ---- sigmoid followed by BCE ---------------------------------------------------------------
def _graph_consumers(loss, node) -> list[str]:
    """Class names of the nodes in ``loss``'s graph that take ``node``'s output as input."""
    from ..autograd.engine import topological_order

    if loss.grad_fn is None:
        return []
    return [type(n).__name__ for n in topological_order([loss.grad_fn])
            for edge in n.next_functions if edge is not None and edge[0] is node]


def _loss_name(loss_fn) -> str:
    return getattr(loss_fn, "__name__", None) or type(loss_fn).__name__


def _sigmoid_bce(out, loss, loss_fn, margin: float, fraction: float) -> list[Finding]:
    from ..tensor import Tensor

    if not isinstance(out, Tensor) or out.grad_fn is None:
        return []
    if type(out.grad_fn).__name__.lower() != "sigmoid":
        return []
    name = _loss_name(loss_fn).lower().replace("_", "")
    consumers = " ".join(_graph_consumers(loss, out.grad_fn)).lower()
    is_bce = ("bceloss" in name or "binarycrossentropy" in name) and "logits" not in name
    if not is_bce and not any(w in consumers for w in ("binarycrossentropy", "bce", "log")):
        return []
    p = out.detach().numpy().astype(np.float64)
    saturated = float(np.mean(np.minimum(p, 1 - p) < margin))
    if saturated <= fraction:
        return []
    with np.errstate(divide="ignore"):
        logits = np.abs(np.log(p) - np.log1p(-p))
    biggest = float(np.max(logits[np.isfinite(logits)])) if np.isfinite(logits).any() \
        else float("inf")
    return [Finding(
        "sigmoid_bce", None,
        f"the model ends in a sigmoid and the loss is binary cross-entropy, and {saturated:.0%} "
        f"of the probabilities are within {margin:g} of 0 or 1 (|logit| up to "
        f"{biggest:.3g})",
        {"saturated_fraction": saturated, "margin": margin, "max_abs_logit": biggest},
        "drop the final sigmoid and use nn.BCEWithLogitsLoss (or "
        "F.binary_cross_entropy_with_logits) on the logits",
        "BCE takes log(p) and log(1 - p) of a rounded probability: once p rounds to 0 or 1 "
        "the loss is clamped and the gradient vanishes or becomes inf, exactly where the "
        "model is confidently wrong. BCEWithLogits computes log-sigmoid from the logit "
        "directly, stably, and its gradient is simply p - y.")]


# ---- gradient check ------------------------------------------------------------------------
def _directional(fn: Callable, tensors: list, eps: float, rtol: float, rng
                 ) -> list[tuple[int, bool, float, float, bool]]:
    """For each tensor t: <u, dF/dt> from backward vs (F(t + eps u) - F(t - eps u)) / 2 eps,
    u random. Returns (index, has a gradient, analytical, numerical, they agree) per tensor."""
    from ..autograd import grad
    from ..autograd.grad_mode import no_grad

    value = fn()
    grads = grad([value], tensors, allow_unused=True)
    scale = max(1.0, abs(float(value.item())))
    results = []
    for i, (t, g) in enumerate(zip(tensors, grads, strict=True)):
        u = rng.standard_normal(t.shape)
        analytical = float(np.sum(u * g.numpy())) if g is not None else 0.0
        data = t._data  # perturbed in place and restored: the graph above is done with
        orig = data.copy()
        with no_grad():
            data[...] = orig + eps * u
            plus = float(fn().item())
            data[...] = orig - eps * u
            minus = float(fn().item())
        data[...] = orig
        numerical = (plus - minus) / (2 * eps)
        agree = abs(analytical - numerical) <= 1e-7 * scale + rtol * max(abs(numerical),
                                                                         abs(analytical))
        results.append((i, g is not None, analytical, numerical, agree))
    return results


def _custom_functions(outputs) -> list[str]:
    """Names of the user-defined ``autograd.Function``s in the graph behind ``outputs``."""
    from ..autograd.engine import topological_order
    from ..autograd.function import Function

    names: list[str] = []
    for n in topological_order([o.grad_fn for o in outputs if o.grad_fn is not None]):
        if isinstance(n, Function) and type(n).__name__ not in names:
            names.append(type(n).__name__)
    return names


def _tensors_of(value) -> list:
    from ..tensor import Tensor

    if isinstance(value, Tensor):
        return [value]
    if isinstance(value, (tuple, list)):
        return [t for v in value for t in _tensors_of(v)]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _tensors_of(v)]
    return []


def _as64(value, k: int | None):
    from ..tensor import Tensor

    if not isinstance(value, Tensor):
        return value
    if k is not None and value.ndim > 0:
        value = value[:k]
    value = value.detach()
    return value.double() if value.is_floating_point() else value


def _gradcheck(model, evaluate, inputs, target, k, eps, rtol, seed
               ) -> tuple[list[Finding], dict[str, float]]:
    """Findings for wrong gradients, and the parameters without a gradient that the loss
    nevertheless depends on (name -> numerical derivative)."""
    rng = np.random.default_rng(seed)
    gc = _copy(model).double()
    xs = tuple(_as64(x, k) for x in inputs)
    y = _as64(target, k)
    params = _named_params(gc)
    if not params:
        return [], {}
    results = _directional(lambda: evaluate(gc, xs, y)[1], [p for _, p in params], eps, rtol,
                           rng)
    depends = {params[i][0]: n for i, has, _, n, ok in results if not has and not ok}
    mismatches = [(params[i][0], a, n) for i, has, a, n, ok in results if has and not ok]
    if not mismatches:
        return [], depends
    name, analytical, numerical = mismatches[0]
    culprits = _localise(gc, evaluate, xs, y, eps, rtol, rng)
    evidence = {"parameter": name, "analytical": analytical, "numerical": numerical,
                "parameters": [m[0] for m in mismatches], "modules": culprits}
    functions = sorted({f for _, _, fs in culprits for f in fs})
    modules = [f"{m!r} ({kind})" if m else f"the model ({kind})" for m, kind, _ in culprits]
    where = f" (in module {', '.join(modules)})" if modules else ""
    numbers = (f"along a random direction the loss's derivative for {name!r} is "
               f"{analytical:.6g} by backward but {numerical:.6g} by finite differences")
    if functions:
        evidence["functions"] = functions
        listed = ", ".join(functions)
        return [Finding(
            "wrong_gradient", functions[0],
            f"the backward of custom autograd.Function {listed}{where} is wrong: {numbers}",
            evidence,
            f"fix {functions[0]}.backward and test it alone: cr.autograd.gradcheck("
            f"{functions[0]}.apply, (x,)) with float64 inputs",
            "backward must return d(output)/d(input) times the incoming gradient; a wrong "
            "rule trains on a direction that is not downhill, silently.")], depends
    return [Finding(
        "wrong_gradient", culprits[0][0] if culprits else name,
        f"the gradient does not match finite differences{where}: {numbers}",
        evidence,
        "check the custom backward rules and in-place edits in the module named; "
        "cr.autograd.gradcheck on that module's forward (float64) shows the worst element",
        "a backward that disagrees with the forward trains on a wrong direction, silently.")], \
        depends


def _localise(gc, evaluate, xs, y, eps, rtol, rng) -> list[tuple[str, str, list[str]]]:
    """The smallest modules whose own gradient check fails, with the custom Functions in
    their graphs."""
    calls: dict[str, tuple] = {}
    modules = dict(gc.named_modules())
    handles = []
    for name, m in modules.items():
        def hook(module, args, kwargs, output, name=name):
            calls.setdefault(name, (args, kwargs))
        handles.append(m.register_forward_hook(hook, with_kwargs=True))
    try:
        evaluate(gc, xs, y)
    finally:
        for h in handles:
            h.remove()
    failing: dict[str, list[str]] = {}
    for name, (args, kwargs) in calls.items():
        result = _check_module(modules[name], args, kwargs, eps, rtol, rng)
        if result is not None:
            failing[name] = result
    smallest = [n for n in failing
                if not any(other != n and other.startswith(n + ".") or (n == "" and other)
                           for other in failing)]
    return [(n, type(modules[n]).__name__, failing[n]) for n in smallest]


def _check_module(module, args, kwargs, eps, rtol, rng) -> list[str] | None:
    """None when ``module``'s gradients (inputs and parameters) pass, else the custom
    Functions in its graph."""
    import chainrule as cr

    from ..tensor import Tensor

    state = cr.get_rng_state()
    leaves = []
    new_args = []
    for a in args:
        if isinstance(a, Tensor) and a.is_floating_point():
            a = a.detach().clone().requires_grad_()
            leaves.append(a)
        new_args.append(a)
    leaves += [p for p in module.parameters() if p.requires_grad]
    if not leaves:
        return None
    weights: list = []

    def fn():
        cr.set_rng_state(state)
        outs = [o for o in _tensors_of(module(*new_args, **kwargs)) if o.is_floating_point()]
        if not weights:
            weights.extend(cr.tensor(rng.standard_normal(o.shape)) for o in outs)
        return sum(((o * w).sum() for o, w in zip(outs, weights, strict=True)),
                   cr.tensor(0.0, dtype=cr.float64))

    if all(ok for *_, ok in _directional(fn, leaves, eps, rtol, rng)):
        return None
    cr.set_rng_state(state)
    return _custom_functions(_tensors_of(module(*new_args, **kwargs)))


# ---- learning-rate probe -------------------------------------------------------------------
def _lr_probe(model, optimizer, evaluate, inputs, target, steps, tolerance) -> list[Finding]:
    probe_model, probe_opt = copy.deepcopy((model, optimizer))
    losses = []
    for _ in range(steps + 1):
        probe_opt.zero_grad()
        _, loss = evaluate(probe_model, inputs, target)
        losses.append(float(loss.item()))
        if not math.isfinite(losses[-1]) or len(losses) == steps + 1:
            break
        loss.backward()
        probe_opt.step()
    first, last = losses[0], losses[-1]
    if math.isfinite(last) and last <= first + tolerance * abs(first):
        return []
    lrs = sorted({g.get("lr") for g in optimizer.param_groups if "lr" in g})
    lr = ", ".join(f"{v:g}" for v in lrs) or "?"
    path = " -> ".join(f"{v:.3g}" for v in losses)
    return [Finding(
        "lr_too_high", None,
        f"with lr={lr}, {len(losses) - 1} {type(optimizer).__name__} steps on this one batch "
        f"make the loss rise: {path}",
        {"losses": losses, "lr": lrs},
        "lower the learning rate (try a tenth), or warm it up with a scheduler",
        "a step along the gradient lowers the loss only if it is small enough; repeated on "
        "the same batch, the loss must fall. If it rises the steps overshoot the valley.")]


# ---- zero_grad forgotten ---------------------------------------------------------------------
def _stale(optimizer, steps: int) -> list[Finding]:
    if not steps:
        return []
    names = getattr(optimizer, "stale_gradient_params", [])
    return [Finding(
        "accumulating_gradients", None,
        f"{steps} optimizer steps used gradients that were never reset since the step before "
        f"({len(names)} parameters at the last step)",
        {"stale_gradient_steps": steps, "parameters": len(names)},
        "call optimizer.zero_grad() (or model.zero_grad()) before each loss.backward()",
        "backward adds to .grad; without zero_grad every step follows the sum of all "
        "gradients so far, an ever larger and older direction.")]
