"""Typer commands built from run commands (``mimflow hermite-mc``, later ``flow``, ``train``, ...).

``add_run_command(app, "NAME")`` adds ``mimflow NAME [POSITIONAL] [--FIELD VALUE]... [--config FILE]
[--set KEY=VALUE]... [--show-config] [--json] [--out DIR]``: one option per config field (dotted
for nested models, e.g. ``--algorithm.lr``), taken as text and validated by the config model, so
the values, errors and help match ``mimflow sweep NAME ...`` and TOML files exactly. Precedence:
defaults < ``--config`` < ``--set`` < field options.
"""

from __future__ import annotations

import inspect
import json
import sys
from pathlib import Path
from typing import Any, List, Optional

import typer

from mimflow import __version__, runs  # runs: a lazy package (pydantic is imported when a command is built)
from mimflow._errors import MimflowError
from mimflow._lazy_exports import lazy_module

rich_console = lazy_module("rich.console")
rich_progress = lazy_module("rich.progress")
rich_table = lazy_module("rich.table")


def _param_name(key: str) -> str:
    return "f__" + key.replace(".", "__")


def _flag(key: str) -> str:
    return "--" + key.replace("_", "-")


def resolve_cli_config(command, tokens_values: dict[str, str], config_file: Optional[Path], sets: list[str]):
    """The validated config of ``command`` from a file, ``--set`` entries and field options (text)."""
    file_layer = runs.load_run_config_file(command, config_file) if config_file is not None else None
    tokens: list[str] = []
    for entry in sets:
        tokens += ["--set", entry]
    set_values, _ = runs.parse_command_args(command, tokens, sweep=False)
    option_tokens: list[str] = []
    for key, text in tokens_values.items():
        option_tokens.append(f"--{key}={text}")
    option_values, _ = runs.parse_command_args(command, option_tokens, sweep=False)
    return command.make_config(file_layer, set_values, option_values)


def show_config_text(command, config) -> str:
    return runs.config_to_toml(runs.config_dict(config),
                          header=f"{command.name} config (mimflow {__version__}); run it with: "
                                 f"mimflow {command.name} --config FILE")


def add_run_command(app: typer.Typer, name: str, *, hidden: bool = False) -> None:
    """Register ``mimflow NAME`` for the run command ``name`` on ``app`` (``hidden``: not listed in ``--help``)."""
    command = runs.get_run_command(name)
    fields = runs.config_fields(command.config_model)
    params = []
    for key in command.positional:
        spec = fields[key]
        params.append(inspect.Parameter(
            _param_name(key), inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Optional[str],
            default=typer.Argument(None, metavar=key.upper(), show_default=False,
                                   help=f"{spec.description} [default: {spec.default}]"),
        ))
    for key, spec in fields.items():
        if key in command.positional:
            continue
        vm = " Comma list: all values in one run (vmapped)." if key in command.vmapped_fields else ""
        if spec.annotation is bool:  # a plain boolean field is an on/off flag: --name / --no-name
            params.append(inspect.Parameter(
                _param_name(key), inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Optional[bool],
                default=typer.Option(None, f"{_flag(key)}/--no-{_flag(key)[2:]}", show_default=False,
                                     help=f"{spec.description} [default: {spec.default}]."),
            ))
            continue
        params.append(inspect.Parameter(
            _param_name(key), inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Optional[str],
            default=typer.Option(None, _flag(key), *command.option_aliases.get(key, ()), metavar=spec.metavar,
                                 show_default=False,
                                 help=f"{spec.description} [default: {spec.default}].{vm}"),
        ))
    params += [
        inspect.Parameter("config_file", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Optional[Path],
                          default=typer.Option(None, "--config", metavar="FILE",
                                               help="a TOML file of config values (see --show-config)")),
        inspect.Parameter("sets", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=List[str],
                          default=typer.Option([], "--set", metavar="KEY=VALUE",
                                               help="override any config key (dotted for nested keys); repeatable")),
        inspect.Parameter("show_config", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=bool,
                          default=typer.Option(False, "--show-config",
                                               help="print the resolved config as TOML and exit")),
        inspect.Parameter("as_json", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=bool,
                          default=typer.Option(False, "--json", help="print one JSON object on stdout")),
        inspect.Parameter("out", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Optional[Path],
                          default=typer.Option(None, "--out", metavar="DIR",
                                               help="store the run in DIR (skipped if already stored there)")),
    ]
    if command.plot is not None:
        params.append(inspect.Parameter(
            "plot", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Optional[Path],
            default=typer.Option(None, "--plot", metavar="FILE", help="write the run's figure to FILE (.png/.pdf/.svg)")))

    def impl(**kwargs: Any) -> None:
        texts = {key: kwargs[_param_name(key)] for key in fields if kwargs.get(_param_name(key)) is not None}
        texts = {key: (("true" if value else "false") if isinstance(value, bool) else value)
                 for key, value in texts.items()}
        config = resolve_cli_config(command, texts, kwargs["config_file"], kwargs["sets"] or [])
        if kwargs["show_config"]:
            sys.stdout.write(show_config_text(command, config))
            return
        run_and_print(command, config, out=kwargs["out"], as_json=kwargs["as_json"], plot=kwargs.get("plot"))

    impl.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    impl.__name__ = name.replace("-", "_")
    impl.__doc__ = command.description
    app.command(name, help=command.description, hidden=hidden)(impl)


