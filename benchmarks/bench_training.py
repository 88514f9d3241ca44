"""Benchmark of finite-sample online training (issue 6, section 4), every ratio measured in this process.

Workload (the STACK.md one): online SGD on fresh Gaussian samples, d = 1000, r = p = 4 neurons, the
planted problem ``f*(z) = sum_i h3(z_i)`` with the student's link fixed to ``f*``, W on the Stiefel
manifold (polar retraction ``W (W^T W)^{-1/2}``), one sample per step, learning rate eta = 0.5/d.
Only the overlaps are kept (every ``SAVE_EVERY`` steps), never the W history.

Parts:

1. baselines: a plain NumPy loop (us/step) and the cost of drawing its samples alone;
2. JAX sampling: threefry float64, float32 then cast, the ``rbg``/``unsafe_rbg`` implementations,
   drawn per step inside ``lax.scan`` or by chunks (one ``(chunk, d)`` draw per chunk) or pre-drawn;
3. a naive PyTorch loop of the same algorithm (skipped when torch is not importable: it is not a
   dependency of mimflow; ``pip install torch==2.13.0`` for the CPU wheel);
4. the engines of :mod:`mimflow.training` (when present): the d-dimensional JAX path against the time
   to draw its samples with the same generator, the NumPy loop and PyTorch; the exact reduced chain
   for one seed and 1024 vmapped seeds; reduced vs d-dimensional at d = 1e3 and 1e4; peak memory;
5. a hand-written exact reduced chain for r = p = 1 (randomness drawn per block, elementwise step,
   Marsaglia-Tsang chi-square): what the reduced engine could reach on this machine;
6. peak memory of one ``train_online`` call in fresh processes (RSS growth), d-dimensional vs reduced.

Usage: .venv/bin/python benchmarks/bench_training.py [--quick] [--json FILE] [--parts 1,2,3,4,5,6,7]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

import mimflow  # noqa: F401  (x64)

D = 1000
R = 4
ETA0 = 0.5
SAVE_EVERY = 100
SQRT6 = math.sqrt(6.0)


def timed(fn, repeats=3):
    """Best (minimum) wall time of ``fn()`` over ``repeats`` calls (the output of the last call).

    The minimum, not the median: this 2-core machine is shared, and contention only ever adds time,
    so the minimum is the estimate least distorted by other processes.
    """
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def block(x):
    return jax.tree_util.tree_map(lambda a: a.block_until_ready() if hasattr(a, "block_until_ready") else a, x)


# ---------------------------------------------------------------------------------------------- 1. NumPy


def h3(z):
    return (z**3 - 3.0 * z) / SQRT6


def dh3(z):
    return (3.0 * z**2 - 3.0) / SQRT6


def initial_frames(d: int, r: int, seed: int = 0):
    """Teacher and student frames (orthonormal columns, Haar), in float64."""
    rng = np.random.default_rng(seed)
    W_star, _ = np.linalg.qr(rng.standard_normal((d, r)))
    W0, _ = np.linalg.qr(rng.standard_normal((d, r)))
    return W_star, W0


def _polar_np(W):
    evals, evecs = np.linalg.eigh(W.T @ W)
    return W @ (evecs / np.sqrt(evals)) @ evecs.T


def numpy_sgd(W_star, W0, steps: int, eta: float, seed: int = 1, save_every: int = SAVE_EVERY):
    """Plain NumPy loop of planted online SGD on the Stiefel manifold; returns the saved overlaps."""
    rng = np.random.default_rng(seed)
    W = W0.copy()
    out = []
    for step in range(steps):
        x = rng.standard_normal(W.shape[0])
        z, zs = W.T @ x, W_star.T @ x
        e = h3(z).sum() - h3(zs).sum()
        gz = e * dh3(z)                       # dl/dz, (r,)
        grad = np.outer(x, gz)                # Euclidean gradient (d, r)
        sym = W.T @ grad
        grad -= W @ (0.5 * (sym + sym.T))     # tangent projection
        W = _polar_np(W - eta * grad)
        if (step + 1) % save_every == 0:
            out.append(W_star.T @ W)
    return np.array(out)


def numpy_samples_only(d: int, steps: int, seed: int = 1):
    rng = np.random.default_rng(seed)
    acc = 0.0
    for _ in range(steps):
        acc += rng.standard_normal(d)[0]
    return acc


# ---------------------------------------------------------------------------------------------- 2. JAX


def _jax_step(W, x, W_star, eta):
    z, zs = W.T @ x, W_star.T @ x
    e = jnp.sum(h3(z)) - jnp.sum(h3(zs))
    gz = e * dh3(z)
    grad = x[:, None] * gz[None, :]
    sym = W.T @ grad
    grad = grad - W @ (0.5 * (sym + sym.T))
    W = W - eta * grad
    evals, evecs = jnp.linalg.eigh(W.T @ W)
    return W @ (evecs / jnp.sqrt(evals)[None, :]) @ evecs.T


def _normal(key, shape, mode: str):
    if mode == "f32":
        return jax.random.normal(key, shape, dtype=jnp.float32).astype(jnp.float64)
    return jax.random.normal(key, shape, dtype=jnp.float64)


def make_key(seed: int, impl: str):
    return jax.random.key(seed, impl=impl)


@partial(jax.jit, static_argnames=("steps", "mode", "chunk", "save_every", "sample_only"))
def jax_sgd(key, W_star, W0, eta, *, steps: int, mode: str = "f64", chunk: int = 0,
            save_every: int = SAVE_EVERY, sample_only: bool = False):
    """Online SGD in one compiled ``lax.scan``, samples drawn inside.

    ``chunk = 0``: one ``(d,)`` draw per step (key folded with the step number); ``chunk > 0``: one
    ``(chunk, d)`` draw per chunk, consumed by an inner scan. ``sample_only``: the same draws, consumed
    by a sum only (the cost of the samples alone). Saves ``W*^T W`` every ``save_every`` steps.
    """
    d = W0.shape[0]

    def consume(W, x):
        if sample_only:
            return W + 1e-300 * x[:, None], None
        return _jax_step(W, x, W_star, eta), None

    if chunk == 0:
        def block_(W, b):
            def one(W, i):
                x = _normal(jax.random.fold_in(key, b * save_every + i), (d,), mode)
                return consume(W, x)
            W, _ = jax.lax.scan(one, W, jnp.arange(save_every))
            return W, W_star.T @ W
        _, Ms = jax.lax.scan(block_, W0, jnp.arange(steps // save_every))
        return Ms

    def block_(W, b):
        X = _normal(jax.random.fold_in(key, b), (chunk, d), mode)
        W, _ = jax.lax.scan(consume, W, X)
        return W, W_star.T @ W
    _, Ms = jax.lax.scan(block_, W0, jnp.arange(steps // chunk))
    return Ms


@partial(jax.jit, static_argnames=("save_every",))
def jax_sgd_predrawn(X, W_star, W0, eta, save_every: int = SAVE_EVERY):
    """The same algorithm on samples drawn ahead (``X`` of shape ``(steps, d)``): compute cost only."""
    def block_(W, Xb):
        W, _ = jax.lax.scan(lambda W, x: (_jax_step(W, x, W_star, eta), None), W, Xb)
        return W, W_star.T @ W
    _, Ms = jax.lax.scan(block_, W0, X.reshape(-1, save_every, X.shape[1]))
    return Ms


def jax_sampling_table(steps: int, d: int, repeats: int) -> dict:
    """us/step of online SGD and of its samples alone, for each generator and drawing pattern."""
    W_star, W0 = initial_frames(d, R)
    W_star, W0 = jnp.asarray(W_star), jnp.asarray(W0)
    eta = ETA0 / d
    rows = {}
    for impl in ("threefry2x32", "rbg", "unsafe_rbg"):
        for mode in ("f64", "f32"):
            for chunk in (0, 1000):
                name = f"{impl}/{mode}/{'per-step' if chunk == 0 else f'chunk{chunk}'}"
                key = make_key(0, impl)
                row = {}
                for sample_only in (True, False):
                    fn = lambda: block(jax_sgd(key, W_star, W0, eta, steps=steps, mode=mode, chunk=chunk,
                                               sample_only=sample_only))
                    fn()
                    secs, _ = timed(fn, repeats)
                    row["samples_only_us" if sample_only else "sgd_us"] = 1e6 * secs / steps
                row["ns_per_number"] = 1e3 * row["samples_only_us"] / d
                row["sgd_over_samples"] = row["sgd_us"] / row["samples_only_us"]
                rows[name] = row
                print(f"  jax {name:32s} samples {row['samples_only_us']:7.2f} us/step "
                      f"({row['ns_per_number']:.1f} ns/number)  sgd {row['sgd_us']:7.2f} us/step", flush=True)
    X = jax.random.normal(jax.random.key(0), (steps, d), dtype=jnp.float64)
    fn = lambda: block(jax_sgd_predrawn(X, W_star, W0, eta))
    fn()
    secs, _ = timed(fn, repeats)
    rows["predrawn (compute only)"] = {"sgd_us": 1e6 * secs / steps}
    print(f"  jax predrawn compute only: {1e6 * secs / steps:.2f} us/step", flush=True)
    best = min((k for k in rows if "samples_only_us" in rows[k]), key=lambda k: rows[k]["samples_only_us"])
    rows["fastest_sampler"] = best
    return rows


# ---------------------------------------------------------------------------------------------- 3. PyTorch


def torch_sgd(W_star, W0, steps: int, eta: float, seed: int = 1, save_every: int = SAVE_EVERY):
    """The same loop written naively in PyTorch (float64, CPU), or None when torch is not importable."""
    try:
        import torch
    except ImportError:
        return None
    torch.manual_seed(seed)
    Ws = torch.from_numpy(W_star)
    W = torch.from_numpy(W0.copy())
    d = W.shape[0]
    out = []
    with torch.no_grad():
        for step in range(steps):
            x = torch.randn(d, dtype=torch.float64)
            z, zs = W.T @ x, Ws.T @ x
            e = ((z**3 - 3 * z) / SQRT6).sum() - ((zs**3 - 3 * zs) / SQRT6).sum()
            gz = e * (3 * z**2 - 3) / SQRT6
            grad = torch.outer(x, gz)
            sym = W.T @ grad
            grad = grad - W @ (0.5 * (sym + sym.T))
            W = W - eta * grad
            evals, evecs = torch.linalg.eigh(W.T @ W)
            W = W @ (evecs / evals.sqrt()) @ evecs.T
            if (step + 1) % save_every == 0:
                out.append((Ws.T @ W).numpy())
    return np.array(out)


def torch_samples_only(d: int, steps: int, seed: int = 1):
    import torch

    torch.manual_seed(seed)
    acc = 0.0
    for _ in range(steps):
        acc += float(torch.randn(d, dtype=torch.float64)[0])
    return acc


def baselines(steps: int, d: int, repeats: int) -> dict:
    W_star, W0 = initial_frames(d, R)
    eta = ETA0 / d
    out = {}
    secs, M_np = timed(lambda: numpy_sgd(W_star, W0, steps, eta), repeats)
    out["numpy_sgd_us"] = 1e6 * secs / steps
    secs, _ = timed(lambda: numpy_samples_only(d, steps), repeats)
    out["numpy_samples_only_us"] = 1e6 * secs / steps
    out["numpy_final_overlap_diag"] = np.diag(M_np[-1]).tolist()
    print(f"  numpy loop {out['numpy_sgd_us']:.2f} us/step, samples alone {out['numpy_samples_only_us']:.2f} us/step",
          flush=True)
    try:
        import torch

        torch.set_num_threads(1)
        out["torch_version"] = torch.__version__
    except ImportError:
        out["torch"] = "not importable (skipped): pip install torch==2.13.0 for the CPU wheel"
        print("  torch not importable: skipped", flush=True)
        return out
    torch_sgd(W_star, W0, 100, eta)
    secs, _ = timed(lambda: torch_sgd(W_star, W0, steps, eta), repeats)
    out["torch_sgd_us"] = 1e6 * secs / steps
    secs, _ = timed(lambda: torch_samples_only(d, steps), repeats)
    out["torch_samples_only_us"] = 1e6 * secs / steps
    print(f"  torch loop {out['torch_sgd_us']:.2f} us/step, samples alone {out['torch_samples_only_us']:.2f} us/step",
          flush=True)
    return out


# ---------------------------------------------------------------------------------------------- 4. engines

PLANTED_4 = "h3(z1) + h3(z2) + h3(z3) + h3(z4)"
MEMORY_SNIPPET = '''
import sys, threading, time
import mimflow
from mimflow.training import make_algorithm, train_online
engine, d, seeds, steps, link = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
algo = make_algorithm("planted", link)
page = 4096
def rss():
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * page
kw = dict(d=d, steps=steps, lr=0.5 / d, seeds=seeds, engine=engine, n_save=4, chunk=steps)
train_online(algo, **dict(kw, seeds=1, d=max(d // 1000, 16)))  # import/compile-time allocations first
base = rss()
peak = [base]
stop = False
def poll():
    while not stop:
        peak[0] = max(peak[0], rss())
        time.sleep(0.002)
th = threading.Thread(target=poll, daemon=True)
th.start()
train_online(algo, **kw)
stop = True
th.join()
print(base, max(peak[0], rss()))
'''


def peak_memory(engine: str, d: int, seeds: int, steps: int, link: str) -> dict:
    """Peak resident memory above the baseline (RSS polled every 2 ms in a fresh process) of one ``train_online``.

    The baseline is taken after importing mimflow and running a tiny call (imports, XLA client); the
    growth is what the call itself allocates (compiled program, states, per-step samples).
    """
    import subprocess

    out = subprocess.run([sys.executable, "-c", MEMORY_SNIPPET, engine, str(d), str(seeds), str(steps), link],
                         capture_output=True, text=True, check=True)
    base, peak = (int(v) for v in out.stdout.split()[-2:])
    state = seeds * (d * R if engine == "full" else 2 * R * R) * 8
    return {"engine": engine, "d": d, "seeds": seeds, "growth_MiB": (peak - base) / 2**20,
            "state_MiB": state / 2**20}


def _train_timed(algo, *, d, steps, seeds, engine, repeats, chunk=10_000):
    from mimflow.training import train_online

    kw = dict(d=d, steps=steps, lr=ETA0 / d, seeds=seeds, engine=engine, n_save=10, chunk=chunk)
    train_online(algo, **kw)  # compile
    secs, traj = timed(lambda: train_online(algo, **kw), repeats)
    return secs, traj


def chunked_samples_us(d: int, steps: int, seeds: int, repeats: int, mode: str = "f64", chunk: int = 1000) -> float:
    """us per step (all seeds) to draw ``seeds x d`` Gaussians per step by ``(chunk, seeds, d)`` draws in a scan."""
    @partial(jax.jit, static_argnames=("n",))
    def draw(key, n):
        def body(acc, b):
            X = _normal(jax.random.fold_in(key, b), (chunk, seeds, d), mode)
            return acc + jnp.sum(X), None  # consume every number (XLA would not generate unused ones)
        return jax.lax.scan(body, 0.0, jnp.arange(n))[0]
    n = max(steps // chunk, 1)
    block(draw(jax.random.key(0), n))
    secs, _ = timed(lambda: block(draw(jax.random.key(0), n)), repeats)
    return 1e6 * secs / (n * chunk)


def memory_benchmarks() -> list:
    """Peak memory growth of ``train_online`` in fresh processes: O(seeds d r) against O(seeds r^2)."""
    mem = []
    for engine, d, seeds in (("full", 100_000, 1), ("full", 100_000, 16), ("full", 100_000, 64),
                             ("reduced", 100_000, 1), ("reduced", 100_000, 1024), ("reduced", 100_000, 16384),
                             ("reduced", 100_000_000, 16384)):
        try:
            mem.append(peak_memory(engine, d, seeds, 20, PLANTED_4))
            print(f"  memory {mem[-1]}", flush=True)
        except Exception as exc:  # noqa: BLE001  (report, do not stop the benchmark)
            mem.append({"engine": engine, "d": d, "seeds": seeds, "error": str(exc)[-300:]})
    return mem


def engine_benchmarks(quick: bool, baseline: dict | None, repeats: int) -> dict:
    try:
        from mimflow.training import make_algorithm
    except ImportError as exc:  # the engines are issue 6's other half
        print(f"  mimflow.training not importable ({exc}): skipped", flush=True)
        return {"skipped": str(exc)}
    out: dict = {}
    algo4 = make_algorithm("planted", PLANTED_4)
    algo1 = make_algorithm("planted", "h3")
    steps = 2_000 if quick else 5_000

    # (a) the d-dimensional path at d = 1000: 1 seed and 16 vmapped seeds, against its samples
    for seeds in (1, 16):
        n = steps if seeds == 1 else steps // 5
        secs, traj = _train_timed(algo4, d=D, steps=n, seeds=seeds, engine="full", repeats=repeats)
        us = 1e6 * secs / n
        samples = chunked_samples_us(D, steps, seeds, repeats)
        row = {"us_per_step": us, "us_per_seed_step": us / seeds, "samples_us_per_step": samples,
               "ratio_to_samples": us / samples, "engine_info_steps_per_second": traj.info.get("steps_per_second")}
        if baseline:
            row["speedup_vs_numpy_loop"] = baseline["numpy_sgd_us"] * seeds / us
            if "torch_sgd_us" in baseline:
                row["speedup_vs_torch_loop"] = baseline["torch_sgd_us"] * seeds / us
        out[f"full_d{D}_seeds{seeds}"] = row
        print(f"  full d={D} seeds={seeds}: {us:.2f} us/step ({us / seeds:.2f} per seed-step), samples "
              f"{samples:.2f} us/step, ratio {us / samples:.2f}", flush=True)

    # (b) the reduced chain: one seed and 1024 vmapped seeds, r = p = 1 and r = p = 4
    for name, algo, scale in (("r1", algo1, 1), ("r4", algo4, 10)):
        red_steps = (20_000 if quick else 50_000) // scale
        secs, _ = _train_timed(algo, d=D, steps=red_steps, seeds=1, engine="reduced", repeats=repeats, chunk=red_steps)
        out[f"reduced_{name}_seeds1_steps_per_s"] = red_steps / secs
        batch_steps = (200 if quick else 1_000) // scale
        secs, _ = _train_timed(algo, d=D, steps=batch_steps, seeds=1024, engine="reduced", repeats=repeats,
                               chunk=batch_steps)
        out[f"reduced_{name}_seeds1024_seed_steps_per_s"] = 1024 * batch_steps / secs
        print(f"  reduced {name}: 1 seed {out[f'reduced_{name}_seeds1_steps_per_s']:.3g} steps/s, 1024 seeds "
              f"{out[f'reduced_{name}_seeds1024_seed_steps_per_s']:.3g} seed-steps/s", flush=True)

    # (c) reduced vs d-dimensional at d = 1e3, 1e4 (same algorithm, same steps, one seed)
    for d in (1000, 10_000):
        s = 500 if quick else 2_000
        full, _ = _train_timed(algo4, d=d, steps=s, seeds=1, engine="full", repeats=repeats)
        red, _ = _train_timed(algo4, d=d, steps=s, seeds=1, engine="reduced", repeats=repeats)
        out[f"full_over_reduced_d{d}"] = {"full_us_per_step": 1e6 * full / s, "reduced_us_per_step": 1e6 * red / s,
                                          "ratio": full / red}
        print(f"  d={d}: full {1e6 * full / s:.2f} us/step, reduced {1e6 * red / s:.2f} us/step, "
              f"ratio {full / red:.1f}", flush=True)

    return out


# ---------------------------------------------------------------------------------------------- 5. reference chain


def exact_chi2(key, dof, shape):
    """Exact chi-square draws: Marsaglia-Tsang gamma(dof/2), rejected entries proposed again (dof >= 3)."""
    a = dof / 2.0
    dd = a - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * dd)

    def propose(k):
        ka, kb = jax.random.split(k)
        x = jax.random.normal(ka, shape, dtype=jnp.float64)
        u = jax.random.uniform(kb, shape, dtype=jnp.float64)
        v = (1.0 + c * x) ** 3
        ok = (v > 0) & (jnp.log(u) < 0.5 * x * x + dd - dd * v + dd * jnp.log(jnp.where(v > 0, v, 1.0)))
        return dd * v, ok

    val, ok = propose(jax.random.fold_in(key, 0))

    def body(st):
        val, ok, i = st
        new, new_ok = propose(jax.random.fold_in(key, i))
        return jnp.where(ok, val, new), ok | new_ok, i + 1

    val, _, _ = jax.lax.while_loop(lambda st: ~jnp.all(st[1]), body, (val, ok, 1))
    return 2.0 * val


def reference_reduced_chain(d: float, eta: float, block: int = 1000):
    """Hand-written exact reduced chain of planted ``h3`` online SGD on the sphere (r = p = 1).

    Per step: local fields ``(nu, lambda) ~ N(0, [[1, m], [m, 1]])`` from two normals, ``|x|^2`` =
    their squares + chi2(d - 2), ``m' = (m - eta nu a) / sqrt(1 - 2 eta lambda a + eta^2 a^2 |x|^2)``.
    All randomness (state-independent) is drawn per block of ``block`` steps outside the step loop, and
    the step is written elementwise (no matrices): an upper bound for what the engine can reach here.
    """
    def run(m, key, n):
        def outer(m, b):
            k1, k2 = jax.random.split(jax.random.fold_in(key, b))
            E = jax.random.normal(k1, (2, block), dtype=jnp.float64)
            chi = exact_chi2(k2, d - 2.0, (block,))

            def inner(m, inp):
                nu, e1, c2 = inp
                lam = nu * m + e1 * jnp.sqrt(jnp.maximum(1.0 - m * m, 0.0))
                a = (h3(lam) - h3(nu)) * dh3(lam)
                q = 1.0 - 2.0 * eta * lam * a + eta * eta * a * a * (nu * nu + e1 * e1 + c2)
                return (m - eta * nu * a) / jnp.sqrt(q), None

            m, _ = jax.lax.scan(inner, m, (E[0], E[1], chi))
            return m, None

        m, _ = jax.lax.scan(outer, m, jnp.arange(n // block))
        return m
    return run


def reference_chain_benchmarks(quick: bool, repeats: int) -> dict:
    out = {}
    run = reference_reduced_chain(float(D), ETA0 / D)
    for seeds in (1, 1024):
        n = (50_000 if quick else 200_000) if seeds == 1 else (1_000 if quick else 4_000)
        if seeds == 1:
            f = jax.jit(lambda m, k: run(m, k, n))
            m0, keys = jnp.float64(0.03), jax.random.key(0)
        else:
            f = jax.jit(jax.vmap(lambda m, k: run(m, k, n)))
            m0, keys = jnp.full((seeds,), 0.03), jax.random.split(jax.random.key(0), seeds)
        block(f(m0, keys))
        secs, _ = timed(lambda: block(f(m0, keys)), repeats)
        out[f"seeds{seeds}_seed_steps_per_s"] = seeds * n / secs
        print(f"  reference reduced chain (r = p = 1), {seeds} seeds: {seeds * n / secs:.3g} seed-steps/s", flush=True)
    return out


# ---------------------------------------------------------------------------------------------- main


def two_timescale_fit_benchmarks(quick: bool, repeats: int) -> dict:
    """Issue 17: BBPV's two-timescale algorithm (h2, d = 1000, eta = 0.2/d, reduced engine, one seed), the
    link refitted every step on 2000 samples: exact fresh samples (``link_fit="fresh"``, the baseline) against
    the Gaussian draw of the batch's statistics (``"moments"``), same process, compile excluded; planted h2
    (no link fit) beside them as the floor of the reduced step."""
    from mimflow.training import make_algorithm, train_online

    d = 1000
    out: dict = {"d": d, "link": "h2", "fit_batch": 2000, "eta": "0.2/d"}
    cases = [("fresh", make_algorithm("two-timescale", "h2", link_fit="fresh", fit_batch=2000), 2_000 if quick else 5_000),
             ("moments", make_algorithm("two-timescale", "h2", link_fit="moments", fit_batch=2000),
              50_000 if quick else 200_000),
             ("planted", make_algorithm("planted", "h2"), 200_000 if quick else 1_000_000)]
    for name, algo, steps in cases:
        kw = dict(d=d, steps=steps, lr=0.2 / d, seeds=1, n_save=10, chunk=steps)
        train_online(algo, **kw)  # compile
        secs, _ = timed(lambda: train_online(algo, **kw), repeats)
        out[f"{name}_steps_per_s"] = steps / secs
        out[f"{name}_s"] = secs
        out[f"{name}_steps"] = steps
        print(name, steps / secs, "steps/s", flush=True)
    out["speedup_moments_over_fresh"] = out["moments_steps_per_s"] / out["fresh_steps_per_s"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", default=None)
    parser.add_argument("--parts", default="1,2,3,4,5,6")
    args = parser.parse_args()
    parts = {int(p) for p in args.parts.split(",")}
    steps = 5_000 if args.quick else 20_000
    repeats = 2 if args.quick else 3
    results: dict = {"d": D, "r": R, "eta": f"{ETA0}/d", "steps": steps, "jax": jax.__version__,
                     "jax_devices": [str(x) for x in jax.devices()], "cpus": os.cpu_count(),
                     "python": sys.version.split()[0]}
    if 1 in parts or 3 in parts:
        print("1/3. NumPy and PyTorch loops", flush=True)
        results["baselines"] = baselines(steps if 3 in parts else steps, D, repeats)
    if 2 in parts:
        print("2. JAX sampling", flush=True)
        results["jax_sampling"] = jax_sampling_table(steps, D, repeats)
    if 4 in parts:
        print("4. mimflow.training engines", flush=True)
        results["engines"] = engine_benchmarks(args.quick, results.get("baselines"), repeats)
    if 6 in parts:
        print("6. peak memory", flush=True)
        results["memory"] = memory_benchmarks()
    if 5 in parts:
        print("5. hand-written reference reduced chain", flush=True)
        results["reference_chain"] = reference_chain_benchmarks(args.quick, repeats)
    if 7 in parts:
        print("7. two-timescale link fit: fresh samples vs moment draw", flush=True)
        results["two_timescale_fit"] = two_timescale_fit_benchmarks(args.quick, repeats)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=2)
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
