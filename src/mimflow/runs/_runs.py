"""Run commands: the one contract behind ``mimflow COMMAND``, ``mimflow sweep`` and the store.

A *run command* is a frozen :class:`RunCommand`:

* ``name``: the command-line name (``"hermite-mc"``, later ``"flow"``, ``"neurons"``, ``"train"``);
* ``config_model``: a pydantic ``BaseModel`` subclass with
  ``model_config = ConfigDict(frozen=True, extra="forbid")`` whose every field has a default and a
  ``description`` (nested models are allowed and give dotted keys, ``algorithm.lr``);
* ``run(config, *, progress=None) -> RunResult``: the computation. It must raise
  :class:`~mimflow.MimflowError` when its numbers are not finite (use :func:`check_finite_result`);
  ``progress``, when given, is a callable taking a float in [0, 1];
* ``vmapped_fields``: fields that keep array shapes (seeds, learning rates). On the command line
  a comma list for such a field is passed *whole* into ONE run (so its annotation accepts a list,
  e.g. ``int | list[int]``) and the run vmaps over it; a comma list for any other field is a sweep
  axis, one run (task) per value;
* ``positional``: fields taken as positional command-line arguments (``mimflow flow LINK``);
* ``description``: one line for ``--help``;
* ``plot`` (optional): ``plot(dataset, summary, path)`` draws the run's figure from its stored data;
  the command line then offers ``--plot FILE``.

A :class:`RunResult` holds ``dataset`` (an ``xarray.Dataset`` with named dims, what is stored),
``scalars`` (a flat dict of JSON-ready summary numbers: the columns of ``mimflow results export
--to table.csv`` and of ``results list``) and ``summary`` (what the command's ``--json`` prints).

Define the command in its study module and add one line to the catalogue (``runs/_catalogue.py``)::

    # src/mimflow/studies/toy/__init__.py
    from pydantic import BaseModel, ConfigDict, Field
    from mimflow.runs import RunCommand, RunResult, check_finite_result

    class ToyConfig(BaseModel):
        model_config = ConfigDict(frozen=True, extra="forbid")
        d: int = Field(100, ge=1, description="dimension (changes shapes: one task per value)")
        lr: float | list[float] = Field(0.1, description="learning rate(s), vmapped in one run")

    def run_toy(config: ToyConfig, *, progress=None) -> RunResult:
        ds = ...  # xarray.Dataset with dims (lr, t)
        check_finite_result("toy", ds)
        return RunResult(ds, scalars={"final_loss": ...}, summary={...})

    TOY = RunCommand("toy", ToyConfig, run_toy, vmapped_fields=frozenset({"lr"}), positional=())

    # src/mimflow/runs/_catalogue.py, in RUN_COMMANDS
    CatalogueEntry("toy", "mimflow.studies.toy:TOY", "a toy run"),

That gives ``mimflow toy --d 100 --lr 0.1,0.2 [--config FILE] [--set key=value] [--show-config] [--json]
[--out DIR]``; ``mimflow sweep toy --d 100,300 --lr 0.1,0.2 --out runs/`` then needs nothing more.
Library users call :func:`mimflow.runs.run_and_store` or :func:`mimflow.runs.run_sweep`, and may
register a command of their own at run time with :func:`register_run_command`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from pydantic import BaseModel

from mimflow._errors import MimflowError
from mimflow.runs._bounds import check_memory
from mimflow.runs._catalogue import RUN_COMMANDS as CATALOGUE
from mimflow.runs._config import config_fields, resolve_config, suggest
from mimflow.runs._registry import load_target

__all__ = [
    "RESERVED_NAMES",
    "RunCommand",
    "RunResult",
    "check_finite_result",
    "get_run_command",
    "list_run_commands",
    "register_run_command",
]

RESERVED_NAMES = frozenset({
    "config", "set", "show_config", "json", "out", "local", "scheduler", "slurm", "pbs", "cluster_option",
    "retries", "batch", "progress", "help",
})
"""Option names used by the generic command line; no config field may take one."""


@dataclass(frozen=True)
class RunResult:
    """What a run returns: the stored dataset, its summary scalars and the ``--json`` summary."""

    dataset: Any  # xarray.Dataset
    scalars: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RunCommand:
    """A named computation with a validated config (see the module docstring)."""

    name: str
    config_model: type[BaseModel]
    run: Callable[..., RunResult]
    vmapped_fields: frozenset[str] = frozenset()
    positional: tuple[str, ...] = ()
    description: str = ""
    plot: Callable[..., None] | None = None
    """Optional ``plot(dataset, summary, path)``: draws the run's figure (gives the CLI a ``--plot FILE``)."""
    option_aliases: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Extra flags of ``mimflow NAME`` for a field (``{"batch_size": ("--batch",)}``), for names a field
    cannot take because the generic command line reserves them (``batch`` is the sweep's runs per task)."""
    memory_estimate: Callable[..., tuple[float, str, str]] | None = None
    """Optional ``memory_estimate(config) -> (bytes, what, how_to_chunk)``: a config that cannot fit in
    this machine's memory is refused by :meth:`make_config`, before any work (see ``_bounds.py``)."""

    def make_config(self, *layers: Mapping[str, Any] | None) -> BaseModel:
        """Defaults updated by each layer (nested or dotted dicts), validated (sizes against memory too)."""
        config = resolve_config(self.config_model, *layers, source=f"{self.name} config")
        if self.memory_estimate is not None:
            check_memory(self.name, self.memory_estimate(config))
        return config


RUN_COMMANDS: dict[str, RunCommand] = {}


def register_run_command(command: RunCommand) -> RunCommand:
    """Add ``command`` to the registry (checked: frozen strict model, defaults, descriptions)."""
    if command.name in RUN_COMMANDS and RUN_COMMANDS[command.name] is not command:
        raise RuntimeError(f"run command {command.name!r} registered twice")
    model = command.config_model
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise TypeError(f"{command.name}: config_model must be a pydantic BaseModel subclass")
    cfg = model.model_config
    if not cfg.get("frozen") or cfg.get("extra") != "forbid":
        raise TypeError(f"{command.name}: config_model needs model_config = ConfigDict(frozen=True, extra='forbid')")
    fields = config_fields(model)
    for key, spec in fields.items():
        if spec.required:
            raise TypeError(f"{command.name}: config field {key!r} needs a default")
        if not spec.description:
            raise TypeError(f"{command.name}: config field {key!r} needs a description")
        if key.split(".")[0] in RESERVED_NAMES:
            raise TypeError(f"{command.name}: config field {key!r} clashes with a command-line option name")
    for name in set(command.vmapped_fields) | set(command.positional):
        if name not in fields:
            raise TypeError(f"{command.name}: {name!r} is not a config field")
    for name, flags in command.option_aliases.items():
        if name not in fields or not all(isinstance(f, str) and f.startswith("--") for f in flags):
            raise TypeError(f"{command.name}: option alias for {name!r} must name a field and be flags like '--x'")
    for name in command.vmapped_fields:
        if not fields[name].accepts_list:
            raise TypeError(f"{command.name}: vmapped field {name!r} must accept a list")
    RUN_COMMANDS[command.name] = command
    return command


def _load_catalogue(name: str | None = None) -> None:
    """Register the catalogue's run command ``name`` (every one when ``None``), importing its study module."""
    for entry in CATALOGUE:
        if (name is None or entry.name == name) and entry.name not in RUN_COMMANDS:
            command = load_target(entry.target)
            register_run_command(replace(command, description=entry.description))


def list_run_commands() -> list[RunCommand]:
    """Every run command, sorted by name (imports every study module)."""
    _load_catalogue()
    return sorted(RUN_COMMANDS.values(), key=lambda c: c.name)


def get_run_command(name: str) -> RunCommand:
    """The run command ``name`` (unknown: a MimflowError listing the known ones)."""
    if name not in RUN_COMMANDS:
        _load_catalogue(name)
    if name not in RUN_COMMANDS:
        known = sorted({entry.name for entry in CATALOGUE if not entry.hidden} | set(RUN_COMMANDS))
        hint = suggest(name, known).lstrip("; ")
        raise MimflowError(f"unknown run command {name!r}{'; ' + hint if hint else ''} (known: {', '.join(known)})")
    return RUN_COMMANDS[name]


def check_finite_result(name: str, dataset) -> None:
    """Raise MimflowError naming the first data variable or coordinate with NaN or inf."""
    for var_name, var in list(dataset.data_vars.items()) + list(dataset.coords.items()):
        values = np.asarray(var.values)
        if values.dtype.kind in "fc" and not np.all(np.isfinite(values)):
            bad = int(np.size(values) - np.count_nonzero(np.isfinite(values)))
            raise MimflowError(
                f"{name}: {bad} non-finite value(s) (NaN/inf) in {var_name!r}: the run diverged or the "
                "config is out of range; change the config (smaller steps, fewer degrees) and run again"
            )
