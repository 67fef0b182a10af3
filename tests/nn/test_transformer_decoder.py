"""TransformerDecoderLayer, TransformerDecoder and Transformer against PyTorch on a copied
state_dict (outputs, gradients of the inputs and of every parameter) with every mask and causal
hint, norm_first, relu/gelu/callable activations, batch_first, no bias, unbatched inputs; the
state_dict moving both ways; PyTorch's init bit for bit; the causal mask; dropout's stream."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F
from tests.nn.test_attention import AVX2, _rand, run_modules
from tests.oracle import torch

# PyTorch warns when a padding mask and an attention mask differ in type (bool and float);
# mixing them is what these tests check
pytestmark = pytest.mark.filterwarnings("ignore:Support for mismatched:UserWarning")

NESTED_WARNING = "ignore:enable_nested_tensor is True:UserWarning"
LAYER_CASES = {
    "post_norm": dict(),
    "pre_norm_gelu": dict(norm_first=True, activation="gelu"),
    "batch_first": dict(batch_first=True),
    "callable_activation": dict(activation=F.gelu),
    "no_bias_eps": dict(bias=False, layer_norm_eps=1e-3),
}


def _both(kwargs: dict) -> tuple[dict, dict]:
    """The keyword arguments for chainrule and for torch (the activation callable swapped)."""
    theirs = dict(kwargs)
    if kwargs.get("activation") is F.gelu:
        theirs["activation"] = torch.nn.functional.gelu
    return kwargs, theirs


def _decoder_layers(kwargs, dtype=np.float64):
    ours_kw, theirs_kw = _both(kwargs)
    cr_dtype, t_dtype = ((cr.float64, torch.float64) if dtype == np.float64 else
                         (cr.float32, torch.float32))
    return (nn.TransformerDecoderLayer(8, 2, 16, dropout=0.0, **ours_kw, dtype=cr_dtype),
            torch.nn.TransformerDecoderLayer(8, 2, 16, dropout=0.0, **theirs_kw, dtype=t_dtype))


def _masks(tgt_len: int, mem_len: int, batch: int) -> list[np.ndarray]:
    """A float causal target mask, a bool memory mask (True = may not attend) with every row
    open somewhere, and key padding masks that pad the ends of the second sequence."""
    causal = np.where(np.triu(np.ones((tgt_len, tgt_len), np.bool_), 1), -np.inf, 0.0)
    memory_mask = np.random.default_rng(5).random((tgt_len, mem_len)) > 0.6
    memory_mask[:, 0] = False
    tgt_pad = np.zeros((batch, tgt_len), np.bool_)
    tgt_pad[1, -1] = True
    mem_pad = np.zeros((batch, mem_len), np.bool_)
    mem_pad[1, -2:] = True
    return [causal, memory_mask, tgt_pad, mem_pad]


def _all_masks(m, tgt, memory, causal, memory_mask, tgt_pad, mem_pad):
    return [m(tgt, memory, tgt_mask=causal, memory_mask=memory_mask,
              tgt_key_padding_mask=tgt_pad, memory_key_padding_mask=mem_pad,
              tgt_is_causal=True)]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", list(LAYER_CASES))
def test_decoder_layer_matches_torch(case, dtype):
    ours, theirs = _decoder_layers(LAYER_CASES[case], dtype)
    first = (2, 5) if LAYER_CASES[case].get("batch_first") else (5, 2)
    memory = (2, 6) if LAYER_CASES[case].get("batch_first") else (6, 2)
    run_modules(ours, theirs, _all_masks,
                [_rand(*first, 8, seed=1), _rand(*memory, 8, seed=2), *_masks(5, 6, 2)],
                [True, True, False, False, False, False], dtype=dtype)


def test_decoder_layer_without_masks_and_unbatched():
    ours, theirs = _decoder_layers(dict(norm_first=True))
    run_modules(ours, theirs, lambda m, tgt, memory: [m(tgt, memory)],
                [_rand(4, 8, seed=1), _rand(3, 8, seed=2)], [True, True])


@pytest.mark.parametrize("norm", [False, True])
@pytest.mark.parametrize("hint", [None, False])
def test_decoder_stack_with_causal_mask(norm, hint):
    """tgt_is_causal=None: the stack detects the causal mask (as PyTorch); False: the mask is
    applied as given. Either way the numbers are PyTorch's."""
    ours_layer, theirs_layer = _decoder_layers(dict(batch_first=True))
    ours = nn.TransformerDecoder(ours_layer, 2, norm=nn.LayerNorm(8, dtype=cr.float64)
                                 if norm else None)
    theirs = torch.nn.TransformerDecoder(
        theirs_layer, 2, norm=torch.nn.LayerNorm(8, dtype=torch.float64) if norm else None)
    causal = _masks(5, 6, 2)[0]
    run_modules(ours, theirs,
                lambda m, tgt, memory, mask: [m(tgt, memory, tgt_mask=mask, tgt_is_causal=hint)],
                [_rand(2, 5, 8, seed=1), _rand(2, 6, 8, seed=2), causal], [True, True, False])
    assert [name for name, _ in ours.named_parameters()] == \
        [name for name, _ in theirs.named_parameters()]


