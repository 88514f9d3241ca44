"""Sweeps: a grid of runs of one run command, on Dask, into a results store.

A sweep is a base config plus *axes* (dotted key -> list of values). Every point of the grid is
one run, stored under its content-hash id (:mod:`._store`); runs already stored are skipped, so a
sweep killed at any moment and started again computes only what is missing. Fields listed in the
command's ``vmapped_fields`` (seeds, learning rates) are not axes: a list for them goes whole into
one run, which vmaps over it.

Where runs execute:

* ``local=N`` (default: one worker process per core): a ``distributed.LocalCluster`` of N worker
  *processes* (spawned, never forked after JAX is imported), one thread each;
* ``local=0``: in this process, one run after another (no Dask; for debugging and small grids);
* ``scheduler="tcp://host:8786"``: any running Dask scheduler (its workers must see ``out_dir``;
  start them with ``dask worker --nthreads 1 --preload mimflow.runs._worker ADDRESS``);
* ``jobqueue="slurm"`` or ``"pbs"`` with ``jobs=N`` and ``cluster_options`` (queue, cores,
  memory, walltime, account, ...): through dask-jobqueue (``pip install 'mimflow[cluster]'``).

Each Dask task runs a *batch* of runs (``batch_size``; by default about 50 tasks per worker at
most, so thousands of tiny runs do not pay the scheduler's ~2 ms per task each) and stores each
run as soon as it finishes. A run that raises :class:`~mimflow.MimflowError` (bad config, NaN) is
reported as failed and recorded in ``DIR/_failed/`` (it is deterministic: running the sweep again
retries it); any other exception, or a lost worker, is reported and retried up to ``retries``
times. Nothing fails silently: :class:`SweepReport` lists every failure.

Library use::

    from mimflow.runs import run_sweep
    report = run_sweep("hermite-mc", "runs/", base={"link": "relu", "seeds": 8},
                       axes={"n": [1000, 10000]}, local=2)
"""

from __future__ import annotations

import itertools
import math
import os
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mimflow._errors import MimflowError
from mimflow.runs._config import FieldSpec, canonical_json, check_keys, config_fields, config_dict, flatten, load_toml, parse_value, split_list
from mimflow.runs._executors import WORKER_PRELOAD, Executor  # noqa: F401  (WORKER_PRELOAD: kept importable from here)
from mimflow.runs._runs import RunCommand, get_run_command

__all__ = [
    "SweepPlan",
    "SweepReport",
    "load_sweep_file",
    "parse_command_args",
    "plan_sweep",
    "run_sweep",
]


SWEEP_SETTINGS = {"out", "local", "scheduler", "slurm", "pbs", "retries", "batch", "cluster_options"}


# ---------------------------------------------------------------------------- parsing
def _option_key(token: str) -> str:
    return token.lstrip("-").replace("-", "_")


def parse_value_list(command: RunCommand, key: str, text: str, *, sweep: bool) -> tuple[Any, list | None]:
    """One command-line value: ``(value, None)`` or, for a sweep axis, ``(None, [values])``.

    A comma list for a vmapped field (or any field accepting a list) is one list value; for any
    other field it is a sweep axis (an error outside a sweep).
    """
    spec: FieldSpec = config_fields(command.config_model)[key]
    items = split_list(text)
    if len(items) == 1:
        return parse_value(items[0], spec), None
    if key in command.vmapped_fields or spec.accepts_list:
        return [parse_value(item, spec) for item in items], None
    values = [parse_value(item, spec) for item in items]
    if not sweep:
        flag = f"--{key.replace('_', '-')}"
        raise MimflowError(
            f"{flag} takes one value, got {text!r}: to run one job per value use "
            f"`mimflow sweep {command.name} ... {flag} {text} --out DIR`"
        )
    return None, values


