"""What a session exports: ``weights(trainer)`` (a ``cr.save`` safetensors file of the model's
``state_dict``) and ``script(trainer)`` (a Python program that rebuilds the same network on the
same points with chainrule and trains it for as many epochs, reaching the same weights).
"""

from __future__ import annotations

import io

import numpy as np

import chainrule as cr

from .training import Trainer


def weights(trainer: Trainer) -> bytes:
    """The trained weights: ``cr.load`` them into the script's ``build_model()``."""
    buffer = io.BytesIO()
    cr.save(trainer.model.state_dict(), buffer)
    return buffer.getvalue()


def _array(a: np.ndarray, per_line: int) -> str:
    items = [repr(v) for v in a.tolist()]
    lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
    return "[\n    " + ",\n    ".join(lines) + ",\n]"


_TEMPLATE = '''\
"""The chainrule playground's network, rebuilt: {summary}.

Trains it from the same seed on the same points for {epochs} epochs, as the playground did, and
prints the losses. ``python {filename}``; pass a number of epochs to train longer:
``python {filename} 500``. Load the playground's exported weights with
``model.load_state_dict(cr.load("playground-weights.safetensors"))``.
"""

import sys

import numpy as np

import chainrule as cr
from chainrule import nn, optim

PROBLEM = {problem!r}
CLASSES = {classes}
FEATURES = {features!r}
HIDDEN = {hidden!r}
ACTIVATION = nn.{activation}
INIT = {init!r}
OPTIMIZER = {optimizer!r}
LR = {lr!r}
REGULARIZATION = {regularization!r}
REG_RATE = {reg_rate!r}
BATCH = {batch}
SEED = {seed}
EPOCHS = {epochs}

POINTS = np.array({points}).reshape(-1, 2)  # x1, x2 on the plane [-6, 6]²
TARGET = np.array({target})
TRAIN = np.array({train})  # the indices of the training points; the rest are for testing


def features(xy):
    x1, x2 = xy[:, 0], xy[:, 1]
    columns = {{"x1": x1, "x2": x2, "x1sq": x1 * x1, "x2sq": x2 * x2, "x1x2": x1 * x2,
               "sinx1": np.sin(x1), "sinx2": np.sin(x2)}}
    return np.stack([columns[name] for name in FEATURES], axis=1).astype(np.float32)


def build_model(n_in, n_out):
    sizes = [n_in, *HIDDEN]
    layers = []
    for a, b in zip(sizes, sizes[1:]):
        layers += [nn.Linear(a, b), ACTIVATION()]
    layers.append(nn.Linear(sizes[-1], n_out))
    model = nn.Sequential(*layers)
    generator = cr.Generator().manual_seed(SEED + 2)
    with cr.no_grad():
        for layer in model:
            if isinstance(layer, nn.Linear):
                if INIT == "he":
                    nn.init.kaiming_normal_(layer.weight, nonlinearity="relu",
                                            generator=generator)
                else:
                    nn.init.xavier_normal_(layer.weight, generator=generator)
                nn.init.constant_(layer.bias, 0.1)
    return model


def penalty(linears):
    if REGULARIZATION == "none" or REG_RATE == 0:
        return None
    if REGULARIZATION == "l1":
        terms = [layer.weight.abs().sum() for layer in linears]
    else:
        terms = [(layer.weight * layer.weight).sum() * 0.5 for layer in linears]
    return sum(terms[1:], terms[0]) * REG_RATE


def main(epochs=EPOCHS):
    X = features(POINTS)
    test = np.setdiff1d(np.arange(len(POINTS)), TRAIN)
    if PROBLEM == "classification" and CLASSES > 2:
        y, loss_fn, n_out = cr.tensor(TARGET.astype(np.int64)), nn.CrossEntropyLoss(), CLASSES
    else:
        y = cr.tensor(TARGET.astype(np.float32).reshape(-1, 1))
        loss_fn = nn.BCEWithLogitsLoss() if PROBLEM == "classification" else nn.MSELoss()
        n_out = 1
    model = build_model(X.shape[1], n_out)
    if OPTIMIZER == "adam":
        optimizer = optim.Adam(model.parameters(), lr=LR)
    else:
        optimizer = optim.SGD(model.parameters(), lr=LR,
                              momentum=0.9 if OPTIMIZER == "momentum" else 0.0)
    linears = [m for m in model if isinstance(m, nn.Linear)]
    order_rng = np.random.default_rng(SEED + 3)
    for epoch in range(1, epochs + 1):
        order = order_rng.permutation(TRAIN)
        for start in range(0, len(order), BATCH):
            idx = order[start:start + BATCH]
            loss = loss_fn(model(cr.tensor(X[idx])), y[idx])
            extra = penalty(linears)
            if extra is not None:
                loss = loss + extra
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        if epoch % 100 == 0 or epoch == epochs:
            with cr.no_grad():
                out = model(cr.tensor(X))
                train_loss = loss_fn(out[TRAIN], y[TRAIN]).item()
                test_loss = loss_fn(out[test], y[test]).item()
            print(f"epoch {{epoch}}: train loss {{train_loss!r}}, test loss {{test_loss!r}}")
    return model


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else EPOCHS)
'''

ACTIVATION_NAMES = {"relu": "ReLU", "tanh": "Tanh", "sigmoid": "Sigmoid", "linear": "Identity"}
SCRIPT_NAME = "playground_network.py"


def script(trainer: Trainer) -> str:
    """A standalone chainrule program that trains this network as the playground did."""
    c = trainer.config
    multiclass = c.problem == "classification" and c.classes > 2
    summary = (f"{c.problem} of {'an uploaded data set' if c.custom else c.dataset}, "
               f"features {', '.join(c.features)}, hidden layers {list(c.hidden)} "
               f"({c.activation}), {c.optimizer} at lr {c.lr:g}")
    target = trainer.target.astype(np.int64 if c.problem == "classification" else np.float64)
    return _TEMPLATE.format(
        summary=summary, epochs=trainer.epoch, filename=SCRIPT_NAME, problem=c.problem,
        classes=c.classes if multiclass else 2, features=list(c.features),
        hidden=list(c.hidden), activation=ACTIVATION_NAMES[c.activation], init=c.init,
        optimizer=c.optimizer, lr=c.lr, regularization=c.regularization, reg_rate=c.reg_rate,
        batch=c.batch, seed=c.seed, points=_array(trainer.xy.reshape(-1), 8),
        target=_array(target, 12), train=_array(trainer.train_idx, 16))
