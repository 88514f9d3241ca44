r"""The overlap correlation :math:`\langle A_N f, g\rangle` as an explicit polynomial in the entries of ``N``.

Expanding :math:`\langle N^{\otimes k}S_k(f), S_k(g)\rangle` and grouping the index pairs
:math:`(i_l, j_l)` into a contingency table :math:`E \in \mathbb{N}^{r\times r}` (row sums
:math:`\beta`, column sums :math:`\gamma`, :math:`|E| = k`) gives the Mehler formula for Hermite
products under correlated Gaussians:

.. math::

    \langle A_N f, g\rangle = \sum_{\beta,\gamma}\alpha_\beta(f)\,\alpha_\gamma(g)
      \sum_{E:\,E\mathbf 1 = \beta,\ \mathbf 1^TE = \gamma}
      \frac{\sqrt{\beta!\,\gamma!}}{\prod_{ab}E_{ab}!}\prod_{ab}N_{ab}^{E_{ab}}
    \;=\; \sum_m c_m \prod_{ab} N_{ab}^{E^{(m)}_{ab}},

(i.e. :math:`\mathbb{E}[H_\beta(U)H_\gamma(V)]` with :math:`\mathbb{E}[UV^T] = N`). The monomials are
built once, on the support of the spectra only; evaluation is a table of powers, one gather and
one product, which stays fast under ``jit``, ``grad``, ``jacfwd`` and ``vmap`` (a loop of small
tensor contractions does not). It is an independent route to the tensor form of
:mod:`mimflow.hermite._averaging`, and the tests check that the two agree.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from functools import cached_property

import jax.numpy as jnp
import numpy as np

from mimflow._errors import MimflowError
from mimflow.hermite import MultivariateSpectrum

MAX_MONOMIALS = 400_000
MAX_SELECTOR_ENTRIES = 4_000_000


def _tables(rows: tuple[int, ...], cols: tuple[int, ...]):
    """All non-negative integer matrices with the given row and column sums."""
    r, c = len(rows), len(cols)
    if r == 0:
        yield ()
        return
    first, rest_rows = rows[0], rows[1:]

    def compositions(total, caps, idx):
        if idx == len(caps) - 1:
            if total <= caps[idx]:
                yield (total,)
            return
        for v in range(min(total, caps[idx]), -1, -1):
            for tail in compositions(total - v, caps, idx + 1):
                yield (v,) + tail

    if r == 1:
        if sum(cols) == first:
            yield (tuple(cols),)
        return
    for row in compositions(first, cols, 0):
        remaining = tuple(cj - rj for cj, rj in zip(cols, row))
        for rest in _tables(rest_rows, remaining):
            yield (row,) + rest


def _log_fact(values) -> float:
    return float(sum(math.lgamma(v + 1) for v in values))


@dataclass(frozen=True, eq=False)
class OverlapPolynomial:
    """``N -> sum_m c_m prod_ab N_ab^E_ab`` (final; build with :func:`correlation_polynomial`).

    Attributes:
        r: matrix size.
        degree: highest total degree.
        exponents: ``(n_monomials, r * r)`` int exponents (row-major ``ab``).
        coefficients: ``(n_monomials,)``.
    """

    r: int
    degree: int
    exponents: np.ndarray
    coefficients: np.ndarray

    def __call__(self, N):
        """Evaluate at ``N`` of shape ``(r, r)`` (JAX-traceable; differentiable)."""
        flat = jnp.reshape(N, (self.r * self.r, 1))
        ones = jnp.ones((self.r * self.r, 1), dtype=flat.dtype)
        powers = jnp.cumprod(jnp.concatenate([ones, jnp.broadcast_to(flat, (self.r * self.r, self.degree))], axis=1), axis=1)
        if self.selector is not None:
            # one-hot contraction instead of a gather: its derivatives are dense products, not
            # scatters, which keeps grad/jacfwd/vmap fast on CPU
            picked = jnp.einsum("mae,ae->ma", self.selector, powers)
        else:
            picked = powers[jnp.arange(self.r * self.r)[None, :], self.exponents]  # (n_monomials, r*r)
        return jnp.sum(self.coefficients * jnp.prod(picked, axis=1))

    @cached_property
    def selector(self):
        """``(n_monomials, r*r, degree+1)`` one-hot exponents, or None when too large (then a gather is used)."""
        n, rr = self.exponents.shape
        if n * rr * (self.degree + 1) > MAX_SELECTOR_ENTRIES:
            return None
        onehot = np.zeros((n, rr, self.degree + 1))
        onehot[np.arange(n)[:, None], np.arange(rr)[None, :], self.exponents] = 1.0
        return onehot


def correlation_polynomial(f: MultivariateSpectrum, g: MultivariateSpectrum, *, threshold: float = 0.0) -> OverlapPolynomial:
    r"""The polynomial :math:`N \mapsto \langle A_N f, g\rangle` (up to the smaller truncation degree).

    Coefficients with :math:`|\alpha_\beta| \le` ``threshold`` are dropped (0 keeps every non-zero one).
    """
    if f.r != g.r:
        raise MimflowError(f"the two spectra must have the same r, got {f.r} and {g.r}")
    r = f.r
    degree = min(f.degree, g.degree)
    support_f = [(tuple(int(x) for x in b), float(v)) for b, v in zip(f.multi_indices, f.values)
                 if abs(v) > threshold and sum(b) <= degree]
    support_g = [(tuple(int(x) for x in b), float(v)) for b, v in zip(g.multi_indices, g.values)
                 if abs(v) > threshold and sum(b) <= degree]
    by_degree_g = defaultdict(list)
    for b, v in support_g:
        by_degree_g[sum(b)].append((b, v))
    coefficients: dict[tuple[int, ...], float] = defaultdict(float)
    for beta, a_f in support_f:
        for gamma, a_g in by_degree_g[sum(beta)]:
            log_pref = 0.5 * (_log_fact(beta) + _log_fact(gamma))
            for table in _tables(beta, gamma):
                flat = tuple(x for row in table for x in row)
                coefficients[flat] += a_f * a_g * math.exp(log_pref - _log_fact(flat))
                if len(coefficients) > MAX_MONOMIALS:
                    raise MimflowError(
                        f"the overlap polynomial has more than {MAX_MONOMIALS} monomials: lower the truncation degree"
                    )
    keys = [k for k, v in coefficients.items() if v != 0.0]
    if not keys:
        keys = [tuple([0] * (r * r))]
        values = [0.0]
    else:
        values = [coefficients[k] for k in keys]
    exponents = np.array(keys, dtype=np.int32).reshape(-1, r * r)
    return OverlapPolynomial(r, max(degree, 1), exponents, np.array(values, dtype=np.float64))
