"""One CNN training script, run as text under PyTorch and under chainrule: PyTorch builds and
initialises the model, chainrule loads its state_dict, both see the same batches; the per-step
losses and the final parameters must agree (float64 rtol 1e-10, float32 1e-4)."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from tests.oracle import torch

# The program a user writes, with ``torch`` being whichever library runs it.
SCRIPT = """
import torch.nn as nn
import torch.nn.functional as F


class LeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, kernel_size=5, padding=2)
        self.bn1 = nn.BatchNorm2d(6)
        self.conv2 = nn.Conv2d(6, 16, kernel_size=5)
        self.pool = nn.MaxPool2d(2)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.bn1(self.conv1(x))))
        x = F.avg_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


model = LeNet().to(dtype)
if state is not None:
    model.load_state_dict(state)
opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
losses = []
for images, labels in batches:
    x = torch.tensor(images, dtype=dtype)
    y = torch.tensor(labels)
    loss = F.cross_entropy(model(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    losses.append(loss.item())
"""


def _run(lib, dtype, batches, state=None) -> dict:
    import sys

    saved = sys.modules.get("torch"), sys.modules.get("torch.nn"), \
        sys.modules.get("torch.nn.functional")
    if lib is cr:  # the script's ``import torch.nn`` finds chainrule's modules
        import chainrule.nn
        import chainrule.nn.functional

        sys.modules["torch"], sys.modules["torch.nn"] = cr, chainrule.nn
        sys.modules["torch.nn.functional"] = chainrule.nn.functional
    try:
        scope = {"torch": lib, "dtype": dtype, "batches": batches, "state": state}
        exec(compile(SCRIPT, "lenet_script", "exec"), scope)
    finally:
        for name, module in zip(("torch", "torch.nn", "torch.nn.functional"), saved):
            sys.modules[name] = module
    return scope


@pytest.mark.slow
@pytest.mark.parametrize("dtype,rtol", [("float64", 1e-10), ("float32", 1e-4)])
def test_lenet_script_trains_identically(dtype, rtol):
    rng = np.random.default_rng(0)
    batches = [(rng.standard_normal((16, 1, 28, 28)), rng.integers(0, 10, 16))
               for _ in range(20)]
    torch.manual_seed(0)
    start = _run(torch, getattr(torch, dtype), [])["model"].state_dict()  # PyTorch's init
    theirs = _run(torch, getattr(torch, dtype), batches, start)
    ours = _run(cr, getattr(cr, dtype), batches,
                {k: cr.tensor(v.numpy().copy()) for k, v in start.items()})
    assert len(ours["losses"]) == 20
    np.testing.assert_allclose(ours["losses"], theirs["losses"], rtol=rtol)
    assert ours["losses"][-1] != ours["losses"][0]  # it trained
    final = theirs["model"].state_dict()
    for name, value in ours["model"].state_dict().items():
        np.testing.assert_allclose(value.numpy(), final[name].numpy(), rtol=rtol,
                                   atol=rtol * 1e-2, err_msg=name)