def _transformers(kwargs, dtype=cr.float64):
    ours_kw, theirs_kw = _both(kwargs)
    t_dtype = torch.float64 if dtype == cr.float64 else torch.float32
    shape = dict(d_model=8, nhead=2, num_encoder_layers=2, num_decoder_layers=1,
                 dim_feedforward=16, dropout=0.0)
    return (nn.Transformer(**shape, **ours_kw, dtype=dtype),
            torch.nn.Transformer(**shape, **theirs_kw, dtype=t_dtype))


TRANSFORMER_CASES = {
    "default": dict(),
    "batch_first_pre_norm": dict(batch_first=True, norm_first=True),
    "gelu_no_bias": dict(activation="gelu", bias=False),
}


@pytest.mark.filterwarnings(NESTED_WARNING)
@pytest.mark.parametrize("case", list(TRANSFORMER_CASES))
def test_transformer_matches_torch(case):
    ours, theirs = _transformers(TRANSFORMER_CASES[case])
    batch_first = TRANSFORMER_CASES[case].get("batch_first", False)
    src, tgt = ((2, 6), (2, 5)) if batch_first else ((6, 2), (5, 2))
    src_pad = np.zeros((2, 6), np.bool_)
    src_pad[0, -1] = True
    causal, memory_mask, tgt_pad, mem_pad = _masks(5, 6, 2)
    src_mask = np.random.default_rng(8).standard_normal((6, 6))
    run_modules(ours, theirs,
                lambda m, s, t, sm, sp, tm, mm, tp, mp: [m(
                    s, t, src_mask=sm, src_key_padding_mask=sp, tgt_mask=tm, memory_mask=mm,
                    tgt_key_padding_mask=tp, memory_key_padding_mask=mp)],
                [_rand(*src, 8, seed=1), _rand(*tgt, 8, seed=2), src_mask, src_pad, causal,
                 memory_mask, tgt_pad, mem_pad], [True, True] + [False] * 6)