def parse_command_args(
    command: RunCommand, tokens: Sequence[str], *, sweep: bool = True
) -> tuple[dict[str, Any], dict[str, list]]:
    """Parse a run command's own arguments: positionals, ``--key value``, ``--key=value``,
    ``--set key=value``. Returns ``(values, axes)`` with dotted keys.

    Raises:
        MimflowError: unknown option (with the nearest valid one), missing value, too many
            positional arguments, a comma list outside a sweep.
    """
    fields = config_fields(command.config_model)
    flags = {key.replace("_", "-"): key for key in fields}
    values: dict[str, Any] = {}
    axes: dict[str, list] = {}
    positional = list(command.positional)
    tokens = list(tokens)
    i = 0

    def put(key: str, text: str) -> None:
        value, axis = parse_value_list(command, key, text, sweep=sweep)
        values.pop(key, None)
        axes.pop(key, None)
        if axis is None:
            values[key] = value
        else:
            if len({canonical_json(v) for v in axis}) != len(axis):
                raise MimflowError(f"the values of --{key.replace('_', '-')} repeat: {text!r}; list each value once")
            axes[key] = axis

    while i < len(tokens):
        token = tokens[i]
        if token.startswith("--") and len(token) > 2:
            name, eq, inline = token[2:].partition("=")
            if not eq:
                if i + 1 >= len(tokens):
                    raise MimflowError(f"option --{name} needs a value")
                inline = tokens[i + 1]
                i += 1
            if name == "set":
                key, eq2, text = inline.partition("=")
                if not eq2:
                    raise MimflowError(f"--set takes KEY=VALUE, got {inline!r}")
                key = key.strip()
                check_keys([key], command.config_model)
                put(key, text.strip())
            else:
                key = flags.get(name) or (name if name in fields else None)
                if key is None:
                    from mimflow.runs._config import suggest

                    hint = suggest(name.replace("_", "-"), flags) or ""
                    hint = hint.replace("'", "'--", 1) if hint else f"; options of {command.name}: " + " ".join(
                        f"--{f}" for f in flags)
                    raise MimflowError(f"unknown option '--{name}' for {command.name}{hint}")
                put(key, inline)
        else:
            if not positional:
                raise MimflowError(
                    f"unexpected argument {token!r} for {command.name} "
                    f"(it takes {len(command.positional)} positional: {', '.join(command.positional) or 'none'})"
                )
            put(positional.pop(0), token)
        i += 1
    return values, axes


def load_run_config_file(command: RunCommand, path) -> dict[str, Any]:
    """A run command's TOML config (``command = ...`` optional; no ``[grid]`` or ``[sweep]`` here)."""
    data = load_toml(path)
    name = data.pop("command", command.name)
    if name != command.name:
        raise MimflowError(f"config file {str(path)!r} is for command {name!r}, not {command.name!r}")
    for table in ("grid", "sweep"):
        if table in data:
            raise MimflowError(f"config file {str(path)!r} has a [{table}] table: run it with `mimflow sweep {path}`")
    return data


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
            from mimflow.runs._config import suggest

            raise MimflowError(f"unknown key 'sweep.{key}'{suggest(key, SWEEP_SETTINGS) or '; valid: ' + ', '.join(sorted(SWEEP_SETTINGS))}")
    axes = flatten(grid, model=command.config_model)
    check_keys(axes, command.config_model, what="grid key")
    for key, values in axes.items():
        if not isinstance(values, list) or not values:
            raise MimflowError(f"grid.{key} must be a non-empty list of values, got {values!r}")
    return command, data, axes, settings


# ---------------------------------------------------------------------------- plan
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
    from mimflow.runs._store import run_id_of_dict

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