def run_and_print(command, config, *, out: Optional[Path], as_json: bool, plot: Optional[Path] = None) -> None:
    """Run (or reuse from ``out``) with a progress bar on stderr, then print the summary (JSON or a table).

    ``out`` and ``plot`` are checked before the run starts (a writable folder, a known figure format),
    so a bad output path costs no computation; a figure that cannot be written at the end is one error
    line after the summary is printed (and, with ``--out``, after the run is stored).
    """
    if out is not None:
        runs.check_out_dir(out)
    if plot is not None:
        runs.check_plot_path(plot)
    info: dict[str, Any] = {}
    with _progress_bar(command.name) as progress:
        if out is not None:
            rid, path, reused = runs.run_and_store(command.name, config, out, progress=progress)
            stored = json.loads((path / "result.json").read_text())
            summary = stored.get("summary", {})
            info = {"run_id": rid, "path": str(path), "reused": reused}
            dataset = runs.load_run(path)["dataset"] if plot is not None else None
        else:
            result = command.run(config, progress=progress)
            summary, dataset = result.summary, result.dataset
    for warning in summary.get("warnings", []) or []:  # also in the JSON "warnings" list
        sys.stderr.write(f"warning: {warning}\n")
    plot_error = None
    if plot is not None:
        try:
            command.plot(dataset, summary, plot)
            info["plot"] = str(plot)
        except OSError as exc:
            plot_error = f"cannot write the figure {str(plot)!r} ({exc.strerror or exc})"
    _print_summary(command, summary, info, as_json)
    if plot_error is not None:
        keep = (f"; the run is stored in {info['path']}: rerun the same command with --out {out} to plot it"
                if "path" in info else "; the summary above is complete")
        raise MimflowError(plot_error + keep)


def _print_summary(command, summary: dict, info: dict, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps(runs.to_jsonable({**summary, **info})) + "\n")
        return
    console = rich_console.Console()
    table = rich_table.Table(title=f"{command.name}")
    table.add_column("quantity")
    table.add_column("value", justify="right")
    for key, value in runs.to_jsonable(summary).items():
        table.add_row(key, _short(value))
    console.print(table)
    if "run_id" in info:
        verb = "reused stored run" if info["reused"] else "stored run"
        console.print(f"{verb} {info['run_id']} at {info['path']}")
    if "plot" in info:
        console.print(f"figure: {info['plot']}")


class _progress_bar:
    """A rich progress bar on stderr fed with fractions in [0, 1]; silent when stderr is not a terminal."""

    def __init__(self, name: str):
        self.name = name
        self._progress = None

    def __enter__(self):
        console = rich_console.Console(stderr=True)
        if console.is_terminal:
            columns = (rich_progress.TextColumn("{task.description}"), rich_progress.BarColumn(),
                       rich_progress.TextColumn("{task.percentage:>3.0f}%"), rich_progress.TimeElapsedColumn(),
                       rich_progress.TimeRemainingColumn())
            self._progress = rich_progress.Progress(*columns, console=console, transient=True)
            self._progress.start()
            self._task = self._progress.add_task(self.name, total=1.0)
        return self

    def __call__(self, fraction: float) -> None:
        if self._progress is not None:
            self._progress.update(self._task, completed=float(fraction))

    def describe(self, text: str) -> None:
        """Show ``text`` (e.g. a rate such as ``'12.3k steps/s'``) after the command's name."""
        if self._progress is not None:
            self._progress.update(self._task, description=f"{self.name} {text}")

    def __exit__(self, *exc):
        if self._progress is not None:
            self._progress.stop()
        return False


def _short(value, depth: int = 0) -> str:
    """A compact cell for the summary table: long or nested values are abbreviated (``--json`` has them all)."""
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, dict):
        if depth > 0 or len(value) > 6 or any(isinstance(v, (dict, list)) for v in value.values()):
            return f"{{{len(value)} entries; see --json}}"
        return ", ".join(f"{k}: {_short(v, depth + 1)}" for k, v in value.items())
    if isinstance(value, list):
        if depth > 1 or any(isinstance(v, dict) for v in value):
            return f"[{len(value)} entries; see --json]"
        items = [_short(v, depth + 1) for v in value[:8]]
        return "[" + ", ".join(items) + (f", ... ({len(value)})]" if len(value) > 8 else "]")
    return str(value)
