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
from chainrule.serialization import load, save

pytest.importorskip("safetensors", reason="safetensors (the io extra) is missing")


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


def test_missing_safetensors_names_the_extra(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "safetensors", None)
    monkeypatch.setitem(sys.modules, "safetensors.numpy", None)
    with pytest.raises(ImportError, match=r"pip install chainrule\[io\]"):
        save({"x": 1}, tmp_path / "x")


def test_map_location():
    with pytest.raises(ValueError, match="CPU only"):
        load("whatever", map_location="cuda")
