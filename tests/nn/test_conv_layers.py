"""Convolution, pooling and their normalization layers against PyTorch with copied weights
(Conv1d/2d, MaxPool, AvgPool, AdaptiveAvgPool, BatchNorm2d, GroupNorm, Dropout1d/2d): values,
input and parameter gradients, state_dict names and shapes, initialisation, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F
from tests.nn.pairs import copy_weights, run_pair
from tests.oracle import torch

TORCH_DTYPE = {np.float64: torch.float64, np.float32: torch.float32}

CONV2D = [
    dict(),
    dict(stride=2, padding=1),
    dict(stride=(3, 1), padding=(2, 0), dilation=(1, 2)),
    dict(padding="same", dilation=2),
    dict(padding="valid", bias=False),
    dict(groups=2, padding=1),
]


@pytest.mark.parametrize("kwargs", CONV2D, ids=str)
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_conv2d_matches_torch(kwargs, dtype, rng):
    ours = nn.Conv2d(4, 6, 3, **kwargs, dtype=dtype)
    theirs = torch.nn.Conv2d(4, 6, 3, **kwargs, dtype=TORCH_DTYPE[dtype])
    assert repr(ours) == repr(theirs)
    copy_weights(ours, theirs)
    # float32: few windows, so that the weight gradient's sum (over batch and windows, in
    # another order than PyTorch's) stays within float32's comparison tolerance
    size = 9 if dtype == np.float64 else 6
    run_pair(ours, theirs, [rng.standard_normal((2, 4, size, size - 1)).astype(dtype)])
    run_pair(ours, theirs, [rng.standard_normal((4, 7, 7)).astype(dtype)])  # unbatched


@pytest.mark.parametrize("kwargs", [dict(), dict(stride=2, padding=2, dilation=2),
                                    dict(groups=4, padding="same")], ids=str)
def test_conv1d_matches_torch(kwargs, rng):
    ours = nn.Conv1d(4, 8, 3, **kwargs, dtype=cr.float64)
    theirs = torch.nn.Conv1d(4, 8, 3, **kwargs, dtype=torch.float64)
    assert repr(ours) == repr(theirs)
    copy_weights(ours, theirs)
    run_pair(ours, theirs, [rng.standard_normal((3, 4, 11))])


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("make, shape", [
    (lambda m, mode: m.Conv2d(3, 4, 3, padding=(1, 2), padding_mode=mode), (2, 3, 5, 6)),
    (lambda m, mode: m.Conv2d(3, 4, (2, 3), stride=2, padding=2,
                              dilation=(2, 1), padding_mode=mode), (2, 3, 6, 5)),
    (lambda m, mode: m.Conv2d(2, 4, 4, padding="same", groups=2, padding_mode=mode),
     (1, 2, 5, 5)),
    (lambda m, mode: m.Conv1d(2, 3, 5, padding=3, padding_mode=mode), (2, 2, 4)),
    (lambda m, mode: m.Conv1d(2, 3, 3, padding=1, padding_mode=mode), (2, 6)),  # unbatched
], ids=["2d", "2d_strided_dilated", "2d_same_even_groups", "1d_wide_pad", "1d_unbatched"])
def test_conv_padding_modes_match_torch(make, shape, mode, rng):
    ours, theirs = make(nn, mode).double(), make(torch.nn, mode).double()
    assert repr(ours) == repr(theirs)
    assert ours._reversed_padding_repeated_twice == list(
        theirs._reversed_padding_repeated_twice)
    copy_weights(ours, theirs)
    run_pair(ours, theirs, [rng.standard_normal(shape)])


@pytest.mark.parametrize("call", [
    lambda m: m.nn.Conv1d(1, 1, 3, padding=2, padding_mode="reflect")(m.zeros(1, 1, 2)),
    lambda m: m.nn.Conv1d(1, 1, 3, padding=2, padding_mode="circular")(m.zeros(1, 1, 1)),
    lambda m: m.nn.Conv2d(1, 1, 3, padding=1, padding_mode="replicate")(m.zeros(1, 0, 4, 4)),
    lambda m: m.nn.ConvTranspose2d(1, 1, 3, padding_mode="reflect"),
    lambda m: m.nn.ConvTranspose1d(1, 1, 3, padding_mode="circular"),
    lambda m: m.nn.functional.pad(m.zeros(1, 2, 5), (5, 0), mode="reflect"),
    lambda m: m.nn.functional.pad(m.zeros(1, 2, 5, 4), (1, 1, 5, 0), mode="reflect"),
    lambda m: m.nn.functional.pad(m.zeros(1, 1, 3, 4, 5), (1, 1, 4, 1, 1, 1), mode="reflect"),
    lambda m: m.nn.functional.pad(m.zeros(1, 1, 3, 4, 5), (1, 1, 1, 1, 3, 0), mode="reflect"),
    lambda m: m.nn.functional.pad(m.zeros(1, 2, 5), (-3, -3), mode="reflect"),
    lambda m: m.nn.functional.pad(m.zeros(1, 2, 5), (-2, -3), mode="replicate"),
    lambda m: m.nn.functional.pad(m.zeros(1, 2, 5), (6, 0), mode="circular"),
    lambda m: m.nn.functional.pad(m.zeros(1, 2, 5, 4), (1, 1, -3, -3), mode="circular"),
    lambda m: m.nn.functional.pad(m.zeros(5), (1, 1), mode="reflect"),
    lambda m: m.nn.functional.pad(m.zeros(1, 2, 5, 4), (1, 1), mode="replicate"),
    lambda m: m.nn.functional.pad(m.zeros(1, 2, 5, 4), (1, 1, 1), mode="circular"),
    lambda m: m.nn.functional.pad(m.zeros(1, 0, 5), (1, 1), mode="reflect"),
    lambda m: m.nn.functional.pad(m.zeros(1, 2, 5, 0), (1, 1, 1, 1), mode="replicate"),
    lambda m: m.nn.functional.pad(m.zeros(1, 2, 5), (1, 1), mode="reflect", value=1.0),
    lambda m: m.nn.functional.pad(m.zeros(1, 2, 5), (1, 1), mode="mirror"),
])
def test_padding_mode_errors_are_pytorchs(call):
    with pytest.raises(Exception) as theirs:
        call(torch)
    with pytest.raises(type(theirs.value)) as ours:
        call(cr)
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("name, args, shape", [
    ("ZeroPad1d", (2,), (2, 3, 4)), ("ZeroPad2d", ((1, 0, 2, 1),), (2, 5, 4)),
    ("ConstantPad1d", ((1, -1), 2.5), (3, 4)), ("ConstantPad2d", (1, -0.5), (1, 2, 3, 4)),
    ("ReflectionPad1d", ((3, 1),), (2, 3, 4)), ("ReflectionPad2d", (1,), (3, 4, 5)),
    ("ReplicationPad1d", (5,), (2, 3)), ("ReplicationPad2d", ((2, 0, 1, 3),), (1, 2, 3, 4)),
    ("CircularPad1d", ((4, 2),), (2, 3, 4)), ("CircularPad2d", ((1, 2, 3, 0),), (2, 2, 3, 4)),
])
def test_padding_layers_match_torch(name, args, shape, rng):
    ours, theirs = getattr(nn, name)(*args), getattr(torch.nn, name)(*args)
    assert repr(ours) == repr(theirs)
    run_pair(ours, theirs, [rng.standard_normal(shape)])


def test_circular_padding_past_the_cropped_input_is_refused():
    """PyTorch crops first, then wraps; wrapping more than the cropped length reads memory it
    never wrote (its result is garbage), so chainrule refuses it."""
    with pytest.raises(RuntimeError, match="wrapping around more than once"):
        F.pad(cr.zeros(1, 2, 5), (4, -2), mode="circular")
    np.testing.assert_array_equal(
        F.pad(cr.arange(5.0).reshape(1, 1, 5), (3, -2), mode="circular").numpy().ravel(),
        [0, 1, 2, 0, 1, 2])


def test_conv_state_dict_moves_from_torch_and_init_follows_torch(rng):
    theirs = torch.nn.Conv2d(3, 16, (5, 3), groups=1)
    ours = nn.Conv2d(3, 16, (5, 3))
    assert {k: tuple(v.shape) for k, v in ours.state_dict().items()} == {
        k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    ours.load_state_dict({k: cr.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    x = rng.standard_normal((2, 3, 8, 8)).astype(np.float32)
    run_pair(ours, theirs, [x])
    cr.manual_seed(0)
    big = nn.Conv2d(32, 64, 3)
    bound = 1 / math.sqrt(32 * 9)  # kaiming_uniform_(a=sqrt(5)): U(-1/sqrt(fan_in), ...)
    w, b = big.weight.detach().numpy(), big.bias.detach().numpy()
    assert big.weight.dtype == cr.float32 and w.shape == (64, 32, 3, 3)
    assert bound * 0.99 < np.abs(w).max() <= bound
    assert bound * 0.9 < np.abs(b).max() <= bound
    np.testing.assert_allclose(w.std(), bound / math.sqrt(3), rtol=0.02)


def test_conv_errors():
    with pytest.raises(RuntimeError, match=r"Given groups=1, weight of size \[6, 1, 5, 5\], "
                                           r"expected input\[2, 3, 28, 28\] to have 1 channels, "
                                           "but got 3 channels instead"):
        nn.Conv2d(1, 6, 5)(cr.randn(2, 3, 28, 28))
    with pytest.raises(RuntimeError, match=r"Calculated padded input size per channel: "
                                           r"\(2 x 2\). Kernel size: \(3 x 3\)"):
        nn.Conv2d(1, 1, 3)(cr.randn(1, 1, 2, 2))
    with pytest.raises(RuntimeError, match=r"conv2d: expected 3D \(unbatched\) or 4D"):
        nn.Conv2d(1, 1, 3)(cr.randn(5, 5))
    with pytest.raises(RuntimeError, match="float64.*float32.*same dtype"):
        nn.Conv2d(1, 1, 3)(cr.randn(1, 1, 5, 5, dtype=cr.float64))
    with pytest.raises(ValueError, match="in_channels must be divisible by groups"):
        nn.Conv2d(3, 6, 3, groups=2)
    with pytest.raises(ValueError, match="not supported for strided convolutions"):
        nn.Conv2d(3, 6, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="padding_mode must be one of .* but got "
                                         "padding_mode='mirror'"):
        nn.Conv2d(3, 6, 3, padding_mode="mirror")
    with pytest.raises(RuntimeError, match="expected bias to be 1-dimensional with 2 elements"):
        F.conv1d(cr.randn(1, 1, 5), cr.randn(2, 1, 3), cr.randn(3))


# ---- pooling -------------------------------------------------------------------------------


@pytest.mark.parametrize("make", [
    lambda m: m.MaxPool2d(2),
    lambda m: m.MaxPool2d(3, stride=2, padding=1, ceil_mode=True),
    lambda m: m.MaxPool2d((2, 3), stride=(3, 1), dilation=(2, 1)),
    lambda m: m.AvgPool2d(2),
    lambda m: m.AvgPool2d(3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
    lambda m: m.AvgPool2d(3, stride=2, padding=1, divisor_override=4),
    lambda m: m.AdaptiveAvgPool2d((3, 4)),
    lambda m: m.AdaptiveAvgPool2d((None, 1)),
])
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_pool2d_layers_match_torch(make, dtype, rng):
    ours, theirs = make(nn), make(torch.nn)
    assert repr(ours) == repr(theirs)
    run_pair(ours, theirs, [rng.standard_normal((2, 3, 9, 8)).astype(dtype)])
    run_pair(ours, theirs, [rng.standard_normal((3, 7, 7)).astype(dtype)])  # unbatched


@pytest.mark.parametrize("make", [
    lambda m: m.MaxPool1d(3, stride=2, padding=1, ceil_mode=True),
    lambda m: m.AvgPool1d(3, stride=2, padding=1, count_include_pad=False),
    lambda m: m.AvgPool1d(4, ceil_mode=True),
    lambda m: m.AdaptiveAvgPool1d(3),
])
def test_pool1d_layers_match_torch(make, rng):
    ours, theirs = make(nn), make(torch.nn)
    assert repr(ours) == repr(theirs)
    run_pair(ours, theirs, [rng.standard_normal((2, 3, 10))])


def test_max_pool_ties_nan_and_indices_as_torch():
    x = np.zeros((1, 1, 4, 4))
    x[0, 0, 1, 2] = x[0, 0, 1, 3] = 5.0  # a tie: the first in row-major order wins
    x[0, 0, 3, 0] = np.nan  # NaN wins its window
    ours = cr.tensor(x, requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    v, i = F.max_pool2d(ours, 2, return_indices=True)
    vt, it = torch.nn.functional.max_pool2d(theirs, 2, return_indices=True)
    np.testing.assert_array_equal(i.numpy(), it.numpy())
    assert i.dtype == cr.int64
    np.testing.assert_array_equal(v.detach().numpy(), vt.detach().numpy())
    v.sum().backward()
    vt.sum().backward()
    np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())
    x = np.full((1, 2, 4, 5), -np.inf)  # windows of -inf beside -inf padding: a real element
    x[0, 1, :2, :2] = np.nan  # two NaNs in one window: the last one, as PyTorch's loop
    v, i = F.max_pool2d(cr.tensor(x), 3, 2, 1, ceil_mode=True, return_indices=True)
    vt, it = torch.nn.functional.max_pool2d(torch.tensor(x), 3, 2, 1, ceil_mode=True,
                                            return_indices=True)
    np.testing.assert_array_equal(i.numpy(), it.numpy())
    np.testing.assert_array_equal(v.numpy(), vt.numpy())
    ones = F.max_pool2d(cr.ones(1, 1, 4, 4), 3, 1, 1, return_indices=True)[1]
    np.testing.assert_array_equal(ones.numpy(), torch.nn.functional.max_pool2d(
        torch.ones(1, 1, 4, 4), 3, 1, 1, return_indices=True)[1].numpy())


def test_pool_errors():
    with pytest.raises(RuntimeError, match="pad should be at most half of effective kernel"):
        F.max_pool2d(cr.randn(1, 1, 5, 5), 2, padding=2)
    with pytest.raises(RuntimeError, match="pad should be at most half of kernel size"):
        F.avg_pool2d(cr.randn(1, 1, 5, 5), 2, padding=2)
    with pytest.raises(RuntimeError, match=r"max_pool2d: expected 3D \(unbatched\) or 4D"):
        F.max_pool2d(cr.randn(5, 5), 2)
    with pytest.raises(RuntimeError, match="divisor must be not zero"):
        F.avg_pool2d(cr.randn(1, 1, 4, 4), 2, divisor_override=0)


# ---- normalization and dropout --------------------------------------------------------------


@pytest.mark.parametrize("momentum", [0.1, None])
def test_batchnorm2d_training_steps_then_eval_match_torch(momentum, rng):
    ours = nn.BatchNorm2d(3, momentum=momentum, dtype=cr.float64)
    theirs = torch.nn.BatchNorm2d(3, momentum=momentum, dtype=torch.float64)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.weight._data[...] = rng.random(3) + 0.5
    ours.bias._data[...] = rng.standard_normal(3)
    copy_weights(ours, theirs)
    for step in range(3):
        run_pair(ours, theirs, [rng.standard_normal((4, 3, 5, 2)) * 2 + step], seed=step)
        for name, buf in theirs.named_buffers():
            np.testing.assert_allclose(ours.get_buffer(name).numpy(), buf.numpy(), rtol=1e-12,
                                       err_msg=name)
    ours.eval()
    theirs.eval()
    run_pair(ours, theirs, [rng.standard_normal((2, 3, 4, 4))])
    with pytest.raises(ValueError, match="BatchNorm2d: expected 4D input"):
        ours(cr.randn(2, 3, 4))


@pytest.mark.parametrize("shape,groups,affine", [((2, 6, 4, 3), 3, True), ((3, 4, 5), 4, True),
                                                 ((2, 6, 3, 3), 1, False)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_groupnorm_matches_torch(shape, groups, affine, dtype, rng):
    ours = nn.GroupNorm(groups, shape[1], affine=affine, dtype=dtype)
    theirs = torch.nn.GroupNorm(groups, shape[1], affine=affine, dtype=TORCH_DTYPE[dtype])
    assert repr(ours) == repr(theirs)
    if affine:
        ours.weight._data[...] = rng.random(shape[1]) + 0.5
        ours.bias._data[...] = rng.standard_normal(shape[1])
    copy_weights(ours, theirs)
    run_pair(ours, theirs, [(rng.standard_normal(shape) * 3 + 1).astype(dtype)])
    assert repr(nn.GroupNorm(2, 4, bias=False)) == repr(torch.nn.GroupNorm(2, 4, bias=False))


def _group_norm_call(lib, kind: str):
    x = lib.ones(2, 6, 3)
    return {
        "groups": lambda: lib.nn.GroupNorm(4, 6),
        "channels": lambda: lib.nn.GroupNorm(2, 4)(x),
        "f_groups": lambda: lib.nn.functional.group_norm(x, 4),
        "f_weight": lambda: lib.nn.functional.group_norm(x, 3, lib.ones(5)),
        "f_bias": lambda: lib.nn.functional.group_norm(x, 3, None, lib.ones(2, 3)),
        "f_dtype": lambda: lib.nn.functional.group_norm(x, 3, lib.ones(6, dtype=lib.float64)),
        "f_1d": lambda: lib.nn.functional.group_norm(lib.ones(6), 3),
        "f_no_groups": lambda: lib.nn.functional.group_norm(x, -3),
        "f_int": lambda: lib.nn.functional.group_norm(lib.ones(2, 6, 3, dtype=lib.int64), 3),
    }[kind]


@pytest.mark.parametrize("kind,message", [
    ("groups", r"num_channels \(6\) must be divisible by num_groups \(4\)"),
    ("channels", r"GroupNorm\(2, 4\): Expected input with num_channels=4 channels.*shape "
                 r"\[2, 6, 3\] \(6 channels, dtype float32\)"),
    ("f_groups", r"divisible by num_groups, but got input of shape \[2, 6, 3\] and "
                 r"num_groups=4 \(6 channels\)"),
    ("f_weight", r"Expected weight to be a vector of size equal to the number of channels in "
                 r"input, but got weight of shape \[5\] and input of shape \[2, 6, 3\]"),
    ("f_bias", r"Expected bias to be a vector.*bias of shape \[2, 3\]"),
    ("f_dtype", r"mixed dtype \(CPU\): all inputs must share same datatype, but got input "
                r"float32 and weight float64"),
    ("f_1d", r"Expected at least 2 dimensions for input tensor but received 1 \(input of "
             r"shape \[6\]\)"),
    ("f_no_groups", r"Expected num groups to be greater than 0, got -3"),
    ("f_int", r"\"GroupNormKernelImpl\" not implemented for input of dtype int64"),
])
def test_groupnorm_errors_name_the_numbers_and_match_torchs_type(kind, message):
    with pytest.raises(Exception) as theirs:
        _group_norm_call(torch, kind)()
    with pytest.raises(type(theirs.value), match=message):
        _group_norm_call(cr, kind)()


@pytest.mark.parametrize("layer,shape", [(nn.Dropout2d, (50, 40, 3, 3)),
                                         (nn.Dropout1d, (50, 40, 5))])
def test_channel_dropout_zeros_whole_channels(layer, shape):
    cr.manual_seed(0)
    drop = layer(0.3)
    x = cr.ones(*shape, requires_grad=True)
    out = drop(x)
    per_channel = out.detach().numpy().reshape(shape[0], shape[1], -1)
    assert np.all((per_channel == 0) | np.isclose(per_channel, 1 / 0.7))
    assert np.all(per_channel.min(axis=2) == per_channel.max(axis=2))  # one draw per channel
    kept = (per_channel[..., 0] != 0).mean()
    assert abs(kept - 0.7) < 0.03  # 2000 channels: the fraction's std is 0.01
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), out.detach().numpy())
    drop.eval()
    assert drop(x) is x


def test_dropout2d_reads_3d_input_as_torch_does():
    cr.manual_seed(0)
    with pytest.warns(UserWarning, match="interpreted as shape \\(N, C, L\\)"):
        out = F.dropout2d(cr.ones(40, 30, 4), 0.5).numpy()
    assert np.all(out.min(axis=2) == out.max(axis=2))  # channels are (n, c) pairs
    assert 0 < (out[..., 0] == 0).mean() < 1


def test_unfold_fold_modules_and_errors(rng):
    x = rng.standard_normal((2, 3, 5, 6))
    ours, theirs = nn.Unfold(3, padding=1, stride=2), torch.nn.Unfold(3, padding=1, stride=2)
    assert repr(ours) == repr(theirs)
    _, cols_t = run_pair(ours, theirs, [x])
    back, back_t = nn.Fold((5, 6), 3, padding=1, stride=2), torch.nn.Fold((5, 6), 3, padding=1,
                                                                           stride=2)
    assert repr(back) == repr(back_t)
    run_pair(back, back_t, [cols_t.detach().numpy()])
    with pytest.raises(RuntimeError, match="divisible by the product of kernel_size"):
        F.fold(cr.randn(1, 5, 4), (3, 3), 2)
    with pytest.raises(RuntimeError, match=r"calculated number of sliding blocks 2 \* 2 = 4, "
                                           r"but got input.size\(2\)=5"):
        F.fold(cr.randn(1, 4, 5), (3, 3), 2)


@pytest.mark.parametrize("kwargs", [dict(), dict(stride=2, padding=1, output_padding=1),
                                    dict(stride=(2, 1), groups=2, dilation=2, bias=False)],
                         ids=str)
def test_conv_transpose2d_matches_torch(kwargs, rng):
    ours = nn.ConvTranspose2d(4, 6, 3, **kwargs, dtype=cr.float64)
    theirs = torch.nn.ConvTranspose2d(4, 6, 3, **kwargs, dtype=torch.float64)
    assert repr(ours) == repr(theirs)
    assert {k: tuple(v.shape) for k, v in ours.state_dict().items()} == {
        k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    copy_weights(ours, theirs)
    run_pair(ours, theirs, [rng.standard_normal((2, 4, 5, 4))])
    x = rng.standard_normal((1, 4, 5, 4))
    out = ours(cr.tensor(x), output_size=(10, 8)) if kwargs.get("stride") == 2 else None
    if out is not None:
        expected = theirs(torch.tensor(x), output_size=(10, 8))
        assert tuple(out.shape) == tuple(expected.shape)
        np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=1e-10)


def test_conv_transpose_errors():
    with pytest.raises(RuntimeError, match="output padding must be smaller than either stride "
                                           "or dilation"):
        F.conv_transpose2d(cr.randn(1, 2, 3, 3), cr.randn(2, 2, 3, 3), output_padding=1)
    with pytest.raises(RuntimeError, match="expected input.*to have 2 channels, but got 3"):
        F.conv_transpose2d(cr.randn(1, 3, 3, 3), cr.randn(2, 2, 3, 3))


@pytest.mark.parametrize("kwargs", [dict(scale_factor=2), dict(size=(5, 7), mode="bilinear"),
                                    dict(scale_factor=1.5, mode="bilinear", align_corners=True)],
                         ids=str)
def test_upsample_matches_torch(kwargs, rng):
    ours, theirs = nn.Upsample(**kwargs), torch.nn.Upsample(**kwargs)
    assert repr(ours) == repr(theirs)
    run_pair(ours, theirs, [rng.standard_normal((2, 3, 4, 3))])


def test_interpolate_errors():
    x = cr.randn(1, 1, 4, 4)
    with pytest.raises(ValueError, match="only one of size or scale_factor"):
        F.interpolate(x)
    with pytest.raises(ValueError, match="align_corners option can only be set"):
        F.interpolate(x, scale_factor=2, align_corners=True)
    with pytest.raises(NotImplementedError, match="mode 'bicubic' is not implemented"):
        F.interpolate(x, scale_factor=2, mode="bicubic")
    with pytest.raises(NotImplementedError, match="4D for 'bilinear'"):
        F.interpolate(cr.randn(1, 1, 4), scale_factor=2, mode="bilinear")


@pytest.mark.parametrize("p", [0.3, 0.5])
def test_channel_dropout_masks_are_pytorchs_for_the_same_seed(p):
    x = np.random.default_rng(0).normal(size=(4, 6, 3, 3))
    for seed in (0, 7):
        torch.manual_seed(seed)
        theirs = torch.nn.functional.dropout2d(torch.tensor(x), p)
        cr.manual_seed(seed)
        ours = cr.nn.functional.dropout2d(cr.tensor(x), p)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
