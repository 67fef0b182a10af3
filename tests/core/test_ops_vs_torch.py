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
