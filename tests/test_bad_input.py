"""Issue 16: bad input a new user could type (names, numbers, configs, sizes, paths): one line, exit 2.

Every row runs the command line in-process and must fail *before any computation* with exactly one
line ``mimflow: error: ...`` on stderr (containing the fragment, when one is given) and exit status 2.
"""

from __future__ import annotations

import pytest

from helpers import run_cli

HUGE = "1" + "0" * 1000

BAD = [
    # names
    (["hermite", "relux"], "unknown link"),
    (["hermite", "Relu2"], "unknown link"),
    (["hermite", ""], "empty"),
    (["hermite", "h9999(z)"], "above the maximum"),
    (["hermite", "foo(z)"], "unknown function"),
    (["hermite", "z.real"], "not allowed"),
    (["hermite", "__import__('os')"], "cannot parse"),
    (["hermite", "lambda z: z"], "cannot parse"),
    (["hermite", "(z:=1)"], "cannot parse"),
    (["hermite", "z[0]"], "not allowed"),
    (["hermite", "'z'"], "not a real number"),
    (["hermite", "z1 + z"], "mixes z"),
    (["hermite", "z17"], "out of range"),
    (["hermite", "z0"], "out of range"),
    (["hermite", "relu"  + "(" * 300 + "z" + ")" * 300], "cannot parse"),
    (["hermite", "z" * 3000], None),
    (["hermite", "z+" * 1500 + "z"], "longer than"),
    (["hermite", "relu", "--method", "magic"], "method"),
    (["exponents", "nope"], "unknown link"),
    (["flow", "nope"], "unknown link"),
    (["flow", "h2", "--algorithm", "sgd"], "algorithm"),
    (["train", "h2", "--engine", "fast"], "engine"),
    (["sweep", "flw", "--out", "x"], "unknown run command"),
    (["reproduce", "no-such-figure"], None),
    # numbers
    (["hermite", f"z*{HUGE}"], "too large"),
    (["hermite", "z*1e400"], "finite"),
    (["hermite", "z**-1"], "pole"),
    (["hermite", "z**-2"], "pole"),
    (["hermite", "1/z"], "pole"),
    (["hermite", "(z-1)**-1"], "pole"),
    (["hermite", "exp(z**2)"], "grows too fast"),
    (["hermite", "exp(0.26*z**2)"], "grows too fast"),
    (["hermite", "relu(z", "--json"], "cannot parse"),
    (["hermite", "relu(z, z)"], "exactly one argument"),
    (["hermite", "relu()"], "exactly one argument"),
    (["hermite", "relu", "--degree", "abc"], None),
    (["hermite", "relu", "-K", "2.5"], None),
    (["exponents", "relu", "--degree", "-3"], None),
    (["flow", "h2", "--d", "9" * 40], "too large"),
    (["flow", "h2", "--d", HUGE], "too large"),
    (["flow", "h2", "--d", "[1,2]"], None),
    (["flow", "h2", "--seeds", "2.5"], None),
    (["flow", "h2", "--ridge", "1e400"], None),
    (["flow", "h2", "--ridge", "abc"], None),
    (["flow", "h2", "--set", "d=[]"], None),
    (["flow", "h2", "--set", "a.b=1"], "unknown key"),
    (["flow", "h2", "--degree", "41"], None),
    (["flow", "h2", "--t-max", "nan"], None),
    (["train", "h2", "--d", "1"], None),
    (["train", "h2", "--batch", "0"], None),
    (["train", "h2", "--lr", "nan"], None),
    (["train", "h2", "--algorithm", "adam"], None),
    (["train", "h2", "--n-samples", "4"], "--engine full"),
    (["train", "h2", "--save-grid", "cubic"], None),
    (["train", "h2", "--steps", "1e20"], None),
    (["neurons", "h3", "--k", "0"], None),
    (["neurons", "h3", "--n", "0"], None),
    (["neurons", "h3", "--beta", "1"], None),
    (["neurons", "nope"], "unknown link"),
    (["neurons", "h3", "--gram", "/nonexistent.csv"], None),
    (["dmft", "z**2", "--loss", "hinge"], None),
    (["dmft", "z**2", "--init", "cold"], None),
    (["dmft", "z**2", "--batches", "1"], None),
    (["dmft", "z**2", "--paths", "1001", "--batches", "2"], "multiple"),
    (["dmft", "z**2", "--clip", "0"], None),
    (["spectral", "z**2", "--preprocess", "bogus"], None),
    (["spectral", "z**2", "--dtype", "float16"], None),
    (["spectral", "z**2", "--noise", "-1"], None),
    (["hermite-mc", "relu", "--degree", "41"], None),
    (["hermite-mc", "relu", "--seeds", "0"], None),
    (["sweep", "flow", "h2", "--d", "100", "--out", "x", "--batch", "0"], None),
    (["sweep", "flow", "h2", "--d", "100", "--out", "x", "--cluster-option", "junk"], None),
    (["results", "frobnicate", "x"], None),
    (["nonsense"], None),
    (["reproduce", "spectral-overlap", "--quick", "--out", "/proc/x"], None),
    (["demo", "--quick", "--out", "/proc/x"], None),
    (["hermite", "relu", "--degree", "-1"], None),
    (["hermite", "relu", "--degree", "1000"], None),
    (["flow", "h2", "--d", "0"], "d must be"),
    (["flow", "h2", "--d", "-5"], "d must be"),
    (["flow", "h2", "--d", "1.5"], None),
    (["flow", "h2", "--d", "abc"], None),
    (["flow", "h2", "--d", "100,100"], "distinct"),
    (["flow", "h2", "--seeds", "0"], "seed count"),
    (["flow", "h2", "--seeds", "-1"], "seed count"),
    (["flow", "h2", "--seeds", "1,1"], "distinct"),
    (["flow", "h2", "--seeds", "0,-1"], "between 0"),
    (["flow", "h2", "--seeds", HUGE], None),
    (["flow", "h2", "--ridge", "-1"], "ridge"),
    (["flow", "h2", "--ridge", "nan"], None),
    (["flow", "h2", "--ridge", "inf"], None),
    (["flow", "h2", "--ridge", "true"], "boolean"),
    (["flow", "h2", "--set", "ridge=true"], "boolean"),
    (["flow", "h2", "--set", "d=false"], "boolean"),
    (["flow", "h2", "--set", "seeds=[true]"], "boolean"),
    (["flow", "h2", "--threshold", "1.5"], "threshold"),
    (["flow", "h2", "--rtol", "0"], "rtol"),
    (["flow", "h2", "--t-max", "-1"], "t_max"),
    (["flow", "h2", "--n-save", "1"], "n_save"),
    (["flow", "h2", "--rank", "0"], "rank"),
    (["flow", "h2(z1)*h2(z2)*h2(z3)*h2(z4)*h2(z5)"], "r <= 4"),
    (["train", "h2", "--lr", "0"], "lr"),
    (["train", "h2", "--steps", "0"], "steps"),
    (["train", "h2", "--steps", HUGE], None),
    (["train", "h2", "--noise", "-1"], "noise"),
    (["dmft", "z**2", "--alpha", "0"], "alpha"),
    (["dmft", "z**2", "--steps", "100000"], "steps"),
    (["dmft", "z**2", "--paths", "10"], "paths"),
    (["spectral", "z**2", "--alpha", "-1"], None),
    (["spectral", "z**2", "--d", "1"], None),
    (["hermite-mc", "relu", "--n", "1"], None),
    (["hermite-mc", "relu", "--n", "100,1000"], "mimflow sweep"),
    # configs
    (["flow", "h2", "--set", "ridg=0.1"], "did you mean 'ridge'"),
    (["flow", "h2", "--set", "ridge"], "KEY=VALUE"),
    (["flow", "h2", "--config", "/nonexistent/x.toml"], "not found"),
    (["flow", "h2", "--bogus", "1"], None),
    (["sweep", "flow", "h2", "--bogus", "1", "--out", "x"], "unknown option"),
    (["sweep", "flow", "h2", "--d", "100,100", "--out", "x"], None),
    (["sweep", "flow", "h2", "--d", "100"], "--out"),
    (["sweep", "flow", "h2", "--out", "x", "--local", "-1"], None),
    (["sweep", "flow", "h2", "--out", "x", "--slurm", "1", "--pbs", "1"], "only one"),
    (["sweep", "/nonexistent/sweep.toml", "--out", "x"], "not found"),
    (["results", "list", "/nonexistent/store"], "does not exist"),
    (["results", "verify", "/nonexistent/store"], "does not exist"),
    (["results", "export", "/nonexistent/store", "--to", "x.csv"], None),
    # sizes (refused from the memory they need, before any work)
    (["dmft", "z**2", "--paths", "1000", "--batches", "2", "--steps", "5", "--simulate", "1000000", "--seeds", "1"],
     "of memory"),
    (["dmft", "z**2", "--paths", "10000000", "--steps", "2000"], "of memory"),
    (["neurons", "h3", "--k", "2", "--n", "1000000000"], "of memory"),
    (["train", "h2", "--engine", "full", "--d", "10000000"], "of memory"),
    (["train", "h2", "--fit-batch", "1000000000000"], "of memory"),
    (["spectral", "z**2", "--alpha", "4", "--d", "100000"], "of memory"),
]


