"""Strict test configuration: float64 everywhere, rank promotion raises.

Slow tests (long Monte Carlo, property-based) are marked ``@pytest.mark.slow``. By default
only the bounded subset marked ``@pytest.mark.slow(ci=True)`` runs (this is what CI runs);
``pytest --runslow`` runs all of them.
"""

from __future__ import annotations

import jax
import pytest

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_numpy_rank_promotion", "raise")

import mimflow  # noqa: E402,F401


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", default=False, help="run every test marked slow")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --runslow (only slow(ci=True) tests run by default)")
    for item in items:
        marker = item.get_closest_marker("slow")
        if marker is not None and not marker.kwargs.get("ci", False):
            item.add_marker(skip)


@pytest.fixture(autouse=True, scope="module")
def _release_compiled_code():
    """Drop JAX's compiled programs after each test module.

    One pytest process compiles thousands of XLA programs, and each keeps memory mappings for its
    code; without this the full suite reached the kernel's per-process limit of mappings
    (``vm.max_map_count``, 65530 on this machine kind) and segfaulted inside XLA's compiler after
    ~900 tests (2026-12-03, twice at the same test). Within a module the caches are kept.
    """
    yield
    jax.clear_caches()
