"""Devices: cr.device, device= on factories, .to/.cpu, cr.cuda, and a clear error off the CPU."""

import pickle

import numpy as np
import pytest

import chainrule as cr
from tests.oracle import torch


def test_device_object_matches_torch():
    for spec in [("cpu",), ("cpu", 0), ("cpu:1",), ("cuda",), ("cuda:0",)]:
        ours, theirs = cr.device(*spec), torch.device(*spec)
        assert (ours.type, ours.index, repr(ours), str(ours)) == (
            theirs.type, theirs.index, repr(theirs), str(theirs))
    assert cr.device("cpu") == cr.device(cr.device("cpu"))
    assert cr.device("cpu") != cr.device("cpu", 0)
    # PyTorch's device never equals a string; its str() does
    assert (cr.device("cpu") == "cpu") is (torch.device("cpu") == "cpu") is False
    assert hash(cr.device("cpu")) == hash(cr.device("cpu"))
    assert pickle.loads(pickle.dumps(cr.device("cpu", 2))) == cr.device("cpu", 2)
    with pytest.raises(RuntimeError, match="device type at start of device string: gpu"):
        cr.device("gpu")


def test_tensor_device_and_to():
    x = cr.ones(2, 3)
    assert x.device == cr.device("cpu") and not x.is_cuda
    assert x.to("cpu") is x and x.cpu() is x and x.to(cr.device("cpu")) is x
    assert x.to("cpu", cr.float64).dtype == cr.float64
    assert x.to(device="cpu", dtype=cr.float64).dtype == cr.float64
    assert x.to(cr.zeros(1, dtype=cr.int64)).dtype == cr.int64
    copied = x.to("cpu", copy=True)
    assert copied is not x and np.array_equal(copied.numpy(), x.numpy())
    w = cr.ones(2, requires_grad=True)
    w.to("cpu", cr.float64).sum().backward()
    assert w.grad.dtype == cr.float32


@pytest.mark.parametrize("call", [
    lambda: cr.ones(2).to("cuda"), lambda: cr.ones(2).to("mps"), lambda: cr.ones(2).cuda(),
    lambda: cr.zeros(3, device="cuda"), lambda: cr.tensor([1.0], device="cuda:0"),
    lambda: cr.nn.Linear(2, 2).to("cuda"), lambda: cr.set_default_device("cuda"),
    lambda: cr.arange(3, device=cr.device("mps")), lambda: cr.ones(2).to(0),
])
def test_accelerator_requests_say_cpu_only(call):
    with pytest.raises(RuntimeError, match="runs on the CPU only"):
        call()


def test_factories_take_device_and_out():
    for make in (lambda **k: cr.zeros(2, 3, **k), lambda **k: cr.ones(2, 3, **k),
                 lambda **k: cr.full((2, 3), 1.5, **k), lambda **k: cr.eye(3, **k),
                 lambda **k: cr.arange(4, **k), lambda **k: cr.linspace(0, 1, 5, **k),
                 lambda **k: cr.tensor([1.0, 2.0], **k), lambda **k: cr.rand(2, **k),
                 lambda **k: cr.randn(2, **k), lambda **k: cr.empty(2, **k),
                 lambda **k: cr.zeros_like(cr.ones(2), **k),
                 lambda **k: cr.randn_like(cr.ones(2), **k)):
        assert make(device="cpu").device == cr.device("cpu")
        assert make(device=cr.device("cpu")).device == cr.device("cpu")
    out = cr.empty(2, 3)
    assert cr.ones(2, 3, out=out) is out and out.sum().item() == 6


def test_cuda_namespace_and_default_device():
    assert cr.cuda.is_available() is torch.cuda.is_available() is False
    assert cr.cuda.device_count() == 0
    cr.set_default_device("cpu")
    assert cr.get_default_device() == cr.device("cpu")
    cr.set_default_device(None)


def test_module_to_device():
    net = cr.nn.Linear(2, 2)
    assert net.to("cpu") is net and net.to(cr.device("cpu"), cr.float64) is net
    assert net.weight.dtype == cr.float64
