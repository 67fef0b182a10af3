"""Graph nodes: ``Function`` (PyTorch's custom-op contract) and ``Primitive`` (chainrule's ops).

A node is the context of one op call: forward stores on it what backward needs, and the engine
reads ``next_functions`` (where each input's gradient goes) and calls its rule.

Why the rules and the engine are shaped the way they are (the one place that says it):

- **One rule, two modes.** A built-in rule is written once, with Python operators and the few
  functions of ``ops/vocab.py``, which work alike on ndarrays and on Tensors. When no graph of
  the backward is wanted (``create_graph=False``, nearly every backward) the engine runs the rule
  on plain ndarrays: the incoming gradient, the saved values, the results, the engine's buffers
  and the leaves' accumulation are arrays, so a rule costs what its NumPy calls cost (a Tensor op
  costs ~1 us above NumPy, and a rule has about three). With ``create_graph=True`` the same rule
  runs on Tensors and records its own graph, so higher derivatives stay exact. The saved values
  reach the rule as arguments (``backward(ctx, g, x, y)``), arrays or Tensors as the mode wants,
  after the version check that catches a saved tensor changed in place.
- **Validation where it can fail.** A custom ``Function`` (any user code) has its gradients
  checked and fixed at run time (count, shape: summed back to a broadcast input, dtype) and
  receives and returns Tensors in both modes. A built-in rule returns exactly one gradient per
  input at the input's shape and dtype (binary ops sum broadcast gradients back themselves);
  that is proven for every op, in both modes and against PyTorch, by the op table
  (tests/core), which runs under anomaly mode, where every rule's output is checked at run time.
- **Arrays become Tensors only where user code looks**: tensor and leaf hooks, ``retain_grad``,
  the gradients ``autograd.grad`` returns, a leaf's ``.grad``.
- **Recording allocates little**: shared ``needs_input_grad``, output-index and input
  shape/dtype tuples, saved values in one flat tuple, slots; a deep graph leaves ~4 objects per
  op for the cycle collector (its passes were half of a 100k-op forward), and the first
  backward makes its full passes rarer (``_allocator.py``). Grad mode and node hooks are per
  thread, but an op reads a plain global unless some thread has grad mode off or a node hook
  was ever registered (a thread-local read costs ~600 instructions).

No compiled code: a pure-Python engine on NumPy is the reference learners read; its speed comes
from doing less per op, not from another language (benchmarks/RESULTS.md has the figures).
"""

from __future__ import annotations

import itertools
from typing import Any, cast

import numpy as np

from ..tensor import Tensor, complex_grad_message
from . import grad_mode as _grad_mode
from . import graph as _graph
from .grad_mode import set_grad_enabled
from .grad_mode import state as _grad_state
from .graph import local as _node_hooks

# How a saved value is kept: an input tensor, the op's own output (kept as array + version stamp
# so that node -> output -> node is no reference cycle), or a constant array. A node keeps all
# its saved values in one flat tuple, _FIELDS entries per value (one object per node for the
# garbage collector to walk, not one per value):
#   kind       value          version counter   output index   version when saved
#   _INPUT     the Tensor     None              0              its version
#   _OUTPUT    its array      the output's      its index      the output's version
#   _CONSTANT  an array       None              0              0
#   None       None           None              0              0        (None was saved)
_INPUT, _OUTPUT, _CONSTANT = 0, 1, 2
_ROLES = ("input", "output", "constant")
_FIELDS = 5

# Creation order of the nodes: a node's inputs always exist before it, so a node has a smaller
# number than every node that consumes its outputs (the engine's schedule rests on that).
_sequence = itertools.count()


