"""The demo: one regression problem trained twice, by the engine and by the textbook network.

    result = run_demo(epochs=3000, seed=0)   # what ``chainrule demo`` / ``make demo`` run

A [1, 64, 32, 1] ReLU network fits y = x² + noise (100 points on [-2, 2], noise std 0.1) with
full-batch gradient descent at lr 0.01, from the same initial weights: once with autograd (nn +
optim.SGD) and once with ``chainrule.scratch.NeuralNetwork``'s hand-written backprop. The two
loss curves agree to rounding; gradient checks confirm both; ``report.html`` and PNGs go to
``runs/demo-<timestamp>/``.
"""

from __future__ import annotations

import math
import pathlib
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from .progress import ProgressDisplay

if TYPE_CHECKING:
    from .nn import Module

LAYERS = (1, 64, 32, 1)
LEARNING_RATE = 0.01
N_POINTS = 100
NOISE = 0.1
DEFAULT_EPOCHS = 3000  # the fit reaches the noise floor (loss ~ NOISE**2 = 0.01) by then
GRADCHECK_POINTS = 16  # the engine's gradcheck perturbs every weight: a few points suffice
KINK_MARGIN = 1e-3  # 100 x the checks' step: a ReLU input closer to 0 may cross the kink
GRADIENT_CHECK_PASS = 1e-6  # max relative error of a passing two-sided gradient check


class DemoError(RuntimeError):
    """The demo cannot run (an optional package is missing, bad options)."""


@dataclass
class DemoResult:
    """What the demo measured and wrote."""

    out_dir: pathlib.Path
    epochs: int
    seed: int
    engine_kind: str  # "nn + optim.SGD", or "Tensors + hand-written SGD" before nn exists
    x: np.ndarray
    y: np.ndarray
    engine_losses: np.ndarray  # per epoch, measured before that epoch's update
    scratch_losses: np.ndarray
    grad_norms: dict[str, np.ndarray]  # per layer: |(dW, db)| of the engine at each epoch
    scratch_grad_norms: dict[str, np.ndarray]
    max_loss_diff: float  # max over epochs of |engine loss - textbook loss|
    max_grad_diff: float  # max relative difference of the first step's gradients
    gradient_check_error: float  # the textbook network's two-sided gradient check
    gradient_check_points: int  # the points it used: those clear of every ReLU kink
    engine_gradcheck: bool  # cr.autograd.gradcheck of the engine's loss
    grid: np.ndarray = field(repr=False)
    engine_fit: np.ndarray = field(repr=False)
    scratch_fit: np.ndarray = field(repr=False)
    seconds: float = 0.0
    files: list[pathlib.Path] = field(default_factory=list)

    @property
    def agree(self) -> bool:
        scale = max(1.0, float(np.max(np.abs(self.engine_losses))))
        return self.max_loss_diff <= 1e-9 * scale and self.max_grad_diff <= 1e-9


