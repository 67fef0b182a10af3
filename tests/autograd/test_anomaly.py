"""Anomaly mode: the first NaN/Inf of the forward or backward pass, its op and the user's line."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd import AnomalyError, anomaly, detect_anomaly

HERE = os.path.basename(__file__)


def line_of(marker: str) -> int:
    """The line of this file that carries the comment ``# <marker>``."""
    with open(__file__) as f:
        for n, line in enumerate(f, 1):
            if line.rstrip().endswith(f"# {marker}"):
                return n
    raise AssertionError(f"marker {marker} not found")


@pytest.fixture(autouse=True)
def quiet_numpy():
    # the planted divisions by zero are the point of these tests
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def test_off_by_default():
    assert anomaly.enabled is False
    assert cr.autograd.is_anomaly_enabled() is False
    x = cr.tensor([0.0, 1.0], requires_grad=True)
    y = x.log()  # no error: anomaly mode is opt-in
    assert np.isneginf(y.detach().numpy()[0])
    assert y.grad_fn._trace is None  # and no location is recorded


def test_off_costs_nothing_but_the_flag(monkeypatch):
    """With the mode off, neither the forward nor the backward check is ever called."""

    def fail(*args):
        raise AssertionError("an anomaly check ran with anomaly mode off")

    monkeypatch.setattr(anomaly, "check_forward", fail)
    monkeypatch.setattr(anomaly, "check_backward", fail)
    x = cr.tensor([0.0, 4.0], requires_grad=True)
    x.sqrt().sum().backward()  # inf gradient at 0, silently, as in PyTorch
    assert np.isinf(x.grad.numpy()[0])


def test_forward_names_op_value_and_line():
    x = cr.tensor(0.0, requires_grad=True)
    with pytest.raises(AnomalyError) as info, detect_anomaly():
        x.log()  # log-of-zero
    message = str(info.value)
    assert message.startswith("log received 0")
    assert "-> -inf" in message
    assert f"at {HERE}:{line_of('log-of-zero')}" in message
    assert "forward" in message


def test_forward_reports_input_ranges():
    x = cr.tensor([[1.0, -2.0], [3.0, 0.5]], requires_grad=True)
    with pytest.raises(AnomalyError) as info, detect_anomaly():
        (x * 0.5).sqrt()  # sqrt-negative
    message = str(info.value)
    assert message.startswith("sqrt received shape (2, 2) in [-1, 1.5] -> nan")
    assert f"{HERE}:{line_of('sqrt-negative')}" in message


def test_forward_names_both_inputs_of_a_binary_op():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    zero = cr.tensor([0.0, 0.0])
    with pytest.raises(AnomalyError) as info, detect_anomaly():
        x / zero  # divide-by-zero
    message = str(info.value)
    assert "in [1, 2]" in message and "in [0, 0]" in message
    assert "-> inf" in message
    assert f"{HERE}:{line_of('divide-by-zero')}" in message


def _model(x):
    h = x * 2.0
    return (h - 2.0).log()  # inside-model


def test_line_is_the_users_innermost_frame():
    """The error points into the user's model code, not at the caller or into chainrule."""
    x = cr.tensor([1.0, 3.0], requires_grad=True)
    with pytest.raises(AnomalyError) as info, detect_anomaly():
        _model(x)
    assert f"{HERE}:{line_of('inside-model')}" in str(info.value)


def test_only_the_first_anomaly_is_blamed():
    """An op fed NaN/Inf by its inputs is not the culprit: the op that made them is."""
    x = cr.tensor([np.inf, 1.0], requires_grad=True)
    with detect_anomaly():
        y = (x * 2.0).exp()  # inf in, inf out: not this op's doing
    assert np.isinf(y.detach().numpy()[0])

    z = cr.tensor([0.0, 1.0], requires_grad=True)
    with pytest.raises(AnomalyError) as info, detect_anomaly():
        (z.log() * 3.0).sum()  # first-of-two
    assert str(info.value).startswith("log received")


