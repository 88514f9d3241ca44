"""Benchmark of the population flow (issue 4): one three-saddle run at d = 1e4, 1000 seeds in one
vmapped call, a Python loop of single solves, scipy's solve_ivp on the same ODE, and the full
d-dimensional flow, all in this process.

Usage: .venv/bin/python benchmarks/bench_flow.py [--quick] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np

import mimflow  # noqa: F401  (x64)
from mimflow.dynamics import direction_escape_times, haar_overlaps_batch, solve_flow, two_timescale_flow
from mimflow.targets import make_link, multivariate_spectrum

LINK = "h2(z1) + h3(z2) + h4(z3)"
D = 10_000
T_MAX = 1e18


def timed(fn, repeats=3):
    times = []
    out = None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def full_flow_comparison(quick: bool) -> dict:
    """Reduced vs d-dimensional flow from the same W0 to t = 3x the first escape, at equal accuracy.

    Equal accuracy: both are run at tolerances whose error against a tighter run of the same
    solver is below 1e-6 in M, and the two answers agree to that level.
    """
    from mimflow.dynamics import full_flow_from_overlaps, save_times, solve_full_flow
    from mimflow.dynamics import make_flow

    out = {}
    flow = make_flow("two-timescale", multivariate_spectrum(make_link("h2(z1) + h3(z2)"), 3))
    for d in ((1000,) if quick else (1000, 4000)):
        W_star, W0, M0 = full_flow_from_overlaps(flow, d, key=jax.random.PRNGKey(1))
        t_end = 3.0 * d / 4.0 / 2.0  # ~3x the first escape time d/(4 p)
        ts = save_times(t_end, 60)
        solve_flow(flow, np.asarray(M0)[None], t_max=t_end, d=d, rtol=1e-9, n_save=60)
        red_s, red = timed(lambda: solve_flow(flow, np.asarray(M0)[None], t_max=t_end, d=d, rtol=1e-9, n_save=60))
        solve_full_flow(flow, W_star, W0, save_times=ts, rtol=1e-9, atol=1e-13)
        full_s, full = timed(lambda: solve_full_flow(flow, W_star, W0, save_times=ts, rtol=1e-9, atol=1e-13),
                             repeats=1)
        diff = float(np.max(np.abs(red.M[0] - full.trajectory.M[0])))
        out[str(d)] = {"reduced_s": red_s, "full_s": full_s, "ratio_full_over_reduced": full_s / red_s,
                       "max_abs_difference_M": diff, "full_steps": int(full.n_steps),
                       "reduced_steps": int(red.n_steps[0])}
        print("full flow", d, out[str(d)], flush=True)
    return out


def lanes_comparison(flow, M0, rtol: float = 1e-6, repeats: int = 1) -> dict:
    """Issue 17: the batched solver's work queue (``lanes`` seeds at once, refilled as seeds finish) and
    the forward-difference Jacobian against the lockstep batch (``lanes=None``, the solver before issue 17),
    same seeds, same process; compile times apart; min of ``repeats``."""
    from functools import partial

    from mimflow.dynamics import save_times
    from mimflow.dynamics._solve import stop_loss_for
    from mimflow.dynamics._rosenbrock import rosenbrock_solve_batch

    y0 = jnp.asarray(M0.reshape(M0.shape[0], -1))
    ts = jnp.asarray(save_times(T_MAX)[1:])
    variants = [(None, "ad"), (64, "ad"), (128, "ad"), (64, "fd")]
    out: dict = {"seeds": int(M0.shape[0]), "rtol": rtol}
    fns = {}
    for lanes, jac in variants:
        fns[(lanes, jac)] = jax.jit(partial(rosenbrock_solve_batch, flow.flat_vector_field, flow.flat_loss, rtol=rtol,
                                            atol=1e-13, stop_loss=stop_loss_for(flow), lanes=lanes, jacobian=jac))
        start = time.perf_counter()
        ys, st = jax.block_until_ready(fns[(lanes, jac)](y0, ts))
        out[f"compile_lanes={lanes}_{jac}_s"] = time.perf_counter() - start
        out[f"steps_lanes={lanes}_{jac}"] = {"max": int(st.steps.max()), "mean": float(st.steps.mean())}
        if (lanes, jac) == (None, "ad"):
            reference = np.asarray(ys)
        else:
            out[f"max_abs_dM_vs_lockstep_lanes={lanes}_{jac}"] = float(np.max(np.abs(np.asarray(ys) - reference)))
    best = {k: float("inf") for k in fns}
    for _ in range(repeats):  # interleaved, so that the load hits every variant alike
        for k, fn in fns.items():
            start = time.perf_counter()
            jax.block_until_ready(fn(y0, ts))
            best[k] = min(best[k], time.perf_counter() - start)
    for (lanes, jac), secs in best.items():
        out[f"lanes={lanes}_{jac}_s"] = secs
        out[f"speedup_lanes={lanes}_{jac}"] = best[(None, "ad")] / secs
    print("lanes", json.dumps(out, indent=1), flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", default=None)
    parser.add_argument("--lanes-only", action="store_true", help="only the lanes/Jacobian comparison (issue 17)")
    args = parser.parse_args()
    n_batch = 100 if args.quick else 1000
    n_loop = 20 if args.quick else 100
    results: dict = {"link": LINK, "d": D, "jax_devices": [str(x) for x in jax.devices()]}
    flow = two_timescale_flow(multivariate_spectrum(make_link(LINK), 4))
    M0 = np.asarray(haar_overlaps_batch(D, 3, 3, range(n_batch)))
    results["lanes"] = lanes_comparison(flow, M0)
    if args.lanes_only:
        if args.json:
            with open(args.json, "w") as fh:
                json.dump(results, fh, indent=2)
        return

    for rtol in (1e-6, 1e-7):
        key = f"rtol={rtol:g}"
        solve_flow(flow, M0[:1], t_max=T_MAX, d=D, rtol=rtol)  # compile
        single, tr = timed(lambda: solve_flow(flow, M0[:1], t_max=T_MAX, d=D, rtol=rtol), repeats=5)
        loop_start = time.perf_counter()
        loop_steps = []
        for i in range(n_loop):
            loop_steps.append(int(solve_flow(flow, M0[i:i + 1], t_max=T_MAX, d=D, rtol=rtol).n_steps[0]))
        loop = (time.perf_counter() - loop_start) / n_loop
        solve_flow(flow, M0, t_max=T_MAX, d=D, rtol=rtol)  # compile the batch shape
        batch, trb = timed(lambda: solve_flow(flow, M0, t_max=T_MAX, d=D, rtol=rtol), repeats=1 if not args.quick else 2)
        results[key] = {
            "single_run_s": single, "single_run_steps": int(tr.n_steps[0]), "single_converged": bool(tr.converged[0]),
            "loop_per_seed_s": loop, "loop_mean_steps": float(np.mean(loop_steps)),
            f"batch_{n_batch}_seeds_s": batch, "batch_per_seed_s": batch / n_batch,
            "batch_max_steps": int(trb.n_steps.max()), "batch_mean_steps": float(trb.n_steps.mean()),
            "batch_converged_fraction": float(trb.converged.mean()),
            "batch_vs_loop_speedup": loop * n_batch / batch,
        }
        print(key, json.dumps(results[key], indent=1), flush=True)

    # scipy solve_ivp on the same ODE (jitted JAX vector field and Jacobian called from scipy)
    from scipy.integrate import solve_ivp

    f = jax.jit(flow.flat_vector_field)
    jac = jax.jit(jax.jacfwd(flow.flat_vector_field))
    loss = jax.jit(flow.flat_loss)
    y0 = M0[0].reshape(-1)
    f(jnp.asarray(y0)), jac(jnp.asarray(y0)), loss(jnp.asarray(y0))

    def rhs(t, y):
        return np.asarray(f(jnp.asarray(y)))

    def jacobian(t, y):
        return np.asarray(jac(jnp.asarray(y)))

    def converged(t, y):
        return float(loss(jnp.asarray(y))) - 1e-10 * 3.0

    converged.terminal = True
    ts = np.logspace(-2, np.log10(T_MAX), 300)
    ref = solve_flow(flow, M0[:1], t_max=T_MAX, d=D, rtol=1e-9, n_save=2000)
    ref_esc = np.sort(direction_escape_times(ref)[0])
    for method in ("LSODA", "Radau"):
        for rtol in (1e-6, 1e-7):
            def run():
                return solve_ivp(rhs, (0.0, T_MAX), y0, method=method, rtol=rtol, atol=1e-13, jac=jacobian,
                                 events=converged, dense_output=False, t_eval=None)

            secs, sol = timed(run, repeats=2)
            results[f"scipy_{method}_rtol={rtol:g}"] = {"seconds": secs, "nfev": int(sol.nfev), "njev": int(sol.njev),
                                                        "status": int(sol.status)}
            print(method, rtol, secs, sol.nfev, flush=True)
    ours = results["rtol=1e-07"]["single_run_s"]
    results["ratio_scipy_LSODA_over_ours_rtol1e-7"] = results["scipy_LSODA_rtol=1e-07"]["seconds"] / ours
    results["ratio_scipy_Radau_over_ours_rtol1e-7"] = results["scipy_Radau_rtol=1e-07"]["seconds"] / ours
    results["reference_escape_times_seed0"] = ref_esc.tolist()

    # the d-dimensional flow against the reduced one, same W0, through the first escape of h2(z1) + h3(z2)
    results["full_flow"] = full_flow_comparison(args.quick)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=2)
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