# ---------------------------------------------------------------------------- worker side
def _run_batch(command_name: str, configs: list[dict], out_dir: str) -> list[dict]:
    """The Dask task: run and store each config of the batch; never raises for one bad run."""
    import mimflow  # noqa: F401  (x64 in the worker process)

    from mimflow.runs._store import RunClaimed, record_failure, run_and_store

    if not Path(out_dir).is_dir():
        raise MimflowError(f"results folder {out_dir!r} is not visible from worker {os.uname().nodename}: "
                           "use a folder on a file system shared with the workers")
    outcomes = []
    for cfg in configs:
        t0 = time.perf_counter()
        outcome: dict[str, Any] = {"config": cfg}
        try:
            rid, path, reused = run_and_store(command_name, cfg, out_dir, wait=False)
            outcome.update(run_id=rid, status="reused" if reused else "computed", path=str(path))
            try:
                import json

                outcome["scalars"] = json.loads((path / "result.json").read_text()).get("scalars", {})
            except (OSError, ValueError):
                outcome["scalars"] = {}
        except RunClaimed as exc:  # another sweep is computing it: the client comes back for it at the end
            outcome.update(run_id=str(exc), status="claimed", seconds=0.0)
            outcomes.append(outcome)
            continue
        except MimflowError as exc:
            outcome.update(status="failed", error=str(exc), retry=False)
        except Exception as exc:  # a bug or a transient problem: retried by the client (out of memory: not)
            from mimflow.runs._bounds import out_of_memory_message

            oom = out_of_memory_message(exc)
            if oom is not None:
                outcome.update(status="failed", error=oom, retry=False)
                outcome["seconds"] = time.perf_counter() - t0
                outcomes.append(outcome)
                rid = outcome.setdefault("run_id", _failed_id(command_name, cfg))
                record_failure(out_dir, rid, command_name, cfg, oom, 1)
                continue
            outcome.update(status="failed", error=f"{type(exc).__name__}: {exc}", retry=True,
                           traceback=traceback.format_exc(limit=8))
        outcome["seconds"] = time.perf_counter() - t0
        if outcome["status"] == "failed":
            rid = _failed_id(command_name, cfg)
            outcome["run_id"] = rid
            record_failure(out_dir, rid, command_name, cfg, outcome["error"], 1)
        outcomes.append(outcome)
    return outcomes


def _failed_id(command_name: str, cfg: dict) -> str:
    from mimflow.runs._store import run_id_of_dict

    try:
        return run_id_of_dict(command_name, cfg)
    except MimflowError:  # a config that cannot even be hashed (NaN): name it by its text
        import hashlib

        return hashlib.sha256(repr(sorted(cfg.items())).encode()).hexdigest()[:16]


# ---------------------------------------------------------------------------- report
@dataclass
class SweepReport:
    """What a sweep did: ``total`` runs = ``already_stored`` (good when the sweep started) + ``computed``
    (by this sweep) + ``reused`` (stored meanwhile by another writer, e.g. a second sweep on the same
    store) + ``len(failed)`` (``{"run_id", "axes", "error"}`` each). ``damaged``: stored runs found
    damaged or outdated at the start (moved aside and recomputed)."""

    out_dir: Path
    command: str
    total: int
    already_stored: int
    computed: int = 0
    reused: int = 0
    failed: list[dict[str, Any]] = field(default_factory=list)
    retried: int = 0
    tasks: int = 0
    workers: int = 0
    where: str = ""
    wall_seconds: float = 0.0
    run_ids: list[str] = field(default_factory=list)
    damaged: int = 0

    @property
    def ok(self) -> bool:
        return not self.failed

    def to_json(self) -> dict[str, Any]:
        from mimflow.runs._io import to_jsonable

        return to_jsonable({
            "out_dir": str(self.out_dir), "command": self.command, "total": self.total,
            "already_stored": self.already_stored, "computed": self.computed, "reused": self.reused,
            "failed": self.failed, "retried": self.retried, "tasks": self.tasks, "workers": self.workers,
            "where": self.where, "wall_seconds": self.wall_seconds, "run_ids": self.run_ids,
            "damaged": self.damaged,
        })

    def closing_line(self) -> str:
        """The counts of :meth:`to_json` in words (the same numbers, the same names)."""
        return (f"{self.computed} computed, {self.already_stored} already stored, {self.reused} reused "
                f"(stored by another writer), {len(self.failed)} failed"
                + (f", {self.damaged} damaged run(s) recomputed" if self.damaged else "")
                + f" in {self.wall_seconds:.1f} s; results in {self.out_dir}")


