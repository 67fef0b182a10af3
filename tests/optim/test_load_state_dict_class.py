"""An optimizer refuses another algorithm's state (PyTorch accepts it silently: a deliberate
difference, documented in Optimizer.load_state_dict)."""

import itertools

import pytest

import chainrule as cr
import chainrule.optim as optim
from chainrule.optim.lr_scheduler import StepLR
from tests.oracle import torch

FAMILIES = {"SGD": ["SGD"], "Adam": ["Adam", "AdamW"], "RMSprop": ["RMSprop"],
            "Adagrad": ["Adagrad"], "LAMB": ["LAMB"]}
CLASSES = [name for names in FAMILIES.values() for name in names]


def _params():
    return [cr.zeros(3, requires_grad=True), cr.zeros(2, requires_grad=True)]


def _trained(name):
    params = _params()
    opt = getattr(optim, name)(params, lr=0.05)
    for p in params:
        p.grad = cr.ones_like(p)
    opt.step()
    return opt


def _family(name):
    return next(f for f, names in FAMILIES.items() if name in names)


PAIRS = [(a, b) for a, b in itertools.permutations(CLASSES, 2) if _family(a) != _family(b)]


@pytest.mark.parametrize("saved,loader", PAIRS, ids=[f"{a}->{b}" for a, b in PAIRS])
def test_another_algorithms_state_is_refused_naming_both(saved, loader):
    opt = getattr(optim, loader)(_params(), lr=0.1)
    before = opt.state_dict()
    with pytest.raises(ValueError, match=rf"cannot load the state of \S*{saved}\S* into "
                                         rf"{loader}: .*Load it into \S*{saved}"):
        opt.load_state_dict(_trained(saved).state_dict())
    assert opt.state_dict() == before  # nothing half-loaded


def test_torch_accepts_it_silently():
    p = [torch.nn.Parameter(torch.zeros(2))]
    sgd = torch.optim.SGD(p, lr=0.1)
    sgd.load_state_dict(torch.optim.Adam(p, lr=0.1).state_dict())
    assert "betas" in sgd.param_groups[0]  # an SGD carrying Adam's hyper-parameters


@pytest.mark.parametrize("saved,loader", [("Adam", "AdamW"), ("AdamW", "Adam")])
def test_adam_and_adamw_share_their_state_as_in_torch(saved, loader):
    opt = getattr(optim, loader)(_params(), lr=0.1)
    opt.load_state_dict(_trained(saved).state_dict())
    tp = [torch.nn.Parameter(torch.zeros(3)), torch.nn.Parameter(torch.zeros(2))]
    topt = getattr(torch.optim, loader)(tp, lr=0.1)
    tsaved = getattr(torch.optim, saved)(tp, lr=0.05)
    topt.load_state_dict(tsaved.state_dict())
    for key in ("lr", "weight_decay", "decoupled_weight_decay"):
        assert opt.param_groups[0][key] == topt.param_groups[0][key], key


def test_scheduler_keys_and_an_older_state_lacking_a_hyperparameter_still_load():
    opt = _trained("SGD")
    StepLR(opt, step_size=2)  # adds 'initial_lr' to the groups
    state = opt.state_dict()
    del state["param_groups"][0]["maximize"]  # a state saved before 'maximize' existed
    fresh = optim.SGD(_params(), lr=0.1)
    fresh.load_state_dict(state)
    assert fresh.param_groups[0]["lr"] == 0.05 and fresh.param_groups[0]["maximize"] is False
