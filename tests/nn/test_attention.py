"""scaled_dot_product_attention, MultiheadAttention and the Transformer encoder against PyTorch
on a copied state_dict (outputs, attention weights, gradients of inputs and parameters), with
masks that block whole rows, is_causal, batch_first; PyTorch's init bit for bit; float64
gradcheck and gradgradcheck of SDPA."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F
from tests.oracle import TOLERANCES, compare, torch

AVX2 = pytest.mark.skipif(
    "torch.backends.cpu.get_cpu_capability() not in ('AVX2', 'AVX512')",
    reason="needs an x86-64 CPU with AVX2: PyTorch's generic kernels draw differently")


def _rand(*shape, dtype=np.float64, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def _row_blocking_mask(length: int, source: int, seed: int = 0) -> np.ndarray:
    """A bool 'may attend' mask with row 1 blocked entirely and every other row open somewhere."""
    mask = np.random.default_rng(seed).random((length, source)) > 0.4
    mask[:, 0] = True
    mask[1] = False
    return mask


# ---- scaled_dot_product_attention ------------------------------------------------------------

SDPA_CASES = {
    "plain": ((2, 3, 5, 4), (2, 3, 6, 4), (2, 3, 6, 3), dict()),
    "3d": ((2, 5, 4), (2, 5, 4), (2, 5, 4), dict()),
    "causal_square": ((2, 2, 5, 4), (2, 2, 5, 4), (2, 2, 5, 4), dict(is_causal=True)),
    "causal_rect": ((1, 4, 3), (1, 6, 3), (1, 6, 2), dict(is_causal=True)),
    "scale": ((2, 5, 4), (2, 6, 4), (2, 6, 4), dict(scale=0.37)),
    "length_one": ((1, 1, 1, 4), (1, 1, 1, 4), (1, 1, 1, 4), dict(is_causal=True)),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", list(SDPA_CASES))
def test_sdpa_matches_torch(case, dtype):
    q, k, v, kwargs = SDPA_CASES[case]
    compare(lambda m, q, k, v: m.F.scaled_dot_product_attention(q, k, v, **kwargs),
            [_rand(*q, seed=1), _rand(*k, seed=2), _rand(*v, seed=3)], dtype=dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kind", ["bool", "float"])
@pytest.mark.parametrize("mask_shape", [(5, 6), (1, 3, 5, 6), (2, 1, 5, 6)])
def test_sdpa_masks_blocking_whole_rows_give_zeros_as_torch(kind, mask_shape, dtype):
    allowed = np.broadcast_to(_row_blocking_mask(5, 6), mask_shape).copy()
    mask = allowed if kind == "bool" else np.where(allowed, _rand(*mask_shape, seed=4),
                                                   -np.inf).astype(dtype)
    outs, _ = compare(
        lambda m, q, k, v, mask: m.F.scaled_dot_product_attention(q, k, v, attn_mask=mask),
        [_rand(2, 3, 5, 4, seed=1), _rand(2, 3, 6, 4, seed=2), _rand(2, 3, 6, 3, seed=3), mask],
        requires_grad=[True, True, True, False], dtype=dtype)
    np.testing.assert_array_equal(outs[0].detach().numpy()[:, :, 1], 0)


def test_sdpa_float_mask_gradient():
    compare(lambda m, q, k, v, mask: m.F.scaled_dot_product_attention(q, k, v, attn_mask=mask),
            [_rand(2, 5, 4, seed=1), _rand(2, 6, 4, seed=2), _rand(2, 6, 3, seed=3),
             _rand(5, 6, seed=4)])


@AVX2
def test_sdpa_dropout_matches_torch_stream():
    q, k, v = _rand(2, 5, 4, seed=1), _rand(2, 6, 4, seed=2), _rand(2, 6, 3, seed=3)
    cr.manual_seed(5)
    torch.manual_seed(5)
    ours = F.scaled_dot_product_attention(*map(cr.tensor, (q, k, v)), dropout_p=0.3)
    theirs = torch.nn.functional.scaled_dot_product_attention(*map(torch.tensor, (q, k, v)),
                                                              dropout_p=0.3)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-10)


@pytest.mark.parametrize("mask", [None, "bool", "causal"])
def test_sdpa_gradcheck_and_gradgradcheck(mask):
    q, k, v = (cr.tensor(_rand(1, 2, 3, 2, seed=s), requires_grad=True) for s in (1, 2, 3))
    kwargs = {}
    if mask == "bool":
        kwargs["attn_mask"] = cr.tensor(_row_blocking_mask(3, 3))
    elif mask == "causal":
        kwargs["is_causal"] = True

    def fn(q, k, v):
        return F.scaled_dot_product_attention(q, k, v, **kwargs)

    assert cr.autograd.gradcheck(fn, (q, k, v))
    assert cr.autograd.gradgradcheck(fn, (q, k, v))


@pytest.mark.parametrize("call,message", [
    (lambda: F.scaled_dot_product_attention(cr.zeros(2, 3, 4), cr.zeros(2, 3, 5),
                                            cr.zeros(2, 3, 4)), "expected query"),
    (lambda: F.scaled_dot_product_attention(cr.zeros(3, 4), cr.zeros(3, 4), cr.zeros(3, 4),
                                            attn_mask=cr.ones(3, 3), is_causal=True),
     "Explicit attn_mask should not be set when is_causal=True"),
    (lambda: F.scaled_dot_product_attention(cr.zeros(3, 4), cr.zeros(3, 4), cr.zeros(3, 4),
                                            attn_mask=cr.ones(3, 3, dtype=cr.int64)),
     "Expected attn_mask dtype to be bool"),
    (lambda: nn.MultiheadAttention(6, 4), "embed_dim must be divisible by num_heads"),
    (lambda: nn.MultiheadAttention(4, 2)(cr.zeros(3, 2, 4), cr.zeros(3, 2, 4),
                                         cr.zeros(3, 2, 4), attn_mask=cr.zeros(2, 3)),
     "The shape of the 2D attn_mask"),
    (lambda: nn.TransformerEncoderLayer(4, 2, activation="tanh"), "activation should be"),
])
def test_bad_input_errors(call, message):
    with pytest.raises((RuntimeError, ValueError, AssertionError), match=message):
        call()


# ---- modules ---------------------------------------------------------------------------------


def run_modules(ours, theirs, call, arrays, grad_inputs, *, dtype=np.float64, seed=0):
    """Load ours' state into theirs; compare every output of ``call(module, *tensors)`` (NaN
    where PyTorch has NaN) and, for finite outputs, all gradients."""
    tol = TOLERANCES[np.dtype(dtype).type]
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    arrays = [a.astype(dtype) if a.dtype.kind == "f" else a for a in arrays]
    xs = [cr.tensor(a, requires_grad=g) for a, g in zip(arrays, grad_inputs)]
    ts = [torch.tensor(a, requires_grad=g) for a, g in zip(arrays, grad_inputs)]
    outs_cr = [o for o in call(ours, *xs) if o is not None]
    outs_t = [o for o in call(theirs, *ts) if o is not None]
    assert len(outs_cr) == len(outs_t)
    rng = np.random.default_rng(seed)
    pairs = []
    for a, b in zip(outs_cr, outs_t):
        assert tuple(a.shape) == tuple(b.shape)
        assert str(a.dtype) == str(b.dtype).replace("torch.", "")
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), **tol)
        if np.isfinite(b.detach().numpy()).all():
            pairs.append((a, b, rng.standard_normal(tuple(b.shape)).astype(dtype)))
    if not pairs:  # every output has NaN (a fully masked row with need_weights): values only
        return outs_cr
    cr.autograd.backward([a for a, _, _ in pairs], [cr.tensor(g) for _, _, g in pairs])
    torch.autograd.backward([b for _, b, _ in pairs], [torch.tensor(g) for _, _, g in pairs])
    for i, (x, t) in enumerate(zip(xs, ts)):
        if t.requires_grad:
            np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), **tol,
                                       err_msg=f"grad of input {i}")
    theirs_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), theirs_params[name].grad.numpy(), **tol,
                                   err_msg=f"grad of {name}")
    return outs_cr


def _mha(kwargs, dtype=np.float64):
    cr_dtype, t_dtype = ((cr.float64, torch.float64) if dtype == np.float64 else
                         (cr.float32, torch.float32))
    return (nn.MultiheadAttention(8, 2, **kwargs, dtype=cr_dtype),
            torch.nn.MultiheadAttention(8, 2, **kwargs, dtype=t_dtype))


MHA_CASES = {
    "self": (dict(), dict()),
    "batch_first": (dict(batch_first=True), dict()),
    "no_bias": (dict(bias=False), dict()),
    "per_head_weights": (dict(), dict(average_attn_weights=False)),
    "no_weights": (dict(), dict(need_weights=False)),
    "kdim_vdim": (dict(kdim=5, vdim=3), dict()),
    "bias_kv": (dict(add_bias_kv=True), dict()),
    "zero_attn": (dict(add_zero_attn=True), dict(need_weights=False)),
    "bias_kv_zero_attn": (dict(add_bias_kv=True, add_zero_attn=True), dict()),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", list(MHA_CASES))
def test_multihead_attention_matches_torch(case, dtype):
    module_kwargs, call_kwargs = MHA_CASES[case]
    ours, theirs = _mha(module_kwargs, dtype)
    kdim, vdim = module_kwargs.get("kdim", 8), module_kwargs.get("vdim", 8)
    first = (2, 4) if module_kwargs.get("batch_first") else (4, 2)
    source = (2, 6) if module_kwargs.get("batch_first") else (6, 2)
    run_modules(ours, theirs, lambda m, q, k, v: m(q, k, v, **call_kwargs),
                [_rand(*first, 8, seed=1), _rand(*source, kdim, seed=2),
                 _rand(*source, vdim, seed=3)], [True] * 3, dtype=dtype)


@pytest.mark.parametrize("need_weights", [True, False])
@pytest.mark.parametrize("mask_kind", ["bool", "float"])
@pytest.mark.parametrize("extra_keys", [{}, dict(add_bias_kv=True, add_zero_attn=True)])
def test_multihead_attention_masks(need_weights, mask_kind, extra_keys):
    ours, theirs = _mha(dict(batch_first=True, **extra_keys))
    padding = np.zeros((2, 5), np.bool_)
    padding[1, 3:] = True
    blocked = ~_row_blocking_mask(4, 5)  # MHA's bool masks say where NOT to attend
    blocked[1] = False  # keep every row open here; whole-row blocking is tested below
    attn = blocked if mask_kind == "bool" else np.where(blocked, -np.inf, _rand(4, 5, seed=7))
    if mask_kind == "float":
        padding = np.where(padding, -np.inf, 0.0)
    run_modules(ours, theirs,
                lambda m, q, kv, pad, mask: m(q, kv, kv, key_padding_mask=pad, attn_mask=mask,
                                              need_weights=need_weights),
                [_rand(2, 4, 8, seed=1), _rand(2, 5, 8, seed=2), padding, attn],
                [True, True, False, False])


def test_multihead_attention_3d_mask_and_unbatched():
    ours, theirs = _mha({})
    mask = np.random.default_rng(3).random((2, 4, 5)) > 0.7
    mask[:, :, 0] = False
    run_modules(ours, theirs, lambda m, q, kv, mask: m(q, kv, kv, attn_mask=mask),
                [_rand(4, 8, seed=1), _rand(5, 8, seed=2), mask], [True, True, False])


@pytest.mark.filterwarnings("error::RuntimeWarning")  # PyTorch's NaN comes silently
@pytest.mark.parametrize("need_weights", [True, False])
def test_multihead_attention_fully_padded_row(need_weights):
    """A query whose every key is padded: NaN from the explicit softmax (need_weights=True),
    zeros from SDPA (need_weights=False), as in PyTorch, and no NumPy warning."""
    ours, theirs = _mha({})
    padding = np.zeros((2, 5), np.bool_)
    padding[1] = True
    outs = run_modules(ours, theirs, lambda m, q, kv, pad: m(q, kv, kv, key_padding_mask=pad,
                                                            need_weights=need_weights),
                       [_rand(4, 2, 8, seed=1), _rand(5, 2, 8, seed=2), padding],
                       [True, True, False])
    assert np.isnan(outs[0].detach().numpy()[:, 1]).all() == need_weights


def _mismatch_warnings(build, call, kinds) -> list[str]:
    """The mismatched-mask warnings one call raises, under ``build(lib)`` and ``call``."""
    import warnings

    import chainrule

    x = _rand(2, 4, 8, seed=1)
    padding = np.zeros((2, 4), np.bool_)
    padding[1, 3] = True
    blocked = np.triu(np.ones((4, 4), np.bool_), 1)
    pads = {"bool": lambda m: m.tensor(padding),
            "float": lambda m: m.tensor(np.where(padding, -np.inf, 0.0))}
    masks = {"bool": lambda m: m.tensor(blocked), "none": lambda m: None,
             "float": lambda m: m.tensor(np.where(blocked, -np.inf, 0.0)),
             "float32": lambda m: m.tensor(np.where(blocked, -np.inf, 0.0), dtype=m.float32)}
    found = []
    for lib in (chainrule, torch):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            call(build(lib), lib.tensor(x), pads[kinds[0]](lib), masks[kinds[1]](lib))
        found.append(sorted({str(w.message) for w in caught if "mismatched" in str(w.message)}))
    return found


MASK_PAIRS = [("bool", "float"), ("float", "bool"), ("bool", "bool"), ("float", "float"),
              ("float", "float32"), ("bool", "none")]


def _mha_module(lib):
    lib.manual_seed(0)
    return lib.nn.MultiheadAttention(8, 2, batch_first=True, dtype=lib.float64)


def _encoder_layer(lib):
    lib.manual_seed(0)
    return lib.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True,
                                          dtype=lib.float64)


MASKED_CALLS = {
    "mha": (_mha_module, lambda m, x, pad, mask: m(x, x, x, key_padding_mask=pad,
                                                    attn_mask=mask)),
    "encoder_layer": (_encoder_layer, lambda m, x, pad, mask: m(x, src_mask=mask,
                                                                 src_key_padding_mask=pad)),
    "encoder": (lambda lib: lib.nn.TransformerEncoder(_encoder_layer(lib), 2,
                                                      enable_nested_tensor=False),
                lambda m, x, pad, mask: m(x, mask=mask, src_key_padding_mask=pad)),
}


@pytest.mark.parametrize("module", list(MASKED_CALLS))
@pytest.mark.parametrize("kinds", MASK_PAIRS)
def test_mismatched_masks_warn_as_torch(kinds, module):
    """(padding mask, attention mask) of different dtypes: PyTorch's deprecation warnings,
    naming the masks of each level that sees them (and none when the dtypes agree)."""
    ours, theirs = _mismatch_warnings(*MASKED_CALLS[module], kinds)
    assert ours == theirs
    assert bool(ours) == (kinds[1] not in ("none", kinds[0]))


def test_multihead_attention_causal_hint():
    ours, theirs = _mha({})
    causal = np.triu(np.ones((4, 4), np.bool_), 1)
    run_modules(ours, theirs, lambda m, x, mask: m(x, x, x, attn_mask=mask, is_causal=True,
                                                   need_weights=False),
                [_rand(4, 2, 8, seed=1), causal], [True, False])


ENCODER_CASES = {
    "post_norm": dict(),
    "pre_norm_gelu": dict(norm_first=True, activation="gelu"),
    "batch_first": dict(batch_first=True),
    "callable_activation": dict(activation=F.relu),
}


def _encoder_layers(kwargs, dtype=np.float64):
    cr_dtype, t_dtype = ((cr.float64, torch.float64) if dtype == np.float64 else
                         (cr.float32, torch.float32))
    theirs_kwargs = dict(kwargs)
    if theirs_kwargs.get("activation") is F.relu:
        theirs_kwargs["activation"] = torch.nn.functional.relu
    return (nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, **kwargs, dtype=cr_dtype),
            torch.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, **theirs_kwargs,
                                             dtype=t_dtype))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", list(ENCODER_CASES))
def test_encoder_layer_matches_torch(case, dtype):
    ours, theirs = _encoder_layers(ENCODER_CASES[case], dtype)
    padding = np.zeros((2, 5), np.bool_)
    padding[0, 4] = True
    shape = (2, 5, 8) if ENCODER_CASES[case].get("batch_first") else (5, 2, 8)
    run_modules(ours, theirs, lambda m, x, pad: [m(x, src_key_padding_mask=pad)],
                [_rand(*shape, seed=1), padding], [True, False], dtype=dtype)


@pytest.mark.parametrize("norm", [False, True])
def test_encoder_stack_with_causal_mask(norm):
    ours_layer, theirs_layer = _encoder_layers(dict(batch_first=True, norm_first=True))
    ours = nn.TransformerEncoder(ours_layer, 2, norm=nn.LayerNorm(8, dtype=cr.float64)
                                 if norm else None)
    theirs = torch.nn.TransformerEncoder(
        theirs_layer, 2, norm=torch.nn.LayerNorm(8, dtype=torch.float64) if norm else None,
        enable_nested_tensor=False)
    causal = np.where(np.triu(np.ones((5, 5), np.bool_), 1), -np.inf, 0.0)
    run_modules(ours, theirs, lambda m, x, mask: [m(x, mask=mask)],
                [_rand(2, 5, 8, seed=1), causal], [True, False])


@AVX2
@pytest.mark.parametrize("seed", [0, 3])
def test_default_init_is_pytorchs(seed):
    cr.manual_seed(seed)
    torch.manual_seed(seed)
    pairs = [(nn.MultiheadAttention(8, 2), torch.nn.MultiheadAttention(8, 2)),
             (nn.MultiheadAttention(8, 4, kdim=3, vdim=5, bias=False),
              torch.nn.MultiheadAttention(8, 4, kdim=3, vdim=5, bias=False)),
             (nn.MultiheadAttention(8, 2, add_bias_kv=True),
              torch.nn.MultiheadAttention(8, 2, add_bias_kv=True)),
             (nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16), 2),
              torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(8, 2, 16), 2,
                                          enable_nested_tensor=False))]
    for ours, theirs in pairs:
        mine, ref = ours.state_dict(), theirs.state_dict()
        assert list(mine) == list(ref)
        for key in ref:
            np.testing.assert_array_equal(mine[key].numpy(), ref[key].numpy())
    np.testing.assert_array_equal(cr.get_rng_state().numpy(), torch.get_rng_state().numpy())


@AVX2
def test_encoder_layer_dropout_matches_torch_stream():
    """Training with dropout 0.1: every dropout (attention weights, residual branches,
    feed-forward) draws PyTorch's masks in PyTorch's order."""
    ours = nn.TransformerEncoderLayer(8, 2, 16, dtype=cr.float64, batch_first=True)
    theirs = torch.nn.TransformerEncoderLayer(8, 2, 16, dtype=torch.float64, batch_first=True)
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    x = _rand(2, 5, 8, seed=1)
    cr.manual_seed(11)
    torch.manual_seed(11)
    np.testing.assert_allclose(ours(cr.tensor(x)).detach().numpy(),
                               theirs(torch.tensor(x)).detach().numpy(), rtol=1e-10)


@pytest.mark.parametrize("left_aligned", [True, False])
def test_encoder_inference_zeroes_padded_positions_as_torch(left_aligned):
    """In eval mode without gradients PyTorch runs the unpadded tokens as a nested tensor and
    pads the output with zeros (left-aligned padding only); training keeps the computed rows."""
    ours_layer, theirs_layer = _encoder_layers(dict(batch_first=True))
    ours = nn.TransformerEncoder(ours_layer, 2, norm=nn.LayerNorm(8, dtype=cr.float64)).eval()
    theirs = torch.nn.TransformerEncoder(theirs_layer, 2,
                                         norm=torch.nn.LayerNorm(8, dtype=torch.float64)).eval()
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    padding = np.zeros((2, 5), np.bool_)
    padding[0, 3:] = True
    if not left_aligned:
        padding[1, 0] = True
    x = _rand(2, 5, 8, seed=1)
    with cr.no_grad(), torch.no_grad():
        out = ours(cr.tensor(x), src_key_padding_mask=cr.tensor(padding)).numpy()
        ref = theirs(torch.tensor(x), src_key_padding_mask=torch.tensor(padding)).numpy()
    np.testing.assert_allclose(out, ref, rtol=1e-10, atol=1e-12)
    assert np.allclose(out[0, 3:], ours.norm.bias.detach().numpy()) == left_aligned


@pytest.mark.parametrize("separate, missing", [(False, "in_proj_weight"),
                                               (True, "q_proj_weight"), (True, "k_proj_weight"),
                                               (True, "v_proj_weight")])
def test_missing_projection_weight_raises_torchs_error(separate, missing):
    weights = dict(in_proj_weight=_rand(12, 4), q_proj_weight=_rand(4, 4),
                   k_proj_weight=_rand(4, 4), v_proj_weight=_rand(4, 4))
    weights[missing] = None
    x = _rand(3, 2, 4)

    def call(lib):
        def as_tensor(a):
            return None if a is None else lib.tensor(a)

        args = {k: as_tensor(v) for k, v in weights.items()}
        lib.nn.functional.multi_head_attention_forward(
            lib.tensor(x), lib.tensor(x), lib.tensor(x), 4, 2, args["in_proj_weight"], None,
            None, None, False, 0.0, lib.tensor(_rand(4, 4)), None,
            use_separate_proj_weight=separate, q_proj_weight=args["q_proj_weight"],
            k_proj_weight=args["k_proj_weight"], v_proj_weight=args["v_proj_weight"])

    with pytest.raises(AssertionError) as expected:
        call(torch)
    with pytest.raises(AssertionError, match=f"^{expected.value}$"):
        call(cr)