def make_data(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The 100 points of y = x² + N(0, 0.1²), x uniform on [-2, 2], as float64 (n, 1) arrays."""
    from .data import make_regression

    x, y = make_regression(N_POINTS, noise=NOISE, seed=seed)
    return x._data.astype(np.float64), y._data.astype(np.float64)


# ---- the engine's network ----------------------------------------------------------------------


class _EngineNet:
    """The engine side: nn.Sequential + optim.SGD when they exist, else bare Tensors."""

    model: Module | None  # None when built from bare Tensors

    def __init__(self, weights: list[np.ndarray], biases: list[np.ndarray]) -> None:
        import chainrule as cr

        self.cr = cr
        # nn.Linear stores W as (out, in), the textbook network as (in, out): transpose.
        try:
            self._build_nn(weights, biases)
        except (ImportError, AttributeError):
            self._build_tensors(weights, biases)

    def _build_nn(self, weights, biases) -> None:
        import chainrule.nn as nn
        import chainrule.optim as optim

        cr = self.cr
        layers: list = []
        for i, w in enumerate(weights):
            layers.append(nn.Linear(w.shape[0], w.shape[1]))
            if i < len(weights) - 1:
                layers.append(nn.ReLU())
        model = nn.Sequential(*layers).to(cr.float64)
        linears = [m for m in layers if isinstance(m, nn.Linear)]
        with cr.no_grad():
            for lin, w, b in zip(linears, weights, biases):
                lin.weight.copy_(cr.tensor(np.ascontiguousarray(w.T)))
                lin.bias.copy_(cr.tensor(b))
        self.kind = "nn + optim.SGD"
        self.model = model
        self.loss_fn = nn.MSELoss()
        self.optimizer = optim.SGD(model.parameters(), lr=LEARNING_RATE)
        self.layer_params = [(lin.weight, lin.bias) for lin in linears]

    def _build_tensors(self, weights, biases) -> None:
        cr = self.cr
        self.kind = "Tensors + hand-written SGD"
        self.model = None
        self.layer_params = [(cr.tensor(np.ascontiguousarray(w.T), requires_grad=True),
                              cr.tensor(b.copy(), requires_grad=True))
                             for w, b in zip(weights, biases)]

    def parameters(self) -> list:
        return [p for pair in self.layer_params for p in pair]

    def forward(self, x):
        if self.model is not None:
            return self.model(x)
        return mlp_forward(x, self.parameters())

    def loss(self, x, y):
        out = self.forward(x)
        if self.model is not None:
            return self.loss_fn(out, y)
        return ((out - y) ** 2).mean()

    def step(self, x, y) -> tuple[float, list[np.ndarray]]:
        """One full-batch step; returns the loss before the update and each layer's grads."""
        cr = self.cr
        if self.model is not None:
            self.optimizer.zero_grad()
        else:
            for p in self.parameters():
                p.grad = None
        loss = self.loss(x, y)
        loss.backward()
        grads = [p.grad._data.copy() for p in self.parameters()]
        if self.model is not None:
            self.optimizer.step()
        else:
            with cr.no_grad():
                for p in self.parameters():
                    p.sub_(p.grad * LEARNING_RATE)
        return float(loss.item()), grads

    def predict(self, x: np.ndarray) -> np.ndarray:
        cr = self.cr
        with cr.no_grad():
            return self.forward(cr.tensor(x))._data.copy()


def mlp_forward(x, params: list):
    """x @ W.T + b with ReLU between layers; params = [W1, b1, W2, b2, ...], W as (out, in)."""
    import chainrule as cr

    n = len(params) // 2
    for i in range(n):
        x = x @ params[2 * i].T + params[2 * i + 1]
        if i < n - 1:
            x = cr.relu(x)
    return x


# ---- the run ----------------------------------------------------------------------------------


def run_demo(out_dir: str | pathlib.Path | None = None, epochs: int = DEFAULT_EPOCHS,
             seed: int = 0, progress: bool = True,
             log: Callable[[str], None] | None = print) -> DemoResult:
    """Train both networks, compare them, run the gradient checks and write the report.

    ``run_demo(epochs=3000, seed=0)`` writes ``runs/demo-<timestamp>/`` (or ``out_dir``).
    """
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
        raise DemoError(f"epochs must be a positive integer, got {epochs!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise DemoError(f"seed must be a non-negative integer, got {seed!r}")
    from . import report

    report.require_matplotlib()  # fail before training, not after
    import chainrule as cr
    from chainrule.scratch import NeuralNetwork

    start = time.perf_counter()
    out_dir = _run_dir(out_dir)
    say = log or (lambda _: None)
    x, y = make_data(seed)
    net = NeuralNetwork(list(LAYERS), learning_rate=LEARNING_RATE, activation="relu",
                        output="linear", loss="mse", seed=seed)
    engine = _EngineNet([w.copy() for w in net.weights], [b.copy() for b in net.biases])
    say(f"chainrule demo: y = x² + noise, {N_POINTS} points; network {list(LAYERS)} ReLU, "
        f"SGD lr {LEARNING_RATE}, full batch, {epochs} epochs, seed {seed}")

    # Gradient checks, before training touches the weights, on the points whose ReLU inputs
    # are all clear of the kink at 0: within eps of it a numerical derivative is meaningless.
    smooth = _away_from_kinks(net, x)
    gradient_check_error = net.gradient_check(x[smooth], y[smooth])
    engine_gradcheck = _engine_gradcheck(engine, x[smooth][:GRADCHECK_POINTS],
                                         y[smooth][:GRADCHECK_POINTS])

    names = [f"layer {i + 1} ({a}→{b})" for i, (a, b) in enumerate(zip(LAYERS, LAYERS[1:]))]
    engine_losses = np.empty(epochs)
    scratch_losses = np.empty(epochs)
    norms = {n: np.empty(epochs) for n in names}
    scratch_norms = {n: np.empty(epochs) for n in names}
    max_grad_diff = 0.0
    xt, yt = cr.tensor(x), cr.tensor(y)
    every = max(1, epochs // 10)  # without a live bar, a line every 10% of the epochs
    with ProgressDisplay(progress) as bar:
        bar.start("training", epochs)
        for epoch in range(epochs):
            engine_losses[epoch], grads = engine.step(xt, yt)
            out = net.forward(x)
            scratch_losses[epoch] = net.loss_function.fn(out, y)
            grads_w, grads_b = net.backward(y)
            net.update(grads_w, grads_b)
            for i, n in enumerate(names):
                gw, gb = grads[2 * i], grads[2 * i + 1]
                norms[n][epoch] = math.sqrt(float(np.sum(gw * gw) + np.sum(gb * gb)))
                scratch_norms[n][epoch] = math.sqrt(float(
                    np.sum(grads_w[i] ** 2) + np.sum(grads_b[i] ** 2)))
                if epoch == 0:  # the same weights: the gradients must agree to rounding
                    max_grad_diff = max(max_grad_diff, _rel_diff(gw, grads_w[i].T),
                                        _rel_diff(gb, grads_b[i]))
            done, loss = epoch + 1, engine_losses[epoch]
            bar.update(done, f"loss {loss:.4g}", force=done == epochs)
            if done % every == 0 or done == epochs:
                bar.note(f"  epoch {done:>{len(str(epochs))}}/{epochs}  loss {loss:.6g}")

    grid = np.linspace(-2.0, 2.0, 200).reshape(-1, 1)
    result = DemoResult(
        out_dir=out_dir, epochs=epochs, seed=seed, engine_kind=engine.kind, x=x, y=y,
        engine_losses=engine_losses, scratch_losses=scratch_losses, grad_norms=norms,
        scratch_grad_norms=scratch_norms,
        max_loss_diff=float(np.max(np.abs(engine_losses - scratch_losses))),
        max_grad_diff=max_grad_diff, gradient_check_error=float(gradient_check_error),
        gradient_check_points=int(smooth.sum()),
        engine_gradcheck=engine_gradcheck, grid=grid, engine_fit=engine.predict(grid),
        scratch_fit=net.predict(grid), seconds=time.perf_counter() - start)
    result.files = report.write_report(result)
    result.seconds = time.perf_counter() - start  # including the report
    if log is not None:
        print_summary(result, log)
    return result


def _away_from_kinks(net, x: np.ndarray) -> np.ndarray:
    """Rows of x whose hidden pre-activations are all farther than KINK_MARGIN from 0."""
    net.forward(x)  # caches every layer's pre-activation Z in net.zs
    margin = np.min(np.concatenate([np.abs(z) for z in net.zs[:-1]], axis=1), axis=1)
    return margin > KINK_MARGIN


def _rel_diff(a: np.ndarray, b: np.ndarray) -> float:
    scale = max(float(np.max(np.abs(a))), float(np.max(np.abs(b))), 1e-300)
    return float(np.max(np.abs(a - b))) / scale


def _engine_gradcheck(engine: _EngineNet, x: np.ndarray, y: np.ndarray) -> bool:
    """cr.autograd.gradcheck of the loss with respect to every weight (copies, float64)."""
    import chainrule as cr

    params = [cr.tensor(p._data.copy(), requires_grad=True) for p in engine.parameters()]
    xt, yt = cr.tensor(x), cr.tensor(y)

    def loss(*ps):
        return ((mlp_forward(xt, list(ps)) - yt) ** 2).mean()

    return bool(cr.autograd.gradcheck(loss, params, raise_exception=False))


def _run_dir(out_dir) -> pathlib.Path:
    if out_dir is not None:
        path = pathlib.Path(out_dir)
    else:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        path = pathlib.Path("runs") / f"demo-{stamp}"
        k = 1
        while path.exists():  # two demos in the same second
            k += 1
            path = pathlib.Path("runs") / f"demo-{stamp}-{k}"
    if path.exists() and not path.is_dir():
        raise DemoError(f"--out {path} exists and is not a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DemoError(f"cannot create {path}: {e.strerror or e}") from None
    return path


def summary_rows(r: DemoResult) -> list[tuple[str, str]]:
    """The summary as (what, value) rows: printed by the CLI and shown in report.html."""
    check = "passed" if r.gradient_check_error < GRADIENT_CHECK_PASS else "FAILED"
    return [
        ("engine", r.engine_kind),
        ("initial loss (engine / textbook)",
         f"{r.engine_losses[0]:.6g} / {r.scratch_losses[0]:.6g}"),
        ("final loss (engine / textbook)",
         f"{r.engine_losses[-1]:.6g} / {r.scratch_losses[-1]:.6g}"),
        ("max |loss difference| over all epochs", f"{r.max_loss_diff:.2e}"),
        ("first-step gradients, max relative difference", f"{r.max_grad_diff:.2e}"),
        (f"textbook gradient check on the {r.gradient_check_points} points clear of ReLU kinks",
         f"max relative error {r.gradient_check_error:.2e} ({check})"),
        ("engine gradcheck (cr.autograd.gradcheck)",
         "passed" if r.engine_gradcheck else "FAILED"),
        ("the two networks agree", "yes" if r.agree else "NO"),
        ("time", f"{r.seconds:.1f} s"),
        ("report", str(r.out_dir / "report.html")),
    ]


def print_summary(r: DemoResult, log: Callable[[str], None] = print) -> None:
    rows = summary_rows(r)
    if log is print and sys.stdout.isatty():
        try:
            from rich.console import Console
            from rich.table import Table
        except ImportError:
            pass
        else:
            table = Table(title="chainrule demo: engine vs textbook backprop")
            table.add_column("what")
            table.add_column("value")
            for what, value in rows:
                table.add_row(what, value)
            Console().print(table)
            return
    width = max(len(w) for w, _ in rows)
    for what, value in rows:
        log(f"  {what:<{width}}  {value}")
