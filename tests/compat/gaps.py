"""Curated names chainrule has whose signature still differs from PyTorch's.

test_parity fails when a name here starts accepting torch's calls (strike it off) and when a
name not here stops accepting them; ``python -m tests.compat.coverage`` says what differs.
"""

SIGNATURE_GAPS: frozenset[str] = frozenset({
    "Tensor.bool",
    "Tensor.clone",
    "Tensor.copy_",
    "Tensor.div",
    "Tensor.div_",
    "Tensor.dot",
    "Tensor.double",
    "Tensor.float",
    "Tensor.int",
    "Tensor.long",
    "Tensor.mm",
    "Tensor.new_empty",
    "Tensor.new_ones",
    "Tensor.new_zeros",
    "Tensor.numpy",
    "Tensor.outer",
    "Tensor.pow",
    "Tensor.random_",
    "Tensor.reshape",
    "Tensor.round",
    "Tensor.tile",
    "Tensor.type",
    "Tensor.uniform_",  # torch names its first argument `from`, a Python keyword
    "broadcast_to",
    "dtype",
    "einsum",
    "enable_grad",
    "load",
    "nn.LogSigmoid",
    "nn.Module",
    # torch takes (*args, **kwargs) and parses them itself; chainrule names the same parameters
    "nn.GRU",
    "nn.functional.max_pool1d",  # torch dispatches on return_indices through (*args, **kwargs)
    "nn.functional.max_pool2d",
    "nn.LSTM",
    "nn.RNN",
    "nn.TransformerEncoderLayer",  # activation defaults to chainrule's F.relu, torch's to its own
    "nn.TransformerDecoderLayer",  # the same default activation
    "nn.Transformer",
    "rand",
    "randint",
    "randn",
    "randperm",
    "save",
    "tensor",
})
