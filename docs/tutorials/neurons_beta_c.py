# %% [markdown]
# # Correlation-loss neurons and the threshold β_c
#
# A student of independent neurons on the sphere, trained by gradient flow on the correlation loss
# against $f_*(x) = \sum_{j=1}^k\sigma_*(v_j^\top x)$ ([mathematics](../math/neurons.html#2.2)). Each neuron
# follows the exact $k$-dimensional overlap ODE $\dot m = (Q - mm^\top)g'(m)$ with
# $g(m) = \sum_pc_p(\sigma_*)^2m^p$ and $Q = V^\top V$. We check two statements of Şimşek, Bendjeddou
# and Hsu (AISTATS 2025): neurons find the *nearest* index vector when the $v_j$ are orthogonal, so
# $n\asymp k\log k$ neurons cover all of them; and with equal angles $v_i^\top v_j = \beta$ the average
# of the index vectors becomes a minimum above $\beta_c = c/(c + k)$.

# %%
import matplotlib.pyplot as plt
import numpy as np

from mimflow.dynamics import classify_neuron_end_points, equiangular_gram, neuron_initial_overlaps, solve_neurons
from mimflow.theory import (
    average_point_curvatures,
    beta_critical,
    beta_critical_pure_hermite,
    correlation_coefficients,
    coverage_probability,
)


# %% [markdown]
# ## β_c from the curvature of the average point
#
# The average point $\bar w\propto\sum_jv_j$ is a minimum iff $k\bar mg'(\bar m) > (1-\beta)g''(\bar m)$
# ([§2.4](../math/neurons.html#2.4)). For a pure Hermite link $h_p$ the root is $(p-2)/(k+p-2)$; for a
# mixture it moves, and `beta_critical` finds it by root finding.

# %%
k = 4
for sigma, p in [("h3", 3), ("h4", 4), ("h3(z) + 0.5*h4(z)", None)]:
    a = correlation_coefficients(sigma)
    res = beta_critical(a, k)
    closed = beta_critical_pure_hermite(p, k) if p else None
    print(f"{sigma:>18}: beta_c = {res.beta_c:.4f}" + (f"   closed form (p-2)/(k+p-2) = {closed:.4f}" if closed else ""))

a = correlation_coefficients("h3(z) + 0.5*h4(z)")
betas = np.linspace(0.0, 0.6, 121)
inside = [average_point_curvatures(a, k, b)[1] for b in betas]
fig, ax = plt.subplots(figsize=(5, 3.2))
ax.plot(betas, inside)
ax.axhline(0, color="k", lw=0.6)
ax.axvline(beta_critical(a, k).beta_c, color="C3", ls="--", label=r"$\beta_c$")
ax.set_xlabel(r"$\beta$")
ax.set_ylabel("curvature inside span(V)")
ax.set_title(r"$\sigma_* = h_3 + 0.5h_4$, $k = 4$")
ax.legend(frameon=False)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## What gradient flow reaches
#
# Now integrate the neurons from exact uniform initial conditions at $d = 1000$ for $\sigma_* = h_4$
# (even, so every neuron reaches $\pm v_j$ for its largest $|m_j(0)|$) with $k = 3$ equal-angle index
# vectors, below and above $\beta_c = 2/5$. Below, neurons reach single index vectors; above, the
# average point attracts them.

# %%
sigma, k, d, n, seeds = "h4", 3, 1000, 8, range(6)
a = correlation_coefficients(sigma)
print("beta_c =", beta_critical(a, k).beta_c)
for beta in [0.0, 0.2, 0.6]:
    Q = equiangular_gram(k, beta)
    run = solve_neurons(a, Q, neuron_initial_overlaps(Q, d, n, seeds), t_max=1e4)
    _, _, label = classify_neuron_end_points(run.m, run.status == 1)
    shares = {lab: float(np.mean(label == lab)) for lab in ("index vector", "average", "other", "none")}
    print(f"beta = {beta:.1f}: " + ", ".join(f"{lab} {x:.2f}" for lab, x in shares.items()))

# %% [markdown]
# ## Coverage: how many neurons find all k index vectors?
#
# For orthogonal index vectors each neuron reaches a uniformly random one (for even $p^*$, with
# probability 1), so the probability that $n$ neurons find all $k$ is the coupon-collector formula
# ([§2.3](../math/neurons.html#2.3)). Compare it with the flow.

# %%
k, d, seeds = 4, 1000, range(24)
Q = np.eye(k)
run = solve_neurons(a, Q, neuron_initial_overlaps(Q, d, 16, seeds), t_max=1e4)  # neurons are independent:
index, _, _ = classify_neuron_end_points(run.m, run.status == 1)                # the first n of 16 are a student of n
ns = [2, 4, 6, 8, 12, 16]
simulated = [np.mean([len(set(index[s, :n][index[s, :n] >= 0])) == k for s in range(len(seeds))]) for n in ns]
fig, ax = plt.subplots(figsize=(5, 3.2))
ax.plot(ns, [coverage_probability(k, n, 1.0) for n in ns], "-", label="coupon-collector formula")
ax.plot(ns, simulated, "o", label=f"gradient flow, {len(seeds)} seeds")
ax.set_xlabel("neurons n")
ax.set_ylabel(f"P(all {k} index vectors found)")
ax.legend(frameon=False)
fig.tight_layout()
plt.show()

# %% [markdown]
# The command line runs the same computations with standard errors and stores them:
#
# ```bash
# mimflow neurons beta-c "h3(z) + 0.5*h4(z)" --k 4 --json
# mimflow neurons h4 --k 4 --n 16 --d 1000 --seeds 32 --json
# mimflow neurons phase-diagram h3 --k 2,3,4 --beta 0,0.1,0.2,0.3,0.4 --d 1000 --seeds 4 --plot phase.png
# ```
