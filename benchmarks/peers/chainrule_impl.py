"""chainrule: the MLP with nn/optim when they exist, and with raw Tensors (``x @ W.T + b``,
relu, log_softmax, SGD under no_grad) either way; the op chains; anomaly-mode variants."""

from __future__ import annotations

import numpy as np

import chainrule as cr


def version() -> str:
    return cr.__version__


def _has_nn() -> bool:
    try:
        import chainrule.nn as nn
        import chainrule.optim as optim
    except ImportError:
        return False
    return all(hasattr(nn, n) for n in ("Linear", "Sequential", "ReLU", "CrossEntropyLoss",
                                        "MSELoss")) and hasattr(optim, "SGD")


def variants() -> list[str]:
    """Which MLP formulations can run: raw Tensors always, nn/optim once they have landed."""
    return ["raw", "nn"] if _has_nn() else ["raw"]


def _raw_params(weights):
    return [(cr.tensor(w, requires_grad=True), cr.tensor(b, requires_grad=True))
            for w, b in weights]


def _raw_forward(params, h):
    for i, (w, b) in enumerate(params):
        h = h @ w.T + b
        if i < len(params) - 1:
            h = h.relu()
    return h


def _sgd(flat, lr):
    with cr.no_grad():
        for p in flat:
            p.sub_(lr * p.grad)
            p.grad = None


def _require_nn() -> None:
    if not _has_nn():
        raise RuntimeError("chainrule.nn / chainrule.optim have not landed yet (this variant needs "
                           "nn.Linear, nn.ReLU, nn.Sequential, nn.CrossEntropyLoss, nn.MSELoss "
                           "and optim.SGD)")


def _nn_model(weights):
    _require_nn()
    import chainrule.nn as nn

    layers = []
    for i, (w, b) in enumerate(weights):
        lin = nn.Linear(w.shape[1], w.shape[0])
        with cr.no_grad():
            lin.weight.copy_(cr.tensor(w))
            lin.bias.copy_(cr.tensor(b))
        layers.append(lin)
        if i < len(weights) - 1:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def mlp_step(weights, x, labels, lr, variant="raw"):
    xt = cr.tensor(x)
    if variant == "nn":
        import chainrule.nn as nn
        import chainrule.optim as optim

        model = _nn_model(weights)
        opt = optim.SGD(model.parameters(), lr=lr)
        loss_fn = nn.CrossEntropyLoss()
        yt = cr.tensor(labels)

        def step() -> float:
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xt), yt)
            loss.backward()
            opt.step()
            return loss.item()

        return step
    params = _raw_params(weights)
    flat = [p for pair in params for p in pair]
    index = cr.tensor(labels[:, None])

    def step() -> float:
        logits = _raw_forward(params, xt)
        loss = -logits.log_softmax(1).gather(1, index).mean()
        loss.backward()
        _sgd(flat, lr)
        return loss.item()

    return step


def tiny_step(weights, x, targets, lr, variant="raw"):
    xt, tt = cr.tensor(x), cr.tensor(targets)
    if variant == "nn":
        import chainrule.nn as nn
        import chainrule.optim as optim

        model = _nn_model(weights)
        opt = optim.SGD(model.parameters(), lr=lr)
        loss_fn = nn.MSELoss()

        def step() -> float:
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xt), tt)
            loss.backward()
            opt.step()
            return loss.item()

        return step
    params = _raw_params(weights)
    flat = [p for pair in params for p in pair]

    def step() -> float:
        diff = _raw_forward(params, xt) - tt
        loss = (diff * diff).mean()
        loss.backward()
        _sgd(flat, lr)
        return loss.item()

    return step


def _chain(x, w, n_ops):
    h = x
    for i in range(n_ops):
        h = h * w if i % 2 == 0 else h.tanh()
    return h.sum()


def _chain_leaves(size):
    x = cr.tensor(np.linspace(-1, 1, size, dtype=np.float32), requires_grad=True)
    w = cr.full((size,), 1.0001, requires_grad=True)
    return x, w


def op_chain(n_ops, size, anomaly="off"):
    """Forward + backward of the chain. ``anomaly``: "off" (the default mode), "on"
    (detect_anomaly), or "core" (the recording path with the anomaly check cut out, to show
    what the check costs when off)."""
    x, w = _chain_leaves(size)
    if anomaly == "core":
        _install_core_recording()

    def step() -> float:
        x.grad = w.grad = None
        loss = _chain(x, w, n_ops)
        loss.backward()
        return loss.item()

    if anomaly == "on":
        def anomalous() -> float:
            with cr.autograd.detect_anomaly():
                return step()

        return anomalous
    return step


def deep_chain(depth, size):
    x, w = _chain_leaves(size)

    def forward():
        x.grad = w.grad = None
        return _chain(x, w, depth)

    def backward(loss):
        loss.backward()

    return forward, backward


def _install_core_recording() -> None:
    """Replace Primitive.apply by a copy without its anomaly lines (benchmark-only
    prototype: the library is not changed on disk)."""
    import inspect
    import textwrap

    from chainrule.autograd import function

    src = textwrap.dedent(inspect.getsource(function.Primitive.apply.__func__))
    lines = src.splitlines()
    out, skip = [], False
    for line in lines:
        if line.strip().startswith("if _anomaly.enabled"):
            skip = True
            continue
        if skip and line.startswith("        "):
            continue
        skip = False
        out.append(line)
    if len(out) == len(lines):
        raise RuntimeError("the anomaly check was not found in Primitive.apply")
    out = [ln for ln in out if not ln.strip().startswith("@classmethod")]
    namespace = dict(vars(function))
    exec("\n".join(out), namespace)  # noqa: S102  (our own library's source, edited above)
    function.Primitive.apply = classmethod(namespace["apply"])
