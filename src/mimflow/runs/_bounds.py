"""Memory bounds: refuse, before any work, a run that cannot fit in this machine's memory.

XLA aborts the whole process (SIGABRT) or raises ``RESOURCE_EXHAUSTED`` when an allocation fails,
after minutes of work. Each run command with sizes that can explode declares
``memory_estimate=...`` in its :class:`~mimflow.runs.RunCommand`: a function of its config
returning ``(bytes, what, how_to_chunk)``. :func:`check_memory` compares the estimate with
:data:`MEMORY_FRACTION` of the memory available now (``MemAvailable`` of ``/proc/meminfo``, else
``os.sysconf``; ``MIMFLOW_MEMORY_LIMIT=16GB`` overrides it, e.g. for a cluster job's allocation)
and refuses with one line giving the estimate and how to split the run.

The estimates are upper-order-of-magnitude counts of the float64 arrays a run holds at once, times a
small factor for XLA's temporaries (measured: ``train h2 --engine full --d 1000000 --seeds 2``
asked XLA for 1.44e11 bytes; :func:`train_memory` estimates 1.6e11).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable

from mimflow import targets
from mimflow._errors import MimflowError

__all__ = ["MEMORY_FRACTION", "available_memory", "check_memory", "dmft_memory", "format_bytes",
           "neurons_memory", "out_of_memory_message", "spectral_memory", "train_memory"]

MEMORY_FRACTION = 0.8
"""Share of the available memory a single run may plan to use (the rest: Python, XLA, other processes)."""

_WORKSPACE = 5.0
"""Factor for XLA temporaries, gradients and copies on top of the arrays a run holds (see the module docstring)."""

_UNITS = {"": 1, "B": 1, "K": 2**10, "KB": 2**10, "KIB": 2**10, "M": 2**20, "MB": 2**20, "MIB": 2**20,
          "G": 2**30, "GB": 2**30, "GIB": 2**30, "T": 2**40, "TB": 2**40, "TIB": 2**40}


def format_bytes(n: float) -> str:
    """``1.5 GiB``-style text."""
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n:.0f} B"


def available_memory() -> tuple[float, str]:
    """``(bytes, source)``: the memory a run may count on now (before :data:`MEMORY_FRACTION`)."""
    env = os.environ.get("MIMFLOW_MEMORY_LIMIT")
    if env:
        m = re.fullmatch(r"\s*([0-9.eE+]+)\s*([A-Za-z]*)\s*", env)
        if not m or m.group(2).upper() not in _UNITS:
            raise MimflowError(f"MIMFLOW_MEMORY_LIMIT={env!r}: give a size such as 16GB or 2e10")
        return float(m.group(1)) * _UNITS[m.group(2).upper()] / MEMORY_FRACTION, "MIMFLOW_MEMORY_LIMIT"
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024, "available memory"
    except OSError:
        pass
    try:
        return float(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")), "available memory"
    except (ValueError, OSError, AttributeError):  # pragma: no cover - no way to know: do not refuse
        return float("inf"), "unknown"


def check_memory(name: str, estimate: tuple[float, str, str]) -> None:
    """Refuse a run whose estimated memory exceeds :data:`MEMORY_FRACTION` of what is available."""
    nbytes, what, how = estimate
    total, source = available_memory()
    limit = MEMORY_FRACTION * total
    if nbytes > limit:
        raise MimflowError(f"{name}: {what} needs about {format_bytes(nbytes)} of memory, more than the "
                           f"{format_bytes(limit)} this machine can give it ({MEMORY_FRACTION:.0%} of {source}): {how}")


def _r_of(link: str) -> int:
    try:
        return targets.make_link(link).r
    except (MimflowError, ValueError):
        return 1


def dmft_memory(config) -> tuple[float, str, str]:
    """DMFT paths x steps (fields, responses, noise per path and step) and the finite-d simulation
    (its ``n x d = alpha d^2`` design matrix, at least one seed at a time)."""
    steps = config.steps + 1
    dmft = 8.0 * config.paths * steps * 8
    sim = 0.0
    if config.simulate:
        n = max(1.0, config.alpha * config.simulate)
        per_seed = 8.0 * n * config.simulate
        chunk = max(1, min(config.seeds, int(1.0e9 // per_seed)))
        sim = 2.0 * per_seed * chunk
    if sim > dmft:
        return sim, (f"--simulate {config.simulate} (an n x d = {config.alpha:g} d^2 design matrix per seed)"), (
            "lower --simulate (memory grows as alpha d^2)")
    return dmft, f"--paths {config.paths} x --steps {config.steps}", (
        "lower --paths or --steps, or split the paths over runs with different --seed")


def neurons_memory(config) -> tuple[float, str, str]:
    """Every neuron's k overlaps for every seed, at each save time and solver stage."""
    seeds = config.seeds if isinstance(config.seeds, int) else len(config.seeds)
    nbytes = 8.0 * seeds * config.n * config.k * (config.n_save + 30) * 2
    return nbytes, f"--n {config.n} x --k {config.k} x {seeds} seeds", (
        "lower --n, --seeds or --n-save, or split the seeds over runs (--seeds 0,1,... lists)")


