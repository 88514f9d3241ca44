# %% [markdown]
# # Bring your own link
#
# A link $f_*$ can be a built-in name, an expression, or any Python function. From it mimflow
# computes the Hermite coefficients $c_k = \mathbb E[f_*(z)h_k(z)]$ with $h_k = \mathrm{He}_k/\sqrt{k!}$
# ([Hermite page](../math/hermite.html#5.0)), the truncation tail, and the information, generative and
# leap exponents and the saddle sequence ([exponents](../math/hermite.html#5.2)), which is all the
# dynamics needs.

# %%
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

from mimflow import make_link
from mimflow.targets import multivariate_spectrum
from mimflow.theory import exponents, generative_exponent, information_exponent

# %% [markdown]
# ## An expression
#
# Expressions use `z` (one variable) or `z1..zr`, numbers, `pi`, `+ - * / **` and the functions
# `relu abs sign tanh erf sigmoid softplus gelu exp sin cos heK hK`. They are parsed by a restricted
# grammar, never evaluated as Python, and kinks of `relu`, `abs` and `sign` are found automatically so
# the quadrature integrates piecewise between them.

# %%
f = make_link("relu(z) - 0.5*abs(z)")  # = z/2, since relu(z) = (z + |z|)/2: only c_1 = 1/2 survives
spec = f.spectrum(12)
print("c_0..c_6 =", np.round(np.asarray(spec.coefficients[:7]), 6), " tail above degree 12 =", float(spec.tail))

for expr in ["h3(z)", "abs(z)", "sign(z) * z**2", "tanh(2*z) + 0.3*h4(z)"]:
    link = make_link(expr)
    s = link.spectrum(12)
    print(f"{expr:22s} ||f||^2 = {float(s.norm2):.4f}  tail = {float(s.tail):.1e}  "
          f"information exponent = {information_exponent(s)}  generative exponent = {generative_exponent(link)}")

# %% [markdown]
# `h3` has information exponent 3 but generative exponent 1: the label $y = h_3(z)$ is correlated with
# $z$ *after* a transformation of $y$, which label-transformed spectral methods exploit.

# %% [markdown]
# ## A Python function
#
# Any callable works; it receives an array of $z$ values and returns the same shape. Declare its kinks
# and jumps with `breakpoints` so that the quadrature stays accurate. Here a shifted ReLU, whose
# coefficients we also estimate by Monte Carlo as a sanity check.

# %%
g = make_link(lambda z: jnp.maximum(z - 0.5, 0.0), name="relu(z - 0.5)", breakpoints=[0.5])
cg = np.asarray(g.spectrum(8).coefficients)
z = np.random.default_rng(0).standard_normal(400_000)
He = np.polynomial.hermite_e.hermevander(z, 8)                  # He_0..He_8
factorials = np.array([np.prod(np.arange(1, k + 1)) for k in range(9)], dtype=float)
mc = (np.maximum(z - 0.5, 0)[:, None] * He).mean(axis=0) / np.sqrt(factorials)
for k in range(5):
    print(f"c_{k}: quadrature {cg[k]: .6f}   Monte Carlo {mc[k]: .6f}")

fig, ax = plt.subplots(figsize=(5.5, 3.2))
ks = np.arange(len(cg))
ax.semilogy(ks, cg**2 + 1e-18, "o-", label=g.name)
ax.set_ylim(1e-6, 1)
ax.set_xlabel("Hermite degree k")
ax.set_ylabel(r"$c_k^2$")
ax.legend(frameon=False)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Several variables: exponents and saddles
#
# For a multi-index link the coefficients are $\alpha_\beta = \mathbb E[f(z)\prod_ih_{\beta_i}(z_i)]$. The
# information exponent is the lowest non-trivial degree; the leap exponent the largest degree in new
# coordinates one step must pick up; the saddle sequence says which directions the two-timescale flow
# learns, in which order, with which exponent (escape time $\sim d^{s-1}$, $\log d$ for $s = 1$).

# %%
for expr in ["h2(z1) + h3(z2)", "z1 + z1*z2 + z1*z2*z3", "z1*z2*z3", "relu(z1)*sign(z2)"]:
    e = exponents(make_link(expr))
    saddles = " -> ".join(f"{s.directions} dir at s={s.exponent}" for s in e.saddles)
    print(f"{expr:24s} IE={e.information}  leap={e.leap}  rotation-invariant leap={e.rotation_invariant_leap}  saddles: {saddles}")

alpha = multivariate_spectrum(make_link("relu(z1)*sign(z2)"), 4)
order = np.argsort(-np.abs(np.asarray(alpha.values)))[:3]
for i in order:
    print(f"alpha_{tuple(int(b) for b in alpha.multi_indices[i])} = {float(alpha.values[i]):.4f}")

# %% [markdown]
# The same from the command line:
#
# ```bash
# mimflow hermite "relu(z) - 0.5*abs(z)" --degree 12 --json
# mimflow exponents "z1 + z1*z2 + z1*z2*z3"
# ```
