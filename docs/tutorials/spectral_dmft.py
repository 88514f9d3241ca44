# %% [markdown]
# # Spectral start, gradient descent and its DMFT for phase retrieval
#
# Real phase retrieval $y = (a^\top w_*)^2$ with $n = \alpha d$ Gaussian samples. Stage 1: the top
# eigenvector of $D = \frac1n\sum_iT(y_i)a_ia_i^\top$ ([spectral estimators](../math/spectral.html#4.1)).
# Stage 2: gradient descent on the regularised Wirtinger-flow loss $(r^2 - y)^2/4$ from that start,
# whose whole trajectory the dynamical mean-field theory predicts as $d\to\infty$
# ([DMFT](../math/dmft.html#3.3)); the spectral start enters the DMFT as a power-iteration prefix.
# Sizes here are tiny so that the page builds quickly; the error bars show it.

# %%
import matplotlib.pyplot as plt
import numpy as np

from mimflow.proportional import make_problem, simulate_gd, solve_dmft, solve_fixed_point
from mimflow.theory import mondelli_montanari_threshold, spectral_prediction


# %% [markdown]
# ## The spectral estimator: Lu-Li theory
#
# Squared cosine between the top eigenvector and $w_*$ as $d\to\infty$, for three preprocessings:
# trimming $\min(y, \tau)$, the real-case Mondelli-Montanari form and the optimal $1 - 1/y$ (clipped
# at $-10$). Below the Mondelli-Montanari threshold $\alpha_u = 1/2$ no estimator has a positive
# overlap.

# %%
alphas = np.linspace(0.3, 4.0, 25)
fig, ax = plt.subplots(figsize=(5.5, 3.4))
for preprocess, kw in [("trimmed", {}), ("mondelli-montanari", {}), ("optimal", {"clip": 10.0})]:
    pred = spectral_prediction("z**2", preprocess, alphas, **kw)
    ax.plot(alphas, pred.overlap2, label=preprocess)
ax.axvline(mondelli_montanari_threshold("z**2"), color="k", ls=":", label=r"$\alpha_u$")
ax.set_xlabel(r"$\alpha = n/d$")
ax.set_ylabel(r"overlap$^2$ (Lu-Li)")
ax.legend(frameon=False)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## GD from the spectral start: DMFT against finite-d GD
#
# $\alpha = 4$, step `lr = 0.1`, ridge 0.01, trimmed spectral start. Units are the common ones:
# $a_i\sim N(0, I_d)$, $\|w_*\| = 1$; internally the DMFT uses $\eta = \texttt{lr}/\alpha$ and
# $\lambda = \alpha\cdot\texttt{ridge}$ ([§3.2](../math/dmft.html#3.2)). `overlap` is $\langle w, w_*\rangle$, not a
# cosine ([conventions](../conventions.html#0)).

# %%
problem = make_problem("z**2", alpha=4.0, lr=0.1, ridge=0.01, init="spectral", preprocess="trimmed")
steps = 20
dmft = solve_dmft(problem, steps, paths=4000, batches=4, power_steps=30)  # a fixed, short prefix
gd = simulate_gd(problem, 400, steps, range(4))
fixed = solve_fixed_point(problem)
print(f"power-iteration prefix: {dmft.power_steps} steps; overlap at the start {dmft.overlap[0]:.3f}; fixed point: overlap {fixed.overlap:.4f}, "
      f"norm2 {fixed.norm2:.4f}, chi {fixed.chi:.4f}")

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
for ax, name in zip(axes, ["overlap", "test_error"]):
    mean, se = gd.mean_and_se(name)
    theory, theory_se = getattr(dmft, name), getattr(dmft, name + "_se")
    ax.plot(dmft.steps, theory, color="C0", label="DMFT")
    ax.fill_between(dmft.steps, theory - 2 * theory_se, theory + 2 * theory_se, color="C0", alpha=0.25)
    ax.errorbar(gd.steps, mean, yerr=2 * se, fmt="o", ms=3, color="C1", label="GD, d = 400, 4 seeds")
    ax.axhline(getattr(fixed, name), color="k", ls="--", lw=0.8, label="fixed point")
    ax.set_xlabel("GD step")
    ax.set_ylabel(name)
axes[0].legend(frameon=False)
fig.tight_layout()
plt.show()

# %% [markdown]
# From the command line (with more paths and a larger simulation):
#
# ```bash
# mimflow dmft "z**2" --alpha 4 --lr 0.1 --ridge 0.01 --steps 60 --init spectral --preprocess trimmed \
#     --paths 100000 --simulate 4000 --seeds 8 --plot dmft.png
# mimflow spectral "z**2" --alpha 1,2,4 --preprocess optimal --clip 10 --d 1000 --seeds 8 --plot overlap.png
# ```