def _paths(tmp_path):
    (tmp_path / "afile").write_text("x")
    return [
        (["flow", "h2", "--out", str(tmp_path / "afile")], "is a file"),
        (["flow", "h2", "--out", str(tmp_path / "afile" / "sub")], "is a file"),
        (["flow", "h2", "--plot", str(tmp_path / "x.jpgx")], "unknown format"),
        (["flow", "h2", "--plot", str(tmp_path / "afile" / "x.png")], "is a file"),
        (["sweep", "flow", "h2", "--d", "100,200", "--out", str(tmp_path / "afile")], "is a file"),
        (["results", "export", str(tmp_path), "--to", str(tmp_path / "x.xlsx")], "must end in"),
        (["results", "export", str(tmp_path), "--to", str(tmp_path / "afile" / "x.csv")], "is a file"),
    ]


def _check(capsys, args, fragment):
    code, out, err = run_cli(capsys, *args)
    assert code == 2, (args, code, err[-400:])
    assert err.startswith("mimflow: error:") and err.count("\n") == 1, (args, err[-400:])
    if fragment is not None:
        assert fragment in err, (args, err)


@pytest.mark.parametrize("args, fragment", BAD, ids=[" ".join(a)[:60] for a, _ in BAD])
def test_bad_input_is_one_line_with_exit_2(capsys, tmp_path, monkeypatch, args, fragment):
    monkeypatch.chdir(tmp_path)  # relative --out folders land here (and are refused before creation)
    _check(capsys, args, fragment)


def test_bad_output_paths_are_one_line_with_exit_2(capsys, tmp_path):
    for args, fragment in _paths(tmp_path):
        _check(capsys, args, fragment)
