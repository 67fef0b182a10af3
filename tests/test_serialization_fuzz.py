"""Fuzzing ``cr.load`` with mutated valid files (issue 11): each mutant loads the original values
or raises ``LoadError`` naming the file, never another exception, in bounded time and memory."""

import json
import random
import time
import tracemalloc

import numpy as np
import pytest

from chainrule.serialization import LoadError, load, save
from tests.test_serialization import _assert_same, _nested, write_crafted

SEED = 11
CASES = 150  # per mutation kind; the whole test takes about two seconds


def _bit_flips(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rng.choice((1, 1, 2, 3))):
        out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)
    return bytes(out)


def _truncation(data: bytes, rng: random.Random) -> bytes:
    return data[:rng.randrange(len(data))]


def _junk(data: bytes, rng: random.Random) -> bytes:
    """Random bytes over a random span, or appended."""
    junk = rng.randbytes(rng.randrange(1, 64))
    if rng.random() < 0.3:
        return data + junk
    at = rng.randrange(len(data))
    return data[:at] + junk + data[at + len(junk):]


def _header_parts(data: bytes) -> tuple[dict, bytes]:
    n = int.from_bytes(data[:8], "little")
    return json.loads(data[8:8 + n]), data[8 + n:]


_TOKENS = ['{', '}', '[', ']', '"', ',', ':', '$tensor', '$tuple', '$dict', '$scalar',
           '$ndarray', '$masked', '"a0"', '"a99"', 'true', 'null', '1e999', '-1', '9' * 5000,
           '[' * 200, '{"$tuple":', '"requires_grad":true']


def _edited_structure(structure: str, rng: random.Random) -> str:
    """Delete, duplicate or replace a span of the structure JSON, or splice in a token."""
    at = rng.randrange(len(structure))
    span = rng.randrange(1, 40)
    kind = rng.randrange(4)
    if kind == 0:
        return structure[:at] + structure[at + span:]
    if kind == 1:
        return structure[:at] + structure[at:at + span] + structure[at:]
    token = rng.choice(_TOKENS)
    return structure[:at] + token + structure[at + (span if kind == 2 else 0):]


def _arrays(data: bytes) -> dict[str, np.ndarray]:
    header, payload = _header_parts(data)
    dtypes = {"BOOL": "|b1", "U8": "|u1", "I32": "<i4", "I64": "<i8", "F16": "<f2",
              "F32": "<f4", "F64": "<f8", "U64": "<u8"}
    return {key: np.frombuffer(payload[e["data_offsets"][0]:e["data_offsets"][1]],
                               dtypes[e["dtype"]]).reshape(e["shape"])
            for key, e in header.items() if key != "__metadata__"}


@pytest.fixture(scope="module")
def original(tmp_path_factory):
    path = tmp_path_factory.mktemp("fuzz") / "ckpt.safetensors"
    obj = _nested()
    save(obj, path)
    return obj, path.read_bytes()


def _check(path, original_obj, *, may_differ: bool) -> str:
    """Load ``path``: 'same', 'error' (LoadError naming the file) or 'other' (a valid file
    with other values: only possible where the checksum was recomputed)."""
    try:
        out = load(path)
    except LoadError as e:
        assert str(e).startswith(f"{path}: "), e
        return "error"
    try:
        _assert_same(original_obj, out)
        return "same"
    except AssertionError:
        if not may_differ:
            raise
        return "other"


@pytest.mark.parametrize("mutate", [_bit_flips, _truncation, _junk])
def test_mutated_files_load_the_original_or_fail_cleanly(tmp_path, original, mutate):
    obj, data = original
    rng = random.Random(f"{SEED}-{mutate.__name__}")
    path = tmp_path / "mutant.safetensors"
    outcomes: dict[str, int] = {}
    worst_seconds, worst_bytes = 0.0, 0
    for _ in range(CASES):
        path.write_bytes(mutate(data, rng))
        tracemalloc.start()
        t0 = time.perf_counter()
        try:
            outcome = _check(path, obj, may_differ=False)
        finally:
            worst_seconds = max(worst_seconds, time.perf_counter() - t0)
            worst_bytes = max(worst_bytes, tracemalloc.get_traced_memory()[1])
            tracemalloc.stop()
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    assert outcomes.get("error", 0) > CASES // 2, outcomes  # the mutations do break files
    assert worst_seconds < 2.0  # a load takes milliseconds; the bound allows a busy machine
    assert worst_bytes < 20 * len(data) + 2**20


def test_edited_structures_with_a_recomputed_checksum_fail_cleanly(tmp_path, original):
    """A crafted file with a matching checksum can hold other values (it is a valid file):
    then it loads; otherwise the error is LoadError naming the file, never another type."""
    obj, data = original
    header, _ = _header_parts(data)
    structure = header["__metadata__"]["structure"]
    arrays = _arrays(data)
    rng = random.Random(f"{SEED}-structure")
    path = tmp_path / "crafted.safetensors"
    outcomes: dict[str, int] = {}
    worst_seconds = 0.0
    for _ in range(CASES * 2):
        write_crafted(path, _edited_structure(structure, rng), arrays)
        t0 = time.perf_counter()
        outcome = _check(path, obj, may_differ=True)
        worst_seconds = max(worst_seconds, time.perf_counter() - t0)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    assert outcomes.get("error", 0) > CASES, outcomes
    assert worst_seconds < 2.0  # a load takes milliseconds; the bound allows a busy machine


def test_edited_array_entries_with_a_recomputed_checksum_fail_cleanly(tmp_path, original):
    obj, data = original
    header, _ = _header_parts(data)
    structure = header["__metadata__"]["structure"]
    arrays = _arrays(data)
    rng = random.Random(f"{SEED}-entries")
    path = tmp_path / "crafted.safetensors"
    values = [None, -1, 0, 1, 3, 2**31, 2**64, "F32", "BF16", [], [1], [2, 3], [0, 0], {}]
    for _ in range(CASES):
        key = rng.choice(sorted(arrays))
        entry = dict(header[key])
        field = rng.choice(("dtype", "shape", "data_offsets"))
        entry[field] = rng.choice(values)
        write_crafted(path, structure, arrays, {key: entry})
        _check(path, obj, may_differ=True)