class Node:
    """What the engine sees of an op: edges to the inputs' nodes and a backward rule."""

    # Every recorded node sets all of these (slots: their layout does not depend on which
    # attributes other code once put on nodes, as a Python 3.11 instance dict's does). Ops keep
    # their own values (ctx.scale, ...) in the instance dict.
    __slots__ = ("_edge_fns", "_edge_nrs", "_meta", "_saved", "_to_save", "needs_input_grad",
                 "_seq", "__dict__", "__weakref__")
    # Where each input's gradient goes, as two flat tuples rather than a tuple of pairs (a deep
    # graph holds them for every node, and each tracked tuple slows the garbage collector):
    # the input's node, or the input itself if it is a leaf, or None (no gradient) ...
    _edge_fns: tuple
    # ... and which output of that node the input is (0 for leaves and single-output nodes)
    _edge_nrs: tuple
    _meta: tuple  # per input: (shape, dtype), to validate and un-broadcast gradients
    _saved: tuple | None  # the saved values, flat (see _FIELDS); None once freed
    _to_save: tuple | None  # what forward gave save_for_backward, until recording packs it
    needs_input_grad: tuple  # per input: whether it needs a gradient (PyTorch's name)
    _seq: int  # creation number
    # Set on few nodes, so class defaults until then (in the instance dict once set): storing
    # an attribute at a site that sees every op's class, as recording does, costs ~150
    # instructions (Python 3.11 specializes a site for one class only).
    _hooks_by_output: dict | None = None  # tensor hooks of the outputs, by output index
    _retained: dict | None = None  # weak references to outputs that retain_grad(), by output index
    _n_outputs: int = 1
    _trace: str | None = None  # where the op was created, kept in anomaly mode only

    # What an op tells the tools that read a graph (``cr.inspect.explain``, ``draw``); every
    # chainrule op sets all four (tests/core/test_op_metadata.py checks), a user's Function may.
    elementwise = False  # the Jacobian is diagonal (after broadcasting): one number per element
    # The forward and, per input, the local derivative (elementwise ops) or else the backward
    # rule (``g`` is the incoming gradient), as str.format templates: {0}, {1}.. the inputs'
    # names, {inputs} all of them, {out} the output's name, {shape} and {dtype} the output's,
    # {input_shape} input 0's shape, any other field the op's attribute of that name (ctx.axis).
    formula: str | None = None
    derivatives: tuple[str, ...] | None = None

    def name(self) -> str:
        """The node's name, after the rule that runs: ``AffineBackward`` for ``2 * x``."""
        return type(self).__name__ + "Backward"

    @property
    def torch_name(self) -> str:
        """PyTorch's name for the node of the same call: ``MulBackward0`` for ``2 * x`` (ops
        that PyTorch runs as several nodes, like matmul of batches, give its commonest one)."""
        return self.name()

    def __repr__(self) -> str:
        torch_name = self.torch_name
        if torch_name in (self.name(), self.name() + "0"):
            return f"<{self.name()}>"
        return f"<{self.name()} (PyTorch: {torch_name})>"

    # ---- what the node knows of its inputs -------------------------------------------------
    def input_shape(self, i: int) -> tuple:
        """The shape input ``i`` had in the forward: ``ctx.input_shape(0)``."""
        return self._meta[i][0]

    def input_dtype(self, i: int) -> np.dtype:
        """The dtype input ``i`` had in the forward: ``ctx.input_dtype(0)``."""
        return self._meta[i][1]

    def input_metadata(self) -> tuple:
        """Per forward input, ``(shape, dtype)``; None for a custom Function's argument that
        is not a Tensor: ``[meta for meta in node.input_metadata() if meta is not None]``."""
        return self._meta

    @property
    def n_outputs(self) -> int:
        """How many outputs the forward returned (1 for all but a few ops): ``node.n_outputs``."""
        return self._n_outputs

    @property
    def freed(self) -> bool:
        """Whether a backward without ``retain_graph=True`` freed the saved values, so the rule
        cannot run again (never for a node that saved nothing): ``y.grad_fn.freed``."""
        return self._saved is None

    def __call__(self, *grads):
        """The node's backward rule applied to ``grads`` (Tensors, one per output), as
        PyTorch's ``y.grad_fn(g)``: the rule's gradients for the inputs, as it returns them
        (one Tensor or None per input; a single one for one input).
        ``x_grad = y.grad_fn(cr.ones_like(y))``"""
        if len(grads) != self._n_outputs:
            raise TypeError(f"{self.name()}: expected {self._n_outputs} gradient(s), one per "
                            f"output, got {len(grads)}")
        return self._call_backward(list(grads))

    @property
    def next_functions(self) -> tuple:
        """Per input, ``(node or leaf Tensor, output index)``, or None: PyTorch's edges."""
        return tuple([None if fn is None else (fn, nr)
                      for fn, nr in zip(self._edge_fns, self._edge_nrs)])

    # ---- saved tensors ---------------------------------------------------------------------
    def _freed_error(self) -> RuntimeError:
        return RuntimeError(
            f"{self.name()}: trying to backward through the graph a second time (or "
            "directly access saved tensors after they have already been freed). Saved "
            "intermediate values of the graph are freed when you call .backward() or "
            "autograd.grad(). Specify retain_graph=True if you need to backward through the "
            "graph a second time or if you need to access saved tensors after calling "
            "backward.")

    @property
    def saved_tensors(self) -> tuple:
        if self._saved is None:
            raise self._freed_error()
        saved = self._saved
        tensors = []
        for i in range(0, len(saved), _FIELDS):
            kind, value = saved[i], saved[i + 1]
            # unchanged inputs and outputs inlined (every backward of every op comes here)
            if kind == _INPUT and value._vc[0] == saved[i + 4]:
                tensors.append(value)
            elif kind == _OUTPUT and saved[i + 2][0] == saved[i + 4]:
                tensor = _make(value, self, saved[i + 3])
                tensor._vc = saved[i + 2]
                tensors.append(tensor)
            else:
                tensors.append(self._unpack(*saved[i:i + _FIELDS]))
        return tuple(tensors)

    def saved_values(self) -> list[tuple[str, Tensor]]:
        """What the node saved, for tools that read a graph, as ``(role, tensor)``: role
        ``"input"`` (the input Tensor itself), ``"output"`` (linked to this node) or
        ``"constant"``. Values changed in place since the forward are left out; [] once freed.

        ``[t for role, t in node.saved_values() if role == "output"]``
        """
        saved, values = self._saved or (), []
        for i in range(0, len(saved), _FIELDS):
            kind, value, vc, output_nr, version = saved[i:i + _FIELDS]
            if kind is None:
                continue
            current = vc[0] if kind == _OUTPUT else value._vc[0] if kind == _INPUT else version
            if current != version:
                continue  # changed in place since the forward: not the value the op saw
            tensor = cast(Tensor, self._unpack(kind, value, vc, output_nr, version))  # kind set
            values.append((_ROLES[kind], tensor))
        return values
    def _saved_arrays(self) -> list:
        """The saved values as ndarrays (array mode), after the same version checks."""
        saved = self._saved
        if saved is None:
            raise self._freed_error()
        arrays = []
        for i in range(0, len(saved), _FIELDS):
            kind, value = saved[i], saved[i + 1]
            if kind == _INPUT:
                if value._vc[0] != saved[i + 4]:
                    self._unpack(*saved[i:i + _FIELDS])  # raises, naming the versions
                arrays.append(value._data)
            elif kind == _OUTPUT and saved[i + 2][0] != saved[i + 4]:
                self._unpack(*saved[i:i + _FIELDS])
            else:  # an unchanged output, a constant, or None
                arrays.append(value)
        return arrays

    def _unpack(self, kind, value, vc, output_nr, version) -> Tensor | None:
        """One saved value as a Tensor, or the error if it was changed in place since."""
        if kind is None:
            return None
        if kind == _CONSTANT:
            return Tensor._make(value)
        if kind == _INPUT:
            tensor, vc = value, value._vc
        else:
            tensor = Tensor._make(value, self, output_nr)
            tensor._vc = vc
        if vc[0] != version:
            raise RuntimeError(
                f"{self.name()}: one of the tensors saved for its gradient (shape "
                f"{tuple(tensor.shape)}, {tensor.dtype}) has been modified by an in-place "
                f"operation: it is at version {vc[0]}; expected version {version} instead. Use "
                "an out-of-place op, or .clone() the tensor before modifying it.")
        return tensor

    # ---- hooks and retained gradients of the node's outputs --------------------------------
    def _tensor_hooks(self, output_nr: int) -> list:
        if self._hooks_by_output is None:
            self._hooks_by_output = {}
        return self._hooks_by_output.setdefault(output_nr, [])

    def _retain(self, output_nr: int, ref) -> None:
        if self._retained is None:
            self._retained = {}
        self._retained[output_nr] = ref

    def _retains(self, output_nr: int) -> bool:
        return self._retained is not None and output_nr in self._retained

    # ---- the backward call ---------------------------------------------------------------
    # Whether one call of the rule may send the same array (or views of it) to two inputs
    # (``Add``: ``g, g``); the engine then marks it shared so that no leaf accumulates into it
    # in place. Unknown for user code: True for Functions.
    shares_grads = True

    def _backward_arrays(self, grads: list) -> tuple | list:
        """Array mode: ndarrays in, one ndarray (or None) per input out, checked (user code)."""
        wrapped = [None if g is None else _wrap(g) for g in grads]
        return [None if g is None else g._data for g in self._backward(wrapped)]

    def _check_arrays(self, result) -> None:
        """Anomaly mode: a built-in rule's array-mode output must be exactly right."""
        if len(result) != len(self._meta):
            raise RuntimeError(f"{self.name()}: backward returned {len(result)} gradients, "
                               f"expected {len(self._meta)} (one per forward input)")
        for i, (g, meta) in enumerate(zip(result, self._meta)):
            if g is None or self._edge_fns[i] is None:
                continue
            if not isinstance(g, (np.ndarray, np.generic)) or g.shape != meta[0] or (
                    g.dtype != meta[1]):
                raise RuntimeError(
                    f"{self.name()}: the rule returned {type(g).__name__} "
                    f"{getattr(g, 'shape', '')} {getattr(g, 'dtype', '')} for input {i}; "
                    f"expected an ndarray of shape {meta[0]} and dtype {meta[1]}")
        if not self.shares_grads and _shares_memory(result):
            raise RuntimeError(f"{self.name()}: the rule sent one array to two inputs; set "
                               "shares_grads = True on the op")

    def _backward(self, grads: list) -> list | tuple:
        """Tensor mode: run the rule and return one checked gradient (or None) per input."""
        result = self._call_backward(grads)
        if not isinstance(result, tuple):
            result = (result,)
        edges = self._edge_fns
        if len(result) != len(edges):
            raise RuntimeError(f"{self.name()}: backward returned {len(result)} gradients, "
                               f"expected {len(edges)} (one per forward input)")
        checked = None  # the rule's own tuple while every gradient is already right
        for i, meta in enumerate(self._meta):
            g = result[i]
            if g is None:
                continue
            if edges[i] is None:
                fixed = None
            elif type(g) is Tensor and g._data.shape == meta[0] and g._data.dtype == meta[1]:
                continue
            else:
                fixed = self._check_grad(i, g)
            if checked is None:
                checked = list(result)
            checked[i] = fixed
        return result if checked is None else checked

    def _check_grad(self, i: int, g: Any) -> Tensor:
        shape, dtype = self._meta[i]
        if not isinstance(g, Tensor):
            raise TypeError(f"{self.name()}: backward returned {type(g).__name__} for input {i}; "
                            "expected a Tensor or None")
        if g._data.shape != shape:
            if not _sums_to(g._data.shape, shape):
                raise RuntimeError(
                    f"{self.name()}: grad shape {tuple(g._data.shape)} != input shape "
                    f"{tuple(shape)} for input {i}, and it does not broadcast to it")
            from ..ops.movement import sum_to

            g = sum_to(g, shape)
        if g._data.dtype != dtype:
            if g._data.dtype.kind not in "fc":
                raise TypeError(f"{self.name()}: backward returned a {g._data.dtype} gradient for "
                                f"input {i} of dtype {dtype}; expected a floating tensor")
            g = g.to(dtype)
        return g

    def _call_backward(self, grads: list):
        raise NotImplementedError


