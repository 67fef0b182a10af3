"""GradientFlow: per-layer gradient statistics recorded during training, and a verdict in words.

``flow = cr.inspect.GradientFlow(model); loss.backward(); flow.record(); print(flow.summary())``
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Finding:
    """One diagnosis: what is wrong (``message``, with its numbers in ``evidence``), where
    (``layer``: a module, parameter or Function name, or None for the whole model), why it
    matters (``explanation``) and what to do (``fix``). ``str(finding)`` is the one-line verdict.
    """

    kind: str
    layer: str | None
    message: str
    evidence: dict[str, Any]
    fix: str
    explanation: str = ""

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}; {self.fix}"


@dataclass(frozen=True)
class FlowThresholds:
    """When ``GradientFlow.diagnose`` reports a finding. Override any of them by keyword:
    ``GradientFlow(model, vanishing_ratio=1e-4)`` or ``GradientFlow(model, thresholds=t)``.

    - ``vanishing_ratio`` (1e-3): the first layer's gradient norm below this fraction of the last
      layer's is *vanishing* (the early layers barely learn).
    - ``exploding_ratio`` (1e3): the first layer's gradient norm above this multiple of the last
      layer's is *exploding* (the gradient grows on its way back).
    - ``exploding_norm`` (1e4): any layer's gradient norm above this is *exploding*, whatever the
      ratio.
    - ``dead_fraction`` (0.5): a layer whose ReLU units are dead (output <= 0 for every example
      of the batch, so their gradient is 0) in more than this fraction is *dead*.
    - ``saturated_fraction`` (0.5): a layer whose sigmoid/tanh outputs are saturated in more
      than this fraction is *saturated*.
    - ``saturation_margin`` (0.01): an output within this fraction of the activation's range from
      one of its bounds is saturated (sigmoid: below 0.01 or above 0.99; there sigma' < 0.01).
    - ``update_ratio`` (0.1): a layer whose update moves its weights by more than this fraction
      of their norm per step is *update_too_large* (a common rule of thumb is ~1e-3).
    - ``window`` (10): diagnose looks at the median over the last ``window`` recorded steps.
    - ``dead_activations``: module classes (by name, subclasses included) whose units can die.
    - ``saturating_activations``: (class name, lower bound, upper bound) of saturating ones.
    """

    vanishing_ratio: float = 1e-3
    exploding_ratio: float = 1e3
    exploding_norm: float = 1e4
    dead_fraction: float = 0.5
    saturated_fraction: float = 0.5
    saturation_margin: float = 0.01
    update_ratio: float = 0.1
    window: int = 10
    dead_activations: tuple[str, ...] = ("ReLU", "ReLU6")
    saturating_activations: tuple[tuple[str, float, float], ...] = (
        ("Sigmoid", 0.0, 1.0), ("Tanh", -1.0, 1.0), ("Hardtanh", -1.0, 1.0),
        ("Hardsigmoid", 0.0, 1.0))

    def __post_init__(self) -> None:
        if self.window < 1:
            raise ValueError(f"FlowThresholds: window must be at least 1 (got {self.window})")


@dataclass
class LayerStats:
    """One layer at one recorded step. ``None`` where a statistic does not apply (no gradient
    yet, no optimizer step since, no ReLU or sigmoid/tanh after the layer)."""

    grad_norm: float | None
    mean_abs_grad: float | None
    weight_norm: float
    grad_weight_ratio: float | None
    update_weight_ratio: float | None = None
    activation: str | None = None
    dead_fraction: float | None = None
    saturated_fraction: float | None = None


@dataclass
class StepRecord:
    step: int
    layers: dict[str, LayerStats] = field(default_factory=dict)


def _match(module, names) -> str | None:
    """The first class in ``module``'s MRO named in ``names`` (subclasses count), or None."""
    return next((c.__name__ for c in type(module).__mro__ if c.__name__ in names), None)


def _array(t) -> np.ndarray | None:
    from ..tensor import Tensor

    return t.detach().numpy() if isinstance(t, Tensor) else None


def _fmt(x: float | None, percent: bool = False) -> str:
    if x is None:
        return "-"
    if percent:
        return f"{100 * x:.0f}%"
    if x == 0 or not math.isfinite(x):
        return f"{x:g}"
    return f"{x:.2e}"


def _short(x: float) -> str:
    """A number as a person would say it: 3e-07, 0.25, 12."""
    if x == 0 or not math.isfinite(x):
        return f"{x:g}"
    return f"{x:.1g}" if abs(x) < 1e-2 or abs(x) >= 1e4 else f"{x:.2g}"


class GradientFlow:
    """Per-layer gradient statistics of ``model``, step after step, and what they mean.

    ``flow = GradientFlow(model)``; after each ``loss.backward()`` call ``flow.record()`` (and,
    for the update/weight ratio, ``flow.after_step()`` after ``optimizer.step()``, or simply the
    next ``record()``). In ``fit`` pass it as a callback: ``fit(..., callbacks=[flow])``.
    Then ``print(flow.summary())``, ``flow.plot("flow.png")``, ``for f in flow.diagnose():
    print(f)``.

    A *layer* is every module with parameters of its own (``Linear``, ``LayerNorm``, ...), or the
    modules named in ``layers``. Each ReLU / sigmoid / tanh module's output is credited to the
    layer that ran just before it (forward hooks, so activations applied as functions, e.g.
    ``F.relu``, are not seen). Forward passes under ``no_grad`` (evaluation) are ignored.
    """

    def __init__(self, model, *, layers: Iterable[str] | None = None,
                 thresholds: FlowThresholds | None = None, **overrides: Any) -> None:
        self.model = model
        self.thresholds = dataclasses.replace(thresholds or FlowThresholds(), **overrides)
        modules = dict(model.named_modules())
        if layers is None:
            names = [n for n, m in modules.items()
                     if any(True for _ in m.named_parameters(recurse=False))]
        else:
            names = list(layers)
            missing = [n for n in names if n not in modules]
            if missing:
                raise ValueError(f"GradientFlow: no module named {missing[0]!r} in the model; "
                                 f"expected one of {sorted(modules)[:8]}")
        if not names:
            raise ValueError("GradientFlow: the model has no module with parameters to watch")
        self.layer_names: list[str] = names
        self.layer_types: dict[str, str] = {n: type(modules[n]).__name__ for n in names}
        self._params = {n: [p for _, p in modules[n].named_parameters(recurse=False)]
                        for n in names}
        self.history: list[StepRecord] = []
        self._pending: dict[str, tuple[str, float | None, float | None]] = {}
        self._last_layer: str | None = None
        self._before: dict[str, list[np.ndarray]] | None = None
        self._handles = []
        # a new forward pass starts with no layer run yet
        self._handles.append(model.register_forward_pre_hook(self._reset_hook))
        saturating = {name: (lo, hi) for name, lo, hi in self.thresholds.saturating_activations}
        for name, m in modules.items():
            if name in names:
                hook = self._layer_hook(name)
            elif (kind := _match(m, self.thresholds.dead_activations)) is not None:
                hook = self._dead_hook(kind)
            elif (kind := _match(m, saturating)) is not None:
                hook = self._saturation_hook(kind, *saturating[kind])
            else:
                continue
            self._handles.append(m.register_forward_hook(hook))

    # ---- forward hooks -----------------------------------------------------------------------
    @staticmethod
    def _recording() -> bool:
        from ..autograd.grad_mode import is_grad_enabled

        return is_grad_enabled()

    def _reset_hook(self, module, inputs) -> None:
        if self._recording():
            self._last_layer = None

    def _layer_hook(self, name: str):
        def hook(module, inputs, output):
            if self._recording():
                self._last_layer = name
        return hook

    def _dead_hook(self, kind: str):
        def hook(module, inputs, output):
            out = _array(output)
            if out is None or out.ndim == 0 or self._last_layer is None or not self._recording():
                return
            units = out.reshape(out.shape[0], -1) if out.ndim > 1 else out.reshape(1, -1)
            dead = float(np.mean(np.all(units <= 0, axis=0)))
            self._pending[self._last_layer] = (kind, dead, None)
        return hook

    def _saturation_hook(self, kind: str, lo: float, hi: float):
        margin = self.thresholds.saturation_margin * (hi - lo)

        def hook(module, inputs, output):
            out = _array(output)
            if out is None or out.size == 0 or self._last_layer is None or not self._recording():
                return
            saturated = float(np.mean((out <= lo + margin) | (out >= hi - margin)))
            self._pending[self._last_layer] = (kind, None, saturated)
        return hook

    def remove(self) -> None:
        """Unregister the forward hooks (the history stays)."""
        for h in self._handles:
            h.remove()
        self._handles = []

    def __enter__(self) -> GradientFlow:
        return self

    def __exit__(self, *exc) -> None:
        self.remove()

    # ---- recording ---------------------------------------------------------------------------
    def record(self, step: int | None = None) -> StepRecord:
        """Read every layer's gradients (call after ``backward``); returns the new record."""
        self._finish_update()
        record = StepRecord(len(self.history) if step is None else int(step))
        before = {}
        for name in self.layer_names:
            params = self._params[name]
            weights = [np.asarray(p.detach().numpy(), dtype=np.float64) for p in params]
            arrays = [_array(p.grad) for p in params]
            grads = [g.astype(np.float64, copy=False) for g in arrays if g is not None]
            w_norm = math.sqrt(sum(float(np.sum(w * w)) for w in weights))
            g_norm: float | None
            mean_abs: float | None
            ratio: float | None
            if grads:
                g_norm = math.sqrt(sum(float(np.sum(g * g)) for g in grads))
                count = sum(g.size for g in grads)
                mean_abs = sum(float(np.sum(np.abs(g))) for g in grads) / max(count, 1)
                ratio = g_norm / w_norm if w_norm > 0 else None
            else:
                g_norm = mean_abs = ratio = None
            stats = LayerStats(g_norm, mean_abs, w_norm, ratio)
            if name in self._pending:
                stats.activation, stats.dead_fraction, stats.saturated_fraction = \
                    self._pending[name]
            record.layers[name] = stats
            before[name] = weights
        self._pending = {}
        self._before = before
        self.history.append(record)
        return record

    def after_step(self) -> None:
        """Compute the update/weight ratio of the last record (call after ``optimizer.step()``;
        otherwise the next ``record()`` does it)."""
        self._finish_update()

    def _finish_update(self) -> None:
        if self._before is None or not self.history:
            return
        last = self.history[-1]
        for name, weights in self._before.items():
            now = [np.asarray(p.detach().numpy(), dtype=np.float64) for p in self._params[name]]
            diff = math.sqrt(sum(float(np.sum((a - b) ** 2))
                                 for a, b in zip(now, weights, strict=True)))
            w_norm = last.layers[name].weight_norm
            if diff > 0 and w_norm > 0:  # no change: no step was taken, so no ratio
                last.layers[name].update_weight_ratio = diff / w_norm
        self._before = None

    # ``fit`` callbacks: record after backward, the update after the optimizer's step
    def on_after_backward(self, state) -> None:
        self.record(getattr(state, "step", None))

    def on_batch_end(self, state) -> None:
        self.after_step()

    def on_epoch_end(self, state) -> None:
        self.after_step()

    # ---- reading -----------------------------------------------------------------------------
    def series(self, statistic: str = "grad_norm") -> dict[str, list[float | None]]:
        """One statistic (a ``LayerStats`` field) per layer over the recorded steps."""
        if statistic not in {f.name for f in dataclasses.fields(LayerStats)}:
            raise ValueError(f"GradientFlow.series: unknown statistic {statistic!r}; expected "
                             f"one of {[f.name for f in dataclasses.fields(LayerStats)]}")
        return {n: [getattr(r.layers[n], statistic) for r in self.history]
                for n in self.layer_names}

    def _record(self, step: int) -> StepRecord:
        if not self.history:
            raise RuntimeError("GradientFlow: nothing recorded yet; call record() after "
                               "loss.backward()")
        return self.history[step]

    def rows(self, step: int = -1) -> list[dict[str, Any]]:
        """The table of ``summary`` as dicts, one per layer (``step`` indexes the history)."""
        record = self._record(step)
        return [dict(index=i, layer=n, type=self.layer_types[n],
                     **dataclasses.asdict(record.layers[n]))
                for i, n in enumerate(self.layer_names, 1)]

    def summary(self, step: int = -1) -> str:
        """A text table of every layer at one recorded step (default: the last)."""
        record = self._record(step)
        header = ("#", "layer", "type", "grad norm", "mean |g|", "grad/weight", "update/weight",
                  "activation", "dead", "saturated")
        lines = [header]
        for row in self.rows(step):
            lines.append((str(row["index"]), row["layer"] or "(model)", row["type"],
                          _fmt(row["grad_norm"]), _fmt(row["mean_abs_grad"]),
                          _fmt(row["grad_weight_ratio"]), _fmt(row["update_weight_ratio"]),
                          row["activation"] or "-", _fmt(row["dead_fraction"], True),
                          _fmt(row["saturated_fraction"], True)))
        widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
        text = ["  ".join(c.ljust(w) if i in (1, 2, 7) else c.rjust(w)
                          for i, (c, w) in enumerate(zip(line, widths, strict=True))).rstrip()
                for line in lines]
        text.insert(1, "-" * len(text[0]))
        ratio = self._first_last(record)
        title = f"gradient flow at step {record.step}"
        if ratio is not None:
            title += f" (first/last layer gradient norm: {_fmt(ratio[2])})"
        return "\n".join([title, *text])

    def _first_last(self, record: StepRecord) -> tuple[str, str, float] | None:
        norms = [record.layers[n].grad_norm for n in self.layer_names]
        with_grad = [(n, g) for n, g in zip(self.layer_names, norms) if g is not None]
        if len(with_grad) < 2:
            return None
        (first, g_first), (last, g_last) = with_grad[0], with_grad[-1]
        if g_last == 0:
            return None
        return first, last, g_first / g_last

    # ---- the verdict -------------------------------------------------------------------------
    def _median(self, name: str, statistic: str) -> float | None:
        recent = self.history[-self.thresholds.window:]
        values = [getattr(r.layers[name], statistic) for r in recent]
        values = [v for v in values if v is not None]
        return float(np.median(values)) if values else None

    def _label(self, name: str) -> str:
        return f"layer {self.layer_names.index(name) + 1} ({self.layer_types[name]} {name!r})"

    def diagnose(self) -> list[Finding]:
        """What the recorded statistics say, as findings (empty when all looks healthy)."""
        self._record(-1)
        t = self.thresholds
        findings: list[Finding] = []
        norms = {n: self._median(n, "grad_norm") for n in self.layer_names}
        bad = [n for n, v in norms.items() if v is not None and not math.isfinite(v)]
        if bad:
            findings.append(Finding(
                "nonfinite", bad[0],
                f"{self._label(bad[0])}'s gradient contains NaN or Inf",
                {"layers": bad},
                "run the step under cr.autograd.detect_anomaly() to find the op that made it",
                "one NaN/Inf in a gradient spreads to every weight at the next step."))
            return findings
        units = [f for name in self.layer_names for f in self._unit_findings(name)]
        dead = [f for f in units if f.kind == "dead"]
        for f in self._flow_findings(norms):
            if f.kind == "vanishing" and dead:  # dead units block the flow: say that instead
                ratio = f.evidence["ratio"]
                dead[0].message += ("; the layers before it get no gradient at all" if ratio == 0
                                    else f"; the layers before it get {_short(ratio)} of the "
                                    "last layer's gradient norm")
                dead[0].evidence["flow_ratio"] = f.evidence["ratio"]
                continue
            findings.append(f)
        findings += units
        for name in self.layer_names:
            ratio = self._median(name, "update_weight_ratio")
            if ratio is not None and ratio > t.update_ratio:
                findings.append(Finding(
                    "update_too_large", name,
                    f"each step changes {self._label(name)}'s weights by {ratio:.0%} of their "
                    "norm",
                    {"update_weight_ratio": ratio, "threshold": t.update_ratio},
                    "lower the learning rate (a healthy update is ~1e-3 of the weights)",
                    "steps this large overshoot: the loss oscillates or diverges."))
        return findings

    def _flow_findings(self, norms: dict[str, float | None]) -> list[Finding]:
        t = self.thresholds
        known = {n: v for n, v in norms.items() if v is not None}  # in layer order
        with_grad = list(known)
        if not with_grad:
            return []
        findings = []
        biggest = max(with_grad, key=lambda n: known[n])
        if len(with_grad) >= 2 and known[with_grad[-1]] > 0:
            first, last = with_grad[0], with_grad[-1]
            ratio = known[first] / known[last]
            i, j = self.layer_names.index(first) + 1, self.layer_names.index(last) + 1
            evidence = {"first": first, "last": last, "first_norm": known[first],
                        "last_norm": known[last], "ratio": ratio}
            if ratio < t.vanishing_ratio:
                why = self._saturation_words(first, last)
                evidence.update(why[1])
                said = (f"layer {i} gets no gradient at all, layer {j} {_short(known[last])}"
                        if ratio == 0 else
                        f"layer {i}'s gradient norm is {_short(ratio)} of layer {j}'s")
                findings.append(Finding(
                    "vanishing", first, said + why[0],
                    evidence,
                    "use ReLU/GELU with He init, residual connections or normalisation",
                    "each layer multiplies the backward signal by its weights and its "
                    "activation's slope; when that product is below 1 the gradient shrinks "
                    "geometrically with depth and the first layers stop learning."))
                return findings
            if ratio > t.exploding_ratio:
                findings.append(Finding(
                    "exploding", first,
                    f"layer {i}'s gradient norm is {_short(ratio)} times layer {j}'s",
                    evidence,
                    "clip gradients (nn.utils.clip_grad_norm_), use a smaller init (He/Xavier) "
                    "or add normalisation",
                    "each layer multiplies the backward signal by more than 1, so the gradient "
                    "grows geometrically towards the input and steps overshoot."))
                return findings
        if known[biggest] > t.exploding_norm:
            findings.append(Finding(
                "exploding", biggest,
                f"{self._label(biggest)}'s gradient norm is {_short(known[biggest])}",
                {"grad_norm": known[biggest], "threshold": t.exploding_norm},
                "clip gradients (nn.utils.clip_grad_norm_), lower the learning rate, or check "
                "the init and the loss scale",
                "gradients this large make a single step move the weights far away."))
        return findings

    def _saturation_words(self, first: str, last: str) -> tuple[str, dict]:
        """Why the flow vanished: how saturated the sigmoid/tanh layers in between are."""
        i, j = self.layer_names.index(first), self.layer_names.index(last)
        kinds: dict[str, list[float]] = {}
        for name in self.layer_names[i:j]:
            stats = self.history[-1].layers[name]
            if stats.saturated_fraction is not None and stats.activation is not None:
                kinds.setdefault(stats.activation, []).append(stats.saturated_fraction)
        if not kinds:
            return "", {}
        kind, fractions = max(kinds.items(), key=lambda kv: len(kv[1]))
        mean = float(np.mean(fractions))
        words = []
        if mean >= 0.1:
            words.append(f"{mean:.0%} of {kind.lower()} units saturated")
        if kind == "Sigmoid":
            words.append(f"sigma' <= 0.25 at each of {len(fractions)} sigmoid layers")
        if not words:
            return "", {}
        return f" ({'; '.join(words)})", {"saturated_fraction": mean, "activation": kind}

    def _unit_findings(self, name: str) -> list[Finding]:
        t = self.thresholds
        stats = self.history[-1].layers[name]
        dead = self._median(name, "dead_fraction")
        saturated = self._median(name, "saturated_fraction")
        findings = []
        if dead is not None and dead > t.dead_fraction:
            findings.append(Finding(
                "dead", name,
                f"{dead:.0%} of {self._label(name)}'s {stats.activation} units output 0 for "
                "every example of the batch",
                {"dead_fraction": dead, "activation": stats.activation,
                 "threshold": t.dead_fraction},
                "lower the learning rate, use He init with zero biases, or LeakyReLU/GELU",
                "a ReLU whose input is negative for every example passes no gradient, so its "
                "weights never change again: the unit is dead."))
        if (saturated is not None and saturated > t.saturated_fraction
                and stats.activation is not None):
            lo, hi = next((lo, hi) for n, lo, hi in t.saturating_activations
                          if n == stats.activation)
            margin = t.saturation_margin * (hi - lo)
            findings.append(Finding(
                "saturated", name,
                f"{saturated:.0%} of {self._label(name)}'s {stats.activation.lower()} outputs are "
                f"within {margin:g} of {lo:g} or {hi:g}",
                {"saturated_fraction": saturated, "activation": stats.activation,
                 "threshold": t.saturated_fraction},
                "normalise the inputs, use a smaller (Xavier) init or add normalisation before "
                "the activation",
                "a saturated sigmoid/tanh has a slope near 0, so almost no gradient passes."))
        return findings

    # ---- the picture -------------------------------------------------------------------------
    def plot(self, path: str | os.PathLike, title: str | None = None) -> str:
        """Draw gradient norms per layer (log scale, first and last step) and over time;
        write the figure to ``path`` (format from its extension). Needs matplotlib."""
        self._record(-1)
        fig = new_figure((11, 4))
        ax1, ax2 = fig.subplots(1, 2)
        x = np.arange(1, len(self.layer_names) + 1)
        for record, style, label in ((self.history[0], "o--", f"step {self.history[0].step}"),
                                     (self.history[-1], "o-", f"step {self.history[-1].step}")):
            values = [record.layers[n].grad_norm for n in self.layer_names]
            ax1.plot(x, [np.nan if v is None or v <= 0 else v for v in values], style,
                     label=label)
            if len(self.history) == 1:
                break
        ax1.set_yscale("log")
        ax1.set_xticks(x)
        ax1.set_xlabel("layer (input -> output)")
        ax1.set_ylabel("gradient norm")
        ax1.legend()
        ax1.set_title("per layer")
        steps = [r.step for r in self.history]
        for name, values in self.series("grad_norm").items():
            ax2.plot(steps, [np.nan if v is None or v <= 0 else v for v in values],
                     label=name or "(model)")
        ax2.set_yscale("log")
        ax2.set_xlabel("step")
        ax2.set_ylabel("gradient norm")
        ax2.set_title("over time")
        if len(self.layer_names) <= 12:
            ax2.legend(fontsize="small")
        fig.suptitle(title or "gradient flow")
        fig.tight_layout()
        return save_figure(fig, path)

    def __repr__(self) -> str:
        return (f"GradientFlow({len(self.layer_names)} layers, {len(self.history)} steps "
                "recorded)")


def new_figure(figsize: tuple[float, float]):
    """A matplotlib Figure drawn with Agg, without pyplot (no global state, no GUI)."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as e:
        raise ImportError("plotting needs matplotlib: pip install chainrule[plot]") from e
    fig = Figure(figsize=figsize)
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig, path: str | os.PathLike) -> str:
    """Write a matplotlib figure atomically (format from the suffix, PNG without one)."""
    from ..atomic import atomic_write

    path = os.fspath(path)
    fmt = os.path.splitext(path)[1][1:] or "png"
    atomic_write(path, lambda out: fig.savefig(out, format=fmt))
    return path
