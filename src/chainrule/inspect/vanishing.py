"""The vanishing-gradient experiment: deep MLPs, one batch, gradient norms layer by layer.

``exp = run_experiment(depth=10, activations=("sigmoid", "relu")); print(exp.report())``

Every network is ``depth`` Linear layers of ``width`` units: layers 1 .. depth-1 are followed by
the activation, layer ``depth`` is the linear output. One batch of Gaussian inputs and targets,
the mean squared error, one backward pass. The numbers show the textbook story:

- sigmoid collapses: sigma' <= 0.25, so each layer scales the backward signal by at most
  0.25 * ||W||_2; with Xavier init the first layer's gradient is ~1e-6 of the last one's;
- ReLU (and GELU) with He init keep the magnitude (ratio of order 1);
- residual connections (``h + f(h)``) give the gradient a path around every activation, and
  LayerNorm after the activation rescales each layer's output to unit variance, which divides
  the activation's slope back out in the backward pass: both restore the flow.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .flow import Finding, GradientFlow, new_figure, save_figure

# name on the command line -> nn class name, and the init each is meant to have ("auto")
ACTIVATIONS = {
    "sigmoid": ("Sigmoid", "xavier"), "tanh": ("Tanh", "xavier"), "relu": ("ReLU", "he"),
    "gelu": ("GELU", "he"), "leaky_relu": ("LeakyReLU", "he"), "elu": ("ELU", "he"),
    "silu": ("SiLU", "he"),
}
INITS = ("auto", "default", "he", "xavier")
NORMS = (None, "layer")


def _nn():
    from .. import nn

    return nn


@functools.cache  # one class, built on first use (nn is imported lazily)
def _block_class():
    nn = _nn()

    class Block(nn.Module):
        """``Linear -> activation [-> LayerNorm]``, added to its input when residual; the
        output layer is the Linear alone."""

        def __init__(self, width: int, activation: str | None, norm: str | None,
                     residual_scale: float | None) -> None:
            super().__init__()
            self.linear = nn.Linear(width, width)
            self.act = getattr(nn, ACTIVATIONS[activation][0])() if activation else None
            self.norm = nn.LayerNorm(width) if norm == "layer" and activation else None
            self.residual_scale = residual_scale

        def forward(self, h):
            z = self.linear(h)
            if self.act is not None:
                z = self.act(z)
            if self.norm is not None:
                z = self.norm(z)
            if self.residual_scale is not None:
                return h + z * self.residual_scale
            return z

    return Block


def build_mlp(activation: str, depth: int = 10, width: int = 32, *, residual: bool = False,
              norm: str | None = None, init: str = "auto"):
    """The experiment's network: ``nn.Sequential`` of ``depth`` blocks (see the module doc).

    Residual branches are scaled by 1/sqrt(depth - 1) (as SkipInit / GPT-2's scaled init do) so
    that the sum's variance stays bounded with depth. ``init``: ``auto`` (He for ReLU-like,
    Xavier for sigmoid/tanh; zero biases), ``he``, ``xavier`` or ``default`` (PyTorch's).
    ``build_mlp("sigmoid", depth=10, width=32)``
    """
    _check(activation, depth, width, norm, init)
    nn = _nn()
    Block = _block_class()
    scale = 1 / math.sqrt(depth - 1) if residual else None
    blocks = [Block(width, activation if i < depth - 1 else None, norm,
                    scale if i < depth - 1 else None) for i in range(depth)]
    scheme = ACTIVATIONS[activation][1] if init == "auto" else init
    if scheme != "default":
        for block in blocks:
            if scheme == "he":
                nn.init.kaiming_normal_(block.linear.weight, nonlinearity="relu")
            else:
                nn.init.xavier_normal_(block.linear.weight)
            nn.init.zeros_(block.linear.bias)
    return nn.Sequential(*blocks)


def _check(activation: str, depth: int, width: int, norm: str | None, init: str) -> None:
    if activation not in ACTIVATIONS:
        raise ValueError(f"vanishing: unknown activation {activation!r}; expected one of "
                         f"{', '.join(ACTIVATIONS)}")
    if depth < 2:
        raise ValueError(f"vanishing: depth must be at least 2 (got {depth})")
    if width < 1:
        raise ValueError(f"vanishing: width must be at least 1 (got {width})")
    if norm not in NORMS:
        raise ValueError(f"vanishing: unknown norm {norm!r}; expected 'layer' or none")
    if init not in INITS:
        raise ValueError(f"vanishing: unknown init {init!r}; expected one of {', '.join(INITS)}")


@dataclass
class Run:
    """One network after one backward pass.

    ``grad_norms[l]``: norm of layer l's weight gradient (input -> output); ``signal_norms[l]``:
    norm of dL/dz_l, the gradient at layer l's Linear output; ``spectral_norms[l]``: ||W_l||_2.
    """

    activation: str
    residual: bool
    norm: str | None
    grad_norms: list[float]
    signal_norms: list[float]
    spectral_norms: list[float]
    findings: list[Finding] = field(default_factory=list)
    flow: GradientFlow | None = None

    @property
    def label(self) -> str:
        extra = (["residual"] if self.residual else []) + (["layernorm"] if self.norm else [])
        return self.activation + (f"+{'+'.join(extra)}" if extra else "")

    @property
    def ratio(self) -> float:
        """First layer's weight-gradient norm over the last layer's."""
        return _ratio(self.grad_norms[0], self.grad_norms[-1])

    @property
    def signal_ratio(self) -> float:
        return _ratio(self.signal_norms[0], self.signal_norms[-1])

    def sigmoid_bound(self) -> tuple[float, float]:
        """(0.25^(depth-1), 0.25^(depth-1) * prod ||W_l||_2 for l = 2..depth): sigma' <= 0.25
        bounds ||dL/dz_1|| / ||dL/dz_depth|| by the second (plain sigmoid networks only)."""
        n = len(self.grad_norms) - 1
        return 0.25 ** n, 0.25 ** n * float(np.prod(self.spectral_norms[1:]))


def _ratio(first: float, last: float) -> float:
    """first / last, IEEE-style: a network whose last layer got no gradient (every unit dead)
    reports inf or nan instead of failing the whole report."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.float64(first) / np.float64(last))


def run_one(activation: str, depth: int = 10, width: int = 32, *, residual: bool = False,
            norm: str | None = None, init: str = "auto", batch: int = 64, seed: int = 0) -> Run:
    """Build one network, run one batch forward and backward, and measure it."""
    import chainrule as cr

    from ..nn import functional as F

    state = cr.get_rng_state()
    try:
        cr.manual_seed(seed)
        model = build_mlp(activation, depth, width, residual=residual, norm=norm, init=init)
        x = cr.randn(batch, width)
        y = cr.randn(batch, width)
    finally:
        cr.set_rng_state(state)  # the caller's random stream is left as it was
    linears = [block.linear for block in model]
    flow = GradientFlow(model, layers=[f"{i}.linear" for i in range(depth)])
    outputs = []

    def keep(module, inputs, out):
        out.retain_grad()
        outputs.append(out)

    handles = [lin.register_forward_hook(keep) for lin in linears]
    try:
        loss = F.mse_loss(model(x), y)
        loss.backward()
    finally:
        for h in handles:
            h.remove()
    flow.record()
    flow.remove()
    return Run(
        activation, residual, norm,
        grad_norms=[float(np.linalg.norm(lin.weight.grad.numpy())) for lin in linears],
        signal_norms=[float(np.linalg.norm(z.grad.numpy())) for z in outputs],
        spectral_norms=[float(np.linalg.norm(lin.weight.detach().numpy().astype(np.float64), 2))
                        for lin in linears],
        findings=flow.diagnose(), flow=flow)


@dataclass
class Experiment:
    """The runs side by side, with the plain networks as a baseline when the runs are residual
    or normalised. ``report()`` is the text the ``chainrule vanishing`` command prints."""

    depth: int
    width: int
    runs: list[Run]
    baselines: list[Run] = field(default_factory=list)

    def table(self) -> str:
        names = [r.label for r in self.runs]
        rows = [("layer", *names)]
        for layer in range(self.depth):
            label = f"{layer + 1}" + (" (output)" if layer == self.depth - 1 else "")
            rows.append((label, *(f"{r.grad_norms[layer]:.2e}" for r in self.runs)))
        rows.append(("first/last", *(f"{r.ratio:.2e}" for r in self.runs)))
        if self.baselines:
            rows.append(("plain first/last", *(f"{b.ratio:.2e}" for b in self.baselines)))
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                           for i, (c, w) in enumerate(zip(row, widths, strict=True)))
                 for row in rows]
        lines.insert(1, "-" * len(lines[0]))
        return ("weight-gradient norm per layer (input -> output), one batch\n"
                + "\n".join(lines))

    def bound(self) -> str:
        """The sigmoid networks next to the bound sigma' <= 0.25 gives."""
        plain = [r for r in self.runs + self.baselines
                 if r.activation == "sigmoid" and not r.residual and not r.norm]
        if not plain:
            return ""
        r = plain[0]
        n = self.depth - 1
        textbook, bound = r.sigmoid_bound()
        return (f"sigmoid: sigma'(z) <= 0.25, so each of the {n} sigmoid layers scales the "
                f"backward signal by at most 0.25 * ||W||_2.\n"
                f"  0.25^{n} = {textbook:.2e}; with these weights (prod ||W||_2 = "
                f"{bound / textbook:.3g}) the bound on ||dL/dz_1|| / ||dL/dz_{self.depth}|| is "
                f"{bound:.2e}\n"
                f"  measured: {r.signal_ratio:.2e} (signal), {r.ratio:.2e} (weight gradients)")

    def verdicts(self) -> str:
        lines = ["verdict (GradientFlow.diagnose):"]
        for r in self.runs:
            said = [str(f) for f in r.findings] or ["healthy: no finding"]
            lines += [f"  {r.label}: {s}" for s in said]
        return "\n".join(lines)

    def report(self) -> str:
        parts = [self.table(), self.bound(), self.verdicts()]
        return "\n\n".join(p for p in parts if p)

    def plot(self, path) -> str:
        """Gradient norm per layer, log scale, one line per network (the plain baselines
        dashed); the 0.25-per-layer sigmoid bound dotted. Needs matplotlib."""
        fig = new_figure((7, 4.5))
        ax = fig.subplots()
        x = np.arange(1, self.depth + 1)
        for r in self.runs:
            (line,) = ax.plot(x, r.grad_norms, "o-", label=f"{r.label} ({r.ratio:.1e})")
            base = next((b for b in self.baselines if b.activation == r.activation), None)
            if base is not None:
                ax.plot(x, base.grad_norms, "--", color=line.get_color(), alpha=0.6,
                        label=f"{base.label} ({base.ratio:.1e})")
        sigmoid = next((r for r in self.runs + self.baselines
                        if r.activation == "sigmoid" and not r.residual and not r.norm), None)
        if sigmoid is not None:
            ax.plot(x, sigmoid.grad_norms[-1] * 0.25 ** (self.depth - x), ":", color="gray",
                    label="0.25 per layer")
        ax.set_yscale("log")
        ax.set_xticks(x)
        ax.set_xlabel("layer (input -> output)")
        ax.set_ylabel("weight-gradient norm")
        ax.set_title(f"depth {self.depth}, width {self.width}: first/last ratio in brackets")
        ax.legend(fontsize="small")
        fig.tight_layout()
        return save_figure(fig, path)


def run_experiment(depth: int = 10, width: int = 32,
                   activations: Sequence[str] = ("sigmoid", "tanh", "relu", "gelu"), *,
                   residual: bool = False, norm: str | None = None, init: str = "auto",
                   batch: int = 64, seed: int = 0) -> Experiment:
    """Run every activation (same seed, same data); with ``residual`` or ``norm`` the plain
    networks run too, as the baseline. ``run_experiment(10, 32, ["sigmoid", "relu"])``"""
    if not activations:
        raise ValueError("vanishing: give at least one activation")
    for a in activations:
        _check(a, depth, width, norm, init)
    if batch < 1:
        raise ValueError(f"vanishing: batch must be at least 1 (got {batch})")
    run = functools.partial(run_one, depth=depth, width=width, init=init, batch=batch, seed=seed)
    runs = [run(a, residual=residual, norm=norm) for a in activations]
    baselines = []
    if residual or norm:
        baselines = [run(a) for a in activations]
    return Experiment(depth, width, runs, baselines)