def _wrap(a) -> Tensor:
    """An array of the engine's (NumPy may have made a 0-d result a scalar) as a Tensor."""
    return _make(a if type(a) is np.ndarray else np.asarray(a))


def _root_array(a: np.ndarray) -> np.ndarray:
    """The array that owns ``a``'s memory (a view of a shared gradient is shared too)."""
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def _is_view(out: np.ndarray, a: np.ndarray) -> bool:
    """Whether a view op's output shares memory with its input ``a``. NumPy gives a view the
    owner of its memory as ``base``, so that settles the common cases without
    ``np.may_share_memory`` (~0.3 us a call: ``w.T`` in every hand-written layer)."""
    base = out.base
    if base is None:  # owns its memory: a copy
        return False
    if (base is a or base is a.base) and out.size:  # a view into a's memory
        return True
    return np.may_share_memory(out, a)


def _shares_memory(outs) -> bool:
    """Whether two of a rule's gradients are one array or views of one array."""
    roots = [id(_root_array(g)) for g in outs if g is not None]
    return len(set(roots)) < len(roots)


def _sums_to(grad_shape: tuple, shape: tuple) -> bool:
    """Whether a gradient of ``grad_shape`` is a broadcast of an input of ``shape``."""
    if len(shape) > len(grad_shape):
        return False
    tail = grad_shape[len(grad_shape) - len(shape):]
    return all(s == 1 or s == gs for s, gs in zip(shape, tail))


