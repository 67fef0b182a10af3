"""Shared fixtures: a seeded NumPy generator per test."""

import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


def pytest_addoption(parser) -> None:
    parser.addoption("--skip-slow", action="store_true",
                     help="skip the tests marked slow (end-to-end runs in a real browser)")


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "slow: a slow end-to-end test; --skip-slow skips it")


def pytest_collection_modifyitems(config, items) -> None:
    if config.getoption("--skip-slow"):
        skip = pytest.mark.skip(reason="--skip-slow was given")
        for item in items:
            if "slow" in item.keywords:
                item.add_marker(skip)
