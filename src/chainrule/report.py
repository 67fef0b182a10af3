"""Files the demo writes: the PNG figures and the self-contained report.html.

    write_report(result)   # fit.png, loss.png, grad_norms.png, report.html, written atomically
"""

from __future__ import annotations

import html
import io
import pathlib
from typing import TYPE_CHECKING

import numpy as np

from .atomic import atomic_write

if TYPE_CHECKING:
    from .demo import DemoResult

ENGINE_COLOUR = "#1f77b4"
SCRATCH_COLOUR = "#ff7f0e"
LAYER_COLOURS = ("#1f77b4", "#2ca02c", "#d62728", "#9467bd", "#8c564b")


def require_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        from .demo import DemoError

        raise DemoError("the demo draws its figures with matplotlib: pip install "
                        "chainrule[plot]") from None


def _figure(width: float = 7.0, height: float = 4.2, ncols: int = 1):
    """A matplotlib Figure on the Agg canvas: no pyplot, no global backend change."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=120, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, ncols)
    return fig, axes


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _style(ax) -> None:
    ax.grid(True, alpha=0.3, linewidth=0.6)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def fit_figure(r: DemoResult) -> bytes:
    """The data, the true x² and the two fitted curves."""
    fig, ax = _figure()
    grid = r.grid.reshape(-1)
    ax.scatter(r.x.reshape(-1), r.y.reshape(-1), s=14, color="#7f7f7f", alpha=0.7,
               label=f"data: x² + noise ({r.x.shape[0]} points)", zorder=2)
    ax.plot(grid, grid ** 2, color="black", linestyle=":", linewidth=1.6, label="true x²",
            zorder=3)
    ax.plot(grid, r.engine_fit.reshape(-1), color=ENGINE_COLOUR, linewidth=2.4,
            label=f"engine ({r.engine_kind})", zorder=4)
    ax.plot(grid, r.scratch_fit.reshape(-1), color=SCRATCH_COLOUR, linewidth=1.2,
            linestyle=(0, (4, 3)), label="textbook NumPy network", zorder=5)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title(f"Fit after {r.epochs} epochs (final MSE {r.engine_losses[-1]:.4f})")
    ax.legend(frameon=False, loc="upper center")
    _style(ax)
    return _png(fig)


def loss_figure(r: DemoResult) -> bytes:
    """Both loss curves on a log scale, and their difference."""
    fig, (ax, ax_diff) = _figure(10.0, 4.0, ncols=2)
    epochs = np.arange(1, r.epochs + 1)
    ax.plot(epochs, r.engine_losses, color=ENGINE_COLOUR, linewidth=2.4, label="engine")
    ax.plot(epochs, r.scratch_losses, color=SCRATCH_COLOUR, linewidth=1.2,
            linestyle=(0, (4, 3)), label="textbook")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("MSE loss (log scale)")
    ax.set_title("Training loss: the two curves coincide")
    ax.legend(frameon=False)
    _style(ax)
    diff = np.abs(r.engine_losses - r.scratch_losses)
    nonzero = diff > 0  # an exact 0 has no place on a log scale: counted in the title instead
    if nonzero.any():
        ax_diff.plot(epochs[nonzero], diff[nonzero], linestyle="none", marker=".",
                     markersize=2.5, color="#444444", alpha=0.6)
        ax_diff.set_yscale("log")
        ax_diff.set_ylim(float(diff[nonzero].min()) / 3, max(1e-12, float(diff.max()) * 10))
    else:
        ax_diff.set_yticks([0.0])
    ax_diff.set_xlim(0, r.epochs + 1)
    ax_diff.set_xlabel("epoch")
    ax_diff.set_ylabel("|engine − textbook| (log scale)")
    zero_share = 100.0 * (1.0 - nonzero.mean())
    ax_diff.set_title(f"Difference: max {r.max_loss_diff:.1e}, exactly 0 in {zero_share:.0f}% "
                      "of epochs", fontsize=10.5)
    _style(ax_diff)
    return _png(fig)


def grad_norm_figure(r: DemoResult) -> bytes:
    """Each layer's gradient norm per epoch, on a log scale."""
    fig, ax = _figure()
    epochs = np.arange(1, r.epochs + 1)
    for colour, (name, values) in zip(LAYER_COLOURS, r.grad_norms.items()):
        ax.plot(epochs, np.maximum(values, 1e-300), color=colour, linewidth=1.0, label=name)
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("‖(dW, db)‖ (log scale)")
    ax.set_title("Per-layer gradient norms (engine)")
    ax.legend(frameon=False)
    _style(ax)
    return _png(fig)