def _forward_error(cls, inputs, error: Exception) -> RuntimeError:
    """NumPy's complaint (e.g. shapes that do not broadcast) with the op and its inputs named."""
    described = ", ".join(f"{tuple(t._data.shape)} {t._data.dtype}" for t in inputs)
    return RuntimeError(f"{cls.__name__.lower()}: {error} (inputs: {described})")


_make = Tensor._make  # bound once: the ops' constructor is called for every op

# one shared needs_input_grad tuple per pattern (there are few) instead of one per node
_NEEDS: dict[tuple, tuple] = {}
_NEEDS_ONE = (True,)
_NEEDS_TWO = (((False, False), (False, True)), ((True, False), (True, True)))  # [x][y]
# output indices are almost always 0: one shared tuple per arity
_ZEROS = {(0,) * n: (0,) * n for n in range(8)}
_ZERO_ONE, _ZERO_TWO = _ZEROS[(0,)], _ZEROS[(0, 0)]


# One shared _meta tuple per pattern of input shapes and dtypes (of one and two inputs): a
# tuple holding a dtype stays tracked by the cycle collector for good (dtypes are GC objects),
# and a deep graph had two or three such tuples per node for every collection to walk
# (benchmarks/RESULTS.md, issue 16). Keyed by id(dtype): the value keeps that dtype alive.
_METAS: dict[tuple, tuple] = {}
_METAS_MAX = 4096  # emptied when full: programs whose shapes keep changing stay bounded


