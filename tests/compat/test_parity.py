"""Parity with PyTorch's API over the curated names (``chainrule._torch_names``).

Every curated name exists in torch; every name chainrule has accepts PyTorch's calls (same
parameter names, defaults and keyword-only markers), except the differences recorded in
``gaps.py`` (which must stay true: a fixed gap fails until it is struck off). Names chainrule
lacks are not failures: they are counted in the coverage figure ``make test`` prints.
"""

from __future__ import annotations

import pytest

import chainrule as cr  # noqa: I001  (after the oracle, which skips without torch)
from chainrule._torch_names import GROUPS, OUT_OF_SCOPE, full_names
from tests.oracle import torch

from .coverage import _MISSING, check, report, resolve, summary
from .gaps import SIGNATURE_GAPS
from .signatures import DOC_ERRATA


def test_curated_names_are_unique_and_disjoint_from_out_of_scope():
    names = full_names()
    assert len(names) == len(set(names))
    assert not set(names) & set(OUT_OF_SCOPE)
    assert sum(len(n) for _, n in GROUPS.values()) >= 500


@pytest.mark.parametrize("path", full_names())
def test_name_exists_in_torch(path):
    assert resolve(torch, path) is not _MISSING, f"torch.{path} is not a PyTorch name"


@pytest.mark.parametrize("path", sorted(OUT_OF_SCOPE))
def test_out_of_scope_names_exist_in_torch(path):
    import importlib

    head = path.split(".")[0]
    if head in ("jit", "onnx", "fx", "ao", "quantization", "amp", "backends", "distributed"):
        importlib.import_module(f"torch.{path}")
    else:
        assert resolve(torch, path) is not _MISSING


@pytest.mark.parametrize("path", [p for p in full_names()])
def test_signature_accepts_torch_calls(path):
    entry = check(path, torch, cr)
    if not entry.present:
        return  # counted as missing in the coverage figure, not a failure
    if path in SIGNATURE_GAPS:
        assert entry.differences, f"{path} now accepts torch's calls: strike it from gaps.py"
    else:
        assert not entry.differences, f"chainrule.{path}: " + "; ".join(entry.differences)


@pytest.mark.parametrize(("owner", "name", "doc_name"), sorted(DOC_ERRATA))
def test_doc_errata_are_torch_keyword_names(owner, name, doc_name):
    t = torch.ones(2, 2)
    args = {"mul": 2.0, "div": 2.0, "mul_": 2.0, "div_": 2.0, "matmul": t, "type_as": t,
            "where": t}
    if owner == "torch":  # true_divide(input, other): both named
        assert torch.true_divide(input=t, other=t).tolist() == [[1.0, 1.0], [1.0, 1.0]]
        return
    call = getattr(t.clone(), name)
    kw = {DOC_ERRATA[(owner, name, doc_name)]: args[name]}
    if name == "where":
        call(t > 0, **kw)
    else:
        call(**kw)


def test_coverage_summary_counts_names():
    line = summary(report())
    assert line.startswith("PyTorch API coverage: ")
    assert f"/{len(full_names())} names" in line


def test_missing_name_error_names_torch():
    with pytest.raises(AttributeError,
                       match=r"chainrule does not implement torch\.nn\.Bilinear"):
        cr.nn.Bilinear  # noqa: B018
    with pytest.raises(AttributeError, match="no attribute 'not_a_torch_name'"):
        cr.not_a_torch_name  # noqa: B018
    with pytest.raises(AttributeError, match="torch.jit: .*TorchScript"):
        cr.jit  # noqa: B018
