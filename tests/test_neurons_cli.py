"""`mimflow neurons` command line: JSON keys, sub-commands, plots, store, bad input (docs/math/neurons.md §2)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers import run_cli


def test_neurons_json_keys_and_consistency(capsys):
    code, out, err = run_cli(capsys, "neurons", "h3", "--k", "3", "--n", "6", "--d", "2000", "--seeds", "4",
                             "--n-save", "0", "--json")
    assert code == 0, err
    data = json.loads(out)
    for key in ("recovered_all_fraction", "predicted_recovered_all_probability", "escape_times", "runs", "beta_c",
                "median_escape_times", "median_escape_times_ci95", "median_censored", "censored_fraction", "horizon",
                "counted_runs", "never_escaping", "network_escape_times", "predicted_escape_time_quantiles",
                "recovered_all_ci95", "warnings"):
        assert key in data, key
    assert len(data["runs"]) == 4 and len(data["escape_times"]) == 4
    for run in data["runs"]:
        assert len(run["reached"]) == 6
        assert all(j is None or 1 <= j <= 3 for j in run["reached"])
        assert run["recovered_all"] == (set(j for j in run["reached"] if j) == {1, 2, 3})
    assert data["recovered_all_fraction"] == np.mean([r["recovered_all"] for r in data["runs"]])
    assert data["nearest_index_rule_agreement"] == 1.0
    assert data["beta_c"] == pytest.approx(1 / 4)
    assert 0 < data["predicted_recovered_all_probability"] < 1


def test_neurons_beta_c_subcommand(capsys):
    code, out, err = run_cli(capsys, "neurons", "beta-c", "h4", "--k", "3", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["beta_c"] == pytest.approx(2 / 5, abs=1e-12)
    assert data["closed_form"] == pytest.approx(2 / 5)


def test_neurons_phase_diagram_and_plots(capsys, tmp_path):
    fig = tmp_path / "phase.png"
    code, out, err = run_cli(capsys, "neurons", "phase-diagram", "h3", "--k", "3", "--beta", "0.0,0.5",
                             "--d", "500", "--seeds", "2", "--n", "16", "--plot", str(fig), "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["beta_c"]["3"] == pytest.approx(1 / 4)
    assert fig.stat().st_size > 10_000
    # below beta_c neurons reach index vectors; far above it they go to the average
    assert data["fractions"]["3"]["0"]["index vector"] > 0.8
    assert data["fractions"]["3"]["0.5"]["average"] > 0.5
    fig2 = tmp_path / "neurons.png"
    code, out, err = run_cli(capsys, "neurons", "h4", "--k", "3", "--n", "4", "--d", "1000", "--seeds", "1",
                             "--plot", str(fig2), "--out", str(tmp_path / "runs"), "--json")
    assert code == 0, err
    assert fig2.stat().st_size > 10_000
    assert json.loads(out)["reused"] is False


def test_neurons_gram_file(capsys, tmp_path):
    Q = np.array([[1.0, 0.1, 0.0], [0.1, 1.0, 0.2], [0.0, 0.2, 1.0]])
    for name in ("q.npy", "q.csv", "q.txt"):
        path = tmp_path / name
        if name.endswith(".npy"):
            np.save(path, Q)
        else:
            np.savetxt(path, Q, delimiter="," if name.endswith(".csv") else " ")
        code, out, err = run_cli(capsys, "neurons", "h4", "--k", "3", "--n", "4", "--d", "1000", "--seeds", "1",
                                 "--gram", str(path), "--n-save", "0", "--json")
        assert code == 0, err
        data = json.loads(out)
        np.testing.assert_allclose(data["gram"], Q)
        assert data["predicted_recovered_all_probability"] is None  # the formula is for orthogonal v_j


@pytest.mark.parametrize("Q,match", [
    ([[1.0, 1.5], [1.5, 1.0]], "positive semi-definite"),
    ([[1.0, 0.0], [0.0, 2.0]], "unit diagonal"),
    ([[1.0, 0.3], [0.1, 1.0]], "symmetric"),
])
def test_bad_gram_file(capsys, tmp_path, Q, match):
    path = tmp_path / "bad.csv"
    np.savetxt(path, np.array(Q), delimiter=",")
    code, out, err = run_cli(capsys, "neurons", "h3", "--k", "2", "--gram", str(path))
    assert code == 2
    assert match in err and "Traceback" not in err


@pytest.mark.parametrize("args,match", [
    (["--k", "0"], "k must be >= 1"),
    (["--n", "0"], "n must be >= 1"),
    (["--beta", "1.0"], "beta must be in [0, 1)"),
    (["--beta", "-0.1"], "beta must be in [0, 1)"),
    (["--gram", "/nonexistent/q.npy"], "not found"),
    (["--student", "h2(z1)*h2(z2)"], "one variable"),
])
def test_bad_input(capsys, args, match):
    code, out, err = run_cli(capsys, "neurons", "h3", *args)
    assert code == 2
    assert match in err and len(err.strip().splitlines()) == 1


def test_bad_input_subcommands(capsys, tmp_path):
    code, _, err = run_cli(capsys, "neurons", "beta-c", "h3", "--k", "1")
    assert code == 2 and "k must be >= 2" in err
    path = tmp_path / "q.txt"
    np.savetxt(path, np.eye(3))
    code, _, err = run_cli(capsys, "neurons", "h3", "--k", "2", "--gram", str(path))
    assert code == 2 and "--k 3" in err


def test_reproductions_registered(capsys):
    from mimflow.runs import list_reproductions

    names = {rep.name for rep in list_reproductions()}
    assert {"search-phase", "coverage", "beta-c"} <= names


def test_neurons_help_mentions_subcommands(capsys):
    code, out, _ = run_cli(capsys, "neurons", "--help")
    assert code == 0 and "beta-c" in out and "phase-diagram" in out


def test_gram_file_contents_enter_the_stored_config(tmp_path):
    """The config holds the matrix read from --gram, so a changed file is a different stored run."""
    from mimflow.runs import get_run_command

    command = get_run_command("neurons")
    path = tmp_path / "q.csv"
    np.savetxt(path, np.array([[1.0, 0.2], [0.2, 1.0]]), delimiter=",")
    first = command.make_config({"k": 2, "gram": str(path)})
    np.savetxt(path, np.array([[1.0, 0.4], [0.4, 1.0]]), delimiter=",")
    second = command.make_config({"k": 2, "gram": str(path)})
    assert first.gram == [[1.0, 0.2], [0.2, 1.0]] and second.gram == [[1.0, 0.4], [0.4, 1.0]]
    assert first != second