def _shared_meta(key: tuple, meta: tuple) -> tuple:
    if len(_METAS) >= _METAS_MAX:
        _METAS.clear()
    _METAS[key] = meta
    return meta


def _pack_saved(arrays, inputs, raw_out, result: Tensor | None) -> tuple:
    """What ``save_for_backward`` was given, kept as inputs, the output (if ``result`` is
    given), or constants."""
    saved: list = []
    for a in arrays:
        for t in inputs:
            if a is t._data:
                saved += (_INPUT, t, None, 0, t._vc[0])
                break
        else:
            if a is None:
                saved += (None, None, None, 0, 0)
            elif result is not None and (a is raw_out or a is result._data):
                saved += (_OUTPUT, result._data, result._vc, 0, result._vc[0])
            else:
                saved += (_CONSTANT, a, None, 0, 0)
    return tuple(saved)


def _edge_fn(t: Tensor):
    """Where ``t``'s gradient goes: its node, itself (a leaf that requires grad), or None."""
    if t.grad_fn is not None:
        return t.grad_fn
    return t if t._rg else None


def _output_nrs(inputs) -> tuple:
    nrs = tuple([t._output_nr for t in inputs])
    return _ZEROS.get(nrs, nrs)


class Primitive(Node):
    """chainrule's own ops: ``forward(ctx, *arrays, **params)`` computes with NumPy;
    ``backward(ctx, g, *saved)`` returns one gradient (or None) per array input, written with
    operators and ``ops/vocab.py`` so that it runs on ndarrays and on Tensors alike (see the
    module docstring).

    Saved values are given to ``ctx.save_for_backward`` as the arrays forward saw, and come
    back as backward's arguments after ``g``: as arrays in array mode; in Tensor mode an input's
    array as that input Tensor, the output array as the output Tensor (linked to this node, so
    higher derivatives are right), any other array as a constant.
    """

    # the forward's keyword parameters (a shared empty dict, never written, when there are none)
    _params: dict = {}

    # set by ops whose output may share memory with their first input (reshape, slicing, ...)
    is_view = False
    shares_grads = False  # set by rules that may return one array for two inputs (Add, Cat)

    def save_for_backward(self, *arrays) -> None:
        self._to_save = arrays

    def forward_params(self) -> dict:
        """The keyword parameters forward was called with, so that ``forward(ctx, *arrays,
        **node.forward_params())`` repeats the call: ``{'axes': (1,), 'keepdim': False}``."""
        return dict(self._params)

    @classmethod
    def apply(cls, *inputs: Tensor, **params) -> Tensor:
        # grad mode is per thread; the thread-local flag is read only while some thread has it
        # off (grad_mode.threads_off)
        recording = False
        if _grad_mode.threads_off == 0 or _grad_state.enabled:
            for t in inputs:
                if t._rg:
                    recording = True
                    break
        # one function for both paths, and cls() rather than object.__new__(cls): a Python call
        # and ~500 instructions less per op (no op defines __init__)
        ctx = cls()
        if not recording:
            try:
                # spelled out for one and two inputs, and without **params when there are
                # none (~1k instructions less): these lines run for every op
                if len(inputs) == 1:
                    a = inputs[0]._data
                    out = cls.forward(ctx, a, **params) if params else cls.forward(ctx, a)
                elif len(inputs) == 2:
                    a, b = inputs[0]._data, inputs[1]._data
                    out = cls.forward(ctx, a, b, **params) if params else cls.forward(ctx, a, b)
                else:
                    out = cls.forward(ctx, *[t._data for t in inputs], **params)
            except (ValueError, TypeError) as e:
                raise _forward_error(cls, inputs, e) from None
            result = _make(out if type(out) is np.ndarray else np.asarray(out))
            if cls.is_view and _is_view(result._data, inputs[0]._data):
                result._vc = inputs[0]._vc
            return result
        # recording
        ctx._seq = next(_sequence)
        ctx._to_save = None
        if params:
            ctx._params = params
        # (comprehensions are calls before Python 3.12: plain loops here, the hottest path)
        arrays: tuple | list  # (an annotation only: nothing runs)
        if len(inputs) == 1:  # the commonest arity; apply saw that x requires grad
            x = inputs[0]
            a = x._data
            arrays = (a,)
            ctx._edge_fns = (x if x.grad_fn is None else x.grad_fn,)
            ctx._edge_nrs = _ZERO_ONE if x._output_nr == 0 else (x._output_nr,)
            shape, dtype = a.shape, a.dtype
            key: tuple = (shape, id(dtype))
            ctx._meta = _METAS.get(key) or _shared_meta(key, ((shape, dtype),))
            ctx.needs_input_grad = _NEEDS_ONE
        elif len(inputs) == 2:  # binary ops, spelled out too
            x, y = inputs
            a, b = x._data, y._data
            arrays = (a, b)
            fn_x = x.grad_fn if x.grad_fn is not None else x if x._rg else None
            fn_y = y.grad_fn if y.grad_fn is not None else y if y._rg else None
            ctx._edge_fns = (fn_x, fn_y)
            ctx._edge_nrs = (_ZERO_TWO if x._output_nr == y._output_nr == 0
                             else (x._output_nr, y._output_nr))
            shape, dtype, shape_b, dtype_b = a.shape, a.dtype, b.shape, b.dtype
            key = (shape, id(dtype), shape_b, id(dtype_b))
            ctx._meta = _METAS.get(key) or _shared_meta(key, ((shape, dtype), (shape_b, dtype_b)))
            ctx.needs_input_grad = _NEEDS_TWO[fn_x is not None][fn_y is not None]
        else:  # three or more inputs (linear with a bias): the same, in a loop
            arrays, fns, nrs = [], [], []
            keys: list = []
            for t in inputs:
                a = t._data
                arrays.append(a)
                fns.append(t.grad_fn if t.grad_fn is not None else t if t._rg else None)
                nrs.append(t._output_nr)
                keys += (a.shape, id(a.dtype))
            ctx._edge_fns = tuple(fns)  # tuples: a graph of 100,000 nodes holds them all
            edge_nrs = tuple(nrs)
            ctx._edge_nrs = _ZEROS.get(edge_nrs, edge_nrs)
            key = tuple(keys)
            ctx._meta = _METAS.get(key) or _shared_meta(
                key, tuple([(a.shape, a.dtype) for a in arrays]))
            needs = tuple([fn is not None for fn in fns])
            ctx.needs_input_grad = _NEEDS.get(needs) or _NEEDS.setdefault(needs, needs)
        try:
            # a call spelled out costs ~1k instructions less than one with *arrays, **params
            if params:
                raw = cls.forward(ctx, *arrays, **params)
            elif len(arrays) == 1:
                raw = cls.forward(ctx, arrays[0])
            elif len(arrays) == 2:
                raw = cls.forward(ctx, arrays[0], arrays[1])
            else:
                raw = cls.forward(ctx, *arrays)
        except (ValueError, TypeError) as e:
            raise _forward_error(cls, inputs, e) from None
        # NumPy returns scalars for 0-d results; the array made here is the output from now on
        out = raw if type(raw) is np.ndarray else np.asarray(raw)
        if out.dtype.kind == "c":  # from a complex operand that needs no grad: refused too
            raise RuntimeError(f"{cls.__name__.lower()}: {complex_grad_message(out.dtype)}")
        result = _make(out, ctx, 0)
        if cls.is_view and _is_view(out, arrays[0]):
            source = inputs[0]
            result._vc = source._vc
            result._view_of = True
            source._has_views = True
        to_save = ctx._to_save
        if to_save is None:
            ctx._saved = ()
        else:
            # the two commonest layouts spelled out (the output alone; the inputs in order)
            n = len(to_save)
            if n == 1 and to_save[0] is raw:
                ctx._saved = (_OUTPUT, out, result._vc, 0, result._vc[0])
            elif n == 2 and len(arrays) >= 2 and to_save[0] is arrays[0] and (
                    to_save[1] is arrays[1]):
                # the first two inputs (mul, matmul; linear's x and w of x, w, b)
                x, y = inputs[0], inputs[1]
                ctx._saved = (_INPUT, x, None, 0, x._vc[0], _INPUT, y, None, 0, y._vc[0])
            else:
                ctx._saved = _pack_saved(to_save, inputs, raw, result)
            ctx._to_save = None  # the arrays live on in _saved only until backward frees them
        if _anomaly.enabled:
            _anomaly.check_forward(ctx, inputs, out)
        if _graph.ever_registered and _node_hooks.hooks:
            for hook in list(_node_hooks.hooks):
                hook(ctx, list(arrays), [out], params)
        return result

    def _call_backward(self, grads: list):
        saved = self._saved
        if saved:
            return type(self).backward(self, grads[0], *self.saved_tensors)
        if saved is None:
            raise self._freed_error()
        return type(self).backward(self, grads[0])

    def _backward_arrays(self, grads: list) -> tuple:
        saved = self._saved
        if saved:
            if len(saved) == _FIELDS and saved[0] == _OUTPUT and saved[2][0] == saved[4]:
                # the output alone, unchanged (exp, tanh, sigmoid, relu): no list, no loop
                result = type(self).backward(self, grads[0], saved[1])
            elif len(saved) == 2 * _FIELDS and saved[0] == _INPUT == saved[5] and (
                    saved[1]._vc[0] == saved[4] and saved[6]._vc[0] == saved[9]):
                # the two inputs, unchanged (mul, div, matmul): no list, no loop either
                result = type(self).backward(self, grads[0], saved[1]._data, saved[6]._data)
            else:
                result = type(self).backward(self, grads[0], *self._saved_arrays())
        elif saved is None:
            raise self._freed_error()
        else:
            result = type(self).backward(self, grads[0])
        return result if type(result) is tuple else (result,)

    @staticmethod
    def forward(ctx, *arrays, **params) -> np.ndarray:
        raise NotImplementedError

    @staticmethod
    def backward(ctx, g, *saved):
        raise NotImplementedError


