# %% [markdown]
# # Saddle-to-saddle dynamics of a multi-index target
#
# The target $f_*(z) = h_2(z_1) + h_3(z_2)$ hides two directions with different Hermite degrees.
# The two-timescale gradient flow ([mathematics](../math/grassmannian-flow.html#1.4)) picks them up one
# after the other: a first plateau of length $\approx d/(4c_2^2)$, a second of length
# $\approx d^2/(12c_3^2)$ ([escape times](../math/saddles.html#1.6.2)). We integrate the exact overlap
# flow from the exact finite-$d$ law of $M(0)$ for a few dimensions and seeds, and compare the
# measured escape times with the theory, which never calls the ODE solver.

# %%
import matplotlib.pyplot as plt
import numpy as np

from mimflow.dynamics import haar_overlaps_batch, make_flow, saddle_escape_times, solve_flow
from mimflow.plotting import plot_singular_values
from mimflow.targets import make_link, multivariate_spectrum
from mimflow.theory import censored_median, exponents, predicted_escape_times

f = make_link("h2(z1) + h3(z2)")
print([(s.directions, s.exponent) for s in exponents(f).saddles])  # one direction at s = 2, then one at s = 3

# %% [markdown]
# The saddle sequence says: one new direction with exponent 2 (time $\sim d$), then one with
# exponent 3 (time $\sim d^2$). Build the flow from the truncated Hermite spectrum and integrate it
# from 16 Haar-random starts at each of three dimensions. Time is in the units of the loss with the
# factor 1/2 and unit learning rate ([conventions](../conventions.html#0)).

# %%
spectrum = multivariate_spectrum(f, 3)
flow = make_flow("two-timescale", spectrum)
ds, seeds, t_max = [300, 1000, 3000], range(16), 1e12
trajectories = {d: solve_flow(flow, haar_overlaps_batch(d, 2, 2, seeds), t_max=t_max, d=d, n_save=120) for d in ds}
measured = {d: saddle_escape_times(trajectories[d], [1, 1], flow=flow) for d in ds}  # (seeds, saddles), NaN: not escaped
predicted = {d: predicted_escape_times(spectrum, d) for d in ds}

# %% [markdown]
# Escape times are heavy-tailed for $s \ge 3$ (the time scales like $x_0^{1-s}$ in the random initial
# overlap $x_0$), so we compare **medians**, and a run that has not escaped by `t_max` is
# right-censored, not dropped: `censored_median` is the Kaplan-Meier median with its 95% confidence
# interval ([statistics](../math/statistics.html#8.2)). With 16 seeds the interval of the second saddle
# is wide: that is the seed-to-seed spread, not a solver error.

# %%
medians = {}
for d in ds:
    stats = [censored_median(measured[d][:, k], t_max) for k in range(2)]
    medians[d] = [m.median if m.median is not None else np.nan for m in stats]
    for k, m in enumerate(stats):
        lo, hi = (f"{x:.3g}" if x is not None else "open" for x in m.ci95)
        print(f"d = {d:5d}, saddle {k + 1}: median {m.median:.3g}, 95% CI [{lo}, {hi}], predicted {predicted[d][k]:.3g}")

# %% [markdown]
# The singular values of $M = W_*^\top W$ at $d = 1000$: every seed faint, the median bold, the
# predicted escapes dashed.

# %%
tr = trajectories[1000]
fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
plot_singular_values(axes[0], tr.t, tr.singular_values, predicted=predicted[1000], title="f* = h2(z1) + h3(z2), d = 1000")
for k, color in enumerate(["C0", "C1"]):
    med = [medians[d][k] for d in ds]
    axes[1].loglog(ds, med, "o", color=color, label=f"saddle {k + 1}: measured median")
    axes[1].loglog(ds, [predicted[d][k] for d in ds], "--", color=color, label=f"saddle {k + 1}: predicted")
axes[1].set_xlabel("d")
axes[1].set_ylabel("escape time")
axes[1].legend(frameon=False, fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# The log-log slopes of the medians against $d$ estimate the exponents $s - 1 = 1$ and $2$ (with 16
# seeds the second is noisy; `mimflow flow` adds a bootstrap standard error):

# %%
for k in range(2):
    med = [medians[d][k] for d in ds]
    print(f"saddle {k + 1}: fitted slope {np.polyfit(np.log(ds), np.log(med), 1)[0]:.2f}, predicted {k + 1}")

# %% [markdown]
# The same from the command line, with Kaplan-Meier medians, confidence intervals and the predicted
# spread over seeds ([statistics](../math/statistics.html#8.2)):
#
# ```bash
# mimflow flow "h2(z1) + h3(z2)" --d 300,1000,3000 --seeds 16 --plot flow.png --json
# ```