@pytest.mark.filterwarnings(NESTED_WARNING)
def test_transformer_eval_mode_and_float32():
    """In eval mode without gradients PyTorch's encoder packs the unpadded source into a
    nested tensor; chainrule gives the same decoder output."""
    ours, theirs = _transformers(dict(batch_first=True), dtype=cr.float32)
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    ours.eval()
    theirs.eval()
    src, tgt = _rand(2, 6, 8, seed=1, dtype=np.float32), _rand(2, 5, 8, seed=2, dtype=np.float32)
    pad = np.zeros((2, 6), np.bool_)
    pad[1, 4:] = True
    mask = nn.Transformer.generate_square_subsequent_mask(5)
    with cr.no_grad(), torch.no_grad():
        out = ours(cr.tensor(src), cr.tensor(tgt), tgt_mask=mask,
                   src_key_padding_mask=cr.tensor(pad), memory_key_padding_mask=cr.tensor(pad))
        ref = theirs(torch.tensor(src), torch.tensor(tgt),
                     tgt_mask=torch.nn.Transformer.generate_square_subsequent_mask(5),
                     src_key_padding_mask=torch.tensor(pad),
                     memory_key_padding_mask=torch.tensor(pad))
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.filterwarnings(NESTED_WARNING)
def test_state_dict_moves_from_torch_to_chainrule():
    ours, theirs = _transformers(dict(norm_first=True))
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict({k: cr.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    src, tgt = _rand(6, 2, 8, seed=1), _rand(5, 2, 8, seed=2)
    np.testing.assert_allclose(ours(cr.tensor(src), cr.tensor(tgt)).detach().numpy(),
                               theirs(torch.tensor(src), torch.tensor(tgt)).detach().numpy(),
                               rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("dtype", [None, "float64", "bool"])
def test_generate_square_subsequent_mask_is_pytorchs(dtype):
    ours = nn.Transformer.generate_square_subsequent_mask(
        4, dtype=None if dtype is None else getattr(cr, dtype))
    theirs = torch.nn.Transformer.generate_square_subsequent_mask(
        4, dtype=None if dtype is None else getattr(torch, dtype))
    assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@AVX2
@pytest.mark.filterwarnings(NESTED_WARNING)
def test_default_init_is_pytorchs():
    cr.manual_seed(4)
    torch.manual_seed(4)
    pairs = [(nn.TransformerDecoder(nn.TransformerDecoderLayer(8, 2, 16), 2),
              torch.nn.TransformerDecoder(torch.nn.TransformerDecoderLayer(8, 2, 16), 2)),
             (nn.Transformer(8, 2, 1, 2, 16), torch.nn.Transformer(8, 2, 1, 2, 16))]
    for ours, theirs in pairs:
        mine, ref = ours.state_dict(), theirs.state_dict()
        assert list(mine) == list(ref)
        for key in ref:
            np.testing.assert_array_equal(mine[key].numpy(), ref[key].numpy(), err_msg=key)
    np.testing.assert_array_equal(cr.get_rng_state().numpy(), torch.get_rng_state().numpy())


@AVX2
def test_decoder_layer_dropout_matches_torch_stream():
    """Training with dropout 0.1: the four attention and residual dropouts and the feed-forward
    one draw PyTorch's masks in PyTorch's order."""
    ours = nn.TransformerDecoderLayer(8, 2, 16, dtype=cr.float64, batch_first=True)
    theirs = torch.nn.TransformerDecoderLayer(8, 2, 16, dtype=torch.float64, batch_first=True)
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    tgt, memory = _rand(2, 5, 8, seed=1), _rand(2, 6, 8, seed=2)
    cr.manual_seed(11)
    torch.manual_seed(11)
    np.testing.assert_allclose(ours(cr.tensor(tgt), cr.tensor(memory)).detach().numpy(),
                               theirs(torch.tensor(tgt), torch.tensor(memory)).detach().numpy(),
                               rtol=1e-10)


@pytest.mark.filterwarnings(NESTED_WARNING)
@pytest.mark.parametrize("src_shape,tgt_shape,message", [
    ((6, 2, 8), (5, 3, 8), "the batch number of src and tgt must be equal"),
    ((6, 2, 8), (5, 2, 4), "the feature number of src and tgt must be equal to d_model"),
])
def test_transformer_shape_errors_are_pytorchs(src_shape, tgt_shape, message):
    ours, theirs = _transformers({})
    for module, lib in ((ours, cr), (theirs, torch)):
        with pytest.raises(RuntimeError, match=message):
            module(lib.zeros(src_shape, dtype=lib.float64), lib.zeros(tgt_shape,
                                                                      dtype=lib.float64))


def test_unknown_activation_is_refused_as_in_pytorch():
    for lib in (nn, torch.nn):
        with pytest.raises(RuntimeError, match="activation should be relu/gelu, not tanh"):
            lib.TransformerDecoderLayer(8, 2, activation="tanh")


def test_memory_is_causal_hint_and_missing_mask_error():
    ours, theirs = _decoder_layers({})
    causal = np.triu(np.ones((5, 5), np.bool_), 1)
    run_modules(ours, theirs,
                lambda m, tgt, memory, mask: [m(tgt, memory, memory_mask=mask,
                                                memory_is_causal=True)],
                [_rand(5, 2, 8, seed=1), _rand(5, 2, 8, seed=2), causal], [True, True, False])
    for module, lib in ((ours, cr), (theirs, torch)):
        x = lib.zeros((5, 2, 8), dtype=lib.float64)
        with pytest.raises(RuntimeError, match="Need attn_mask if specifying the is_causal hint"):
            module(x, x, tgt_is_causal=True)


def test_transformer_takes_a_custom_encoder_and_decoder():
    encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0), 1,
                                    enable_nested_tensor=False)
    decoder = nn.TransformerDecoder(nn.TransformerDecoderLayer(8, 2, 16, dropout=0.0), 1)
    model = nn.Transformer(d_model=8, nhead=2, custom_encoder=encoder, custom_decoder=decoder)
    assert model.encoder is encoder and model.decoder is decoder
    assert list(model.state_dict()) == [f"encoder.{k}" for k in encoder.state_dict()] + \
        [f"decoder.{k}" for k in decoder.state_dict()]
    assert tuple(model(cr.randn(6, 2, 8), cr.randn(4, 2, 8)).shape) == (4, 2, 8)
