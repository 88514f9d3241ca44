# %% [markdown]
# # Sweeps on a cluster
#
# Every run command (`flow`, `train`, `neurons`, `spectral`, `dmft`, `hermite-mc`) is one library call
# on a frozen configuration. A **sweep** is a base configuration plus *axes* (a list of values per
# field): every point of the grid is one run, stored in a results folder under a content hash of its
# configuration, written atomically. Runs already stored are skipped, so a sweep killed at any moment
# and started again computes only what is missing. Fields that a command vmaps (seeds, `d` of `flow`)
# are not axes: their whole list goes into one run.
#
# Here: a tiny grid of Monte Carlo estimates of the Hermite coefficients of ReLU, on a Dask
# `LocalCluster` with **one** worker process. On a real cluster pass `scheduler="tcp://host:8786"`
# (any running Dask scheduler whose workers see the folder) or `jobqueue="slurm"` / `"pbs"` with
# `pip install "mimflow[cluster]"`.

# %%
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from mimflow.runs import export_results, list_runs, run_sweep

out = Path(tempfile.mkdtemp()) / "runs"
report = run_sweep("hermite-mc", out, base={"link": "relu", "degree": 6, "seeds": 4},
                   axes={"n": [1000, 4000, 16000]}, local=1)
print(f"{report.total} runs: {report.computed} computed, {report.reused} reused, "
      f"{len(report.failed)} failed, on {report.where}")

# %% [markdown]
# Running the same sweep again finds every run in the store and computes nothing:

# %%
again = run_sweep("hermite-mc", out, base={"link": "relu", "degree": 6, "seeds": 4},
                  axes={"n": [1000, 4000, 16000]}, local=0)  # local=0: in this process, no Dask
print(f"second time: {again.already_stored} already stored, {again.computed} computed")

# %% [markdown]
# The store lists its runs with the axes along which they differ, and exports them to one xarray
# dataset (netCDF) or a CSV of scalars:

# %%
listing = list_runs(out)
print("axes:", listing.axes)
for run in listing.runs:
    print(run.run_id[:10], run.status, run.axes, {k: round(v, 4) for k, v in run.scalars.items() if k == "max_abs_error"})

csv = export_results(out, out.parent / "scalars.csv")
print(csv.read_text().splitlines()[0])

# %% [markdown]
# The Monte Carlo error should fall like $n^{-1/2}$:

# %%
runs = sorted(listing.runs, key=lambda r: r.axes["n"])
ns = np.array([r.axes["n"] for r in runs], dtype=float)
err = np.array([r.scalars["mean_stderr"] for r in runs])
fig, ax = plt.subplots(figsize=(4.5, 3.2))
ax.loglog(ns, err, "o-", label="mean standard error of $c_0..c_6$")
ax.loglog(ns, err[0] * np.sqrt(ns[0] / ns), "k--", lw=0.8, label=r"$\propto n^{-1/2}$")
ax.set_xlabel("Monte Carlo samples n")
ax.legend(frameon=False)
fig.tight_layout()
plt.show()

# %% [markdown]
# The command line does the same, and `mimflow results` reads the folder:
#
# ```bash
# mimflow sweep hermite-mc relu --degree 6 --seeds 4 --n 1000,4000,16000 --local 1 --out runs/
# mimflow results list runs/
# mimflow results export runs/ --to all.nc
# ```
