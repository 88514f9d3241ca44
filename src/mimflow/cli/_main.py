"""Entry point: runs the typer app and turns every user mistake into one line on stderr.

Exit status 0 on success, 2 on a user mistake (bad link, bad option, bad value); a user
mistake never prints a traceback. Genuine bugs still raise, so they can be reported.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Optional

import typer

from mimflow import runs  # a lazy package: each name imports its module on first use
from mimflow._errors import MimflowError
from mimflow._lazy_exports import lazy_module
from mimflow.cli._lazy import LazyRunGroup, add_lazy_run_command
from mimflow.cli._sweep import SWEEP_CONTEXT, results_app
from mimflow.cli._sweep import sweep as _sweep_command

try:  # typer >= 0.20 vendors its own click, with Abort/Exit in typer.exceptions
    from typer._click.exceptions import ClickException  # type: ignore[import-not-found]
    from typer.exceptions import Abort, Exit  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - older typer raises the click package's classes
    from click.exceptions import Abort, ClickException, Exit

# Imported on first use, so that `mimflow --help` imports none of them (tests/test_startup.py):
# rich (tables, progress bars), the studies (they load JAX) and the plots (matplotlib).
np = lazy_module("numpy")
rich_console = lazy_module("rich.console")
rich_progress = lazy_module("rich.progress")
rich_table = lazy_module("rich.table")
hermite_study = lazy_module("mimflow.studies.hermite")
flow_study = lazy_module("mimflow.studies.flow")
plotting = lazy_module("mimflow.plotting")

app = typer.Typer(
    cls=LazyRunGroup,  # run commands are built on first use: `mimflow --help` imports none of them
    name="mimflow",
    help="Gradient-based learning of Gaussian single- and multi-index models: Hermite toolkit, "
    "exponents, population dynamics, training and theory.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

DEFAULT_OUT = Path("mimflow_output")


def _print_json(data) -> None:
    sys.stdout.write(json.dumps(runs.to_jsonable(data)) + "\n")


def _console():
    return rich_console.Console(stderr=False)


@app.command()
def hermite(
    link: str = typer.Argument(..., help="a link: a name (relu, he3, ...), an expression in z or z1..zr"),
    degree: Optional[int] = typer.Option(None, "--degree", "-K", help="truncation degree K (default 20 for r=1, 10/8/6 for r=2/3/4)"),
    method: str = typer.Option("auto", help="auto | closed-form | quadrature (r = 1); auto | separable | quadrature (r > 1)"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object on stdout"),
    plot: Optional[Path] = typer.Option(None, "--plot", help="write a figure of the spectrum to FILE (.png/.pdf/.svg)"),
):
    """Hermite coefficients, truncation tail and information exponent of LINK."""
    if plot is not None:
        runs.check_plot_path(plot)  # before any work
    report = hermite_study.hermite_report(link, degree, method=method)
    if plot is not None:
        _plot_spectrum(report, plot)
    if as_json:
        _print_json(report)
        return
    console = _console()
    table = rich_table.Table(title=f"Hermite coefficients of {report['link']}  (r = {report['r']}, {report['method']})")
    if report["r"] == 1:
        table.add_column("k", justify="right")
        table.add_column("c_k = E[f(z) h_k(z)]", justify="right")
        for k, c in enumerate(report["coefficients"]):
            table.add_row(str(k), f"{c: .12g}" if abs(c) > 1e-15 else "[dim]0[/dim]")
    else:
        table.add_column("beta", justify="left")
        table.add_column("alpha_beta = E[f(z) H_beta(z)]", justify="right")
        shown = [c for c in report["coefficients"] if abs(c["value"]) > 1e-12]
        for c in shown:
            table.add_row(str(tuple(c["beta"])), f"{c['value']: .12g}")
        table.caption = f"{len(shown)} non-zero of {len(report['coefficients'])} multi-indices with |beta| <= {report['degree']}"
    console.print(table)
    console.print(
        f"||f||^2 = {report['norm2']:.12g}   tail above degree {report['degree']} = {report['tail']:.3e}   "
        f"information exponent = {report['information_exponent']}"
    )
    if plot is not None:
        console.print(f"figure: {plot}")


def _plot_spectrum(report, path: Path) -> None:
    if report["r"] == 1:
        energy = np.asarray(report["coefficients"]) ** 2
    else:
        energy = np.zeros(report["degree"] + 1)
        for c in report["coefficients"]:
            energy[sum(c["beta"])] += c["value"] ** 2
    fig, axes = plotting.new_figure()
    plotting.plot_energy_by_degree(axes[0, 0], {report["link"]: energy},
                                   title=f"tail {report['tail']:.2e}, information exponent {report['information_exponent']}")
    runs.atomic_savefig(fig, path)


@app.command()
def exponents(
    link: str = typer.Argument(..., help="a link: a name or an expression in z or z1..zr"),
    degree: Optional[int] = typer.Option(None, "--degree", "-K", help="truncation degree of the spectrum used"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object on stdout"),
):
    """Information, generative (one variable), leap exponents and the saddle sequence of LINK."""
    report = hermite_study.exponents_report(link, degree)
    for warning in report["warnings"]:
        sys.stderr.write(f"warning: {warning}\n")
    if as_json:
        _print_json(report)
        return
    console = _console()
    table = rich_table.Table(title=f"Exponents of {report['link']}  (r = {report['r']}, spectrum to degree {report['degree']})")
    table.add_column("quantity")
    table.add_column("value", justify="right")
    for key, label in [
        ("information_exponent", "information exponent"),
        ("generative_exponent", "generative exponent"),
        ("leap_exponent", "leap exponent (given coordinates)"),
        ("rotation_invariant_leap", "largest saddle exponent"),
    ]:
        value = report[key]
        table.add_row(label, "–" if value is None else str(value))
    console.print(table)
    saddles = rich_table.Table(title="saddles of the two-timescale flow")
    saddles.add_column("#", justify="right")
    saddles.add_column("new directions", justify="right")
    saddles.add_column("exponent s", justify="right")
    saddles.add_column("escape time", justify="right")
    for i, s in enumerate(report["saddles"], 1):
        saddles.add_row(str(i), str(s["directions"]), str(s["exponent"]), s["escape_time_scaling"])
    console.print(saddles)


@app.command()
def demo(
    out: Path = typer.Option(DEFAULT_OUT / "demo", "--out", help="output folder"),
    quick: bool = typer.Option(False, "--quick", help="fewer dimensions and seeds (faster)"),
):
    """The headline result: saddle-to-saddle dynamics against the theory (a figure, JSON and netCDF under --out)."""
    runs.check_out_dir(out)  # before any work
    console = _console()
    with rich_progress.Progress(console=console, transient=True) as progress:
        task = progress.add_task("two-timescale flows for every d and seed", total=1.0)
        headline = flow_study.saddles_headline(out, quick=quick, progress=lambda f: progress.update(task, completed=f))
    table = rich_table.Table(title=f"saddle-to-saddle dynamics of f* = {headline['link']} (two-timescale flow, "
                        f"{headline['seeds']} seeds per d)")
    table.add_column("saddle")
    table.add_column("new dirs", justify="right")
    table.add_column("s", justify="right")
    d_big = str(headline["d"][-1])
    table.add_column(f"median escape (d={d_big}) [95 % CI]", justify="right")
    table.add_column(f"predicted median [10-90 %]", justify="right")
    table.add_column("slope vs d: fitted +- SE (theory)", justify="right")
    for k, saddle in enumerate(headline["saddles"]):
        table.add_row(str(k + 1), str(saddle["directions"]), str(saddle["exponent"]),
                      _median_cell(headline, d_big, k), _band_cell(headline, d_big, k),
                      (headline.get("escape_time_slopes") or [{}] * (k + 1))[k].get("text", "-"))
    console.print(table)
    _print_claims(console, headline.get("claims", []))
    for warning in headline.get("warnings", []):
        console.print(f"[yellow]warning:[/yellow] {warning}")
    console.print(f"wrote {len(headline['files'])} files in {headline['seconds']:.1f} s to [bold]{out}[/bold]:")
    for path in headline["files"]:
        console.print(f"  {path}")


def _median_cell(headline, d: str, k: int) -> str:
    med = headline["median_escape_times"][d][k]
    lo, hi = headline["median_escape_times_ci95"][d][k]
    if med is None:
        return f"> {lo:.3g} (censored)" if lo is not None else "-"
    return f"{med:.3g} [{lo:.3g}, {'open' if hi is None else f'{hi:.3g}'}]"


def _band_cell(headline, d: str, k: int) -> str:
    q = headline.get("predicted_escape_time_quantiles", {}).get(d)
    if q is None or q["0.5"][k] is None:
        return "-"
    return f"{q['0.5'][k]:.3g} [{q['0.1'][k]:.3g}, {q['0.9'][k]:.3g}]"


def _print_claims(console, claims) -> None:
    """One line per claim: verdict, measured [CI] vs predicted."""
    for c in claims:
        ci = c.get("measured_ci95")
        measured = "-" if c.get("measured") is None else f"{c['measured']:.4g}"
        interval = "" if not ci else f" [{ci[0]:.4g}, {'open' if ci[1] is None else f'{ci[1]:.4g}'}]"
        predicted = "-" if c.get("predicted") is None else f"{c['predicted']:.4g}"
        verdict = "[green]holds[/green]" if c["holds"] else "[red]does not hold[/red]"
        console.print(f"{verdict}: {c['claim']} -- measured {measured}{interval}, predicted {predicted}")


@app.command()
def reproduce(
    name: Optional[str] = typer.Argument(None, help="a registered reproduction (omit to list them)"),
    quick: bool = typer.Option(False, "--quick", help="a fast, smaller version"),
    out: Path = typer.Option(DEFAULT_OUT, "--out", help="output folder (the reproduction writes into OUT/NAME)"),
    run_all: bool = typer.Option(False, "--all", help="run every reproduction and print one table of claims and verdicts"),
    as_json: bool = typer.Option(False, "--json", help="print the claims (and written files) as one JSON object"),
):
    """Reproduce a named figure with its data and check the paper's claim, or list the registry.

    Every reproduction checks stated claims (theorem, scaling law, threshold): each prints the
    measured value with its 95 % CI beside the prediction and a verdict (docs/math/statistics.md).
    Exit status 1 when a claim does not hold.
    """
    console = _console()
    if name is None and not run_all:
        for rep in runs.list_reproductions():
            console.print(f"[bold]{rep.name}[/bold]  {rep.description}")
        return
    if name is not None and run_all:
        raise MimflowError("give a reproduction NAME or --all, not both")
    names = [rep.name for rep in runs.list_reproductions()] if run_all else [name]
    runs.check_out_dir(out)  # before any work
    report = {}
    for rep_name in names:
        start = time.perf_counter()
        paths = runs.reproduce(rep_name, out, quick=quick)
        claims = runs.read_claims(Path(out) / rep_name)
        report[rep_name] = {"files": [str(p) for p in paths], "claims": claims,
                            "seconds": time.perf_counter() - start}
        if not as_json:
            console.print(f"reproduction {rep_name} ({report[rep_name]['seconds']:.0f} s): wrote")
            for path in paths:
                console.print(f"  {path}")
            if not run_all:
                _print_claims(console, claims)
    failed = sum(not c["holds"] for r in report.values() for c in r["claims"])
    checked = sum(len(r["claims"]) for r in report.values())
    if as_json:
        _print_json({"reproductions": report, "claims_checked": checked, "claims_failed": failed})
    elif run_all:
        _claims_table(console, report)
    if failed:
        raise typer.Exit(1)


def _claims_table(console, report) -> None:
    table = rich_table.Table(title="claims checked by the reproductions (measured with its 95 % CI vs predicted)")
    for col, justify in (("reproduction", "left"), ("claim", "left"), ("measured [95 % CI]", "right"),
                         ("predicted", "right"), ("verdict", "left")):
        table.add_column(col, justify=justify)
    for rep_name, rep in report.items():
        if not rep["claims"]:
            table.add_row(rep_name, "(no claim: a figure only)", "-", "-", "-")
        for c in rep["claims"]:
            ci = c.get("measured_ci95")
            measured = "-" if c.get("measured") is None else f"{c['measured']:.4g}"
            if ci:
                measured += f" [{ci[0]:.3g}, {'open' if ci[1] is None else f'{ci[1]:.3g}'}]"
            table.add_row(rep_name, c["claim"], measured, "-" if c.get("predicted") is None else f"{c['predicted']:.4g}",
                          "[green]holds[/green]" if c["holds"] else "[red]does not hold[/red]")
    console.print(table)
    checked = sum(len(rep["claims"]) for rep in report.values())
    failed = sum(not c["holds"] for rep in report.values() for c in rep["claims"])
    console.print(f"{checked - failed} of {checked} claims hold. Each verdict is a 95 % check (a family of claims of "
                  "one kind at the Bonferroni level), so a right theory fails about 1 check in 20 by chance: a "
                  "failure is a prompt to read its note and details, not a proof (docs/math/statistics.md §8.5).")


# Run commands (issue 3): each is generated from its pydantic config model (cli/_runs.py).
# Every run command of the catalogue (runs/_catalogue.py), built on first use (cli/_lazy.py); `mimflow neurons
# beta-c ...` / `mimflow neurons phase-diagram ...` are routed to the hidden neurons-* commands by main().
for _entry in runs.RUN_COMMANDS:
    add_lazy_run_command(app, _entry.name, _entry.description, hidden=_entry.hidden)
NEURONS_SUBCOMMANDS = ("beta-c", "phase-diagram")
app.command("sweep", context_settings=SWEEP_CONTEXT)(_sweep_command)
app.add_typer(results_app, name="results")


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    command = typer.main.get_command(app)
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) >= 2 and args[0] == "neurons" and args[1] in NEURONS_SUBCOMMANDS:
        argv = [f"neurons-{args[1]}"] + args[2:]  # `mimflow neurons beta-c` -> hidden `neurons-beta-c`
    try:
        result = command.main(args=argv, prog_name="mimflow", standalone_mode=False)
    except MimflowError as exc:
        _fail(str(exc))
    except Abort:
        _fail("aborted")
    except ClickException as exc:  # usage errors: unknown option, missing argument, bad type
        _fail(" ".join(exc.format_message().split()))
    except Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        _fail("interrupted")
    except Exception as exc:  # out of memory in the backend: one line, not a traceback
        message = runs.out_of_memory_message(exc)
        if message is None:
            raise
        _fail(message)
    else:
        if isinstance(result, int) and result:
            sys.exit(result)


def _fail(message: str) -> None:
    sys.stderr.write(f"mimflow: error: {message.strip()}\n")
    sys.exit(2)
