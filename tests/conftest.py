"""Shared fixtures: a seeded NumPy generator per test."""

import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


def pytest_terminal_summary(terminalreporter) -> None:
    """``make test`` ends with the PyTorch API coverage figure (tests/compat/coverage.py)."""
    try:
        import torch  # noqa: F401
    except ImportError:
        return
    from tests.compat.coverage import report, summary

    terminalreporter.write_line(summary(report()))
