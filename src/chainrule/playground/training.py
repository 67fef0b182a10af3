"""One playground network and its training, on chainrule's engine: ``Trainer(config)``,
``trainer.run_epoch()``, ``trainer.frame()`` (what the page draws), ``trainer.explain_point(i)``.

Seeds: the data is drawn from ``seed``, the train/test split from ``seed + 1``, the weights from
``seed + 2`` and the batch order from ``seed + 3``; ``export.script`` repeats exactly this.
"""

from __future__ import annotations

import base64
import math

import numpy as np

import chainrule as cr
from chainrule import nn, optim
from chainrule.inspect import GradientFlow, explain, keep_values

from . import datasets
from .validation import Config, UploadedData

ACTIVATION_MODULES = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid,
                      "linear": nn.Identity}
THUMBNAIL = 16  # cells per side of a neuron's picture
HISTORY = 300  # points kept per curve (halved by dropping every other one when full)
FLOW_RECORDS = 50  # GradientFlow records kept (its verdict reads the last ``window``)
SMALL_NETWORK = 24  # hidden neurons up to which a point's explanation is the full trace


def build_model(config: Config, n_in: int, n_out: int) -> nn.Sequential:
    """Linear + activation per hidden layer, then a Linear output; weights He or Xavier
    (normal), biases 0.1 as TF Playground."""
    sizes = [n_in, *config.hidden]
    layers: list[nn.Module] = []
    for a, b in zip(sizes, sizes[1:]):
        layers += [nn.Linear(a, b), ACTIVATION_MODULES[config.activation]()]
    layers.append(nn.Linear(sizes[-1], n_out))
    model = nn.Sequential(*layers)
    generator = cr.Generator().manual_seed(config.seed + 2)
    with cr.no_grad():
        for layer in model:
            if isinstance(layer, nn.Linear):
                if config.init == "he":
                    nn.init.kaiming_normal_(layer.weight, nonlinearity="relu",
                                            generator=generator)
                else:
                    nn.init.xavier_normal_(layer.weight, generator=generator)
                nn.init.constant_(layer.bias, 0.1)
    return model


def watched_twin(model: nn.Sequential) -> nn.Sequential:
    """The same layers sharing ``model``'s Parameters: GradientFlow hooks this one, and only
    each epoch's last batch runs through it (its forward hooks cost a fifth of an epoch when
    every batch runs them)."""
    layers = [nn.Linear(m.in_features, m.out_features) if isinstance(m, nn.Linear) else type(m)()
              for m in model]
    for twin, layer in zip(layers, model):
        if isinstance(layer, nn.Linear):
            twin.weight, twin.bias = layer.weight, layer.bias
    return nn.Sequential(*layers)


def build_optimizer(config: Config, model: nn.Module) -> optim.Optimizer:
    if config.optimizer == "adam":
        return optim.Adam(model.parameters(), lr=config.lr)
    return optim.SGD(model.parameters(), lr=config.lr,
                     momentum=0.9 if config.optimizer == "momentum" else 0.0)


def _encode(values: np.ndarray) -> str:
    """Values in [-1, 1] as base64 bytes 0..255 (the page decodes them the same way); a
    diverged network's NaN shows as 0."""
    values = np.nan_to_num(values, nan=0.0)
    q = np.rint((np.clip(values, -1.0, 1.0) + 1.0) * 127.5).astype(np.uint8)
    return base64.b64encode(q.tobytes()).decode("ascii")


def _grid(resolution: int) -> np.ndarray:
    """Cell centres of the plane, row by row from the top (x2 = +6) to the bottom."""
    c = (np.arange(resolution) + 0.5) / resolution * 2 * datasets.EXTENT - datasets.EXTENT
    x1, x2 = np.meshgrid(c, c[::-1])
    return np.stack([x1.ravel(), x2.ravel()], axis=1)


def _plain(a) -> list:
    """An array as nested lists for JSON, which has no NaN or Infinity: those become null."""
    a = np.asarray(a, dtype=np.float64)
    out = a.astype(object)
    out[~np.isfinite(a)] = None
    return out.tolist()


def _numbers(a: np.ndarray | None, limit: int = 8) -> list | dict | None:
    """An array for the page: its values when small, else a summary."""
    if a is None:
        return None
    a = np.asarray(a, dtype=np.float64)
    if a.size <= limit:
        return _plain(a.ravel())
    return {"shape": list(a.shape), **{k: _finite(float(v)) for k, v in (
        ("norm", np.linalg.norm(a)), ("mean", a.mean()), ("min", a.min()), ("max", a.max()))}}


