"""cr.save / cr.load: round trips, dtypes, atomic writes, and refusing bad files."""

import ast
import io
import json
import os
import pickle
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule import serialization
from chainrule.serialization import LoadError, load, save


def _nested():
    gen = cr.Generator().manual_seed(3)
    return {
        "model": {"0.weight": cr.randn(4, 3, generator=gen),
                  "0.bias": cr.zeros(4, dtype=cr.float64)},
        "optimizer": {"state": {0: {"step": cr.tensor(3.0), "exp_avg": np.ones(3, np.float32)},
                                1: {"momentum_buffer": None}},
                      "param_groups": [{"lr": 0.1, "betas": (0.9, 0.999), "params": [0, 1],
                                        "nesterov": False, "name": "all"}]},
        "rng": gen.get_state(), "big": [2 ** 127 + 5, -(2 ** 100)],  # 128-bit integers
        "epoch": 3, "nan": float("nan"), "inf": -float("inf"), "none": None,
        "scalars": [np.float32(1.5), np.float64(0.1), np.int64(-2), np.bool_(True)],
        "$weird key": 1, "tuple key": {(1, "a"): "x", None: 2, 2.5: [], True: "b"},
        "ints": np.arange(5, dtype=np.int64), "mask": np.array([[True, False]]),
        "empty": np.zeros((0, 3), np.float32), "zero_d": np.array(7, np.int32),
        "strided": np.arange(12.0).reshape(3, 4)[:, ::2],
    }


def _assert_same(a, b, where="obj"):
    assert type(a) is type(b), where
    if isinstance(a, cr.Tensor):
        assert a.dtype == b.dtype and a.shape == b.shape and a.requires_grad == b.requires_grad
        np.testing.assert_array_equal(a._data, b._data)
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape, where
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, np.generic):
        assert a.dtype == b.dtype and a == b, where
    elif isinstance(a, dict):
        assert list(a) == list(b), where
        for k in a:
            _assert_same(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and np.isnan(a):
        assert np.isnan(b), where
    else:
        assert a == b, where


def test_nested_round_trip_keeps_types_dtypes_and_values(tmp_path):
    obj = _nested()
    save(obj, tmp_path / "ckpt.safetensors")
    _assert_same(obj, load(tmp_path / "ckpt.safetensors"))


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.int32, np.int64,
                                   np.uint8, np.bool_])
def test_dtypes_round_trip_exactly(tmp_path, dtype):
    arr = (np.random.default_rng(0).standard_normal((3, 5)) * 100).astype(dtype)
    save({"t": cr.tensor(arr), "a": arr}, tmp_path / "x.safetensors")
    out = load(tmp_path / "x.safetensors")
    assert out["t"].dtype == out["a"].dtype == np.dtype(dtype)
    assert np.array_equal(out["t"].numpy(), arr) and np.array_equal(out["a"], arr)


def test_requires_grad_and_shared_objects_survive(tmp_path):
    w = cr.ones(2, requires_grad=True)
    a = np.arange(3.0)
    save({"w": w, "a1": a, "a2": a}, tmp_path / "x")
    out = load(tmp_path / "x")
    assert out["w"].requires_grad and out["w"].is_leaf
    assert out["a1"] is out["a2"]


def test_file_objects(tmp_path):
    buf = io.BytesIO()
    save({"x": cr.arange(3)}, buf)
    buf.seek(0)
    assert load(buf)["x"].tolist() == [0, 1, 2]


def test_the_file_is_plain_safetensors_with_a_marker(tmp_path):
    pytest.importorskip("safetensors", reason="the interoperability oracle is missing")
    from safetensors.numpy import load_file

    save({"w": cr.ones(2, 2)}, tmp_path / "x.safetensors")
    arrays = load_file(tmp_path / "x.safetensors")
    assert [a.shape for a in arrays.values()] == [(2, 2)]
    n = int.from_bytes((tmp_path / "x.safetensors").read_bytes()[:8], "little")
    meta = json.loads((tmp_path / "x.safetensors").read_bytes()[8:8 + n])["__metadata__"]
    assert meta["format"] == "chainrule" and meta["version"] == "1" and len(meta["checksum"]) == 64


