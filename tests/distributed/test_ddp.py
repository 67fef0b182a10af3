"""DistributedDataParallel under mpiexec: equivalence with one process, overlap, errors."""

import time

import pytest

from .launch import check, run

# buckets averaged in a shared-memory window (the default on one node), or by MPI's
# all-reduce (shared_memory=False, what runs across nodes)
PATHS = pytest.mark.parametrize("path", [[], ["--mpi"]], ids=["shared", "mpi"])


@PATHS
@pytest.mark.parametrize("n", [2, 3])
def test_ranks_on_shards_match_one_process_on_the_whole_batch(n, path):
    # SGD and Adam, float64 and float32, plain, no_sync accumulation and BatchNorm
    check(run(n, "ddp_equivalence.py", *path), n)


@PATHS
@pytest.mark.parametrize("n", [2, 3])
def test_first_bucket_is_reduced_before_the_first_layers_backward(n, path):
    check(run(n, "ddp_overlap.py", *path), n)


@PATHS
@pytest.mark.parametrize("cap", [[], ["0"]], ids=["default cap", "cap 0"])
def test_unused_parameters_shape_mismatch_and_empty_buckets(cap, path):
    check(run(2, "ddp_errors.py", *cap, *path), 2)


@pytest.mark.parametrize("n", [2, 3])
def test_shared_memory_average_and_window_lifecycle(n):
    check(run(n, "shared_windows.py"), n)


def test_a_raising_rank_ends_the_job_with_its_message():
    start = time.monotonic()
    result = run(3, "raising_rank.py", timeout=30)
    assert time.monotonic() - start < 30
    assert result.returncode != 0
    assert "[rank 2] ValueError: boom from rank 2" in result.stderr, result.stderr