class MultiOutputPrimitive(Primitive):
    """A primitive with several outputs (``split``): ``forward`` returns a tuple of arrays and
    ``apply`` a tuple of Tensors; ``backward(ctx, grads, *saved)`` receives one gradient per
    output, None for outputs that received none, and runs once for all of them (so the
    gradients of n pieces are assembled in one pass, not n full-size ones summed).
    ``save_for_backward`` takes inputs and constant arrays.
    """

    @classmethod
    def apply(cls, *inputs: Tensor, **params) -> tuple:  # type: ignore[override]
        record = _grad_state.enabled and any(t._rg for t in inputs)
        ctx = object.__new__(cls)
        try:
            outs = cls.forward(ctx, *[t._data for t in inputs], **params)
        except (ValueError, TypeError) as e:
            raise _forward_error(cls, inputs, e) from None
        source = inputs[0]
        results = []
        for nr, out in enumerate(outs):
            out = out if type(out) is np.ndarray else np.asarray(out)
            result = _make(out, ctx, nr) if record else _make(out)
            if cls.is_view and _is_view(out, source._data):
                result._vc = source._vc
                if record:
                    result._view_of = source._has_views = True
            results.append(result)
        if record:
            ctx._seq = next(_sequence)
            ctx._n_outputs = len(results)
            if params:
                ctx._params = params
            fns = tuple([_edge_fn(t) for t in inputs])
            ctx._edge_fns, ctx._edge_nrs = fns, _output_nrs(inputs)
            ctx._meta = tuple([(t._data.shape, t._data.dtype) for t in inputs])
            needs = tuple([fn is not None for fn in fns])
            ctx.needs_input_grad = _NEEDS.get(needs) or _NEEDS.setdefault(needs, needs)
            to_save = getattr(ctx, "_to_save", None)
            ctx._saved = () if to_save is None else _pack_saved(to_save, inputs, None, None)
            ctx._to_save = None
            if _anomaly.enabled:
                _anomaly.check_forward(ctx, inputs, [r._data for r in results])
            hooks = _node_hooks.hooks
            if hooks:
                for hook in list(hooks):
                    hook(ctx, [t._data for t in inputs], [r._data for r in results], params)
        return tuple(results)

    def _call_backward(self, grads: list):
        if self._saved is None:
            raise self._freed_error()
        return type(self).backward(self, grads, *self.saved_tensors)

    def _backward_arrays(self, grads: list) -> tuple:
        if self._saved is None:
            raise self._freed_error()
        result = type(self).backward(self, grads, *self._saved_arrays())
        return result if type(result) is tuple else (result,)