def test_backward_names_op_line_and_input_range():
    """sqrt(0) = 0 is fine forward; its gradient 1/(2 sqrt(0)) is not."""
    x = cr.tensor([0.0, 1.0], requires_grad=True)
    with pytest.raises(AnomalyError) as info, detect_anomaly():
        y = x.sqrt()  # sqrt-at-zero
        y.sum().backward()
    message = str(info.value)
    assert "sqrt" in message.lower()
    assert "inf" in message
    assert "backward" in message
    assert f"{HERE}:{line_of('sqrt-at-zero')}" in message
    assert "in [0, 1]" in message  # the forward input that caused it


def test_backward_first_nonfinite_gradient_only():
    """pow(x, 0.5) then log: the first op in the backward sweep to make NaN/Inf is named."""
    x = cr.tensor([0.0, 4.0], requires_grad=True)
    with pytest.raises(AnomalyError) as info, detect_anomaly():
        y = (x + 1.0).log()
        z = y.sqrt()  # sqrt-of-log
        z.sum().backward()
    assert f"{HERE}:{line_of('sqrt-of-log')}" in str(info.value)
    assert "sqrt" in str(info.value).lower()


class _WrongInfBackward(cr.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2.0

    @staticmethod
    def backward(ctx, g):
        return g / 0.0  # a planted bug: an infinite gradient


class _NanForward(cr.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return (x - x.detach().sum()).sqrt()  # negative input -> nan

    @staticmethod
    def backward(ctx, g):
        return g


def test_custom_function_backward_is_named_with_its_line():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(AnomalyError) as info, detect_anomaly():
        y = _WrongInfBackward.apply(x)  # custom-apply
        y.sum().backward()
    message = str(info.value)
    assert "_WrongInfBackward" in message
    assert f"{HERE}:{line_of('custom-apply')}" in message


def test_custom_function_forward_nan_is_caught():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(AnomalyError) as info, detect_anomaly():
        _NanForward.apply(x)  # custom-forward
    message = str(info.value)
    assert "_nanforward" in message.lower()
    assert "nan" in message
    assert "in [1, 2]" in message
    assert f"{HERE}:{line_of('custom-forward')}" in message


def _healthy(x, w1, w2, target):
    h = (x @ w1).tanh()
    logits = h @ w2
    loss = -(logits.log_softmax(dim=1) * target).sum(1).mean()
    return loss + (w1 * w1).sum() * 1e-3 + h.sigmoid().mean()  # healthy-loss


def test_healthy_graph_passes_with_identical_gradients(rng):
    arrays = [rng.standard_normal((8, 5)), rng.standard_normal((5, 6)),
              rng.standard_normal((6, 3)), np.eye(3)[rng.integers(0, 3, 8)]]

    def run(mode: bool):
        x, w1, w2, t = (cr.tensor(a, requires_grad=i in (1, 2)) for i, a in enumerate(arrays))
        with detect_anomaly() if mode else _nothing():
            loss = _healthy(x, w1, w2, t)
            loss.backward()
        return loss.item(), w1.grad.numpy(), w2.grad.numpy(), loss

    plain, checked = run(False), run(True)
    assert plain[0] == checked[0]
    np.testing.assert_array_equal(plain[1], checked[1])
    np.testing.assert_array_equal(plain[2], checked[2])
    assert checked[3].grad_fn._trace == f"{HERE}:{line_of('healthy-loss')}"


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_locations_are_recorded_in_anomaly_mode():
    x = cr.tensor([1.0], requires_grad=True)
    with detect_anomaly():
        y = x.exp()  # recorded-here
    assert y.grad_fn._trace == f"{HERE}:{line_of('recorded-here')}"


def test_mode_is_restored_after_an_error_and_when_nested():
    x = cr.tensor(0.0, requires_grad=True)
    with pytest.raises(AnomalyError), detect_anomaly():
        x.log()
    assert not cr.autograd.is_anomaly_enabled()
    with detect_anomaly():
        with detect_anomaly(check_nan=False):
            assert not cr.autograd.is_anomaly_enabled()
        assert cr.autograd.is_anomaly_enabled()
    assert not cr.autograd.is_anomaly_enabled()
    cr.autograd.set_detect_anomaly(True)
    try:
        assert cr.autograd.is_anomaly_enabled()
    finally:
        cr.autograd.set_detect_anomaly(False)
    assert not cr.autograd.is_anomaly_enabled()


def test_anomaly_error_is_a_runtime_error():
    assert issubclass(AnomalyError, RuntimeError)
