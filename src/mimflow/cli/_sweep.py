"""``mimflow sweep`` and ``mimflow results list|export|verify``: thin wrappers over mimflow.runs (sweeps and the store)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, List, Optional

import typer

from mimflow import runs  # a lazy package: each name imports its module on first use
from mimflow._errors import MimflowError
from mimflow._lazy_exports import lazy_module

rich_console = lazy_module("rich.console")
rich_progress = lazy_module("rich.progress")
rich_table = lazy_module("rich.table")

SWEEP_CONTEXT = {"allow_extra_args": True, "ignore_unknown_options": True}

results_app = typer.Typer(
    name="results",
    help="List, verify and export the runs stored in a results folder.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _parse_cluster_options(entries: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for entry in entries:
        key, eq, value = entry.partition("=")
        if not eq or not key.strip():
            raise MimflowError(f"--cluster-option takes KEY=VALUE (e.g. queue=short), got {entry!r}")
        out[key.strip()] = runs.parse_value(value.strip())
    return out


def sweep(
    target: str = typer.Argument(..., metavar="COMMAND|CONFIG.toml",
                                 help="a run command (hermite-mc, ...) or a sweep TOML with command, config and [grid]"),
    args: Optional[List[str]] = typer.Argument(
        None, metavar="[ARGS]...",
        help="the command's own arguments and options; a comma list (--n 1000,10000) is an axis, one run per "
             "value, except for vmapped fields (seeds, learning rates) where the list goes whole into one run"),
    out: Optional[Path] = typer.Option(None, "--out", metavar="DIR", help="results folder (one sub-folder per run)"),
    local: Optional[int] = typer.Option(None, "--local", metavar="N",
                                        help="LocalCluster with N worker processes (default: one per core; 0: run in this process without Dask)"),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", metavar="ADDRESS",
                                            help="a running Dask scheduler, e.g. tcp://host:8786 (workers must see --out)"),
    slurm: Optional[int] = typer.Option(None, "--slurm", metavar="JOBS", help="run on SLURM through dask-jobqueue with JOBS jobs"),
    pbs: Optional[int] = typer.Option(None, "--pbs", metavar="JOBS", help="run on PBS through dask-jobqueue with JOBS jobs"),
    cluster_option: List[str] = typer.Option([], "--cluster-option", metavar="KEY=VALUE",
                                             help="passed to the dask-jobqueue cluster: queue=..., walltime=..., cores=..., memory=..., account=..."),
    retries: Optional[int] = typer.Option(None, "--retries", min=0, help="retries of a run that crashed (default 2)"),
    batch: Optional[int] = typer.Option(None, "--batch", min=1, help="runs per Dask task (default: at most ~50 tasks per worker)"),
    config: Optional[Path] = typer.Option(None, "--config", metavar="FILE", help="a TOML config of the command (base values)"),
    show_config: bool = typer.Option(False, "--show-config", help="print the sweep as a TOML file (config + [grid]) and exit"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON report on stdout at the end"),
):
    """Run a grid of runs on Dask into --out; rerun the same command to finish an interrupted sweep.

    The command's own options are those of `mimflow COMMAND --help`, e.g.
    `mimflow sweep hermite-mc relu,tanh --n 1000,10000 --seeds 8 --out runs/`.
    """
    settings: dict[str, Any] = {}
    layers: list = []
    axes: dict[str, list] = {}
    if target.endswith(".toml") or (Path(target).is_file() and not target.isidentifier()):
        command, file_base, axes, settings = runs.load_sweep_file(target)
        layers.append(file_base)
    else:
        command = runs.get_run_command(target)
    if config is not None:
        layers.append(runs.load_run_config_file(command, config))
    values, cli_axes = runs.parse_command_args(command, args or [], sweep=True)
    for key in values:
        axes.pop(key, None)  # a single value on the command line fixes a grid axis
    axes.update(cli_axes)
    layers.append(values)

    if show_config:
        base_cfg = command.make_config(*layers)
        text = runs.config_to_toml({"command": command.name, **runs.config_dict(base_cfg), "grid": runs.unflatten(axes),
                               **({"sweep": settings} if settings else {})},
                                   header=f"sweep of {command.name}: mimflow sweep FILE.toml --out DIR")
        sys.stdout.write(text)
        return

    out = out if out is not None else (Path(settings["out"]) if "out" in settings else None)
    if out is None:
        raise MimflowError("pass --out DIR (the results folder), or set out in the [sweep] table of the file")
    runs.check_out_dir(out)  # before any work: a folder that cannot be written costs no computation
    if slurm is not None and pbs is not None:
        raise MimflowError("pass only one of --slurm and --pbs")
    local = local if local is not None else settings.get("local")
    scheduler = scheduler or settings.get("scheduler")
    slurm = slurm if slurm is not None else settings.get("slurm")
    pbs = pbs if pbs is not None else settings.get("pbs")
    chosen = [name for name, v in (("--local", local), ("--scheduler", scheduler), ("--slurm", slurm), ("--pbs", pbs))
              if v is not None]
    if len(chosen) > 1:
        raise MimflowError(f"pass only one of {', '.join(chosen)}")
    jobqueue, jobs = ("slurm", slurm) if slurm is not None else ("pbs", pbs) if pbs is not None else (None, None)
    options = dict(settings.get("cluster_options", {}))
    options.update(_parse_cluster_options(cluster_option))
    retries = retries if retries is not None else int(settings.get("retries", 2))
    batch = batch if batch is not None else settings.get("batch")

    plan = runs.plan_sweep(command.name, *layers, axes=axes)
    with _SweepDisplay(as_json) as display:
        report = runs.run_sweep(plan, out, local=local, scheduler=scheduler, jobqueue=jobqueue, jobs=jobs,
                           cluster_options=options, retries=retries, batch_size=batch, on_event=display.event)
    if as_json:
        sys.stdout.write(json.dumps(runs.to_jsonable(report.to_json())) + "\n")
    if report.failed:
        sys.stderr.write(
            f"mimflow: error: {len(report.failed)} of {report.total} runs failed (errors above and in "
            f"{out}/_failed/); run the same command again to retry only the missing runs\n"
        )
        raise SystemExit(1)  # (typer.Exit is swallowed by main(standalone_mode=False))


class _SweepDisplay:
    """A rich progress bar with ETA; one line per finished or failed run."""

    def __init__(self, as_json: bool):
        self.console = rich_console.Console(stderr=as_json, highlight=False)
        self.err = rich_console.Console(stderr=True, highlight=False)
        self.progress = None
        self.task = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.progress is not None:
            self.progress.stop()
        return False

    def _axes(self, axes: dict) -> str:
        return " ".join(f"{k}={v}" for k, v in axes.items()) or "(single run)"

    def event(self, kind: str, **info) -> None:
        if kind == "plan" and not info["to_run"]:
            self.console.print(f"{info['total']} runs, all already stored: nothing to run")
        elif kind == "plan":
            self.console.print(
                f"{info['total']} runs: {info['already_stored']} already stored, {info['to_run']} to run "
                f"in {info['tasks']} tasks on {info['where']}"
            )
            if info["to_run"]:
                columns = (rich_progress.TextColumn("sweep"), rich_progress.BarColumn(), rich_progress.MofNCompleteColumn(),
                           rich_progress.TimeElapsedColumn(), rich_progress.TextColumn("eta"),
                           rich_progress.TimeRemainingColumn())
                self.progress = rich_progress.Progress(*columns, console=self.console)
                self.progress.start()
                self.task = self.progress.add_task("sweep", total=info["to_run"])
        elif kind == "run":
            scalars = " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                               for k, v in list(info.get("scalars", {}).items())[:3])
            tag = "done" if info["status"] == "computed" else "found"
            self.console.print(f"  {tag} {info['run_id']}  {self._axes(info['axes'])}  {info['seconds']:.2f} s  {scalars}")
            self._advance()
        elif kind == "failed":
            self.err.print(f"  FAILED {info['run_id']}  {self._axes(info['axes'])}: {info['error']}", markup=False)
            self._advance()
        elif kind == "retry":
            self.err.print(f"  retrying {len(info['run_ids'])} run(s) (attempt {info['attempt']}): {info['error']}",
                           markup=False)
        elif kind == "done":
            if self.progress is not None:
                self.progress.stop()
                self.progress = None
            self.console.print(info["report"].closing_line())

    def _advance(self) -> None:
        if self.progress is not None and self.task is not None:
            self.progress.advance(self.task)


@results_app.command("list")
def results_list(
    out_dir: Path = typer.Argument(..., metavar="DIR", help="a results folder (the --out of a sweep)"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object on stdout"),
):
    """Runs in DIR with their axes, status and scalars; corrupt or foreign entries are reported and skipped."""
    listing = runs.list_runs(out_dir)
    if as_json:
        sys.stdout.write(json.dumps(listing.to_json()) + "\n")
        return
    console = rich_console.Console(highlight=False)
    for command in sorted({r.command for r in listing.runs}):
        entries = [r for r in listing.runs if r.command == command]
        axes = listing.axes.get(command, [])
        scalar_keys = list(dict.fromkeys(k for r in entries for k in r.scalars))[:4]
        table = rich_table.Table(title=f"{command}: {len(entries)} runs in {out_dir}")
        table.add_column("run id")
        table.add_column("status")
        for ax in axes:
            table.add_column(ax, justify="right")
        for key in scalar_keys:
            table.add_column(key, justify="right")
        table.add_column("seconds", justify="right")
        for r in entries:
            status = {"complete": "complete", "failed": "[red]failed[/red]", "pending": "[yellow]pending[/yellow]",
                      "damaged": "[red]damaged[/red]", "unverified": "[yellow]unverified[/yellow]",
                      "outdated": "[yellow]outdated[/yellow]"}.get(r.status, r.status)
            row = [r.run_id, status] + [json.dumps(r.axes.get(ax)) if not isinstance(r.axes.get(ax), str)
                                        else r.axes[ax] for ax in axes]
            row += [_fmt(r.scalars.get(k)) for k in scalar_keys]
            row.append("" if r.wall_seconds is None else f"{r.wall_seconds:.2f}")
            table.add_row(*row)
        console.print(table)
        for r in entries:
            if r.status in ("failed", "damaged", "unverified", "outdated"):
                console.print(f"{r.status} {r.run_id}: {r.error}", markup=False)
    if not listing.runs:
        console.print(f"no runs in {out_dir}")
    counts = listing.counts()
    console.print(", ".join(f"{v} {k}" for k, v in sorted(counts.items())) or "0 runs")
    err = rich_console.Console(stderr=True, highlight=False)
    for p in listing.problems:
        err.print(f"warning: {p['path']}: {p['problem']}", markup=False)


def _fmt(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


@results_app.command("export")
def results_export(
    out_dir: Path = typer.Argument(..., metavar="DIR", help="a results folder (the --out of a sweep)"),
    to: Path = typer.Option(..., "--to", metavar="FILE",
                            help="FILE.nc or FILE.zarr: one Dataset over all axes; FILE.csv or FILE.parquet: a table of the scalars"),
    command: Optional[str] = typer.Option(None, "--command", help="which command's runs (when DIR holds several)"),
):
    """Export the good runs of DIR to one file (the format comes from the suffix); damaged runs are named and left out."""
    report = runs.export_runs(out_dir, to, command=command)
    rich_console.Console(highlight=False).print(f"exported {len(report.exported)} runs to {report.path}")
    err = rich_console.Console(stderr=True, highlight=False)
    for s in report.skipped:
        err.print(f"warning: not exported: {s['run_id']} ({s['status']}): {s['reason']}", markup=False)
    for s in report.flagged:
        err.print(f"warning: exported {s['run_id']} ({s['status']}): {s['reason']}", markup=False)


@results_app.command("verify")
def results_verify(
    out_dir: Path = typer.Argument(..., metavar="DIR", help="a results folder (the --out of a sweep)"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object on stdout"),
):
    """Check every stored run of DIR against its manifest (sizes, SHA-256); exit status 1 if any is damaged.

    Damaged runs are recomputed by the next sweep or run command on DIR (the damaged folder is moved
    to DIR/_damaged/). Runs stored before manifests are opened instead and reported as unverified.
    """
    listing = runs.list_runs(out_dir)
    stored = [r for r in listing.runs if r.status in ("complete", "unverified", "outdated", "damaged")]
    bad = [r for r in stored if r.status == "damaged"]
    if as_json:
        sys.stdout.write(json.dumps({"out_dir": str(out_dir), "checked": len(stored), "ok": not bad,
                                     "counts": {k: v for k, v in listing.counts().items() if k not in ("failed", "pending")},
                                     "damaged": [{"run_id": r.run_id, "reason": r.error} for r in bad],
                                     "unverified": [r.run_id for r in stored if r.status == "unverified"],
                                     "outdated": [r.run_id for r in stored if r.status == "outdated"]}) + "\n")
    else:
        console = rich_console.Console(highlight=False)
        for r in stored:
            if r.status != "complete":
                console.print(f"{r.status} {r.run_id}: {r.error}", markup=False)
        counts = ", ".join(f"{sum(1 for r in stored if r.status == k)} {k}" for k in
                           ("complete", "unverified", "outdated", "damaged"))
        console.print(f"checked {len(stored)} runs in {out_dir}: {counts}", markup=False)
    if bad:
        raise SystemExit(1)
