"""Sweeps: a grid of runs of one run command, on Dask, into a results store.

A sweep is a base config plus *axes* (dotted key -> list of values), planned by :mod:`._plan`.
Every point of the grid is one run, stored under its content-hash id (:mod:`._store`); runs already
stored are skipped, so a sweep killed at any moment and started again computes only what is
missing. Fields listed in the command's ``vmapped_fields`` (seeds, learning rates) are not axes: a
list for them goes whole into one run, which vmaps over it.

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

import hashlib
import json
import math
import os
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mimflow._errors import MimflowError
from mimflow.runs._bounds import out_of_memory_message
from mimflow.runs._config import config_dict
from mimflow.runs._executors import WORKER_PRELOAD, Executor  # noqa: F401  (WORKER_PRELOAD: kept importable from here)
from mimflow.runs._io import to_jsonable
from mimflow.runs._paths import check_out_dir
from mimflow.runs._plan import SweepPlan, plan_sweep
from mimflow.runs._store import (CLAIM_POLL_SECONDS, RunClaimed, _stored, claimed_by_other, clean_stale_temps,
                                 record_failure, run_and_store, run_id_of_dict, write_sweep_manifest)

__all__ = ["SweepReport", "run_sweep"]


# ---------------------------------------------------------------------------- worker side
def _run_batch(command_name: str, configs: list[dict], out_dir: str) -> list[dict]:
    """The Dask task: run and store each config of the batch; never raises for one bad run (x64 is on
    in the worker: importing this module imports mimflow)."""
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
    try:
        return run_id_of_dict(command_name, cfg)
    except MimflowError:  # a config that cannot even be hashed (NaN): name it by its text
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