class Trainer:
    """A network, its data, optimizer and GradientFlow; not thread-safe (the session locks)."""

    def __init__(self, config: Config, data: UploadedData | None = None) -> None:
        self.config = config
        if data is not None:
            self.xy, self.target = data.xy, data.target
        else:
            self.xy, self.target = datasets.generate(config, config.seed)
        self.train_idx, self.test_idx = datasets.split(len(self.xy), config.train_ratio,
                                                       config.seed + 1)
        self.multiclass = config.problem == "classification" and config.classes > 2
        self.X = datasets.features(self.xy, config.features)
        if self.multiclass:
            self.y = cr.tensor(self.target.astype(np.int64))
            self.loss_fn: nn.Module = nn.CrossEntropyLoss()
            n_out = config.classes
        else:
            self.y = cr.tensor(self.target.astype(np.float32).reshape(-1, 1))
            self.loss_fn = (nn.BCEWithLogitsLoss() if config.problem == "classification"
                            else nn.MSELoss())
            n_out = 1
        self.model = build_model(config, self.X.shape[1], n_out)
        self.optimizer = build_optimizer(config, self.model)
        self.flow = GradientFlow(watched_twin(self.model))
        self.order_rng = np.random.default_rng(config.seed + 3)
        self.linears = [m for m in self.model if isinstance(m, nn.Linear)]
        self.epoch = 0
        self.steps = 0
        self.history: dict[str, list] = {"epoch": [], "train": [], "test": [], "grad_norms": []}
        self.train_loss, self.test_loss = self.losses()

    # ---- training ------------------------------------------------------------------------
    def penalty(self) -> cr.Tensor | None:
        """The regularisation term: rate·Σ|w| (L1) or rate·½Σw² (L2) over the weights."""
        c = self.config
        if c.regularization == "none" or c.reg_rate == 0:
            return None
        if c.regularization == "l1":
            terms = [layer.weight.abs().sum() for layer in self.linears]
        else:
            terms = [(layer.weight * layer.weight).sum() * 0.5 for layer in self.linears]
        return sum(terms[1:], terms[0]) * c.reg_rate

    def run_epoch(self) -> int:
        """One pass over the training points in shuffled batches; returns the steps taken."""
        order = self.order_rng.permutation(self.train_idx)
        batch = self.config.batch
        starts = range(0, len(order), batch)
        for k, start in enumerate(starts):
            idx = order[start:start + batch]
            last = k == len(starts) - 1  # the epoch's last gradients: what the page shows
            model = self.flow.model if last else self.model
            loss = self.loss_fn(model(cr.tensor(self.X[idx])), self.y[idx])
            extra = self.penalty()
            if extra is not None:
                loss = loss + extra
            self.optimizer.zero_grad()
            loss.backward()
            if last:
                self.flow.record(self.epoch)
            self.optimizer.step()
        self.epoch += 1
        self.steps += len(starts)
        del self.flow.history[:-FLOW_RECORDS]
        self.train_loss, self.test_loss = self.losses()
        self._remember()
        return len(starts)

    def losses(self) -> tuple[float, float]:
        """The data loss (no regularisation) on the training and the test points."""
        with cr.no_grad():
            out = self.model(cr.tensor(self.X))
            train, test = (float(self.loss_fn(out[idx], self.y[idx]).item())
                           for idx in (self.train_idx, self.test_idx))
        return train, test

    def _remember(self) -> None:
        h = self.history
        h["epoch"].append(self.epoch)
        h["train"].append(self.train_loss)
        h["test"].append(self.test_loss)
        layers = self.flow.history[-1].layers
        h["grad_norms"].append([layers[n].grad_norm for n in self.flow.layer_names])
        if len(h["epoch"]) > HISTORY:
            for key in h:
                h[key] = h[key][::2]

    # ---- what the page draws -------------------------------------------------------------
    def _forward_layers(self, xy: np.ndarray) -> list[np.ndarray]:
        """Every hidden layer's activations and the output, over the points ``xy``."""
        outs = []
        with cr.no_grad():
            h = cr.tensor(datasets.features(xy, self.config.features))
            for m in self.model:
                h = m(h)
                if not isinstance(m, nn.Linear):
                    outs.append(h.numpy())
            outs.append(h.numpy())
        return outs

    def heat_map(self) -> dict:
        res = self.config.resolution
        out = self._forward_layers(_grid(res))[-1]
        if self.multiclass:
            p = np.exp(out - out.max(axis=1, keepdims=True))
            p /= p.sum(axis=1, keepdims=True)
            return {"res": res, "classes": base64.b64encode(
                        p.argmax(axis=1).astype(np.uint8).tobytes()).decode("ascii"),
                    "confidence": _encode(p.max(axis=1) * 2 - 1)}
        if self.config.problem == "classification":
            return {"res": res, "values": _encode(np.tanh(out[:, 0] / 2))}  # = 2·sigmoid - 1
        return {"res": res, "values": _encode(out[:, 0])}

    def thumbnails(self) -> dict:
        """Per hidden layer, per neuron: its activation over the plane (clipped to [-1, 1]);
        per output: the probability of its class (as 2p - 1), or the output itself."""
        *layers, out = self._forward_layers(_grid(THUMBNAIL))
        if self.multiclass:
            p = np.exp(out - out.max(axis=1, keepdims=True))
            out = 2 * p / p.sum(axis=1, keepdims=True) - 1
        elif self.config.problem == "classification":
            out = np.tanh(out / 2)
        return {"res": THUMBNAIL,
                "layers": [[_encode(a[:, j]) for j in range(a.shape[1])] for a in layers],
                "output": [_encode(out[:, j]) for j in range(out.shape[1])]}

    def verdict(self) -> dict:
        if not self.flow.history:
            return {"kind": "none", "message": "press play or step: no gradients yet", "fix": ""}
        findings = self.flow.diagnose()
        if not findings:
            return {"kind": "healthy", "fix": "",
                    "message": "the gradient flows: no layer's gradient vanishes or explodes"}
        f = findings[0]
        return {"kind": f.kind, "message": f.message, "fix": f.fix}

    def frame(self) -> dict:
        """Everything the page draws after a step: losses, curves, heat map, neurons, edges."""
        weights, grads = [], []
        for layer in self.linears:
            weights.append({"w": _plain(layer.weight.detach().numpy()),
                            "b": _plain(layer.bias.detach().numpy())})
            g = layer.weight.grad
            grads.append(None if g is None else _plain(g.numpy()))
        h = self.history
        return {
            "epoch": self.epoch, "steps": self.steps,
            "train_loss": _finite(self.train_loss), "test_loss": _finite(self.test_loss),
            "history": {"epoch": h["epoch"], "train": [_finite(v) for v in h["train"]],
                        "test": [_finite(v) for v in h["test"]]},
            "grad_norms": {"layers": self.flow.layer_names,
                           "values": [[_finite(v) for v in row] for row in h["grad_norms"]]},
            "verdict": self.verdict(),
            "heat": self.heat_map(),
            "neurons": self.thumbnails(),
            "weights": weights, "grads": grads,
        }

    def data(self) -> dict:
        """The points, for the page: coordinates, targets and which are for training."""
        is_train = np.zeros(len(self.xy), dtype=bool)
        is_train[self.train_idx] = True
        target = self.target.tolist() if self.config.problem == "classification" else [
            float(v) for v in self.target]
        return {"x": self.xy.round(4).tolist(), "target": target, "train": is_train.tolist(),
                "features": list(self.config.features),
                "classes": self.config.classes if self.config.problem == "classification"
                else 0}

    # ---- one point, explained --------------------------------------------------------------
    def explain_point(self, index: int) -> dict:
        """Point ``index``'s forward values and backward gradients through the network, from
        ``cr.inspect.explain`` on its loss (parameters named as in ``state_dict``)."""
        x = cr.tensor(self.X[index:index + 1])
        with keep_values():
            loss = self.loss_fn(self.model(x), self.y[index:index + 1])
        names = {"x": x, **dict(self.model.named_parameters())}
        e = explain(loss, names=names)
        small = sum(self.config.hidden) <= SMALL_NETWORK
        steps = [{"name": s.name, "op": s.op, "expression": s.expression,
                  "value": _numbers(s.value), "grad": _numbers(s.grad)} for s in e.steps]
        if not small:  # a large network: one row per layer (its Linear and activation steps)
            steps = [s for s in steps if s["op"] in ("Linear", "Tanh", "Sigmoid", "Relu")
                     or s is steps[0]]
        return {
            "index": index, "x": self.xy[index].tolist(),
            "target": _numbers(self.target[index:index + 1]),
            "loss": _finite(float(loss.item())),
            "split": "train" if index in set(self.train_idx.tolist()) else "test",
            "steps": steps,
            "grads": {k: _numbers(v) for k, v in e.grads.items() if k != "x"},
            "text": str(e) if small else None,
            "summarised": not small,
        }


def _finite(v: float | None) -> float | None:
    """JSON has no NaN or Infinity: a diverged number is sent as null."""
    return v if v is not None and math.isfinite(v) else None
