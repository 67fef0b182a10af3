"""Every collective and ReduceOp against NumPy, float32 and float64, 0-d, empty and strided."""

import time

import numpy as np

import chainrule as cr
import chainrule.distributed as dist

dist.init_process_group("mpi")
rank, world = dist.get_rank(), dist.get_world_size()
assert dist.is_initialized() and dist.get_backend() == "mpi"


def value(r: int, shape: tuple, dtype) -> np.ndarray:
    """Rank r's input: distinct per rank and element, and not all positive (MIN/MAX/PRODUCT)."""
    n = int(np.prod(shape))
    return ((np.arange(n) % 7 - 3 + 0.25 * (r + 1)) * (r + 1)).reshape(shape).astype(dtype)


EXPECTED = {dist.ReduceOp.SUM: lambda xs: np.sum(xs, axis=0),
            dist.ReduceOp.AVG: lambda xs: np.sum(xs, axis=0) / len(xs),
            dist.ReduceOp.PRODUCT: lambda xs: np.prod(xs, axis=0),
            dist.ReduceOp.MIN: lambda xs: np.min(xs, axis=0),
            dist.ReduceOp.MAX: lambda xs: np.max(xs, axis=0)}

for dtype in (np.float32, np.float64):
    for shape in ((), (0,), (5,), (3, 4), (2, 0, 3)):
        inputs = [value(r, shape, dtype) for r in range(world)]
        for op, expected in EXPECTED.items():
            for async_op in (False, True):
                t = cr.tensor(inputs[rank].copy())
                array, version = t._data, t._version
                work = dist.all_reduce(t, op=op, async_op=async_op)
                if async_op:
                    assert work.wait() is True and work.is_completed()
                else:
                    assert work is None
                assert t._data is array, "all_reduce must work in place on the tensor's array"
                assert t._version == version + 1
                assert t.dtype == dtype and t.shape == shape
                np.testing.assert_allclose(t._data, expected(np.stack(inputs)).astype(dtype),
                                           rtol=1e-6 if dtype == np.float32 else 1e-14,
                                           err_msg=f"all_reduce {op} {dtype.__name__} {shape}")

        t = cr.tensor(inputs[rank].copy())
        dist.broadcast(t, src=world - 1)
        np.testing.assert_array_equal(t._data, inputs[-1])

        out = [cr.zeros(shape, dtype=dtype) for _ in range(world)]
        work = dist.all_gather(out, cr.tensor(inputs[rank]), async_op=True)
        work.wait()
        for r in range(world):
            np.testing.assert_array_equal(out[r]._data, inputs[r])

        chunks = [cr.tensor(value(rank * world + i, shape, dtype)) for i in range(world)]
        out = cr.zeros(shape, dtype=dtype)
        dist.reduce_scatter(out, chunks, op=dist.ReduceOp.SUM)
        want = sum(value(r * world + rank, shape, dtype).astype(np.float64) for r in range(world))
        np.testing.assert_allclose(out._data, want, rtol=1e-6)

# a strided view is reduced in place: the base array sees the result
base = cr.tensor(np.arange(12.0).reshape(3, 4) * (rank + 1))
view = base.t()
dist.all_reduce(view)
np.testing.assert_array_equal(base._data, np.arange(12.0).reshape(3, 4) * sum(range(1, world + 1)))

for bad, message in ((lambda: dist.all_reduce(cr.tensor([1, 2]), op=dist.ReduceOp.AVG),
                      "ReduceOp.AVG needs a floating-point tensor"),
                     (lambda: dist.all_gather([cr.zeros(2)], cr.zeros(2)),
                      f"one tensor per rank ({world})"),
                     (lambda: dist.broadcast(cr.zeros(2), src=world), "is not a rank")):
    try:
        bad()
    except ValueError as e:
        assert message in str(e), e
    else:
        raise AssertionError(f"expected an error containing {message!r}")

# an async all-reduce advances while this thread makes no MPI call (the progress thread)
t = cr.full((4_000_000,), float(rank + 1))
work = dist.all_reduce(t, async_op=True)
expected = world * (world + 1) / 2
deadline = time.monotonic() + 20
while time.monotonic() < deadline and not (t._data[0] == expected and t._data[-1] == expected):
    time.sleep(0.01)
assert t._data[0] == expected and t._data[-1] == expected, "no progress without wait()"
work.wait()
assert np.all(t._data == expected)

dist.barrier()
dist.destroy_process_group()
assert not dist.is_initialized()
print(f"ok {rank}", flush=True)
