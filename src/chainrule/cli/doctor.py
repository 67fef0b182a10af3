"""``chainrule doctor``: run the doctor on a small built-in model with a planted bug."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from . import UsageError


def _data(n: int = 64, d: int = 8, classes: int | None = 3, seed: int = 0):
    import chainrule as cr

    g = cr.Generator().manual_seed(seed)
    x = cr.randn(n, d, generator=g)
    if classes is None:
        return x, (x[:, :1] * 0.5 - x[:, 1:2]).detach()
    w = cr.randn(d, classes, generator=g)
    return x, (x @ w).argmax(dim=1)


def _mlp(*sizes, act=None):
    from .. import nn

    layers = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append((act or nn.ReLU)())
    return nn.Sequential(*layers)


def healthy():
    """A healthy MLP: the doctor should find nothing."""
    from .. import nn

    return _mlp(8, 16, 3), nn.CrossEntropyLoss(), _data(), None


def wrong_backward():
    """A custom activation (x * sigmoid(x)) whose backward forgets the product rule."""
    import chainrule as cr

    from .. import nn

    class Swish(cr.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x.sigmoid()

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * x.sigmoid()  # wrong: d/dx x*s(x) = s(x) * (1 + x * (1 - s(x)))

    class SwishModule(nn.Module):
        def forward(self, x):
            return Swish.apply(x)

    model = nn.Sequential(nn.Linear(8, 16), SwishModule(), nn.Linear(16, 3))
    return model, nn.CrossEntropyLoss(), _data(), None


def unused_parameter():
    """A layer is created in __init__ and never called in forward."""
    from .. import nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = _mlp(8, 16, 3)
            self.extra = nn.Linear(16, 16)  # forgotten

        def forward(self, x):
            return self.body(x)

    return Net(), nn.CrossEntropyLoss(), _data(), None


def detached():
    """The first layer's output goes through .detach(), so no gradient reaches it."""
    from .. import nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.fc2 = nn.Linear(8, 16), nn.Linear(16, 3)

        def forward(self, x):
            return self.fc2(self.fc1(x).relu().detach())

    return Net(), nn.CrossEntropyLoss(), _data(), None


def nan():
    """log of a ReLU output: log(0) = -inf for every negative pre-activation."""
    from .. import nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.fc2 = nn.Linear(8, 16), nn.Linear(16, 3)

        def forward(self, x):
            return self.fc2(self.fc1(x).relu().log())

    return Net(), nn.CrossEntropyLoss(), _data(), None


def vanishing():
    """Ten sigmoid layers."""
    from .. import nn

    return _mlp(8, *[32] * 9, 3, act=nn.Sigmoid), nn.CrossEntropyLoss(), _data(), None


def exploding():
    """Eight ReLU layers initialised 4x too large."""
    import chainrule as cr

    from .. import nn

    model = _mlp(8, *[32] * 7, 3)
    with cr.no_grad():
        for m in model:
            if isinstance(m, nn.Linear):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                m.weight.mul_(4.0)
    return model, nn.CrossEntropyLoss(), _data(), None


def dead_relu():
    """A hidden layer whose bias starts at -10: every unit outputs 0."""
    import chainrule as cr

    from .. import nn

    model = _mlp(8, 32, 32, 3)
    with cr.no_grad():
        model[2].bias.fill_(-10.0)
    return model, nn.CrossEntropyLoss(), _data(), None


def saturation():
    """tanh after weights 20x too large: almost every output is +-1."""
    import chainrule as cr

    from .. import nn

    model = _mlp(8, 32, 3, act=nn.Tanh)
    with cr.no_grad():
        model[0].weight.mul_(20.0)
    return model, nn.CrossEntropyLoss(), _data(), None


def sigmoid_bce():
    """A binary classifier ending in Sigmoid with BCELoss, on large logits."""
    import chainrule as cr

    from .. import nn

    x, y = _data(classes=2)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 1), nn.Sigmoid())
    with cr.no_grad():
        model[2].weight.mul_(60.0)
    return model, nn.BCELoss(), (x, y.float().unsqueeze(1)), None


def high_lr():
    """SGD with lr=20."""
    from .. import nn, optim

    model = _mlp(8, 16, 3)
    return model, nn.CrossEntropyLoss(), _data(), optim.SGD(model.parameters(), lr=20.0)


def no_zero_grad():
    """A training loop that never calls zero_grad: three steps on summed gradients."""
    from .. import nn, optim

    model = _mlp(8, 16, 3)
    loss_fn, batch = nn.CrossEntropyLoss(), _data()
    opt = optim.SGD(model.parameters(), lr=0.05)
    for _ in range(3):
        loss_fn(model(batch[0]), batch[1]).backward()
        opt.step()
    return model, loss_fn, batch, opt


# name -> (builder, the finding it plants)
BUGS: dict[str, tuple[Callable, str | None]] = {
    "none": (healthy, None),
    "wrong-backward": (wrong_backward, "wrong_gradient"),
    "unused": (unused_parameter, "no_gradient"),
    "detached": (detached, "no_gradient"),
    "nan": (nan, "nonfinite"),
    "vanishing": (vanishing, "vanishing"),
    "exploding": (exploding, "exploding"),
    "dead-relu": (dead_relu, "dead"),
    "saturation": (saturation, "saturated"),
    "sigmoid-bce": (sigmoid_bce, "sigmoid_bce"),
    "high-lr": (high_lr, "lr_too_high"),
    "no-zero-grad": (no_zero_grad, "accumulating_gradients"),
}


def build(bug: str):
    """(model, loss_fn, batch, optimizer) with ``bug`` planted, built from a fixed seed."""
    import chainrule as cr

    state = cr.get_rng_state()
    try:
        cr.manual_seed(0)
        return BUGS[bug][0]()
    finally:
        cr.set_rng_state(state)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "doctor", help="diagnose a built-in model with a planted bug",
        description="Run cr.inspect.doctor on a small model with a planted mistake and print "
                    "what it finds, each finding with an explanation and a fix.")
    p.add_argument("--bug", default="wrong-backward", metavar="NAME",
                   help=f"which mistake to plant: {', '.join(BUGS)} (default: wrong-backward)")
    p.add_argument("--list", action="store_true", help="list the planted bugs and exit")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.list:
        for name, (builder, kind) in BUGS.items():
            print(f"{name:15s} {kind or '-':23s} {(builder.__doc__ or 'a healthy MLP').strip()}")
        return 0
    if args.bug not in BUGS:
        raise UsageError(f"unknown bug {args.bug!r}; expected one of {', '.join(BUGS)}")
    from ..inspect.doctor import doctor

    builder, kind = BUGS[args.bug]
    model, loss_fn, batch, optimizer = build(args.bug)
    planted = (builder.__doc__ or "").strip() or "a healthy MLP"
    print(f"planted bug: {args.bug}: {planted} (expected finding: {kind or 'none'})\n")
    print(doctor(model, loss_fn, batch, optimizer))
    return 0