class Function(Node):
    """A user-defined op, as in PyTorch::

        class Cube(cr.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x ** 3

            @staticmethod
            def backward(ctx, g):
                (x,) = ctx.saved_tensors
                return 3 * x ** 2 * g

        y = Cube.apply(x)

    ``forward`` runs with grad disabled on Tensors; ``backward`` receives and returns Tensors,
    one per forward argument (None for non-tensor arguments or inputs needing no gradient).
    """

    _output_meta: list  # per output: (shape, dtype), for the zeros of materialized gradients

    def save_for_backward(self, *tensors) -> None:
        self._to_save = tensors

    def mark_non_differentiable(self, *tensors) -> None:
        self._non_differentiable = {id(t) for t in tensors}

    def set_materialize_grads(self, value: bool) -> None:
        self._materialize = value

    @classmethod
    def apply(cls, *args):
        ctx = cls()
        ctx._to_save = None
        ctx._non_differentiable = set()
        ctx._materialize = True
        tensor_args = [a for a in args if isinstance(a, Tensor)]
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a._rg for a in args)
        record = _grad_state.enabled and any(ctx.needs_input_grad)
        with set_grad_enabled(False):
            outputs = cls.forward(ctx, *args)
        single = not isinstance(outputs, tuple)
        outs = (outputs,) if single else outputs
        for o in outs:
            if not isinstance(o, Tensor):
                raise TypeError(f"{cls.__name__}.forward must return Tensors, got "
                                f"{type(o).__name__}")
        if not record:
            return outputs
        ctx._seq = next(_sequence)
        ctx._edge_fns = tuple(_edge_fn(a) if isinstance(a, Tensor) else None for a in args)
        ctx._edge_nrs = tuple(a._output_nr if isinstance(a, Tensor) else 0 for a in args)
        ctx._meta = tuple((a._data.shape, a._data.dtype) if isinstance(a, Tensor) else None
                          for a in args)
        ctx._n_outputs = len(outs)
        ctx._output_meta = [(o._data.shape, o._data.dtype) for o in outs]
        input_ids = {id(t) for t in tensor_args}
        results = []
        for i, o in enumerate(outs):
            if id(o) in input_ids:
                o = Tensor._make(o._data)  # an input returned as is becomes a new output (a view)
            if o._data.dtype.kind == "c" and id(o) not in ctx._non_differentiable:
                raise RuntimeError(f"{cls.__name__}.forward: output {i}: "
                                   f"{complex_grad_message(o._data.dtype)}")
            if id(o) in ctx._non_differentiable or o._data.dtype.kind != "f":
                results.append(o)
                continue
            o.grad_fn, o._output_nr, o._rg = ctx, i, True
            results.append(o)
        ctx._saved = () if ctx._to_save is None else tuple(
            field for t in ctx._to_save for field in ctx._pack(t, outs))
        del ctx._to_save
        if _anomaly.enabled:
            _anomaly.check_forward(ctx, tensor_args, [o._data for o in outs])
        hooks = _node_hooks.hooks
        if hooks:
            arrays = [a._data if isinstance(a, Tensor) else None for a in args]
            for hook in list(hooks):
                hook(ctx, arrays, [o._data for o in results], {})
        return results[0] if single else tuple(results)

    @staticmethod
    def _pack(t, outs) -> tuple:
        if t is None:
            return (None, None, None, 0, 0)
        for i, o in enumerate(outs):
            if t is o:  # an output keeps no reference to its node: no cycle
                return (_OUTPUT, o._data, o._vc, i, o._vc[0])
        return (_INPUT, t, None, 0, t._vc[0])

    def _call_backward(self, grads: list):
        if self._materialize:
            grads = [Tensor._make(np.zeros(shape, dtype)) if g is None else g
                     for g, (shape, dtype) in zip(grads, self._output_meta)]
        return type(self).backward(self, *grads)

    @staticmethod
    def forward(ctx, *args):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, *grads):
        raise NotImplementedError


from . import anomaly as _anomaly  # noqa: E402  (anomaly reads Node, defined above)
