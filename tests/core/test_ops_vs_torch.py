"""Every op of the table against PyTorch: values and gradients, float64 and float32."""

import numpy as np
import pytest

from tests.oracle import compare

from .optable import all_cases

TORCH_CASES = [c for c in all_cases() if c.torch]


@pytest.mark.parametrize("case", TORCH_CASES, ids=str)
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_matches_torch(case, dtype, rng):
    compare(case.program, case.arrays(rng, dtype), dtype=dtype)


@pytest.mark.parametrize("row", [[np.inf, 1.0], [-np.inf, -np.inf], [-np.inf, 1.0], [1e4, -1e4]])
def test_softmax_family_at_infinite_and_huge_logits_matches_torch(row):
    import chainrule as cr
    from tests.oracle import torch

    x = np.array([row])
    with np.errstate(all="ignore"):
        for name in ("softmax", "log_softmax"):
            ours = getattr(cr, name)(cr.tensor(x), 1).numpy()
            theirs = getattr(torch, name)(torch.tensor(x), 1).numpy()
            np.testing.assert_array_equal(ours, theirs)
