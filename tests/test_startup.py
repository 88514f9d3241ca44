"""Start-up budget of the command line (issue 17): which modules a command imports, not seconds.

``mimflow --help`` and the commands that do not compute must not import JAX, xarray, Dask or
matplotlib (each costs 0.5-1 s on this project's machine: BENCHMARKS.md, "Start-up");
``mimflow hermite`` imports JAX but not the simulation stack (equinox, scipy.optimize/stats,
xarray, Dask, matplotlib). Each case runs in a fresh interpreter, so the test sees exactly what the
command imports.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("jax", "xarray", "dask", "distributed", "matplotlib")

_SCRIPT = """
import contextlib, io, json, sys
import mimflow.cli
from mimflow.cli import main
out = io.StringIO()
code = 0
try:
    with contextlib.redirect_stdout(out):
        main({argv!r})
except SystemExit as exc:
    code = exc.code or 0
print(json.dumps({{"code": code, "out": out.getvalue(), "modules": sorted(sys.modules)}}))
"""


def _run(argv: list[str]) -> dict:
    proc = subprocess.run([sys.executable, "-c", _SCRIPT.format(argv=argv)], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("argv", [["--help"], ["flow", "--help"], ["train", "--help"], ["exponents", "--help"],
                                  ["sweep", "--help"], ["results", "--help"], ["flow", "--show-config"]])
def test_commands_that_do_not_compute_import_no_heavy_module(argv):
    result = _run(argv)
    assert result["code"] == 0
    assert result["out"]  # it printed its help / config
    heavy = [m for m in HEAVY if m in result["modules"]]
    assert heavy == [], f"`mimflow {' '.join(argv)}` imported {heavy}"


def test_help_lists_every_run_command_without_building_it():
    result = _run(["--help"])
    for name in ("hermite-mc", "flow", "train", "neurons", "spectral", "dmft", "sweep", "results"):
        assert f"  {name} " in result["out"]
    assert "neurons-beta-c" not in result["out"]  # hidden
    assert "mimflow.studies.flow._command" not in result["modules"]
    assert "pydantic" not in result["modules"]


def test_hermite_imports_jax_but_not_the_simulation_stack():
    result = _run(["hermite", "relu", "--json"])
    assert result["code"] == 0
    assert json.loads(result["out"])["information_exponent"] == 1
    assert "jax" in result["modules"]
    for name in ("xarray", "dask", "matplotlib", "equinox", "diffrax", "scipy.optimize", "scipy.stats"):
        assert name not in result["modules"], name


def test_lazy_run_command_help_is_the_registered_description():
    from mimflow.cli._lazy import lazy_run_command_help
    from mimflow.cli._main import app
    from mimflow.runs import get_run_command

    helps = lazy_run_command_help(app)
    assert set(helps) >= {"hermite-mc", "flow", "train", "neurons", "spectral", "dmft", "neurons-beta-c"}
    for name, text in helps.items():
        assert text == get_run_command(name).description, name


def test_import_mimflow_is_light_and_turns_on_x64():
    code = ("import sys, mimflow; assert 'jax' not in sys.modules, 'jax imported'; "
            "import jax.numpy as jnp; assert jnp.ones(1).dtype == jnp.float64; "
            "assert mimflow.make_link('relu').name; print('ok')")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr
