"""Losses against PyTorch (every reduction, class weights, ignore_index, label smoothing,
probability and K-dim targets, pos_weight), gradchecks, double backward, stability, errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F
from tests.oracle import compare, namespace, torch

REDUCTIONS = ["mean", "sum", "none"]


# ---- regression ----------------------------------------------------------------------------


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("loss", ["mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_regression_losses_match_torch(loss, reduction, dtype, rng):
    x, y = rng.standard_normal((2, 4, 3)) * 2
    x[0, 0] = y[0, 0]  # a zero error (the kink of |.|)
    compare(lambda m, a, b: getattr(m.F, loss)(a, b, reduction=reduction), [x, y], dtype=dtype)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("delta", [0.5, 1.0, 2.5])
def test_huber_and_smooth_l1_parameters(delta, reduction, rng):
    x, y = rng.standard_normal((2, 6, 2)) * 2
    x[0, 0] = y[0, 0] + delta  # exactly at the switch point
    compare(lambda m, a, b: m.F.huber_loss(a, b, reduction=reduction, delta=delta), [x, y])
    compare(lambda m, a, b: m.F.smooth_l1_loss(a, b, reduction=reduction, beta=delta), [x, y])
    compare(lambda m, a, b: m.nn.HuberLoss(reduction, delta)(a, b), [x, y])
    compare(lambda m, a, b: m.nn.SmoothL1Loss(reduction=reduction, beta=delta)(a, b), [x, y])


def test_smooth_l1_with_beta_zero_is_l1(rng):
    x, y = rng.standard_normal((2, 5))
    compare(lambda m, a, b: m.F.smooth_l1_loss(a, b, beta=0.0), [x, y])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("loss", ["mse_loss", "l1_loss", "huber_loss"])
def test_elementwise_weight_matches_torch(loss, reduction, rng):
    x, y = rng.standard_normal((2, 3, 4))
    w = rng.random((3, 4)) + 0.1
    compare(lambda m, a, b, c: getattr(m.F, loss)(a, b, reduction=reduction, weight=c),
            [x, y, w])


@pytest.mark.parametrize("module", ["MSELoss", "L1Loss"])
def test_regression_modules_and_broadcast_warning(module, rng):
    x, y = rng.standard_normal((2, 4, 3))
    compare(lambda m, a, b: getattr(m.nn, module)(reduction="sum")(a, b), [x, y])
    with pytest.warns(UserWarning, match="target size"):
        getattr(nn, module)()(cr.tensor(x), cr.tensor(y[:1]))


# ---- cross-entropy and NLL -----------------------------------------------------------------


CE_CASES = [
    # (input shape, target shape)
    ((6, 4), (6,)),
    ((3, 4, 5), (3, 5)),
    ((2, 3, 2, 3), (2, 2, 3)),
    ((5,), ()),
]


@pytest.mark.parametrize("shapes", CE_CASES, ids=lambda s: f"{s[0]}")
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.15])
@pytest.mark.parametrize("ignore", [False, True])
def test_cross_entropy_class_indices(shapes, reduction, weighted, smoothing, ignore, rng):
    in_shape, t_shape = shapes
    n_classes = in_shape[1] if len(in_shape) > 1 else in_shape[0]
    x = rng.standard_normal(in_shape) * 2
    t = rng.integers(0, n_classes, t_shape)
    ignore_index = 2 if ignore else -100
    if ignore and t.size > 1:
        t.reshape(-1)[0] = 2
        t.reshape(-1)[-1] = 2
    arrays, requires = [x, t], [True, False]
    if weighted:
        arrays.append(rng.random(n_classes) + 0.2)
        requires.append(False)

    def program(m, a, b, *w):
        return m.F.cross_entropy(a, b, weight=w[0] if w else None, ignore_index=ignore_index,
                                 reduction=reduction, label_smoothing=smoothing)

    compare(program, arrays, requires_grad=requires)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_cross_entropy_float32_and_module(reduction, dtype, rng):
    x = rng.standard_normal((8, 5)) * 3
    t = rng.integers(0, 5, 8)
    w = rng.random(5) + 0.5

    def program(m, a, b, c):
        loss = m.nn.CrossEntropyLoss(weight=c, ignore_index=1, reduction=reduction,
                                     label_smoothing=0.05)
        return loss(a, b)

    compare(program, [x, t, w], requires_grad=[True, False, False], dtype=dtype)


@pytest.mark.parametrize("in_shape", [(4, 3), (2, 3, 5), (3,)])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_cross_entropy_probability_targets(in_shape, reduction, weighted, smoothing, rng):
    axis = 1 if len(in_shape) > 1 else 0
    x = rng.standard_normal(in_shape)
    p = rng.random(in_shape)
    p = p / p.sum(axis, keepdims=True)
    arrays = [x, p] + ([rng.random(in_shape[axis]) + 0.3] if weighted else [])

    def program(m, a, b, *w):
        return m.F.cross_entropy(a, b, weight=w[0] if w else None, reduction=reduction,
                                 label_smoothing=smoothing)

    # target probabilities get a gradient too (as in PyTorch); class weights as well
    compare(program, arrays)


@pytest.mark.parametrize("shapes", CE_CASES[:3], ids=lambda s: f"{s[0]}")
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_nll_loss(shapes, reduction, weighted, rng):
    in_shape, t_shape = shapes
    x = rng.standard_normal(in_shape)
    t = rng.integers(0, in_shape[1], t_shape)
    t.reshape(-1)[0] = -100
    arrays, requires = [x, t], [True, False]
    if weighted:
        arrays.append(rng.random(in_shape[1]) + 0.2)
        requires.append(False)

    def program(m, a, b, *w):
        logp = m.F.log_softmax(a, dim=1)
        return m.nn.NLLLoss(weight=w[0] if w else None, reduction=reduction)(logp, b)

    compare(program, arrays, requires_grad=requires)


def test_nll_loss_weight_gets_a_correct_gradient(rng):
    x = cr.tensor(rng.standard_normal((5, 3)))
    t = cr.tensor(rng.integers(0, 3, 5))
    w = cr.tensor(rng.random(3) + 0.5, requires_grad=True)
    assert cr.autograd.gradcheck(lambda v: F.nll_loss(x, t, weight=v), (w,))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("smoothing", [0.0, 0.3])
def test_all_targets_ignored(reduction, smoothing):
    x = np.arange(6.0).reshape(2, 3)
    t = np.array([-100, -100])
    for fn in ("cross_entropy", "nll_loss"):
        def program(m, a, b, fn=fn):
            kwargs = {"label_smoothing": smoothing} if fn == "cross_entropy" else {}
            return getattr(m.F, fn)(a, b, reduction=reduction, **kwargs)

        with np.errstate(all="raise"):
            outs, _ = compare(program, [x, t], requires_grad=[True, False])
        if reduction == "mean":
            assert np.isnan(outs[0].item())


def _ce_inputs(rng, smoothing, weighted, reduction):
    x = cr.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    t = cr.tensor(np.array([0, 2, -100, 1]))
    w = cr.tensor(rng.random(3) + 0.5) if weighted else None

    def fn(v):
        return F.cross_entropy(v, t, weight=w, reduction=reduction, label_smoothing=smoothing)

    return fn, x


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.25])
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_gradcheck_and_double_backward(reduction, smoothing, weighted, rng):
    fn, x = _ce_inputs(rng, smoothing, weighted, reduction)
    assert cr.autograd.gradcheck(fn, (x,))
    assert cr.autograd.gradgradcheck(fn, (x,))


def test_cross_entropy_double_backward_matches_torch(rng):
    """d/dx of (dL/dx . v): the Hessian-vector product of the fused op equals PyTorch's."""
    a = rng.standard_normal((5, 4))
    t = np.array([0, 3, 1, 1, 2])
    w = rng.random(4) + 0.5
    v = rng.standard_normal((5, 4))
    x = cr.tensor(a, requires_grad=True)
    loss = F.cross_entropy(x, cr.tensor(t), weight=cr.tensor(w), label_smoothing=0.1)
    (g,) = cr.autograd.grad(loss, x, create_graph=True)
    (hv,) = cr.autograd.grad((g * cr.tensor(v)).sum(), x)
    xt = torch.tensor(a, requires_grad=True)
    loss_t = torch.nn.functional.cross_entropy(xt, torch.tensor(t), weight=torch.tensor(w),
                                               label_smoothing=0.1)
    (gt,) = torch.autograd.grad(loss_t, xt, create_graph=True)
    (hvt,) = torch.autograd.grad((gt * torch.tensor(v)).sum(), xt)
    np.testing.assert_allclose(g.detach().numpy(), gt.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(hv.numpy(), hvt.numpy(), rtol=1e-10, atol=1e-12)


def test_cross_entropy_fast_and_graph_backward_agree(rng):
    """The NumPy first-order backward and the differentiable one give the same gradient."""
    fn, x = _ce_inputs(rng, 0.2, True, "none")
    out = fn(x)
    g = cr.tensor(rng.standard_normal(4))
    (fast,) = cr.autograd.grad(out, x, g, retain_graph=True)
    (graph,) = cr.autograd.grad(out, x, g, create_graph=True)
    assert graph.requires_grad
    np.testing.assert_allclose(fast.numpy(), graph.detach().numpy(), rtol=1e-13, atol=1e-15)


def test_cross_entropy_weight_requiring_grad_raises_in_backward(rng):
    x = cr.tensor(rng.standard_normal((3, 2)), requires_grad=True)
    w = cr.tensor([1.0, 2.0], dtype=cr.float64, requires_grad=True)
    loss = F.cross_entropy(x, cr.tensor([0, 1, 1]), weight=w)
    with pytest.raises(RuntimeError, match="weight"):
        loss.backward()


@pytest.mark.parametrize("fn", ["cross_entropy", "nll_loss"])
def test_class_target_errors(fn):
    f = getattr(F, fn)
    x = cr.randn(3, 4)
    with pytest.raises(IndexError, match="Target 4 is out of bounds"):
        f(x, cr.tensor([0, 4, 1]))
    with pytest.raises(IndexError, match="Target -3 is out of bounds"):
        f(x, cr.tensor([0, -3, 1]))
    # the range check reads signed indices as unsigned; other widths and byte orders too
    for dtype in (np.int8, np.int32, np.uint8, ">i8"):
        bad = np.array([0, 4, 1], dtype)
        with pytest.raises(IndexError, match="Target 4 is out of bounds"):
            f(x, bad)
        if np.dtype(dtype).kind == "i":
            with pytest.raises(IndexError, match="Target -3 is out of bounds"):
                f(x, -bad + 1)
    with pytest.raises(ValueError, match=r"batch_size \(3\) to match target batch_size \(2\)"):
        f(x, cr.tensor([0, 1]))
    with pytest.raises(RuntimeError, match=r"weight tensor should be defined.*\[3\]"):
        f(x, cr.tensor([0, 1, 2]), weight=cr.ones(3))
    with pytest.raises(RuntimeError, match="integer class indices"):
        f(x, cr.tensor([0.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        f(x, cr.tensor([0, 1, 2]), reduction="avg")


def test_cross_entropy_probability_target_errors():
    x = cr.randn(2, 3)
    with pytest.raises(RuntimeError, match="ignore_index is not supported"):
        F.cross_entropy(x, cr.rand(2, 3), ignore_index=0)
    with pytest.raises(RuntimeError, match="label_smoothing must be between"):
        F.cross_entropy(x, cr.tensor([0, 1]), label_smoothing=1.5)


def test_cross_entropy_stable_at_1e4():
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4], [0.0, 0.0, -1e4]])
    t = np.array([0, 0, 2])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        for reduction in REDUCTIONS:
            for smoothing in (0.0, 0.1):
                outs, _ = compare(lambda m, a, b, r=reduction, s=smoothing: m.F.cross_entropy(
                    a, b, reduction=r, label_smoothing=s), [logits, t],
                    requires_grad=[True, False])
                assert np.all(np.isfinite(outs[0].detach().numpy()))
    loss = F.cross_entropy(cr.tensor(logits), cr.tensor(t), reduction="none")
    np.testing.assert_allclose(loss.numpy(), [0.0, 2e4 + np.log(2), 1e4 + np.log(2)], rtol=1e-15)


# ---- binary cross-entropy ------------------------------------------------------------------


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weight", [None, "full", "broadcast"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_binary_cross_entropy(reduction, weight, dtype, rng):
    p = rng.random((4, 3)) * 0.9 + 0.05
    y = rng.random((4, 3))
    y[0] = [0.0, 1.0, 1.0]
    p[0, 2] = 1.0  # log(1 - 1) is clamped at -100, as PyTorch
    arrays = [p, y]
    if weight:
        arrays.append(rng.random((4, 3) if weight == "full" else (3,)) + 0.1)

    def program(m, a, b, *w):
        return m.nn.BCELoss(weight=w[0] if w else None, reduction=reduction)(a, b)

    with np.errstate(divide="ignore"):
        # with p = 1, y = 1 the input gradient is (1 - 1) / 1e-12 = 0 in both
        compare(program, arrays, requires_grad=[True, True] + [False] * bool(weight),
                dtype=dtype)


def test_binary_cross_entropy_gradchecks(rng):
    p = cr.tensor(rng.random((3, 2)) * 0.8 + 0.1, requires_grad=True)
    y = cr.tensor(rng.random((3, 2)), requires_grad=True)
    assert cr.autograd.gradcheck(lambda a, b: F.binary_cross_entropy(a, b), (p, y))
    assert cr.autograd.gradgradcheck(lambda a, b: F.binary_cross_entropy(a, b), (p, y))


def test_binary_cross_entropy_errors():
    with pytest.raises(RuntimeError, match="input should be between 0 and 1"):
        F.binary_cross_entropy(cr.tensor([1.5]), cr.tensor([1.0]))
    with pytest.raises(RuntimeError, match="target should be between 0 and 1"):
        F.binary_cross_entropy(cr.tensor([0.5]), cr.tensor([2.0]))
    with pytest.raises(ValueError, match="different to the input size"):
        F.binary_cross_entropy(cr.tensor([0.5, 0.5]), cr.tensor([1.0]))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("pos_weight", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_bce_with_logits(reduction, weighted, pos_weight, dtype, rng):
    x = rng.standard_normal((5, 3)) * 3
    y = (rng.random((5, 3)) > 0.5).astype(float)
    y[0] = [0.3, 0.7, 0.5]  # soft targets are allowed
    arrays = [x, y]
    if weighted:
        arrays.append(rng.random((5, 3)) + 0.1)
    if pos_weight:
        arrays.append(rng.random(3) * 3 + 0.5)  # one per class, broadcast over the batch

    def program(m, a, b, *rest):
        rest = list(rest)
        w = rest.pop(0) if weighted else None
        pw = rest.pop(0) if pos_weight else None
        return m.nn.BCEWithLogitsLoss(weight=w, reduction=reduction, pos_weight=pw)(a, b)

    compare(program, arrays, requires_grad=[True, True] + [False] * (len(arrays) - 2),
            dtype=dtype)


def test_bce_with_logits_gradchecks(rng):
    x = cr.tensor(rng.standard_normal((3, 2)), requires_grad=True)
    y = cr.tensor(rng.random((3, 2)), requires_grad=True)
    pw = cr.tensor(rng.random(2) + 0.5, requires_grad=True)

    def fn(a, b, c):
        return F.binary_cross_entropy_with_logits(a, b, pos_weight=c, reduction="sum")

    assert cr.autograd.gradcheck(fn, (x, y, pw))
    assert cr.autograd.gradgradcheck(fn, (x, y, pw))


def test_bce_with_logits_stable_at_1e4():
    x = np.array([1e4, -1e4, 1e4, -1e4, 0.0])
    y = np.array([1.0, 0.0, 0.0, 1.0, 0.5])
    pw = np.array([2.0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        outs, _ = compare(lambda m, a, b: m.F.binary_cross_entropy_with_logits(
            a, b, reduction="none"), [x, y])
        compare(lambda m, a, b, c: m.F.binary_cross_entropy_with_logits(a, b, pos_weight=c),
                [x, y, pw], requires_grad=[True, True, False])
    np.testing.assert_array_equal(outs[0].detach().numpy()[:4], [0.0, 0.0, 1e4, 1e4])


def test_bce_with_logits_shape_error():
    with pytest.raises(ValueError, match=r"Target size \(\(2,\)\) must be the same as input"):
        F.binary_cross_entropy_with_logits(cr.zeros(3), cr.zeros(2))


# ---- focal loss ----------------------------------------------------------------------------


def _torchvision_focal(inputs, targets, alpha=0.25, gamma=2, reduction="none"):
    """torchvision.ops.sigmoid_focal_loss, written out with torch ops (Lin et al., 2017)."""
    p = torch.sigmoid(inputs)
    ce = torch.nn.functional.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce * ((1 - p_t) ** gamma)
    if alpha >= 0:
        alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
        loss = alpha_t * loss
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("alpha,gamma", [(0.25, 2), (-1, 2), (0.5, 0), (0.75, 1.5)])
def test_sigmoid_focal_loss_matches_torchvision_formula(reduction, alpha, gamma, rng):
    x = rng.standard_normal((6, 3)) * 2
    y = (rng.random((6, 3)) > 0.7).astype(float)

    def program(m, a, b):
        if m.lib is torch:
            return _torchvision_focal(a, b, alpha, gamma, reduction)
        return m.F.sigmoid_focal_loss(a, b, alpha=alpha, gamma=gamma, reduction=reduction)

    compare(program, [x, y])
    if reduction != "none":
        module = nn.SigmoidFocalLoss(alpha, gamma, reduction)
        np.testing.assert_allclose(
            module(cr.tensor(x), cr.tensor(y)).item(),
            _torchvision_focal(torch.tensor(x), torch.tensor(y), alpha, gamma, reduction).item(),
            rtol=1e-10)


def test_sigmoid_focal_loss_gradcheck_stability_and_errors(rng):
    x = cr.tensor(rng.standard_normal((3, 2)), requires_grad=True)
    y = cr.tensor((rng.random((3, 2)) > 0.5).astype(float))
    assert cr.autograd.gradcheck(lambda a: F.sigmoid_focal_loss(a, y, reduction="sum"), (x,))
    big = np.array([1e4, -1e4, 1e4, -1e4])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        compare(lambda m, a, b: (F.sigmoid_focal_loss(a, b) if m.lib is cr else
                                 _torchvision_focal(a, b)), [big, np.array([1.0, 0, 0, 1])])
    with pytest.raises(ValueError, match="Invalid Value for arg 'reduction'"):
        F.sigmoid_focal_loss(x, y, reduction="avg")
    assert nn.SigmoidFocalLoss().reduction == "mean"


# ---- gradchecks of the regression losses; legacy arguments; reprs --------------------------


@pytest.mark.parametrize("loss", ["mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss"])
def test_regression_gradcheck(loss, rng):
    x = cr.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    y = cr.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    fn = getattr(F, loss)
    assert cr.autograd.gradcheck(lambda a, b: fn(a, b), (x, y))


def test_legacy_size_average_and_reduce(rng):
    x, y = rng.standard_normal((2, 3))
    with pytest.warns(UserWarning, match="reduction='sum'"):
        out = F.mse_loss(cr.tensor(x), cr.tensor(y), size_average=False)
    np.testing.assert_allclose(out.item(), ((x - y) ** 2).sum(), rtol=1e-12)
    with pytest.warns(UserWarning, match="reduction='none'"):
        module = nn.L1Loss(reduce=False)
    assert module.reduction == "none"


LOSS_MODULES = ["MSELoss", "L1Loss", "HuberLoss", "SmoothL1Loss", "CrossEntropyLoss", "NLLLoss",
                "BCELoss", "BCEWithLogitsLoss"]


@pytest.mark.parametrize("name", LOSS_MODULES)
def test_loss_module_repr_and_state_match_torch(name):
    ours, theirs = getattr(nn, name)(), getattr(torch.nn, name)()
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())


def test_class_weights_are_buffers():
    w = cr.tensor([1.0, 2.0])
    loss = nn.CrossEntropyLoss(weight=w)
    assert list(loss.state_dict()) == ["weight"]
    assert loss.weight is w and list(loss.parameters()) == []
    theirs = torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor([1.0]))
    ours = nn.BCEWithLogitsLoss(pos_weight=cr.tensor([1.0]))
    assert list(ours.state_dict()) == list(theirs.state_dict())


def test_no_warnings_for_matching_shapes(rng):
    x, y = rng.standard_normal((2, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for loss in ("mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss"):
            getattr(F, loss)(cr.tensor(x), cr.tensor(y))


def test_cross_entropy_program_in_both_namespaces_is_the_same_code(rng):
    """A PyTorch-style training step runs unchanged with the import swapped."""
    def step(m, x, y):
        lib = m.lib
        lib.manual_seed(0)
        model = m.nn.Sequential(m.nn.Linear(4, 8), m.nn.ReLU(), m.nn.Linear(8, 3))
        return model, m.nn.CrossEntropyLoss()(model(x), y)

    x = rng.standard_normal((5, 4)).astype(np.float32)
    y = rng.integers(0, 3, 5)
    for m in (namespace(cr), namespace(torch)):
        model, loss = step(m, m.lib.tensor(x), m.lib.tensor(y))
        loss.backward()
        assert all(p.grad is not None for p in model.parameters())


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss_gradcheck(reduction, rng):
    x = cr.tensor(rng.standard_normal((2, 3, 4)), requires_grad=True)
    t = cr.tensor(np.array([[0, 2, -100, 1], [1, 1, 0, 2]]))
    w = cr.tensor(rng.random(3) + 0.5)
    assert cr.autograd.gradcheck(lambda v: F.nll_loss(v, t, weight=w, reduction=reduction), (x,))
