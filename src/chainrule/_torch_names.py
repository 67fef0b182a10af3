"""The public PyTorch names programs use most, grouped; and those left out on purpose.

One home for this list: the parity test (tests/compat/test_parity.py) walks it to measure
coverage and compare signatures, and the ``__getattr__`` of ``chainrule``, ``Tensor``, ``nn``,
``nn.functional`` and ``optim`` consult it to say "chainrule does not implement torch.X yet"
instead of Python's generic AttributeError. Names are dotted paths below ``torch``.
``missing_attribute("nn", "Conv3d")`` -> the AttributeError saying chainrule lacks it
"""

from __future__ import annotations

_TORCH = """
tensor as_tensor from_numpy zeros ones empty full zeros_like ones_like empty_like full_like
rand randn randint randperm rand_like randn_like randint_like arange linspace logspace eye
manual_seed seed initial_seed get_rng_state set_rng_state Generator normal bernoulli multinomial
is_tensor is_floating_point numel cat concat concatenate stack hstack vstack dstack split chunk
unbind reshape flatten squeeze unsqueeze transpose permute swapaxes movedim gather scatter
index_select masked_select narrow take where nonzero argwhere flip roll tile repeat_interleave
broadcast_to broadcast_tensors meshgrid tril triu diag diagonal trace
abs neg exp exp2 log log2 log10 log1p expm1 sqrt rsqrt square pow sin cos tan asin acos atan
atan2 sinh cosh tanh asinh acosh atanh sigmoid relu erf erfc floor ceil round trunc frac sign
clamp clip maximum minimum fmax fmin fmod remainder reciprocal add sub mul div true_divide
floor_divide lerp addmm matmul mm bmm dot outer einsum mv cross
sum mean prod std var std_mean var_mean max min amax amin aminmax argmax argmin cumsum cumprod
logsumexp norm median mode topk sort argsort unique all any allclose isclose equal eq ne lt le
gt ge isnan isinf isfinite nan_to_num logical_and logical_or logical_not logical_xor softmax
log_softmax count_nonzero bincount histc histogram cdist clone
no_grad enable_grad set_grad_enabled is_grad_enabled inference_mode is_inference_mode_enabled
save load device dtype float32 float64 float16 int64 int32 int16 int8 uint8 bool long float double
half int get_default_dtype set_default_dtype set_default_device get_default_device
set_printoptions set_num_threads get_num_threads use_deterministic_algorithms result_type
promote_types finfo iinfo Size Tensor FloatTensor LongTensor DoubleTensor BoolTensor IntTensor
cuda autograd nn optim utils cosine_similarity dist searchsorted bucketize baddbmm compile
masked_fill
"""

_TENSOR = """
add sub mul div pow matmul mm bmm dot mv outer neg abs exp log log2 log10 log1p expm1 sqrt rsqrt
sin cos tan tanh sinh cosh asin acos atan atan2 sigmoid relu clamp clip floor ceil round trunc
frac sign reciprocal square erf fmod remainder floor_divide lerp addmm maximum minimum
sum mean std var prod max min amax amin argmax argmin cumsum cumprod logsumexp norm all any
median topk sort argsort unique count_nonzero softmax log_softmax
view view_as reshape reshape_as flatten unflatten squeeze unsqueeze transpose t permute expand
expand_as repeat tile flip roll chunk split unbind index_select gather scatter scatter_add
masked_fill masked_select where tril triu diag diagonal trace narrow nonzero swapaxes movedim
contiguous clone detach detach_ requires_grad_ backward register_hook retain_grad item tolist
numpy to cpu cuda float double long int bool half type type_as size dim numel nelement
element_size ndimension is_floating_point is_contiguous eq ne lt le gt ge isnan isinf isfinite
nan_to_num logical_not logical_and logical_or equal allclose isclose
add_ sub_ mul_ div_ pow_ clamp_ zero_ fill_ copy_ masked_fill_ abs_ exp_ sqrt_ neg_ relu_
sigmoid_ tanh_ unsqueeze_ squeeze_ uniform_ normal_ random_ bernoulli_ exponential_ index_add_
scatter_ new_zeros new_ones new_full new_empty new_tensor stride is_leaf grad grad_fn
requires_grad shape dtype device ndim T mT data is_cuda nbytes itemsize apply_
"""

