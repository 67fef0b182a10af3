"""chainrule: backpropagation you can see, check and trust.

``import chainrule as cr; x = cr.tensor(2.0, requires_grad=True); (x ** 3).backward(); x.grad``
"""

import builtins

from . import autograd, inspect, utils
from ._dtypes import bool_ as bool  # noqa: A001  (PyTorch's name: cr.bool)
from ._dtypes import float16, float32, float64, get_default_dtype, int32, int64, set_default_dtype
from .autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .creation import (
    arange,
    as_tensor,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randint_like,
    randn,
    randn_like,
    randperm,
    tensor,
    zeros,
    zeros_like,
)
from .functions import (
    abs,
    add,
    all,
    allclose,
    amax,
    amin,
    any,
    argmax,
    argmin,
    argsort,
    argwhere,
    baddbmm,
    bmm,
    broadcast_tensors,
    broadcast_to,
    cat,
    ceil,
    chunk,
    clamp,
    clip,
    clone,
    concat,
    concatenate,
    cos,
    count_nonzero,
    cumsum,
    div,
    dot,
    dstack,
    eq,
    equal,
    erf,
    erfc,
    exp,
    exp2,
    expm1,
    flatten,
    flip,
    floor,
    floor_divide,
    gather,
    ge,
    gt,
    histc,
    histogram,
    hstack,
    index_add,
    index_select,
    is_floating_point,
    isclose,
    isfinite,
    isinf,
    isnan,
    le,
    log,
    log1p,
    log2,
    log10,
    log_softmax,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    logsumexp,
    lt,
    masked_fill,
    masked_select,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    mm,
    movedim,
    msort,
    mul,
    narrow,
    ne,
    neg,
    nonzero,
    norm,
    numel,
    outer,
    permute,
    pow,
    prod,
    reciprocal,
    relu,
    remainder,
    repeat_interleave,
    reshape,
    roll,
    round,
    rsqrt,
    scatter,
    scatter_add,
    sigmoid,
    sign,
    sin,
    softmax,
    sort,
    split,
    sqrt,
    square,
    squeeze,
    stack,
    std,
    sub,
    sum,
    swapaxes,
    tan,
    tanh,
    tensor_split,
    tile,
    topk,
    transpose,
    tril,
    triu,
    true_divide,
    unbind,
    unsqueeze,
    var,
    vstack,
    where,
)
from .ops.linalg import einsum
from .ops.random import bernoulli, multinomial, normal
from .random import (
    Generator,
    default_generator,
    get_rng_state,
    initial_seed,
    manual_seed,
    seed,
    set_rng_state,
)
from .serialization import load, save
from .tensor import Tensor

float = float32  # noqa: A001
double = float64
long = int64


def is_tensor(obj: object) -> builtins.bool:  # `bool` here is cr.bool, the dtype
    return isinstance(obj, Tensor)


# they build on the names above (distributed loads MPI on init_process_group, not here)
from . import data, distributed, nn, optim, scratch  # noqa: E402
from ._version import __version__  # noqa: E402


# ---- PyTorch compatibility (issue 12) --------------------------------------------------------
def __getattr__(name: str):
    # A PyTorch name chainrule lacks says so ("does not implement torch.X yet"), not Python's
    # generic message.
    from ._torch_names import missing_attribute

    raise missing_attribute("", name)


from . import cuda  # noqa: E402
from ._compile import compile  # noqa: E402, A001  (torch.compile: a documented no-op)
from ._dtypes import (  # noqa: E402
    dtype,
    finfo,
    iinfo,
    int8,
    int16,
    promote_types,
    uint8,
)
from ._dtypes import float16 as half  # noqa: E402
from ._dtypes import int32 as int  # noqa: E402, A001
from ._dtypes import torch_result_type as result_type  # noqa: E402
from .autograd import inference_mode, is_inference_mode_enabled  # noqa: E402
from .devices import device, get_default_device, set_default_device  # noqa: E402
from .legacy import (  # noqa: E402
    BoolTensor,
    ByteTensor,
    CharTensor,
    DoubleTensor,
    FloatTensor,
    HalfTensor,
    IntTensor,
    LongTensor,
    ShortTensor,
)
