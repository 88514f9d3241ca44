r"""``hermite-mc``: Monte Carlo estimates of Hermite coefficients against their exact values.

For a one-variable link ``f`` and ``n`` samples ``z_i ~ N(0, 1)`` per seed,

.. math::

    \hat c_k = \frac1n \sum_i f(z_i)\,h_k(z_i),\qquad
    \widehat{\mathrm{se}}_k = \frac{\mathrm{sd}_i\big(f(z_i) h_k(z_i)\big)}{\sqrt n},

compared with the exact ``c_k`` of ``link.spectrum(degree)``. All seeds run in one compiled call
(``jax.vmap`` over their keys); samples are drawn in chunks of at most 32768 so memory stays
bounded, and the chunk statistics are merged with Chan's update (no ``E[x^2] - E[x]^2``
cancellation). Seed ``s`` uses ``seed_key(s)`` (docs/conventions.md), chunk ``j`` of it ``fold_in(key, j)``.

The result is the smallest real run command: it validates, sweeps (``n`` and ``link`` are
axes, ``seeds`` is vmapped) and is stored like the population and training runs will be.
"""

from __future__ import annotations

import functools
import time
from typing import TYPE_CHECKING

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from mimflow._errors import MimflowError
from mimflow._seeds import seed_keys
from mimflow.hermite import hermite_normalized
from mimflow.runs import RunResult, check_finite_result
from mimflow.targets import make_link

if TYPE_CHECKING:  # annotations only: the command module names this one (a Deferred), not the reverse
    from mimflow.studies.hermite._command import HermiteMCConfig

CHUNK = 32768


def _chunk_size(n_seeds: int) -> int:
    """Samples per chunk and seed: 32768 for up to 8 seeds, less for more (memory stays < ~0.4 GB).

    It depends on the number of seeds only, so a sweep over ``n`` compiles once per worker.
    """
    return max(1024, min(CHUNK, 2**18 // (1 << (n_seeds - 1).bit_length())))


@functools.lru_cache(maxsize=32)
def _estimator(link_text: str, degree: int, chunk: int):
    """A jitted ``(keys (S,), n) -> (mean (S, K+1), M2 (S, K+1))``, cached per worker process.

    ``n`` is traced (the number of chunks is a loop bound), so one compilation serves every ``n``
    with the same chunk size.
    """
    link = make_link(link_text)

    def chunk_stats(key, j, n):
        z = jax.random.normal(jax.random.fold_in(key, j), (chunk,), dtype=jnp.float64)
        idx = j * chunk + jnp.arange(chunk)
        mask = (idx < n).astype(jnp.float64)[:, None]  # (chunk, 1)
        x = link(z[:, None])[:, None] * hermite_normalized(z, degree)  # (chunk, K+1)
        count = jnp.sum(mask)
        mean = jnp.sum(x * mask, axis=0) / count
        m2 = jnp.sum(((x - mean[None, :]) * mask) ** 2, axis=0)
        return count, mean, m2

    def one_seed(key, n):
        def body(j, carry):
            count_a, mean_a, m2_a = carry
            count_b, mean_b, m2_b = chunk_stats(key, j, n)
            count = count_a + count_b
            delta = mean_b - mean_a
            mean = mean_a + delta * (count_b / count)
            m2 = m2_a + m2_b + delta**2 * (count_a * count_b / count)
            return count, mean, m2

        zero = jnp.zeros(degree + 1, dtype=jnp.float64)
        n_chunks = (n + chunk - 1) // chunk
        _, mean, m2 = jax.lax.fori_loop(0, n_chunks, body, (jnp.float64(0.0), zero, zero))
        return mean, m2

    return jax.jit(jax.vmap(one_seed, in_axes=(0, None)))


def hermite_mc(config: HermiteMCConfig, *, progress=None) -> RunResult:
    """Run ``hermite-mc`` (see the module docstring); raises MimflowError on non-finite numbers."""
    start = time.perf_counter()
    link = make_link(config.link)
    exact = np.asarray(link.spectrum(config.degree).coefficients, dtype=np.float64)
    seeds = config.seed_values
    estimator = _estimator(config.link, config.degree, _chunk_size(len(seeds)))
    keys = seed_keys(seeds)
    mean, m2 = estimator(keys, jnp.int64(config.n))
    estimate = np.asarray(mean)
    stderr = np.sqrt(np.asarray(m2) / (config.n - 1) / config.n)
    error = estimate - exact[None, :]
    floor = 1e-12 * np.maximum(1.0, np.abs(exact))[None, :]
    z_score = np.abs(error) / np.maximum(stderr, floor)
    k = np.arange(config.degree + 1)
    ds = xr.Dataset(
        {
            "estimate": (("seed", "k"), estimate, {"long_name": "Monte Carlo estimate of c_k = E[f(z) h_k(z)]"}),
            "stderr": (("seed", "k"), stderr, {"long_name": "standard error of the estimate"}),
            "exact": (("k",), exact, {"long_name": "exact c_k (link.spectrum)"}),
        },
        coords={"seed": np.asarray(seeds, dtype=np.int64), "k": k},
        attrs={"link": link.name, "n": config.n},
    )
    check_finite_result("hermite-mc", ds)
    if not np.all(np.isfinite(z_score)):  # pragma: no cover - guarded by the floor
        raise MimflowError("hermite-mc: non-finite z-score")
    scalars = {
        "max_abs_error": float(np.max(np.abs(error))),
        "max_z_score": float(np.max(z_score)),
        "mean_stderr": float(np.mean(stderr)),
    }
    summary = {
        "link": link.name,
        "degree": config.degree,
        "n": config.n,
        "seeds": seeds,
        "exact": exact,
        "estimate_mean": estimate.mean(axis=0),
        "stderr_mean": stderr.mean(axis=0),
        **scalars,
        "seconds": time.perf_counter() - start,
    }
    if progress is not None:
        progress(1.0)
    return RunResult(ds, scalars, summary)
