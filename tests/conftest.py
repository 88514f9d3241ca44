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
