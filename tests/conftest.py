"""Shared fixtures (a seeded NumPy generator per test) and the ``slow`` marker.

Slow end-to-end tests (a real browser, MPI jobs, whole training runs) run by default, as in CI;
``pytest --skip-slow`` leaves them out locally.
"""

import numpy as np
import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--skip-slow", action="store_true",
                     help="leave out the tests marked slow (CI runs them)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: a slow end-to-end test (skipped by --skip-slow)")


def pytest_collection_modifyitems(config: pytest.Config, items: list) -> None:
    if not config.getoption("--skip-slow"):
        return
    skip = pytest.mark.skip(reason="slow: left out by --skip-slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)