_NN = """
Module Parameter Sequential ModuleList ModuleDict ParameterList ParameterDict Linear Bilinear
Identity Flatten Unflatten Conv1d Conv2d Conv3d ConvTranspose1d ConvTranspose2d MaxPool1d
MaxPool2d AvgPool1d AvgPool2d AdaptiveAvgPool1d AdaptiveAvgPool2d AdaptiveMaxPool2d BatchNorm1d
BatchNorm2d LayerNorm GroupNorm InstanceNorm2d RMSNorm Dropout Dropout1d Dropout2d Embedding
EmbeddingBag RNN LSTM GRU RNNCell LSTMCell GRUCell Transformer TransformerEncoder
TransformerEncoderLayer TransformerDecoder TransformerDecoderLayer MultiheadAttention ReLU ReLU6
LeakyReLU PReLU
ELU SELU CELU GELU SiLU Mish Sigmoid Tanh Softmax LogSoftmax Softplus Softsign Hardtanh
Hardswish Hardsigmoid LogSigmoid Threshold GLU MSELoss L1Loss SmoothL1Loss HuberLoss
CrossEntropyLoss NLLLoss BCELoss BCEWithLogitsLoss KLDivLoss CosineEmbeddingLoss
MarginRankingLoss TripletMarginLoss CosineSimilarity PairwiseDistance Upsample PixelShuffle
ZeroPad2d ConstantPad1d init utils functional
init.xavier_uniform_ init.xavier_normal_ init.kaiming_uniform_ init.kaiming_normal_ init.zeros_
init.ones_ init.constant_ init.normal_ init.uniform_ init.orthogonal_ init.trunc_normal_
init.calculate_gain init.eye_
utils.clip_grad_norm_ utils.clip_grad_value_ utils.parameters_to_vector
utils.vector_to_parameters
"""

_FUNCTIONAL = """
relu relu_ relu6 leaky_relu elu selu celu gelu silu mish sigmoid tanh softmax log_softmax
softplus softsign logsigmoid hardtanh hardswish hardsigmoid glu threshold linear bilinear
dropout dropout1d dropout2d embedding one_hot pad layer_norm batch_norm group_norm
instance_norm rms_norm normalize conv1d conv2d conv_transpose2d max_pool1d max_pool2d avg_pool1d
avg_pool2d adaptive_avg_pool1d adaptive_avg_pool2d adaptive_max_pool2d interpolate mse_loss
l1_loss smooth_l1_loss huber_loss cross_entropy nll_loss binary_cross_entropy
binary_cross_entropy_with_logits kl_div cosine_similarity pairwise_distance triplet_margin_loss
margin_ranking_loss cosine_embedding_loss poisson_nll_loss gaussian_nll_loss
scaled_dot_product_attention unfold fold gumbel_softmax
"""

_OPTIM = """
Optimizer SGD Adam AdamW RMSprop Adagrad Adadelta Adamax NAdam RAdam LBFGS
lr_scheduler.LRScheduler lr_scheduler.StepLR lr_scheduler.MultiStepLR lr_scheduler.ExponentialLR
lr_scheduler.CosineAnnealingLR lr_scheduler.ReduceLROnPlateau lr_scheduler.OneCycleLR
lr_scheduler.LambdaLR lr_scheduler.LinearLR lr_scheduler.CosineAnnealingWarmRestarts
lr_scheduler.CyclicLR lr_scheduler.SequentialLR lr_scheduler.ConstantLR
lr_scheduler.PolynomialLR lr_scheduler.MultiplicativeLR lr_scheduler.ChainedScheduler
"""

