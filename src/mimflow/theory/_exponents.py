r"""Information, generative and leap exponents, and the saddle sequence of the two-timescale flow.

All exponents are read off a (truncated) Hermite spectrum, except the generative exponent,
which needs the link itself (it depends on the law of the label, not only on its coefficients).

**Conventions** (docs/conventions.md §0). Orthonormal Hermite polynomials :math:`h_k = He_k/\sqrt{k!}`;
:math:`H_\beta(z) = \prod_i h_{\beta_i}(z_i)`; coefficients :math:`c_k = E[f(z) h_k(z)]` (``r = 1``,
:class:`~mimflow.hermite.HermiteSpectrum`) and :math:`\alpha_\beta = E[f(z) H_\beta(z)]` (``r >= 1``,
:class:`~mimflow.hermite.MultivariateSpectrum`); :math:`\|f\|^2 = E[f(z)^2]`.

**"Non-zero".** Coefficients come from quadrature, so "non-zero" needs a threshold. Everywhere in
this module a coefficient counts as non-zero when :math:`|\alpha_\beta| > \mathrm{rtol}\,\|f\|`
(relative to the norm of the whole link, so the answer does not change when the link is rescaled;
default ``rtol = 1e-8``; closed-form and separable spectra have zeros at ~1e-16, quadrature spectra of
smooth or breakpoint-resolved links at ~1e-14). Links whose every coefficient of degree ``1..K`` is
below the threshold are either *constant* (up to the threshold) or have their exponent *above the
truncation degree* ``K``; :func:`exponent_status` tells the two apart with the tail
:math:`\|f\|^2 - \sum_{|\beta|\le K}\alpha_\beta^2` (see :data:`TAIL_FLOOR`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import jax.numpy as jnp
import numpy as np
from scipy.special import erfc

from mimflow import _jax  # noqa: F401  (x64)
from mimflow._errors import MimflowError
from mimflow.hermite import HermiteSpectrum
from mimflow.hermite import (
    MultivariateSpectrum,
    coefficients_to_tensor,
    multi_indices,
    tensor_to_coefficients,
)
from mimflow.hermite._polynomials import _check_degree, hermite_normalized
from mimflow.hermite import integration_half_width, piecewise_gaussian_rule
from mimflow.targets import make_link

DEFAULT_RTOL = 1e-8
"""Default relative threshold on coefficient magnitudes, :math:`|\\alpha_\\beta| > \\mathrm{rtol}\\,\\|f\\|`."""

TAIL_FLOOR = 1e-12
"""Relative rounding floor of the tail: ``tail > max(rtol**2, TAIL_FLOOR) * norm2`` means energy above
the truncation degree. The tail is a difference of two computed numbers; measured |tail|/norm2 of
constant and polynomial links: 0 (closed form) to ~6e-16 (quadrature of ``z**2``)."""

GENERATIVE_RTOL = 1e-6
"""Default threshold of :func:`generative_exponent`: ``E[zeta_k(y)^2] > GENERATIVE_RTOL**2 = 1e-12``
(relative to ``E[h_k(z)^2] = 1``). Measured noise floor on exact zeros: <= 5e-23 (see
:func:`conditional_hermite_energies`)."""

DEFAULT_DEGREE = {1: 12, 2: 8, 3: 6, 4: 5}
"""Default truncation degree of :func:`exponents` by number of variables ``r`` (``r > 4``: 4)."""

Spectrum = HermiteSpectrum | MultivariateSpectrum


# ---------------------------------------------------------------------- result types


@dataclass(frozen=True)
class Saddle:
    """One saddle of the two-timescale (infinitely fast link) Grassmannian flow (final class).

    Attributes:
        directions: how many new directions are picked up when this saddle is escaped.
        exponent: the relative information exponent ``s`` of the saddle: escape time
            ``~ d^(s-1)`` for ``s >= 2`` and ``~ log d`` for ``s = 1`` (docs/math/saddles.md §1.6).
        basis: ``(r, directions)`` orthonormal columns spanning the new directions, in the
            coordinates of the link (orthogonal to every earlier saddle's basis).
    """

    directions: int
    exponent: int
    basis: np.ndarray


@dataclass(frozen=True)
class Exponents:
    """All exponents of one link (final class; build with :func:`exponents`).

    Attributes:
        name: the link.
        r: number of link variables.
        degree: truncation degree ``K`` of the spectrum used.
        rtol: relative threshold on coefficients (:data:`DEFAULT_RTOL`).
        information: :func:`information_exponent` (``None``: constant or above ``K``).
        generative: :func:`generative_exponent` for ``r = 1`` (searched up to ``K``); ``None`` for
            ``r > 1`` (not implemented for multi-index links), constant links, or above ``K``.
        generative_energies: ``(K + 1,)`` lower bounds of ``E[zeta_k(y)^2]`` for ``r = 1``, else ``None``.
        leap: :func:`leap_exponent` in the link's own coordinates.
        saddles: :func:`saddle_sequence`.
        rotation_invariant_leap: largest saddle exponent (:func:`rotation_invariant_leap`).
        status: ``"found"``, ``"constant"`` or ``"above-degree"`` (:func:`exponent_status`).
        above_degree: ``status == "above-degree"``: the information exponent and the leap exceed ``K``
            (rerun with a larger degree).
        saddles_complete: the saddles span every direction the link depends on, as far as the
            spectrum can tell: the learned subspace is all of ``R^r``, or the tail is below the floor.
            ``False`` means further saddles may lie above ``K``.
    """

    name: str
    r: int
    degree: int
    rtol: float
    information: int | None
    generative: int | None
    generative_energies: np.ndarray | None
    leap: int | None
    saddles: tuple[Saddle, ...]
    rotation_invariant_leap: int | None
    status: str
    above_degree: bool
    saddles_complete: bool


# ---------------------------------------------------------------------- helpers


def _check_rtol(rtol, name: str = "rtol") -> float:
    try:
        value = float(rtol)
    except (TypeError, ValueError):
        raise MimflowError(f"{name} must be a number in [0, 1), got {rtol!r}") from None
    if not (math.isfinite(value) and 0.0 <= value < 1.0):
        raise MimflowError(f"{name} must be a number in [0, 1), got {rtol!r}: e.g. {name}=1e-8")
    return value


def as_multivariate(spectrum: Spectrum) -> MultivariateSpectrum:
    """View a 1-D :class:`HermiteSpectrum` as a :class:`MultivariateSpectrum` with ``r = 1``."""
    if isinstance(spectrum, MultivariateSpectrum):
        return spectrum
    if isinstance(spectrum, HermiteSpectrum):
        K = spectrum.degree
        values = np.asarray(spectrum.coefficients, dtype=np.float64)
        return MultivariateSpectrum(1, K, multi_indices(1, K), values, float(spectrum.norm2),
                                    float(spectrum.tail), spectrum.method, spectrum.name)
    raise MimflowError(
        f"expected a HermiteSpectrum or MultivariateSpectrum, got {type(spectrum).__name__}: "
        "build one with Link.spectrum(k_max) or mimflow.targets.multivariate_spectrum(link, k_max)"
    )


def _threshold(spec: MultivariateSpectrum, rtol: float) -> float:
    return rtol * math.sqrt(max(float(spec.norm2), 0.0))


def hermite_support(spectrum: Spectrum, *, rtol: float = DEFAULT_RTOL) -> list[tuple[int, ...]]:
    r"""The non-constant Hermite support :math:`\{\beta \ne 0 : |\alpha_\beta| > \mathrm{rtol}\,\|f\|\}`.

    Returns:
        Multi-indices (tuples of length ``r``) in the order of :func:`~mimflow.hermite.multi_indices`.

    Example:
        >>> from mimflow import make_link
        >>> hermite_support(make_link("he3").spectrum(6))
        [(3,)]
    """
    spec = as_multivariate(spectrum)
    threshold = _threshold(spec, _check_rtol(rtol))
    return [beta for beta, _ in spec.nonzero(threshold) if sum(beta) > 0]


def rotate_spectrum(spectrum: Spectrum, rotation) -> MultivariateSpectrum:
    r"""Spectrum of :math:`z \mapsto f(R^T z)` for an orthogonal ``R`` (``(r, r)``).

    Degree by degree the symmetric tensor transforms covariantly, :math:`S_k \mapsto R^{\otimes k} S_k`
    (module docstring of :mod:`mimflow.hermite._multiindex`). Each Hermite chaos is invariant under
    rotations, so ``norm2`` and ``tail`` are unchanged.

    Example:
        >>> import numpy as np
        >>> from mimflow import make_link
        >>> from mimflow.targets import multivariate_spectrum
        >>> swap = np.array([[0.0, 1.0], [1.0, 0.0]])  # f(z2, z1)
        >>> rotate_spectrum(multivariate_spectrum(make_link("h2(z1)+h3(z2)"), 3), swap).coefficient((0, 2))
        1.0
    """
    spec = as_multivariate(spectrum)
    R = np.asarray(rotation, dtype=np.float64)
    if R.shape != (spec.r, spec.r) or not np.allclose(R.T @ R, np.eye(spec.r), atol=1e-10):
        raise MimflowError(f"rotation must be an orthogonal ({spec.r}, {spec.r}) matrix, e.g. np.linalg.qr(A)[0]")
    values = np.empty_like(spec.values)
    for k in range(spec.degree + 1):
        tensor = _apply_to_modes(spec.tensor(k), R.T)
        values[spec.degree_slice(k)] = tensor_to_coefficients(tensor, spec.r, k)[1]
    return MultivariateSpectrum(spec.r, spec.degree, spec.multi_indices, values, spec.norm2, spec.tail,
                                spec.method, spec.name)


def _apply_to_modes(tensor: np.ndarray, A: np.ndarray) -> np.ndarray:
    r"""``T_{i1..ik} = sum_j A_{j1 i1} ... A_{jk ik} S_{j1..jk}`` (each mode contracted with ``A``'s rows)."""
    out = np.asarray(tensor, dtype=np.float64)
    for _ in range(out.ndim):
        out = np.tensordot(out, A, axes=([0], [0]))  # contracts the leading mode, appends the new one
    return out


# ---------------------------------------------------------------------- information exponent


def information_exponent(spectrum: Spectrum, *, rtol: float = DEFAULT_RTOL) -> int | None:
    r"""Smallest degree of a non-zero non-constant Hermite coefficient.

    .. math::

        \mathrm{IE}(f) = \min\{|\beta| \ge 1 : |\alpha_\beta(f)| > \mathrm{rtol}\,\|f\|\}

    (``r = 1``: :math:`\min\{k \ge 1 : |c_k| > \mathrm{rtol}\,\|f\|\}`). For ``r > 1`` it is the lowest
    non-trivial chaos, a basis-free quantity (up to the threshold, which is applied to coefficients).

    Args:
        spectrum: a :class:`HermiteSpectrum` or :class:`MultivariateSpectrum`.
        rtol: relative threshold (module docstring).

    Returns:
        The exponent, or ``None`` when no coefficient of degree ``1..K`` passes the threshold: the link
        is constant or its exponent is above ``K``; ask :func:`exponent_status`.

    Example:
        >>> from mimflow import make_link
        >>> information_exponent(make_link("relu").spectrum(8)), information_exponent(make_link("he3").spectrum(8))
        (1, 3)

    References:
        Ben Arous, Gheissari, Jagannath, "Online stochastic gradient descent on non-convex losses from
        high-dimensional inference", JMLR 22 (2021) (the single-index definition). Multivariate form:
        Bietti, Bruna, Pillaud-Vivien, "On learning Gaussian multi-index models with gradient flow",
        arXiv:2310.19793, eq. (58) (docs/math/saddles.md §1.6, docs/math/hermite.md §5.2).
    """
    support = hermite_support(spectrum, rtol=rtol)
    return min((sum(beta) for beta in support), default=None)


def exponent_status(spectrum: Spectrum, *, rtol: float = DEFAULT_RTOL) -> str:
    r"""Why :func:`information_exponent` does or does not return a number.

    Returns:
        ``"found"``: some coefficient of degree ``1..K`` is non-zero. ``"constant"``: none is, and the
        tail is at most ``max(rtol**2, TAIL_FLOOR) * norm2`` (the link is constant up to the threshold;
        the exponents are infinite). ``"above-degree"``: none is, but the tail carries more energy than
        that: the exponent exceeds the truncation degree ``K`` (recompute with a larger ``K``).

    Example:
        >>> from mimflow import make_link
        >>> [exponent_status(make_link(s).spectrum(4)) for s in ("relu", "3", "he6")]
        ['found', 'constant', 'above-degree']
    """
    spec = as_multivariate(spectrum)
    rtol = _check_rtol(rtol)
    if hermite_support(spec, rtol=rtol):
        return "found"
    return "above-degree" if _tail_is_significant(spec, rtol) else "constant"


def _tail_is_significant(spec: MultivariateSpectrum, rtol: float) -> bool:
    return float(spec.tail) > max(rtol**2, TAIL_FLOOR) * max(float(spec.norm2), 0.0)


# ---------------------------------------------------------------------- leap


def leap_exponent(spectrum: Spectrum, *, rtol: float = DEFAULT_RTOL) -> int | None:
    r"""Leap complexity of the Hermite support, in the link's own coordinates.

    With support :math:`S = \{\beta \ne 0 : |\alpha_\beta| > \mathrm{rtol}\,\|f\|\}`,

    .. math::

        \mathrm{Leap}(f) = \min_{\pi}\ \max_i \sum_{j \notin \cup_{l<i} \mathrm{supp}\,\beta^{\pi(l)}}
        \beta^{\pi(i)}_j ,

    the smallest, over orderings of :math:`S`, largest total degree in *new* coordinates picked up by
    one element. Computed exactly: for ``L = 1, 2, ...`` add, until nothing changes, any
    :math:`\beta` whose degree in not-yet-covered coordinates is at most ``L``; the first ``L`` whose
    closure covers ``S`` is the leap. Correct because covering coordinates never increases any other
    :math:`\beta`'s new-coordinate degree, so the closure is the largest set any ordering with steps
    ``<= L`` can reach. For ``r = 1`` the leap equals the information exponent. Leap 1 is the
    merged-staircase property.

    Returns:
        The leap, or ``None`` when the support is empty (see :func:`exponent_status`).

    Example:
        >>> from mimflow import make_link
        >>> from mimflow.targets import multivariate_spectrum
        >>> leap_exponent(multivariate_spectrum(make_link("z1 + z1*z2*z3"), 3))
        2

    References:
        Abbe, Boix-Adsera, Misiakiewicz, "SGD learning on neural networks: leap complexity and
        saddle-to-saddle dynamics", COLT 2023 (docs/math/hermite.md §5.2); merged staircase: Abbe, Boix-Adsera,
        Misiakiewicz, COLT 2022.

    Warning:
        Not rotation invariant: ``he3(z1) + z2`` has leap 3 in these coordinates, but written in
        generic rotated coordinates its linear part touches every coordinate and the leap drops to 1,
        while gradient flow still needs ``d^2`` to learn ``z1``. (docs/math/hermite.md §5.2 says that for Gaussian
        data Abbe et al. also minimise over rotations; this example suggests that is not the right
        reading, so we do not.) The rotation-invariant counterpart for the two-timescale flow is
        :func:`rotation_invariant_leap` (3 for this link).
    """
    support = hermite_support(spectrum, rtol=rtol)
    if not support:
        return None
    betas = np.array(support, dtype=np.int64)
    for L in range(1, int(betas.sum(axis=1).max()) + 1):
        covered = np.zeros(betas.shape[1], dtype=bool)
        done = np.zeros(len(betas), dtype=bool)
        changed = True
        while changed:
            new_degree = betas[:, ~covered].sum(axis=1)
            ready = ~done & (new_degree <= L)
            changed = bool(ready.any())
            done |= ready
            covered |= (betas[ready] > 0).any(axis=0)
        if done.all():
            return L
    raise AssertionError("unreachable: L = max |beta| always closes")  # pragma: no cover


# ---------------------------------------------------------------------- saddle sequence


def saddle_sequence(spectrum: Spectrum, *, rtol: float = DEFAULT_RTOL) -> list[Saddle]:
    r"""The rotation-invariant sequence of saddles of the two-timescale Grassmannian flow.

    Definition (our precise reading of the "successive relative information exponents" of Bietti,
    Bruna, Pillaud-Vivien, Thm 3.25; the paper's exact definition was not available, docs/math/saddles.md §1.6, 7).
    Start with the learned subspace :math:`U = \{0\}`. Given ``U`` (orthonormal columns, ``m`` of
    them), complete it to an orthogonal :math:`R = [U, U_\perp]` and expand :math:`g(z) = f(Rz)`
    (tensors :math:`S_k \mapsto (R^T)^{\otimes k} S_k`); write its multi-indices as
    :math:`\beta = (\beta_U, \beta_\perp)`.

    1. The saddle's exponent is :math:`s = \min\{|\beta_\perp| \ge 1 : |\alpha_\beta(g)| >
       \mathrm{rtol}\,\|f\|\}`. If no non-zero coefficient has :math:`|\beta_\perp| \ge 1` the
       sequence ends.
    2. For each :math:`\beta_U`, the degree-``s`` part in :math:`z_\perp`,
       :math:`\sum_{|\beta_\perp| = s}\alpha_{(\beta_U,\beta_\perp)} H_{\beta_\perp}(z_\perp)`, has a
       symmetric order-``s`` tensor :math:`T_{\beta_U}` on :math:`U_\perp`. With the mode-1 unfolding
       (``(r - m) x (r - m)^(s-1)``),
       :math:`\Sigma = \sum_{\beta_U} \mathrm{unfold}(T_{\beta_U})\,\mathrm{unfold}(T_{\beta_U})^T
       = E_{z_U}[\mathrm{unfold}\,T(z_U)\,\mathrm{unfold}\,T(z_U)^T]`, which does not depend on the
       bases chosen for ``U`` and :math:`U_\perp`.
    3. The directions picked up are :math:`U_\perp` times the eigenvectors of :math:`\Sigma` with
       eigenvalue :math:`> \mathrm{rtol}^2\|f\|^2` (the square of the coefficient threshold: a single
       coefficient :math:`\alpha` in one direction gives eigenvalue :math:`\alpha^2`). If none passes
       although step 1 found a coefficient (possible only within a factor ``r`` of the threshold), the
       top eigenvector is taken so that the sequence always progresses. ``U`` grows by them; repeat.

    Mechanism (docs/math/saddles.md §1.6): near the saddle the overlap in the new directions is
    :math:`\lambda \sim d^{-1/2}` and the profile-loss gain is :math:`\propto \lambda^{2s}`, so the
    escape takes :math:`\sim d^{s-1}` (``log d`` for ``s = 1``).

    Args:
        spectrum: a :class:`HermiteSpectrum` or :class:`MultivariateSpectrum`.
        rtol: relative threshold.

    Returns:
        The saddles in the order they are visited (empty for a constant link). The concatenated bases
        are orthonormal and span the learned subspace; directions that only appear above the truncation
        degree are missed (:attr:`Exponents.saddles_complete`).

    Example:
        >>> from mimflow import make_link
        >>> from mimflow.targets import multivariate_spectrum
        >>> [(s.directions, s.exponent) for s in saddle_sequence(multivariate_spectrum(make_link("h2(z1) + h3(z2)"), 4))]
        [(1, 2), (1, 3)]

    References:
        Bietti, Bruna, Pillaud-Vivien, arXiv:2310.19793, Theorem 1.4 / Theorem 3.25, Remark 3.13
        (saddle-to-saddle dynamics, escape times ``d^(s-1) v log d``), eq. (58) (information exponent).
        Abbe, Boix-Adsera, Misiakiewicz, COLT 2023 (leap / saddle-to-saddle for SGD).

    Warning:
        The rotation uses the tensor form, so its cost grows like ``r^K``; intended for ``r <= 4``.
    """
    spec = as_multivariate(spectrum)
    rtol = _check_rtol(rtol)
    r, K = spec.r, spec.degree
    coeff_threshold = _threshold(spec, rtol)
    eig_threshold = coeff_threshold**2
    tensors = [spec.tensor(k) for k in range(K + 1)]
    U = np.zeros((r, 0))
    saddles: list[Saddle] = []
    while U.shape[1] < r:
        m = U.shape[1]
        complement = np.linalg.svd(U, full_matrices=True)[0][:, m:] if m else np.eye(r)
        R = np.concatenate([U, complement], axis=1)
        # coefficients of g(z) = f(R z), split by degree in the complement coordinates
        blocks: dict[int, dict[tuple[int, ...], list[tuple[tuple[int, ...], float]]]] = {}
        for k in range(1, K + 1):
            betas, values = tensor_to_coefficients(_apply_to_modes(tensors[k], R), r, k)
            for beta, value in zip(betas, values):
                perp = tuple(int(b) for b in beta[m:])
                if abs(value) > coeff_threshold and sum(perp) > 0:
                    blocks.setdefault(sum(perp), {}).setdefault(tuple(int(b) for b in beta[:m]), []).append(
                        (perp, float(value))
                    )
        if not blocks:
            break
        s = min(blocks)
        q = r - m
        sigma = np.zeros((q, q))
        for terms in blocks[s].values():
            perp_betas = np.array([p for p, _ in terms], dtype=np.int64)
            vals = np.array([v for _, v in terms])
            unfolded = coefficients_to_tensor(perp_betas, vals, q, s).reshape(q, -1)
            sigma += unfolded @ unfolded.T
        eigenvalues, eigenvectors = np.linalg.eigh(0.5 * (sigma + sigma.T))
        keep = eigenvalues > eig_threshold
        if not keep.any():
            keep = eigenvalues == eigenvalues.max()
        new = complement @ eigenvectors[:, keep][:, ::-1]  # largest eigenvalue first
        saddles.append(Saddle(int(new.shape[1]), int(s), new))
        U = np.concatenate([U, new], axis=1)
    return saddles


def rotation_invariant_leap(spectrum: Spectrum, *, rtol: float = DEFAULT_RTOL) -> int | None:
    """Largest exponent of :func:`saddle_sequence`: the flow needs time ``~ d^(leap - 1)`` (``log d`` if 1).

    Unlike :func:`leap_exponent` it does not depend on the coordinates of the link.
    ``None`` for an empty sequence.

    Example:
        >>> from mimflow import make_link
        >>> from mimflow.targets import multivariate_spectrum
        >>> rotation_invariant_leap(multivariate_spectrum(make_link("z1 + z1*z2 + z1*z2*z3"), 3))
        1

    References:
        Bietti, Bruna, Pillaud-Vivien, arXiv:2310.19793, Thm 3.25 (time ``O(d^(s*-1))`` with ``s*`` the
        largest relative exponent), docs/math/saddles.md §1.6.
    """
    return max((saddle.exponent for saddle in saddle_sequence(spectrum, rtol=rtol)), default=None)


# ---------------------------------------------------------------------- generative exponent


def conditional_hermite_energies(link_or_fn, k_max: int = 12, *, bins: int = 512) -> np.ndarray:
    r"""Lower bounds of :math:`E[\zeta_k(y)^2]`, :math:`\zeta_k(y) = E[h_k(z)\mid y]`, for ``y = f(z)``.

    For any partition :math:`\{B\}` of the label space,

    .. math::

        \sum_B \frac{E[h_k(z)\,1\{y\in B\}]^2}{P(y\in B)} = E\big[E[h_k(z)\mid y \in B]^2\big]
        \;\le\; E[\zeta_k(y)^2] \;\le\; E[h_k^2] = 1

    (Jensen / projection onto a coarser sigma-algebra), with equality in the limit of fine partitions,
    and the left side is *exactly* 0 for every partition when :math:`\zeta_k = 0`. We use ``bins``
    label bins whose edges are the label quantiles at levels :math:`\Phi(t_j)`, ``t_j`` equally spaced
    in ``[-T, T]``, :math:`T = \sqrt{4K+2} + 4` (for a monotone link: bins of equal width ``2T/bins``
    in ``z``, reaching past the oscillation region of :math:`h_K`), and compute every
    :math:`E[h_k 1\{y\in B\}]` to quadrature accuracy:

    1. a fine piecewise Gauss-Legendre grid in ``z`` (panels ~0.1 wide, 32 nodes each, split at the
       link's breakpoints) locates the label quantiles; each bin edge is placed half-way between two
       consecutive *distinct* label values, so ties (atoms: ``sign``, the zero of ``relu``, flat
       pieces) never straddle an edge;
    2. the breakpoints and the local extrema of ``f`` (golden section) are added to the nodes, since
       near an extremum or a kink an edge is crossed twice within one node spacing; then every
       crossing of an edge between two consecutive points is located by bisection (to ~1e-16);
    3. the integrals are recomputed on a piecewise rule split at the breakpoints *and* all crossings,
       so each panel lies in one bin and the integrands are smooth on it.

    Crossings closer together than the grid spacing (~3e-3) that do not straddle a detected extremum
    (oscillations faster than the grid) are missed.

    Args:
        link_or_fn: a one-variable :class:`~mimflow.targets.Link`, name, expression, or callable
            (vectorised; declare jumps with ``make_link(fn, breakpoints=...)`` for best accuracy).
        k_max: highest degree.
        bins: number of label bins (more: tighter lower bounds; the exact zeros stay zero).

    Returns:
        ``(k_max + 1,)`` array, entry ``k`` a lower bound of :math:`E[\zeta_k(y)^2]` (entry 0 is 1).
        Measured noise floor of exact zeros: <= 3e-32 for ``he2, z**2, abs, cos, sign`` (odd/even
        ``k``) and constants, 4e-26 for ``he4`` (odd ``k``), 5e-23 for ``|z| exp(-z^2/2)`` at
        ``k = 1, 2, 3``. Monotone links (:math:`E[\zeta_k^2] = 1`) give ``1 - 1.6e-4`` at ``k = 1`` and
        ``1 - 1.9e-3`` at ``k = 12`` with the defaults (the within-bin variance, ``~ (2T/bins)^2/12``
        at ``k = 1``). Cost: ~0.5-2 s per link, mostly JAX compilation.

    Example:
        >>> round(float(conditional_hermite_energies("sign", 3)[1]), 6)  # = c_1(sign)^2 = 2/pi
        0.63662

    References:
        Damian, Pillaud-Vivien, Lee, Bruna, "Computational-statistical gaps in Gaussian single-index
        models", COLT 2024 (definition of :math:`\zeta_k` and of the generative exponent; docs/math/hermite.md §5.2).
    """
    link = make_link(link_or_fn)
    if link.r != 1:
        raise MimflowError(
            f"the generative exponent is implemented for one-variable links; link {link.name!r} has r = {link.r}"
        )
    K = _check_degree(k_max)
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or not 1 <= bins <= 100_000:
        raise MimflowError(f"bins must be an integer between 1 and 100000, got {bins!r}")
    half = integration_half_width(K)
    breakpoints = tuple(link.breakpoints(0, half))

    def evaluate(z: np.ndarray) -> np.ndarray:
        y = _padded(lambda x: link(x[:, None]), z)
        if not np.all(np.isfinite(y)):
            bad = z[~np.isfinite(y)][0]
            raise MimflowError(f"link {link.name!r} is not finite at z = {bad:.4g}: it must be finite on the real line")
        return y

    # 1. fine grid (panel width ~0.1, 32 nodes each) to find the label quantiles and bracket crossings
    z0, w0 = piecewise_gaussian_rule(breakpoints, k_max=1800, half_width=half)
    y0 = evaluate(z0)
    edges = _quantile_edges(y0, w0, int(bins), math.sqrt(4.0 * K + 2.0) + 4.0)
    # 2. the breakpoints and the local extrema join the nodes (near an extremum, or a kink between
    #    two nodes, an edge is crossed twice within one node spacing); then locate the crossings of
    #    the edges between consecutive points
    zx, yx = _merge_points(z0, y0, np.array([b for b in breakpoints if -half < b < half]), evaluate)
    extrema = _local_extrema(zx, yx, evaluate)
    zx, yx = _merge_points(zx, yx, extrema, evaluate)
    roots = np.concatenate([extrema, _edge_crossings(zx, yx, edges, evaluate)])
    # 3. exact-per-bin quadrature
    z, w = piecewise_gaussian_rule(np.concatenate([np.asarray(breakpoints, dtype=float), roots]),
                                   k_max=max(K, 8), half_width=half)
    y = evaluate(z)
    labels = np.searchsorted(edges, y, side="right")
    n_bins = len(edges) + 1
    h = _padded(lambda x: hermite_normalized(x, K), z)
    mass = np.bincount(labels, weights=w, minlength=n_bins)
    moments = np.stack([np.bincount(labels, weights=w * h[:, k], minlength=n_bins) for k in range(K + 1)], axis=1)
    occupied = mass > 0
    energies = np.sum(moments[occupied] ** 2 / mass[occupied, None], axis=0)
    energies[0] = 1.0
    return energies


def _padded(fn, z: np.ndarray) -> np.ndarray:
    """``fn`` on ``z`` padded to a power-of-two length (>= 1024) so JAX compiles few shapes."""
    n = len(z)
    size = max(1024, 1 << (n - 1).bit_length())
    padded = np.concatenate([z, np.full(size - n, z[0] if n else 0.0)])
    return np.asarray(fn(jnp.asarray(padded)), dtype=np.float64)[:n]


def _quantile_edges(y: np.ndarray, w: np.ndarray, bins: int, t_max: float) -> np.ndarray:
    """Label-bin edges at the quantile levels ``Phi(t_j)``, ``t_j`` equally spaced in ``[-t_max, t_max]``.

    Each edge lies half-way between two consecutive *distinct* label values, so ties stay together.
    Levels below 1/2 are located on the lower cumulative mass and levels above 1/2 on the upper one,
    so that tail levels such as ``1 - 1e-20`` are resolved.
    """
    values, inverse = np.unique(y, return_inverse=True)
    mass = np.bincount(inverse, weights=w)
    lower = np.cumsum(mass)  # mass at or below values[i]
    upper = np.append(np.cumsum(mass[::-1])[::-1][1:], 0.0)  # mass strictly above values[i]
    levels = np.linspace(-t_max, t_max, bins + 1)[1:-1]
    tail = 0.5 * erfc(np.abs(levels) / math.sqrt(2.0)) * lower[-1]
    left = np.searchsorted(lower, tail[levels <= 0], side="left")  # first i with lower[i] >= level
    right = np.searchsorted(-upper, -tail[levels > 0], side="left")  # first i with upper[i] <= tail level
    idx = np.unique(np.concatenate([left, right]))
    idx = idx[idx < len(values) - 1]
    return np.unique(0.5 * (values[idx] + values[idx + 1]))


def _merge_points(z: np.ndarray, y: np.ndarray, extra: np.ndarray, evaluate) -> tuple[np.ndarray, np.ndarray]:
    """Add the points ``extra`` (and their labels) to the sorted points ``z``."""
    if len(extra) == 0:
        return z, y
    zz = np.concatenate([z, extra])
    order = np.argsort(zz, kind="stable")
    return zz[order], np.concatenate([y, evaluate(extra)])[order]


def _local_extrema(z: np.ndarray, y: np.ndarray, evaluate, iterations: int = 80) -> np.ndarray:
    """Local extrema of ``f`` between grid points, by vectorised golden-section search.

    Detected where the slope between consecutive points changes sign, directly or across one pair of
    equal values (a symmetric extremum between two nodes). Plateaus longer than that are atoms, not
    extrema: their ends are crossings, found by :func:`_edge_crossings`.
    """
    slope = np.sign(np.diff(y))
    i = np.nonzero(slope[:-1] * slope[1:] < 0)[0]  # point i + 1 is a strict local extremum
    j = np.nonzero((slope[1:-1] == 0) & (slope[:-2] * slope[2:] < 0))[0]  # y[j+1] == y[j+2]
    lo = np.concatenate([z[i], z[j]])
    hi = np.concatenate([z[i + 2], z[j + 3]])
    maximum = np.concatenate([slope[i] > 0, slope[j] > 0])
    if len(lo) == 0:
        return np.zeros(0)
    g = 0.5 * (math.sqrt(5.0) - 1.0)
    for _ in range(iterations):
        a, b = hi - g * (hi - lo), lo + g * (hi - lo)
        fa, fb = evaluate(a), evaluate(b)
        keep_left = np.where(maximum, fa >= fb, fa <= fb)  # the extremum is in [lo, b]
        lo, hi = np.where(keep_left, lo, a), np.where(keep_left, b, hi)
    return 0.5 * (lo + hi)


def _edge_crossings(z: np.ndarray, y: np.ndarray, edges: np.ndarray, evaluate, iterations: int = 64) -> np.ndarray:
    """Points where ``f`` crosses an edge between two consecutive nodes, by vectorised bisection."""
    if len(edges) == 0:
        return np.zeros(0)
    side = np.searchsorted(edges, y, side="right")  # bin of each node
    pairs = np.nonzero(side[:-1] != side[1:])[0]
    lo_list, hi_list, edge_list = [], [], []
    for i in pairs:
        a, b = sorted((int(side[i]), int(side[i + 1])))
        for j in range(a, b):  # every edge strictly between the two bins
            lo_list.append(z[i])
            hi_list.append(z[i + 1])
            edge_list.append(edges[j])
    if not lo_list:
        return np.zeros(0)
    lo, hi, e = np.array(lo_list), np.array(hi_list), np.array(edge_list)
    above_lo = evaluate(lo) >= e
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        move_lo = (evaluate(mid) >= e) == above_lo
        lo = np.where(move_lo, mid, lo)
        hi = np.where(move_lo, hi, mid)
    return np.unique(0.5 * (lo + hi))


def generative_exponent(
    link_or_fn, *, k_max: int = 12, rtol: float = GENERATIVE_RTOL, bins: int = 512
) -> int | None:
    r"""Generative exponent of a one-variable link ``y = f(z)`` (deterministic label).

    .. math::

        k^* = \min\{k \ge 1 : E[\zeta_k(y)^2] > \mathrm{rtol}^2\},\qquad \zeta_k(y) = E[h_k(z)\mid y],

    with :math:`E[\zeta_k(y)^2]` bounded from below by :func:`conditional_hermite_energies`. The
    threshold is relative to :math:`E[h_k(z)^2] = 1`; default ``rtol = 1e-6`` (threshold 1e-12),
    far above the measured noise floor of exact zeros (<= 5e-23) and below what a coefficient at the
    information-exponent threshold guarantees: :math:`E[\zeta_k^2] \ge c_k^2/\mathrm{Var}(f)`
    (project :math:`h_k` on :math:`f(z)-E f`).

    Equivalently :math:`k^*` is the smallest information exponent of :math:`T(y)` over label
    transformations :math:`T \in L^2(P_y)`; :math:`k^* \le \mathrm{IE}`. Polynomial links have
    :math:`k^* \le 2` (1 unless the link is even, 2 for even non-constant links). An example with
    :math:`k^* = 4`: ``|z| exp(-z^2/2)`` (level sets :math:`\{\pm a, \pm b\}` with
    :math:`a\phi(a) = b\phi(b)`, conditional weights :math:`\propto 1/|1-t^2|`, hence
    :math:`E[z^2\mid y] = 1` and :math:`E[He_4(z)\mid y] = (1-a^2)(b^2-1) - 2`; derived here and checked
    in the tests against this formula). Its information exponent is also 4: :math:`c_k = E[\zeta_k(y) f]`
    vanishes wherever :math:`\zeta_k` does.

    Args:
        link_or_fn: a one-variable Link, name, expression or callable.
        k_max: largest degree searched.
        rtol: threshold on :math:`\sqrt{E[\zeta_k^2]}`.
        bins: label bins (see :func:`conditional_hermite_energies`).

    Returns:
        :math:`k^*`, or ``None`` when no ``k <= k_max`` passes: the link is constant (its exponent is
        infinite) or :math:`k^* > k_{max}`; the two are told apart by the variance of the label
        (:func:`exponent_status` of its spectrum).

    Example:
        >>> generative_exponent("relu"), generative_exponent("he4"), generative_exponent("2")
        (1, 2, None)

    References:
        Damian, Pillaud-Vivien, Lee, Bruna, "Computational-statistical gaps in Gaussian single-index
        models", COLT 2024 (docs/math/hermite.md §5.2).
    """
    rtol = _check_rtol(rtol)
    energies = conditional_hermite_energies(link_or_fn, k_max, bins=bins)
    passing = np.nonzero(energies[1:] > rtol**2)[0]
    return int(passing[0]) + 1 if len(passing) else None


# ---------------------------------------------------------------------- everything at once


def exponents(link, *, degree: int | None = None, rtol: float = DEFAULT_RTOL) -> Exponents:
    """All exponents of a link, from its Hermite spectrum up to ``degree``.

    Builds the spectrum with :meth:`Link.spectrum` (``r = 1``) or
    :func:`mimflow.targets.multivariate_spectrum` (``r > 1``). Default ``degree``
    (:data:`DEFAULT_DEGREE`): 12 for ``r = 1``, 8 for ``r = 2``, 6 for ``r = 3``, 5 for ``r = 4``,
    chosen to keep the multivariate spectra (``r^K`` tensor entries) cheap. Exponents above the degree
    come back as ``None`` with ``above_degree=True`` (no error): rerun with a larger ``degree``.

    Args:
        link: a Link, a name, an expression or a callable (see :func:`~mimflow.targets.make_link`).
        degree: truncation degree ``K``.
        rtol: relative coefficient threshold; the generative exponent uses :data:`GENERATIVE_RTOL`.

    Example:
        >>> e = exponents("h2(z1) + h3(z2)")
        >>> e.information, e.leap, [(s.directions, s.exponent) for s in e.saddles], e.rotation_invariant_leap
        (2, 3, [(1, 2), (1, 3)], 3)
    """
    link = make_link(link)
    rtol = _check_rtol(rtol)
    if degree is None:
        degree = DEFAULT_DEGREE.get(link.r, 4)
    degree = _check_degree(degree)
    if link.r == 1:
        spectrum = as_multivariate(link.spectrum(degree))
    else:
        from mimflow.targets import multivariate_spectrum  # lazy: keeps this module importable on its own

        spectrum = multivariate_spectrum(link, degree)
    status = exponent_status(spectrum, rtol=rtol)
    saddles = tuple(saddle_sequence(spectrum, rtol=rtol))
    learned = sum(s.directions for s in saddles)
    generative, energies = None, None
    if link.r == 1:
        energies = conditional_hermite_energies(link, degree)
        passing = np.nonzero(energies[1:] > GENERATIVE_RTOL**2)[0]
        generative = int(passing[0]) + 1 if len(passing) else None
    return Exponents(
        name=link.name,
        r=link.r,
        degree=degree,
        rtol=rtol,
        information=information_exponent(spectrum, rtol=rtol),
        generative=generative,
        generative_energies=energies,
        leap=leap_exponent(spectrum, rtol=rtol),
        saddles=saddles,
        rotation_invariant_leap=max((s.exponent for s in saddles), default=None),
        status=status,
        above_degree=status == "above-degree",
        saddles_complete=learned == link.r or not _tail_is_significant(spectrum, rtol),
    )


__all__ = [
    "DEFAULT_DEGREE",
    "DEFAULT_RTOL",
    "GENERATIVE_RTOL",
    "TAIL_FLOOR",
    "Exponents",
    "Saddle",
    "as_multivariate",
    "conditional_hermite_energies",
    "exponent_status",
    "exponents",
    "generative_exponent",
    "hermite_support",
    "information_exponent",
    "leap_exponent",
    "rotate_spectrum",
    "rotation_invariant_leap",
    "saddle_sequence",
]
