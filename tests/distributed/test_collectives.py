"""chainrule.distributed's collectives, run by mpiexec with 2 and 3 ranks."""

import sys

import pytest

import chainrule.distributed as dist

from .launch import check, run


@pytest.mark.parametrize("n", [2, 3])
def test_collectives_match_numpy_on_every_rank(n):
    check(run(n, "collectives.py"), n)


def test_missing_mpi4py_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "mpi4py", None)  # import mpi4py now raises ImportError
    with pytest.raises(ImportError, match=r"pip install chainrule\[distributed\]"):
        dist.init_process_group("mpi")
    assert not dist.is_available()
    assert not dist.is_initialized()


def test_uninitialised_group_raises_pytorchs_error():
    with pytest.raises(ValueError, match="Default process group has not been initialized"):
        dist.get_rank()
    with pytest.raises(ValueError, match="Default process group has not been initialized"):
        dist.all_reduce(__import__("chainrule").zeros(2))


def test_only_the_mpi_backend_is_accepted():
    with pytest.raises(ValueError, match="backend 'nccl' is not supported"):
        dist.init_process_group("nccl")