_DATA = """
Dataset IterableDataset TensorDataset DataLoader Sampler RandomSampler SequentialSampler
BatchSampler SubsetRandomSampler WeightedRandomSampler Subset ConcatDataset ChainDataset
random_split default_collate get_worker_info dataloader.DataLoader dataloader.default_collate
sampler.Sampler sampler.RandomSampler dataset.Dataset dataset.TensorDataset
"""

# group name -> (prefix below torch, names)
GROUPS: dict[str, tuple[str, tuple[str, ...]]] = {
    "torch": ("", tuple(_TORCH.split())),
    "Tensor": ("Tensor.", tuple(_TENSOR.split())),
    "nn": ("nn.", tuple(_NN.split())),
    "nn.functional": ("nn.functional.", tuple(_FUNCTIONAL.split())),
    "optim": ("optim.", tuple(_OPTIM.split())),
    "utils.data": ("utils.data.", tuple(_DATA.split())),
}

# Names that make no sense for a NumPy library on the CPU, each with the reason (listed once).
OUT_OF_SCOPE: dict[str, str] = {
    "cuda.Stream": "CUDA streams and events: chainrule runs on the CPU (NumPy)",
    "cuda.Event": "CUDA streams and events: chainrule runs on the CPU (NumPy)",
    "cuda.amp": "mixed precision on GPUs: chainrule runs on the CPU (NumPy)",
    "amp": "automatic mixed precision targets GPU kernels",
    "backends": "backend switches for cuDNN, MPS, MKL-DNN kernels chainrule does not use",
    "sparse_coo_tensor": "sparse layouts: chainrule stores dense NumPy arrays",
    "sparse_csr_tensor": "sparse layouts: chainrule stores dense NumPy arrays",
    "Tensor.to_sparse": "sparse layouts: chainrule stores dense NumPy arrays",
    "optim.SparseAdam": "sparse gradients: chainrule stores dense NumPy arrays",
    "quantization": "int8 quantized kernels: chainrule computes in NumPy floats",
    "ao": "quantization and pruning toolkits for deployment kernels",
    "quantize_per_tensor": "int8 quantized kernels: chainrule computes in NumPy floats",
    "distributed.rpc": "remote procedure calls across machines: out of scope for a teaching engine",
    "jit": "TorchScript compiles to a C++ runtime chainrule does not have",
    "fx": "graph capture for compilers (torch.compile's front end)",
    "onnx": "export to ONNX runtimes",
    "Tensor.pin_memory": "page-locked memory exists only for host-to-GPU copies",
    "Tensor.record_stream": "CUDA streams: chainrule runs on the CPU (NumPy)",
    "Tensor.storage": "untyped storages are PyTorch's C++ memory model; use Tensor.numpy()",
    "Tensor.data_ptr": "raw pointers into C++ storage; use Tensor.numpy()",
}


def full_names() -> list[str]:
    """Every curated name as a dotted path below torch: ``"nn.functional.relu"``."""
    return [prefix + name for prefix, names in GROUPS.values() for name in names]


_ALL = frozenset(full_names()) | frozenset(OUT_OF_SCOPE)


def missing_attribute(module_path: str, name: str) -> AttributeError:
    """The error for ``chainrule.<module_path>.<name>`` when chainrule lacks it.

    A name PyTorch has says so by name (and why, when it is out of scope); others keep Python's
    message. ``missing_attribute("nn", "Conv2d")``
    """
    path = f"{module_path}.{name}" if module_path else name
    where = f"Tensor.{name}" if module_path == "Tensor" else f"chainrule.{path}"
    if path in OUT_OF_SCOPE:
        return AttributeError(f"chainrule does not implement torch.{path}: {OUT_OF_SCOPE[path]}")
    if path in _ALL:
        return AttributeError(f"chainrule does not implement torch.{path} yet (no {where})")
    if module_path == "Tensor":
        return AttributeError(f"'Tensor' object has no attribute {name!r}")
    owner = f"chainrule.{module_path}" if module_path else "chainrule"
    return AttributeError(f"module {owner!r} has no attribute {name!r}")
