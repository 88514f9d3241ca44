"""Sweep plans: a base config times axes, every grid point validated and named by its run id.

A sweep is a base config plus *axes* (dotted key -> list of values), given in Python
(:func:`plan_sweep`) or in a sweep TOML file (:func:`load_sweep_file`: ``command = "NAME"``, base
config keys, ``[grid]`` and optional ``[sweep]`` settings). Every point of the grid is one run,
named by its content-hash id (:mod:`._store`); two points with the same id are one run. Running a
plan: :mod:`._sweep`.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mimflow._errors import MimflowError
from mimflow.runs._config import check_keys, config_dict, flatten, load_toml, suggest
from mimflow.runs._runs import RunCommand, get_run_command
from mimflow.runs._store import run_id_of_dict

__all__ = ["SWEEP_SETTINGS", "SweepPlan", "load_sweep_file", "plan_sweep"]


SWEEP_SETTINGS = {"out", "local", "scheduler", "slurm", "pbs", "retries", "batch", "cluster_options"}
"""Keys of a sweep file's ``[sweep]`` table."""


def load_sweep_file(path) -> tuple[RunCommand, dict[str, Any], dict[str, list], dict[str, Any]]:
    """Read a sweep TOML: ``command = "NAME"``, base config keys, ``[grid]`` (dotted key = list of
    values) and optional ``[sweep]`` settings (out, local, scheduler, slurm, pbs, retries, batch,
    cluster_options). Returns ``(command, base, axes, settings)``."""
    data = load_toml(path)
    if "command" not in data:
        raise MimflowError(f"sweep file {str(path)!r} needs a top-level `command = \"NAME\"` (e.g. \"hermite-mc\")")
    command = get_run_command(str(data.pop("command")))
    grid = data.pop("grid", {})
    settings = data.pop("sweep", {})
    if not isinstance(grid, dict) or not isinstance(settings, dict):
        raise MimflowError(f"in {str(path)!r}, grid and sweep must be tables ([grid], [sweep])")
    for key in settings:
        if key not in SWEEP_SETTINGS:
            raise MimflowError(f"unknown key 'sweep.{key}'{suggest(key, SWEEP_SETTINGS) or '; valid: ' + ', '.join(sorted(SWEEP_SETTINGS))}")
    axes = flatten(grid, model=command.config_model)
    check_keys(axes, command.config_model, what="grid key")
    for key, values in axes.items():
        if not isinstance(values, list) or not values:
            raise MimflowError(f"grid.{key} must be a non-empty list of values, got {values!r}")
    return command, data, axes, settings


@dataclass(frozen=True)
class SweepPlan:
    """The runs of a sweep, in grid order (the last axis varies fastest)."""

    command: str
    axes: dict[str, list]
    configs: list  # validated config models
    run_ids: list[str]

    def __len__(self) -> int:
        return len(self.configs)

    def axis_values(self, index: int) -> dict[str, Any]:
        flat = flatten(config_dict(self.configs[index]))
        return {key: flat.get(key) for key in self.axes}


def plan_sweep(command_name: str, *layers: Mapping[str, Any] | None, axes: Mapping[str, Sequence] | None = None) -> SweepPlan:
    """Validate every grid point of ``layers`` (base config, nested or dotted) times ``axes``."""
    command = get_run_command(command_name)
    axes = {key: list(values) for key, values in (axes or {}).items()}
    check_keys(axes, command.config_model, what="axis")
    for key, values in axes.items():
        if not values:
            raise MimflowError(f"axis {key!r} has no values")
    base = command.make_config(*layers)  # the base alone must be valid (clear errors first)
    configs, ids, seen = [], [], set()
    keys = list(axes)
    for point in itertools.product(*(axes[k] for k in keys)):
        overrides = dict(zip(keys, point))
        try:
            cfg = command.make_config(*layers, overrides)
        except MimflowError as exc:
            where = ", ".join(f"{k}={v!r}" for k, v in overrides.items())
            raise MimflowError(f"at grid point {where}: {exc}") from None
        rid = run_id_of_dict(command.name, config_dict(cfg))
        if rid in seen:
            continue
        seen.add(rid)
        configs.append(cfg)
        ids.append(rid)
    del base
    return SweepPlan(command.name, axes, configs, ids)
