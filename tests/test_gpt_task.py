"""The GPT task's machinery (benchmarks/gpt_task.py) on a tiny recipe: both libraries start from
the same weights, read the same batches, report validation losses and generate text."""

from __future__ import annotations

import importlib
import pathlib

import numpy as np

from tests.oracle import torch

BENCHMARKS = pathlib.Path(__file__).resolve().parents[1] / "benchmarks"


def test_gpt_task_trains_both_libraries_alike(monkeypatch):
    threads = torch.get_num_threads()  # skips here when the PyTorch oracle is missing
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    task = importlib.import_module("gpt_task")
    torch.set_num_threads(1)
    try:
        r = task.run(steps=4, width=16, heads=2, layers=1, context=8, batch=4, val_batches=3,
                     sample_chars=12)
    finally:
        torch.set_num_threads(threads)
    ours, theirs = r["chainrule"], r["torch"]
    assert len(ours["losses"]) == len(theirs["losses"]) == 4
    np.testing.assert_allclose(ours["losses"], theirs["losses"], rtol=1e-4)
    assert abs(ours["val_loss"] - theirs["val_loss"]) < 1e-4
    assert ours["val_loss"] < np.log(r["vocab"]) + 0.5  # a loss of this model, not garbage
    for result in (ours, theirs):
        assert len(result["sample"]) == 13 and result["sample"][0] == "d"
        assert set(result["sample"]) <= set(task.corpus())