FIGURES = (
    ("fit.png", fit_figure, "The data, the true curve x² and both fitted networks."),
    ("loss.png", loss_figure, "Loss per epoch for the engine and the textbook network, and "
                              "the absolute difference between them."),
    ("grad_norms.png", grad_norm_figure, "Gradient norm of each layer's weights and bias."),
)


def write_report(r: DemoResult) -> list[pathlib.Path]:
    """Write the PNGs and report.html into ``r.out_dir``; return the paths written."""
    written = []
    for name, make, _ in FIGURES:
        written.append(atomic_write(r.out_dir / name, make(r)))
    written.append(atomic_write(r.out_dir / "report.html", report_html(r)))
    return written


def report_html(r: DemoResult) -> str:
    """A standalone page: the summary table, the figures and a worked chain-rule example."""
    from .demo import LAYERS, LEARNING_RATE, summary_rows

    esc = html.escape
    rows = "\n".join(f"<tr><td>{esc(w)}</td><td>{esc(v)}</td></tr>"
                     for w, v in summary_rows(r) if w != "report")
    figures = "\n".join(f"<figure><img src='{name}' alt='{esc(caption)}'><figcaption>"
                        f"{esc(caption)}</figcaption></figure>" for name, _, caption in FIGURES)
    verdict = ("The engine's autograd and the hand-written backprop agree to rounding error."
               if r.agree else "The engine and the textbook network DISAGREE: see the numbers "
               "below.")
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>chainrule demo</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 60em; margin: 2em auto; color: #222;
       line-height: 1.45; padding: 0 1em; }}
table {{ border-collapse: collapse; margin: 1em 0; }}
td, th {{ border: 1px solid #ccc; padding: .3em .7em; text-align: left; }}
figure {{ margin: 1.5em 0; }} img {{ max-width: 100%; }}
figcaption {{ color: #555; font-size: .9em; }}
.verdict {{ font-weight: 600; }}
</style></head><body>
<h1>chainrule demo: the same network, two ways</h1>
<p>A {esc(str(list(LAYERS)))} ReLU network fits <i>y = x² + noise</i> ({r.x.shape[0]} points on
[-2, 2]) by full-batch gradient descent (learning rate {LEARNING_RATE}, {r.epochs} epochs,
seed {r.seed}), twice from the same initial weights: with chainrule's autograd engine
({esc(r.engine_kind)}) and with <code>chainrule.scratch.NeuralNetwork</code>, whose backward
pass is written out by hand (<code>dW = A_prevᵀ·dZ</code>, <code>dA_prev = dZ·Wᵀ</code>).</p>
<p class="verdict">{esc(verdict)}</p>
<table><tr><th>what</th><th>value</th></tr>
{rows}
</table>
{figures}
<h2>The chain rule in miniature</h2>
<p>What every backward step above does, on L = (w·x − y)² with w = 2, x = 3, y = 10
(from <code>cr.inspect.explain</code>):</p>
{_worked_example()}
</body></html>
"""


def _worked_example() -> str:
    import chainrule as cr

    from .inspect.explain import explain

    w, x, y = (cr.tensor(v, dtype=cr.float64, requires_grad=True) for v in (2.0, 3.0, 10.0))
    return explain((w * x - y) ** 2, names={"w": w, "x": x, "y": y}).html(full=False)