def train_memory(config) -> tuple[float, str, str]:
    """Per seed: the d-dimensional weights and samples of a step and of a link fit (full engine), the
    fixed sample of full-batch GD, or the fit batch of local fields (reduced engine)."""
    seeds = config.seeds if isinstance(config.seeds, int) else len(config.seeds)
    r = _r_of(config.link)
    p = config.rank or r
    fit = config.fit_batch if config.algorithm == "two-timescale" else 0
    worst = 0.0
    for d in (config.d if isinstance(config.d, list) else [config.d]):
        batch = config.batch_size * float(d) ** config.batch_exponent
        if config.engine == "full":
            numbers = seeds * float(d) * (batch + r + p + fit)
            if config.n_samples is not None:
                numbers += seeds * float(d) * config.n_samples * float(d) ** config.samples_exponent
        else:
            numbers = seeds * (fit + batch) * (r + p + 1.0) * 4
        worst = max(worst, 8.0 * _WORKSPACE * numbers)
    where = f"--d {config.d}, {seeds} seeds" if config.engine == "full" else f"--fit-batch {config.fit_batch}, {seeds} seeds"
    return worst, where, ("lower --d (or use the reduced engine), --fit-batch, --batch or --n-samples, "
                          "or split the seeds over runs")


def spectral_memory(config) -> tuple[float, str, str]:
    """The ``n x d = alpha d^2`` sample matrix of a simulation (one seed at a time)."""
    if config.d is None:
        return 0.0, "theory", ""
    alphas = config.alpha if isinstance(config.alpha, list) else [config.alpha]
    size = 4.0 if config.dtype == "float32" else 8.0
    nbytes = 2.0 * size * max(alphas) * float(config.d) ** 2
    return nbytes, f"--d {config.d} at alpha {max(alphas):g} (an n x d matrix)", (
        "lower --d or --alpha, or use --dtype float32")


def out_of_memory_message(exc: BaseException) -> str | None:
    """One line for a backend out-of-memory error (``RESOURCE_EXHAUSTED`` from XLA, ``MemoryError``), else None."""
    text = str(exc)
    if isinstance(exc, MemoryError) or (type(exc).__name__ in ("XlaRuntimeError", "JaxRuntimeError")
                                         and "RESOURCE_EXHAUSTED" in text):
        m = re.search(r"allocating (\d+) bytes", text)
        asked = f" (an allocation of {format_bytes(float(m.group(1)))})" if m else ""
        return (f"out of memory{asked}: the run does not fit in this machine's memory; lower its sizes "
                "(--d, --seeds, --n, --paths, --fit-batch) or split it over several runs")
    return None


MemoryEstimate = Callable[..., tuple[float, str, str]]
