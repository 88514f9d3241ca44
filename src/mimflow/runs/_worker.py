"""Dask worker preload: ``--preload mimflow.runs._worker`` (the sweeps pass it themselves).

At worker start-up it imports mimflow (x64 on, the import paid before the first task) and, for a
worker with one thread, creates JAX's CPU backend with a one-thread pool. Measured on the 2-core
machine (BENCHMARKS.md): XLA's own multi-threading made a ``hermite-mc`` run *slower* (0.47 s
against 0.25 s with one thread), and two workers each spreading threads over both cores fought
each other. The pool is sized from the CPU affinity at backend creation, so the worker is pinned
to one core while the backend is created and then given its full affinity back.

Set ``MIMFLOW_WORKER_ONE_THREAD=0`` in the workers' environment to keep XLA's default pool.

It also undoes Dask's ``MALLOC_TRIM_THRESHOLD_=65536`` (set in every worker it spawns): with it,
glibc hands every buffer above 128 KiB back to the system when freed, and a ``hermite-mc`` run took
0.58 s instead of 0.26 s. ``mallopt`` gives the worker 64 MiB mmap and 128 MiB trim thresholds.
"""

from __future__ import annotations

import ctypes
import os

import mimflow  # noqa: F401  (first: x64 on before JAX is imported)

import jax  # importing JAX creates no backend: the one-thread pool is sized when jax.devices() first runs

try:
    from jax._src import xla_bridge
except ImportError:  # pragma: no cover - other JAX versions
    xla_bridge = None


def _backends_initialized() -> bool:
    try:
        return xla_bridge is not None and bool(xla_bridge.backends_are_initialized())
    except AttributeError:  # pragma: no cover - other JAX versions
        return False


def one_thread_backend(index: int = 0) -> bool:
    """Create JAX's backends while pinned to one core; returns False where that is not possible."""
    if os.environ.get("MIMFLOW_WORKER_ONE_THREAD", "1") == "0" or not hasattr(os, "sched_setaffinity"):
        return False
    if _backends_initialized():
        return False
    cores = sorted(os.sched_getaffinity(0))
    try:
        os.sched_setaffinity(0, {cores[index % len(cores)]})
        jax.devices()
    finally:
        os.sched_setaffinity(0, cores)
    return True


def relax_malloc_trimming() -> bool:
    """Raise glibc's mmap/trim thresholds if Dask lowered them (MALLOC_TRIM_THRESHOLD_ is set)."""
    if "MALLOC_TRIM_THRESHOLD_" not in os.environ:
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3
    return bool(libc.mallopt(m_mmap_threshold, 64 << 20)) and bool(libc.mallopt(m_trim_threshold, 128 << 20))


def dask_setup(worker) -> None:
    """Dask's preload hook (runs once in each worker process at start-up)."""
    relax_malloc_trimming()
    try:
        nthreads = worker.state.nthreads
    except AttributeError:  # pragma: no cover
        nthreads = getattr(worker, "nthreads", 1)
    if nthreads != 1:
        return
    name = worker.name
    index = name if isinstance(name, int) else abs(hash(str(name)))
    one_thread_backend(index)
