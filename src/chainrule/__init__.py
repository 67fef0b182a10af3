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
from .ops.elementwise import (
    abs,
    ceil,
    clamp,
    cos,
    erf,
    exp,
    expm1,
    floor,
    log,
    log1p,
    maximum,
    minimum,
    reciprocal,
    relu,
    round,
    rsqrt,
    sigmoid,
    sign,
    sin,
    sqrt,
    tan,
    tanh,
    where,
)
from .ops.linalg import bmm, dot, einsum, matmul, mm, outer
from .ops.movement import (
    cat,
    chunk,
    flatten,
    gather,
    index_select,
    permute,
    reshape,
    split,
    squeeze,
    stack,
    transpose,
    unsqueeze,
)
from .ops.nn import log_softmax, softmax
from .ops.random import bernoulli, multinomial, normal
from .ops.reduce import (
    amax,
    amin,
    argmax,
    argmin,
    cumsum,
    logsumexp,
    max,
    mean,
    min,
    norm,
    prod,
    std,
    sum,
    var,
)
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
clip = clamp
concat = concatenate = cat


def pow(x, exponent):
    """``x ** exponent`` for a tensor or a number on either side."""
    return x ** exponent if isinstance(x, Tensor) else Tensor.__rpow__(exponent, x)


def is_tensor(obj: object) -> builtins.bool:  # `bool` here is cr.bool, the dtype
    return isinstance(obj, Tensor)


def numel(x: Tensor) -> int:
    return x.numel()


# they build on the names above (distributed loads MPI on init_process_group, not here)
from . import data, distributed, nn, optim, scratch  # noqa: E402
from ._version import __version__  # noqa: E402
