"""DistributedDataParallel under mpiexec: equivalence with one process, overlap, errors."""

import time

import pytest

from .launch import check, run


@pytest.mark.parametrize("n", [2, 3])
def test_ranks_on_shards_match_one_process_on_the_whole_batch(n):
    # SGD and Adam, float64 and float32, plain, no_sync accumulation and BatchNorm
    check(run(n, "ddp_equivalence.py"), n)


@pytest.mark.parametrize("n", [2, 3])
def test_first_bucket_is_reduced_before_the_first_layers_backward(n):
    check(run(n, "ddp_overlap.py"), n)


@pytest.mark.parametrize("cap", [[], ["0"]], ids=["packed", "own arrays"])
def test_unused_parameters_and_shape_mismatch(cap):
    check(run(2, "ddp_errors.py", *cap), 2)


def test_a_raising_rank_ends_the_job_with_its_message():
    start = time.monotonic()
    result = run(3, "raising_rank.py", timeout=30)
    assert time.monotonic() - start < 30
    assert result.returncode != 0
    assert "[rank 2] ValueError: boom from rank 2" in result.stderr, result.stderr