def test_unsupported_objects_are_named(tmp_path):
    with pytest.raises(TypeError, match=r"obj\['opt'\]\['fn'\]: cannot store.*function"):
        save({"opt": {"fn": lambda: 0}}, tmp_path / "x")
    with pytest.raises(TypeError, match="dtype object"):
        save({"a": np.array([object()])}, tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_atomic_write_keeps_the_old_file_when_replace_fails(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.safetensors"
    save({"v": cr.tensor([1.0])}, path)
    old = path.read_bytes()

    def failing_replace(src, dst):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="simulated"):
        save({"v": cr.tensor([2.0, 3.0])}, path)
    monkeypatch.undo()
    assert path.read_bytes() == old
    assert load(path)["v"].tolist() == [1.0]
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.safetensors"]  # no temp file left


def _saved(tmp_path) -> Path:
    path = tmp_path / "ckpt.safetensors"
    save({"w": cr.tensor(np.arange(6.0).reshape(2, 3)), "epoch": 1}, path)
    return path


def test_truncated_file(tmp_path):
    path = _saved(tmp_path)
    data = path.read_bytes()
    for cut in (len(data) - 5, 40, 4, 0):
        path.write_bytes(data[:cut])
        with pytest.raises(ValueError, match=rf"{path.name}.*(truncated|empty)"):
            load(path)


def test_foreign_files(tmp_path):
    pytest.importorskip("safetensors", reason="the oracle that writes plain files is missing")
    plain = tmp_path / "plain.safetensors"
    from safetensors.numpy import save_file

    save_file({"w": np.ones(2)}, str(plain))
    with pytest.raises(ValueError, match="plain.safetensors: a safetensors file but not a "
                                         "chainrule one"):
        load(plain)
    text = tmp_path / "notes.txt"
    text.write_text("hello, this is not a checkpoint at all")
    with pytest.raises(ValueError, match="notes.txt: not a chainrule file"):
        load(text)


def test_tampered_array_bytes_and_structure_fail_the_checksum(tmp_path):
    path = _saved(tmp_path)
    data = bytearray(path.read_bytes())
    data[-3] ^= 0xFF  # flip bits inside the last array's bytes
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="ckpt.safetensors: checksum mismatch"):
        load(path)

    path = _saved(tmp_path)
    data = path.read_bytes()
    tampered = data.replace(b'\\"epoch\\":1', b'\\"epoch\\":9')
    assert tampered != data and len(tampered) == len(data)
    path.write_bytes(tampered)
    with pytest.raises(ValueError, match="checksum mismatch"):
        load(path)


def test_unknown_version_is_refused(tmp_path):
    path = _saved(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data.replace(b'"version":"1"', b'"version":"7"'))
    with pytest.raises(ValueError, match="format version '7' is not supported"):
        load(path)


