"""Where a sweep's tasks run: in this process, a Dask LocalCluster, a running scheduler, or a job queue.

See :mod:`._sweep` for the choices (``local``, ``scheduler``, ``jobqueue``); workers import
:data:`WORKER_PRELOAD` at start-up (x64, a one-thread XLA pool: :mod:`._worker`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from mimflow._errors import MimflowError

__all__ = ["WORKER_PRELOAD", "Executor"]

WORKER_PRELOAD = "mimflow.runs._worker"
"""Imported by every worker at start-up (x64, one-thread XLA pool); pass it to your own dask-worker too."""


def _jobqueue_cluster(kind: str, jobs: int, options: Mapping[str, Any]):
    try:
        import dask_jobqueue
    except ImportError:
        raise MimflowError(
            f"--{kind} needs dask-jobqueue: pip install 'mimflow[cluster]' (or pip install dask-jobqueue)"
        ) from None
    cls = {"slurm": dask_jobqueue.SLURMCluster, "pbs": dask_jobqueue.PBSCluster}.get(kind)
    if cls is None:
        raise MimflowError(f"unknown job queue {kind!r}: use slurm or pbs")
    opts: dict[str, Any] = {"cores": 1, "processes": 1, "memory": "4GB",
                            "worker_extra_args": ["--preload", WORKER_PRELOAD]}
    opts.update(options)
    try:
        cluster = cls(**opts)
    except (TypeError, ValueError) as exc:
        raise MimflowError(f"--{kind}: bad cluster option: {exc}") from None
    cluster.scale(jobs=jobs)
    return cluster, jobs * int(opts.get("processes", 1))


class Executor:
    """In-process (local=0) or Dask; ``submit(batch) -> handle``, ``as_completed``."""

    def __init__(self, *, local, scheduler, jobqueue, jobs, cluster_options, client):
        self.client = client
        self.cluster = None
        self.own_client = False
        self.inline = False
        if client is not None:
            self.workers = max(1, len(client.scheduler_info().get("workers", {})))
            self.where = f"Dask client {client.scheduler.address}"
            return
        if jobqueue is not None:
            self.cluster, self.workers = _jobqueue_cluster(jobqueue, jobs or 1, cluster_options or {})
            self.where = f"{jobqueue.upper()} via dask-jobqueue ({jobs or 1} jobs)"
        elif scheduler is not None:
            self.workers = None
            self.where = f"Dask scheduler {scheduler}"
        else:
            n = (os.cpu_count() or 1) if local is None else int(local)
            if n < 0:
                raise MimflowError(f"--local must be >= 0 (0 runs in this process), got {n}")
            if n == 0:
                self.inline = True
                self.workers = 1
                self.where = "this process (no Dask)"
                return
            from distributed import LocalCluster

            self.cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                        dashboard_address=":0", silence_logs=logging.ERROR,
                                        preload=[WORKER_PRELOAD])
            self.workers = n
            self.where = f"Dask LocalCluster ({n} worker processes)"
        from distributed import Client

        try:
            self.client = Client(self.cluster if self.cluster is not None else scheduler, timeout="30s")
        except OSError as exc:
            self.close()
            raise MimflowError(f"cannot reach the Dask scheduler {scheduler!r}: {exc}") from None
        self.own_client = True
        if self.workers is None:
            self.workers = max(1, len(self.client.scheduler_info().get("workers", {})))

    def close(self) -> None:
        if self.own_client and self.client is not None:
            try:
                self.client.close()
            except Exception:  # pragma: no cover
                pass
        if self.cluster is not None:
            try:
                self.cluster.close()
            except Exception:  # pragma: no cover
                pass