Event = Callable[..., None]


def _null_event(kind: str, **info) -> None:
    return None


def _finish_claimed(plan: SweepPlan, out: Path, claimed: list[int], cfg_dicts: list[dict], handle) -> None:
    """Runs another writer was computing: wait until it stores them (they count as ``reused``); a run
    whose claim is released without a result (the other writer failed or died) is computed here."""
    from mimflow.runs._store import CLAIM_POLL_SECONDS, _stored, claimed_by_other

    while claimed:
        i = claimed.pop(0)
        rid = plan.run_ids[i]
        while claimed_by_other(out, rid) and not _stored(out, rid):
            time.sleep(CLAIM_POLL_SECONDS)
        handle(_run_batch(plan.command, [cfg_dicts[i]], str(out.resolve())), _NO_RETRY, lambda idx, a: None)


_NO_RETRY = 1 << 30
"""An attempt number past any retry budget (a run taken over from another writer is tried once)."""


# ---------------------------------------------------------------------------- run
def run_sweep(
    command: str | SweepPlan,
    out_dir: str | os.PathLike,
    *,
    base: Mapping[str, Any] | None = None,
    axes: Mapping[str, Sequence] | None = None,
    local: int | None = None,
    scheduler: str | None = None,
    jobqueue: str | None = None,
    jobs: int | None = None,
    cluster_options: Mapping[str, Any] | None = None,
    client=None,
    retries: int = 2,
    batch_size: int | None = None,
    on_event: Event | None = None,
) -> SweepReport:
    """Run every missing run of a sweep into ``out_dir``; see the module docstring.

    ``on_event(kind, **info)`` is called in this process with ``kind`` one of ``"plan"`` (total,
    already_stored, to_run, tasks, where), ``"run"`` (run_id, axes, status "computed"/"reused",
    seconds, scalars), ``"retry"`` (run_ids, error, attempt), ``"failed"`` (run_id, axes, error)
    and ``"done"`` (report).
    """
    from mimflow.runs._paths import check_out_dir
    from mimflow.runs._store import _stored, clean_stale_temps, write_sweep_manifest

    t_start = time.perf_counter()
    event = on_event or _null_event
    plan = command if isinstance(command, SweepPlan) else plan_sweep(command, base, axes=axes)
    if retries < 0:
        raise MimflowError(f"retries must be >= 0, got {retries}")
    if batch_size is not None and batch_size < 1:
        raise MimflowError(f"batch size must be >= 1, got {batch_size}")
    out = check_out_dir(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    clean_stale_temps(out)
    write_sweep_manifest(out, plan.command, plan.axes,
                         [(rid, config_dict(cfg)) for rid, cfg in zip(plan.run_ids, plan.configs)])
    pending = [i for i, rid in enumerate(plan.run_ids) if not _stored(out, rid)]
    report = SweepReport(out, plan.command, len(plan), len(plan) - len(pending), run_ids=list(plan.run_ids),
                         damaged=sum(1 for i in pending if (out / plan.run_ids[i]).exists()))
    index_of = {rid: i for i, rid in enumerate(plan.run_ids)}
    if not pending:
        report.where = "nothing to run"
        report.wall_seconds = time.perf_counter() - t_start
        event("plan", total=report.total, already_stored=report.already_stored, to_run=0, tasks=0, where=report.where)
        event("done", report=report)
        return report

    executor = Executor(local=local, scheduler=scheduler, jobqueue=jobqueue, jobs=jobs,
                         cluster_options=cluster_options, client=client)
    try:
        report.where, report.workers = executor.where, executor.workers
        size = batch_size or max(1, math.ceil(len(pending) / (50 * executor.workers)))
        batches = [pending[i:i + size] for i in range(0, len(pending), size)]
        event("plan", total=report.total, already_stored=report.already_stored, to_run=len(pending),
              tasks=len(batches), where=report.where)
        cfg_dicts = [config_dict(cfg) for cfg in plan.configs]

        claimed: list[int] = []

        def handle(outcomes: list[dict], attempt: int, resubmit) -> None:
            retry = []
            for o in outcomes:
                i = index_of.get(o.get("run_id"))
                axes_here = plan.axis_values(i) if i is not None else {}
                if o["status"] == "claimed" and i is not None:
                    claimed.append(i)
                elif o["status"] in ("computed", "reused"):
                    if o["status"] == "computed":
                        report.computed += 1
                    else:
                        report.reused += 1
                    event("run", run_id=o["run_id"], axes=axes_here, status=o["status"], seconds=o["seconds"],
                          scalars=o.get("scalars", {}))
                elif o.get("retry") and attempt < retries and i is not None:
                    retry.append(i)
                else:
                    report.failed.append({"run_id": o.get("run_id"), "axes": axes_here, "error": o["error"]})
                    event("failed", run_id=o.get("run_id"), axes=axes_here, error=o["error"])
            if retry:
                report.retried += len(retry)
                event("retry", run_ids=[plan.run_ids[i] for i in retry],
                      error=next(o["error"] for o in outcomes if o.get("retry")), attempt=attempt + 1)
                resubmit(retry, attempt + 1)

        if executor.inline:
            queue = [(b, 0) for b in batches]
            while queue:
                batch, attempt = queue.pop(0)
                report.tasks += 1
                outcomes = _run_batch(plan.command, [cfg_dicts[i] for i in batch], str(out.resolve()))
                handle(outcomes, attempt, lambda idx, a: queue.extend(([i], a) for i in idx))
        else:
            from distributed import as_completed

            meta: dict[Any, tuple[list[int], int]] = {}
            ac = as_completed()

            def submit(batch: list[int], attempt: int) -> None:
                fut = executor.client.submit(_run_batch, plan.command, [cfg_dicts[i] for i in batch],
                                             str(out.resolve()), pure=False)
                meta[fut.key] = (batch, attempt)
                report.tasks += 1
                ac.add(fut)

            def resubmit(indices: list[int], attempt: int) -> None:
                for i in indices:
                    submit([i], attempt)

            for batch in batches:
                submit(batch, 0)
            for fut in ac:
                batch, attempt = meta.pop(fut.key)
                try:
                    outcomes = fut.result()
                except MimflowError as exc:
                    for i in batch:
                        report.failed.append({"run_id": plan.run_ids[i], "axes": plan.axis_values(i), "error": str(exc)})
                        event("failed", run_id=plan.run_ids[i], axes=plan.axis_values(i), error=str(exc))
                    continue
                except Exception as exc:  # lost worker, unpicklable result, ...
                    outcomes = [{"run_id": plan.run_ids[i], "config": cfg_dicts[i], "status": "failed",
                                 "error": f"task failed: {type(exc).__name__}: {exc}", "retry": True, "seconds": 0.0}
                                for i in batch if not _stored(out, plan.run_ids[i])]
                    done = [{"run_id": plan.run_ids[i], "status": "reused", "seconds": 0.0}
                            for i in batch if _stored(out, plan.run_ids[i])]
                    outcomes = done + outcomes
                    if attempt >= retries:
                        from mimflow.runs._store import record_failure

                        for o in outcomes:
                            if o["status"] == "failed":
                                record_failure(out, o["run_id"], plan.command, o["config"], o["error"], attempt + 1)
                handle(outcomes, attempt, resubmit)
        _finish_claimed(plan, out, claimed, cfg_dicts, handle)
    finally:
        executor.close()
    report.wall_seconds = time.perf_counter() - t_start
    event("done", report=report)
    return report
