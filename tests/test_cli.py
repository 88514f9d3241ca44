"""The command line: JSON round-trips, one-line errors, demo and reproduce."""

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mimflow.cli import main
from helpers import run_cli

ROOT = Path(__file__).resolve().parents[1]




def test_hermite_json_one_variable(capsys):
    code, out, err = run_cli(capsys, "hermite", "relu", "--degree", "8", "--json")
    assert code == 0, err
    data = json.loads(out)  # exactly one JSON object
    assert set(data) >= {"coefficients", "tail", "information_exponent"}
    assert len(data["coefficients"]) == 9
    assert data["coefficients"][1] == pytest.approx(0.5, abs=1e-15)
    assert data["coefficients"][0] == pytest.approx(1 / math.sqrt(2 * math.pi), abs=1e-15)
    assert data["tail"] == pytest.approx(0.5 - sum(c * c for c in data["coefficients"]), abs=1e-15)
    assert data["information_exponent"] == 1


def test_hermite_json_multivariate(capsys):
    code, out, err = run_cli(capsys, "hermite", "h2(z1) + h3(z2)", "--degree", "4", "--json")
    assert code == 0, err
    data = json.loads(out)
    coeffs = {tuple(c["beta"]): c["value"] for c in data["coefficients"]}
    assert len(coeffs) == math.comb(4 + 2, 2)
    assert coeffs[(2, 0)] == pytest.approx(1, abs=1e-12) and coeffs[(0, 3)] == pytest.approx(1, abs=1e-12)
    assert sum(abs(v) for k, v in coeffs.items() if k not in {(2, 0), (0, 3)}) < 1e-12
    assert data["information_exponent"] == 2
    assert abs(data["tail"]) < 1e-12


def test_exponents_json(capsys):
    code, out, err = run_cli(capsys, "exponents", "h2(z1) + h3(z2)", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["information_exponent"] == 2
    assert data["leap_exponent"] == 3
    assert data["generative_exponent"] is None
    assert data["saddles"] == [
        {"directions": 1, "exponent": 2, "escape_time_scaling": "d^1"},
        {"directions": 1, "exponent": 3, "escape_time_scaling": "d^2"},
    ]


def test_exponents_json_one_variable(capsys):
    code, out, err = run_cli(capsys, "exponents", "he4", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert (data["information_exponent"], data["generative_exponent"], data["leap_exponent"]) == (4, 2, 4)
    assert [(s["directions"], s["exponent"]) for s in data["saddles"]] == [(1, 4)]


def test_human_output(capsys):
    code, out, err = run_cli(capsys, "hermite", "sign", "-K", "5")
    assert code == 0 and "information exponent = 1" in out
    code, out, err = run_cli(capsys, "exponents", "staircase3")
    assert code == 0 and "saddles" in out


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["hermite", "relux"], "known links"),
        (["hermite", "__import__('os')"], "allowed"),
        (["hermite", "relu", "--degree", "-3"], "degree"),
        (["hermite", "relu", "--degree", "abc"], "degree"),
        (["hermite", "relu", "--bogus"], "bogus"),
        (["exponents", "z1*z2*z3*z4*z5"], "r <= 4"),
        (["hermite"], "link"),
        (["reproduce", "nope"], "unknown reproduction"),
        (["frobnicate"], "frobnicate"),
    ],
)
def test_errors_are_one_line(capsys, args, fragment):
    code, out, err = run_cli(capsys, *args)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("mimflow: error:"), err
    assert fragment in err
    assert "Traceback" not in err


def test_console_script_subprocess_error_and_json():
    exe = Path(sys.executable).with_name("mimflow")
    bad = subprocess.run([str(exe), "hermite", "lambda z: z"], capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr
    good = subprocess.run([str(exe), "hermite", "he3", "-K", "4", "--json"], capture_output=True, text=True)
    assert good.returncode == 0
    assert json.loads(good.stdout)["coefficients"][3] == pytest.approx(math.sqrt(6))


def test_hermite_plot(tmp_path, capsys):
    path = tmp_path / "spec.png"
    code, out, err = run_cli(capsys, "hermite", "abs", "--plot", str(path), "--json")
    assert code == 0, err and path.stat().st_size > 1000


@pytest.mark.slow(ci=True)
def test_demo_runs_and_writes_figure_and_json(tmp_path, capsys):
    code, out, err = run_cli(capsys, "demo", "--quick", "--out", str(tmp_path / "demo"))
    assert code == 0, err
    assert str(tmp_path / "demo") in out.replace("\n", "")
    data = json.loads((tmp_path / "demo" / "demo.json").read_text())
    assert (tmp_path / "demo" / "demo.png").stat().st_size > 10_000
    assert [s["exponent"] for s in data["saddles"]] == [1, 2, 3]
    slopes = {s["saddle"]: s for s in data["escape_time_slopes"]}
    # escape time ~ d^(s-1): every fitted slope within 3 bootstrap SEs of the theory's slope over the
    # same d; the s = 2 saddle's SE is small enough at d = 300..3000 with 16 seeds to pin it
    for slope in slopes.values():
        assert abs(slope["fitted"] - slope["predicted"]) < 3 * slope["fitted_se"]
    assert slopes[1]["fitted_se"] < 0.2 and abs(slopes[1]["fitted"] - 1.0) < 3 * slopes[1]["fitted_se"]
    claims = json.loads((tmp_path / "demo" / "claims.json").read_text())
    assert claims and all(c["holds"] for c in claims)
    assert "95 % CI" in out
    import xarray as xr

    with xr.open_dataset(tmp_path / "demo" / "demo.nc") as ds:
        assert set(ds["M"].dims) == {"d", "seed", "t", "i", "j"}


def test_reproduce_prints_claims_and_verdicts(tmp_path, capsys):
    code, out, err = run_cli(capsys, "reproduce", "quadrature-accuracy", "--quick", "--out", str(tmp_path), "--json")
    assert code == 0, err
    report = json.loads(out)
    claims = report["reproductions"]["quadrature-accuracy"]["claims"]
    assert len(claims) == 4 and report["claims_failed"] == 0
    for c in claims:
        assert {"claim", "paper", "predicted", "measured", "measured_ci95", "holds"} <= set(c) and c["holds"]


def test_reproduce_registry(tmp_path, capsys):
    code, out, err = run_cli(capsys, "reproduce")
    assert code == 0 and "hermite-spectra" in out and "quadrature-accuracy" in out and "saddles" in out
    code, out, err = run_cli(capsys, "reproduce", "quadrature-accuracy", "--quick", "--out", str(tmp_path))
    assert code == 0, err
    summary = json.loads((tmp_path / "quadrature-accuracy" / "quadrature_accuracy.json").read_text())
    for name in ("relu", "abs", "sign", "erf"):
        assert summary[name]["max_error_first_20_piecewise"] < 1e-10
    assert summary["relu"]["max_error_first_20_gauss_hermite_200"] > 1e-6


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    lines = [line for line in (ROOT / ".ci" / "run").read_text().splitlines() if "pytest" in line]
    assert len(lines) == 1  # the one test command (the docs build follows it)
    ci = lines[0]
    assert ci in readme
    assert "pytest" in ci


@pytest.mark.slow(ci=True)
def test_readme_python_example_runs():
    """The README's Python example is executed as written (examples are tests)."""
    readme = (ROOT / "README.md").read_text()
    block = readme.split("## In Python")[1].split("```python")[1].split("```")[0]
    namespace: dict = {}
    exec(compile(block, "README.md", "exec"), namespace)  # test code running our own README, not user input
    assert namespace["traj"].M.shape == (64, 200, 2, 2)