class _Boom:
    """Unpickling this creates the directory ``marker``: proof that code ran."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (str(self.marker),))


def test_a_pickle_is_refused_and_never_executed(tmp_path):
    marker = tmp_path / "pickle-ran"
    path = tmp_path / "model.pt"
    path.write_bytes(pickle.dumps({"w": _Boom(marker)}))
    with pytest.raises(ValueError, match="model.pt: not a chainrule file"):
        load(path)
    assert not marker.exists()


def test_the_module_never_imports_pickle():
    source = Path(serialization.__file__).read_text()
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert imported.isdisjoint({"pickle", "cPickle", "marshal", "shelve", "dill", "joblib"})
    assert "eval(" not in source and "exec(" not in source


def test_save_and_load_need_no_extra_package(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "safetensors", None)
    monkeypatch.setitem(sys.modules, "safetensors.numpy", None)
    save({"x": cr.arange(3)}, tmp_path / "x")
    assert load(tmp_path / "x")["x"].tolist() == [0, 1, 2]


def test_map_location():
    with pytest.raises(ValueError, match="CPU only"):
        load("whatever", map_location="cuda")


# ---- issue 11 item 2: every file save writes, load reads back --------------------------------
def test_big_endian_strided_and_masked_arrays_round_trip(tmp_path):
    """The checksum was taken over the caller's bytes, while the file holds little-endian C
    order: such files were refused as corrupted. The values are what is stored (as PyTorch
    stores values, whatever the byte order)."""
    masked = np.ma.array([[1.0, 2.0], [3.0, 4.0]], mask=[[0, 1], [0, 0]], fill_value=-9.0)
    big = np.arange(6, dtype=">f8").reshape(2, 3)
    obj = {"big": big, "big_int": np.arange(4, dtype=">i4"), "big_scalar": big[0, 1],
           "tensor": cr.tensor(np.arange(3, dtype=">f4"), requires_grad=True),
           "strided_big": big[:, ::2], "masked": masked, "masked_int": np.ma.masked_equal(
               np.arange(4), 2)}
    save(obj, tmp_path / "x")
    out = load(tmp_path / "x")
    for key in ("big", "big_int", "strided_big"):
        assert out[key].dtype.isnative and out[key].dtype == obj[key].dtype.newbyteorder("=")
        np.testing.assert_array_equal(out[key], obj[key])
    assert out["big_scalar"] == 1.0 and out["big_scalar"].dtype == np.float64
    assert out["tensor"].requires_grad and out["tensor"].tolist() == [0.0, 1.0, 2.0]
    for key in ("masked", "masked_int"):
        assert isinstance(out[key], np.ma.MaskedArray)
        np.testing.assert_array_equal(out[key].mask, obj[key].mask)
        np.testing.assert_array_equal(out[key].data, obj[key].data)
        assert out[key].fill_value == obj[key].fill_value


def test_dtypes_a_safetensors_file_cannot_hold_are_refused_at_save(tmp_path):
    for bad in (np.ones(2, np.longdouble), np.ones(2, np.complex64)):
        if bad.dtype.itemsize <= 8 and bad.dtype.kind == "f":
            continue  # longdouble is float64 on some platforms: then it is storable
        with pytest.raises(TypeError, match=f"cannot store arrays of dtype {bad.dtype}"):
            save({"a": bad}, tmp_path / "x")
    assert not (tmp_path / "x").exists()


# ---- issue 11 item 5: bounds first, then stream -------------------------------------------
def _peak_traced(fn) -> tuple[object, int]:
    import tracemalloc

    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        result = fn()
        return result, tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


def _sparse_file(path: Path, head: bytes, size: int) -> Path:
    with open(path, "wb") as f:
        f.write(head)
        f.truncate(size)  # a hole: no disk space, reads as zeros
    return path


def test_a_huge_file_that_is_not_ours_is_refused_without_reading_it(tmp_path):
    junk = _sparse_file(tmp_path / "junk.bin", b"\x07" * 64, 3 * 2**30)
    error, peak = _peak_traced(lambda: pytest.raises(LoadError, load, junk))
    assert "junk.bin: not a chainrule file" in str(error.value)
    assert peak < 2**20  # the old code read all 3 GB first


def test_a_header_larger_than_any_chainrule_header_is_refused_unread(tmp_path):
    n = 85 * 2**20  # the probe's crafted header: 85 MB, 1.5 M entries
    crafted = _sparse_file(tmp_path / "crafted", n.to_bytes(8, "little") + b'{"a0":', 8 + n)
    error, peak = _peak_traced(lambda: pytest.raises(LoadError, load, crafted))
    assert f"header of {n} bytes" in str(error.value)
    assert peak < 2**20


def test_array_extents_are_checked_against_the_file_size_before_reading(tmp_path):
    path = _saved(tmp_path)
    data = path.read_bytes()
    # the claim of a 1 TB array (shape and offsets consistent) in a file of a few hundred bytes
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + n])
    header["a0"] = {"dtype": "U8", "shape": [2**40], "data_offsets": [0, 2**40]}
    text = json.dumps(header).encode()
    path.write_bytes(len(text).to_bytes(8, "little") + text + data[8 + n:])
    error, peak = _peak_traced(lambda: pytest.raises(LoadError, load, path))
    assert "truncated file" in str(error.value) and peak < 2**20


def test_save_and_load_hold_about_one_payload(tmp_path):
    payload = {f"w{i}": cr.ones(2**20 // 4) for i in range(16)}  # 16 MiB of float32
    nbytes = 16 * 2**20
    _, save_peak = _peak_traced(lambda: save(payload, tmp_path / "x"))
    loaded, load_peak = _peak_traced(lambda: load(tmp_path / "x"))
    assert save_peak < 0.1 * nbytes  # was 1x more: the whole file as bytes, plus copies
    assert load_peak < 1.1 * nbytes  # the arrays themselves; was 2.5x
    assert loaded["w3"].sum().item() == 2**20 // 4


def test_save_refuses_a_structure_load_would_refuse(tmp_path, monkeypatch):
    monkeypatch.setattr(serialization, "MAX_HEADER_BYTES", 2**16)  # 4 MiB in use: same code
    with pytest.raises(ValueError, match="store long lists of numbers as arrays"):
        save({"losses": [0.123456789] * 10_000}, tmp_path / "x")
    monkeypatch.undo()
    nested: list = []
    for _ in range(serialization.MAX_DEPTH + 1):
        nested = [nested]
    with pytest.raises(ValueError, match=r"nested deeper than 100 levels"):
        save(nested, tmp_path / "x")
    assert not (tmp_path / "x").exists()
    deepest = []
    for _ in range(serialization.MAX_DEPTH - 1):
        deepest = [deepest]
    save(deepest, tmp_path / "x")
    assert load(tmp_path / "x") == deepest


# ---- issue 11 item 7: every malformed file gives one error naming the file --------------------
def write_crafted(path: Path, structure: str, arrays: dict | None = None,
                  entries: dict | None = None) -> Path:
    """A file with this structure JSON and these arrays, and a checksum that matches: what an
    attacker (or a bug) can write. ``entries`` overrides header entries after the checksum."""
    arrays = arrays or {}
    header: dict = {"__metadata__": {"format": "chainrule", "version": "1",
                                     "structure": structure,
                                     "checksum": serialization._checksum(structure, arrays)}}
    offset, payload = 0, b""
    for key, arr in arrays.items():
        header[key] = {"dtype": serialization._CODES[arr.dtype], "shape": list(arr.shape),
                       "data_offsets": [offset, offset + arr.nbytes]}
        offset += arr.nbytes
        payload += arr.tobytes()
    header.update(entries or {})
    text = json.dumps(header).encode()
    path.write_bytes(len(text).to_bytes(8, "little") + text + payload)
    return path


CRAFTED_STRUCTURES = {
    "deep nesting": ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    "deep dicts": ('{"a":' * 150 + "1" + "}" * 150, "nested deeper than 100"),
    "tensor key not a name": ('{"$tensor":[1],"requires_grad":false}', "lacks"),
    "missing array": ('{"$ndarray":"a9"}', "'a9', which the file lacks"),
    "tuple of an int": ('{"$tuple":5}', "$tuple holds int"),
    "dict of an int": ('{"$dict":5}', "$dict holds int"),
    "bad dict pair": ('{"$dict":[[1]]}', "bad dict entry"),
    "unhashable key": ('{"$dict":[[[1,2],3]]}', "unhashable dict key of type list"),
    "int requires grad": ('{"$tensor":"a1","requires_grad":true}', "int64 marked requires_grad"),
    "requires_grad not a bool": ('{"$tensor":"a0","requires_grad":"yes"}', "not a bool"),
    "scalar of an array": ('{"$scalar":"a0"}', "has shape (2,)"),
    "one array, two kinds": ('[{"$ndarray":"a0"},{"$tensor":"a0","requires_grad":false}]',
                             "used as both"),
    "unknown tag": ('{"$pickle":"os.system"}', "unknown tag"),
    "extra field": ('{"$ndarray":"a0","x":1}', "unknown tag or fields"),
    "5001-digit integer": ("1" * 5001, "corrupt structure JSON"),
    "not JSON": ("{'a': 1}", "corrupt structure JSON"),
    "masked without mask": ('{"$masked":[{"$ndarray":"a0"}]}', "$masked needs"),
    "masked fill value a list": ('{"$masked":[{"$ndarray":"a0"},{"$ndarray":"a2"},[1]]}',
                                 "scalar fill value"),
}


@pytest.mark.parametrize("case", sorted(CRAFTED_STRUCTURES))
def test_a_crafted_structure_gives_one_error_naming_the_file(tmp_path, case):
    structure, what = CRAFTED_STRUCTURES[case]
    path = write_crafted(tmp_path / "crafted.safetensors", structure,
                         {"a0": np.ones(2), "a1": np.arange(2), "a2": np.zeros(2, bool)})
    with pytest.raises(LoadError) as info:
        load(path)
    assert str(info.value).startswith(f"{path}: corrupt structure")
    assert what in str(info.value)
    assert isinstance(info.value, ValueError) and isinstance(info.value, RuntimeError)


CRAFTED_HEADERS = {
    "unknown dtype": ({"a0": {"dtype": "BF16", "shape": [2], "data_offsets": [0, 4]}},
                      "dtype 'BF16' is not one of"),
    "negative dim": ({"a0": {"dtype": "F64", "shape": [-2], "data_offsets": [0, 16]}},
                     "bad shape"),
    "shape and size disagree": ({"a0": {"dtype": "F64", "shape": [3], "data_offsets": [0, 16]}},
                                "needs 24 bytes, data_offsets give 16"),
    "overlap": ({"a1": {"dtype": "F64", "shape": [2], "data_offsets": [0, 16]}},
                "starts at byte 0 of the data, expected 16"),
    "not an object": ({"a0": [1, 2]}, "not an object"),
    "huge dims of size 0": ({"a0": {"dtype": "F64", "shape": [0, 2**62, 2**62],
                                    "data_offsets": [0, 0]},
                             "a1": {"dtype": "F64", "shape": [4], "data_offsets": [0, 32]}},
                            "cannot be allocated"),
    "5001-digit offset": ({"a0": {"dtype": "F64", "shape": [2], "data_offsets": [0, "HUGE"]}},
                          "corrupt header (Exceeds the limit"),
}


@pytest.mark.parametrize("case", sorted(CRAFTED_HEADERS))
def test_a_crafted_header_gives_one_error_naming_the_file(tmp_path, case):
    entries, what = CRAFTED_HEADERS[case]
    path = tmp_path / "crafted.safetensors"
    write_crafted(path, '{"$ndarray":"a0"}', {"a0": np.ones(2), "a1": np.ones(2)}, entries)
    data = path.read_bytes()
    n = int.from_bytes(data[:8], "little")
    header = data[8:8 + n].replace(b'"HUGE"', b"1" * 5001)  # json.dumps cannot write it
    path.write_bytes(len(header).to_bytes(8, "little") + header + data[8 + n:])
    with pytest.raises(LoadError) as info:
        load(path)
    assert str(info.value).startswith(f"{path}: ")
    assert what in str(info.value)


def test_a_deeply_nested_header_gives_the_error(tmp_path):
    text = b"{" + b'"x":[' + b"[" * 100_000 + b"]" * 100_001 + b"}"
    path = tmp_path / "deep"
    path.write_bytes(len(text).to_bytes(8, "little") + text)
    with pytest.raises(LoadError, match="deep: corrupt header"):
        load(path)


def test_a_file_written_by_the_previous_chainrule_still_loads(tmp_path):
    """Version-1 files were written by the safetensors package; the reader is ours now."""
    pytest.importorskip("safetensors", reason="the oracle that wrote version-1 files is missing")
    from safetensors.numpy import save_file

    obj = _nested()
    encoder = serialization._Encoder()
    structure = json.dumps(encoder.encode(obj, "obj"), separators=(",", ":"))
    save_file(encoder.arrays, str(tmp_path / "old.safetensors"), metadata={
        "format": "chainrule", "version": "1", "structure": structure,
        "checksum": serialization._checksum(structure, encoder.arrays)})
    _assert_same(obj, load(tmp_path / "old.safetensors"))


def test_the_worst_header_is_refused_with_bounded_memory(tmp_path, monkeypatch):
    """A header at the size bound, full of array entries, with a wrong checksum: the work is
    proportional to MAX_HEADER_BYTES (the probe's 85 MB header took 2.25 GB). A smaller bound
    keeps the test fast; the proportion is what is checked."""
    monkeypatch.setattr(serialization, "MAX_HEADER_BYTES", 2**19)
    entry = {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]}
    count = serialization.MAX_HEADER_BYTES // len(json.dumps({"a00000": entry}))
    header = {"__metadata__": {"format": "chainrule", "version": "1", "structure": "null",
                               "checksum": "0" * 64}, **{f"a{i}": entry for i in range(count)}}
    text = json.dumps(header, separators=(",", ":")).encode()
    assert 0.8 < len(text) / serialization.MAX_HEADER_BYTES <= 1
    path = tmp_path / "worst"
    path.write_bytes(len(text).to_bytes(8, "little") + text)
    error, peak = _peak_traced(lambda: pytest.raises(LoadError, load, path))
    assert "worst: checksum mismatch" in str(error.value)
    assert peak < 20 * serialization.MAX_HEADER_BYTES
