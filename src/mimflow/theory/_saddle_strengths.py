r"""The effective strength of each saddle of a multi-index link: the near-saddle ODE and its coefficient.

The derivation below (two-timescale flow) gives the ODE :math:`\dot x = 2s\alpha_{eff}^2x^s(1-x)` of
a new direction at a saddle of :func:`~mimflow.theory.saddle_sequence` and its coefficient
:math:`\alpha_{eff}^2` (:func:`saddle_strengths`); for the planted flow of a coordinate-separable link
each variable has its own :math:`\alpha_i^2` (``_planted_directions``; the derivation is in
:mod:`mimflow.theory._multi_index_escape`).
The escape times built on them are in :mod:`mimflow.theory._multi_index_escape`. Conventions of
:mod:`mimflow.theory._single_index_escape` (docs/math/grassmannian-flow.md §1.4).

Multi-index, two-timescale (derived here; docs/math/saddles.md §1.6 gives only the mechanism)
---------------------------------------------------------------------------------------------
Write :math:`c(G) = \langle A_G f_*, f_*\rangle = \sum_k\langle G^{\otimes k}S_k, S_k\rangle`, so
:math:`\ell(M) = -\tfrac12 c(MM^T)` and :math:`\nabla_M\ell = -C M` with the symmetric
:math:`C = \partial c/\partial G`. The flow :math:`\dot M = (I - MM^T)CM` gives

.. math::  \dot G = (I - G)\,C\,G + G\,C\,(I - G).

*At a saddle.* Let ``U`` (``u`` orthonormal columns) be learned: :math:`G_{UU} = I_u`. Since
:math:`G \preceq I`, :math:`I - G \succeq 0` with a zero ``UU`` block forces :math:`G_{U\perp} = 0`,
so (up to exponentially small relaxation) :math:`G = \mathrm{diag}(I_u, G_\perp)` and, because
:math:`A_{\mathrm{diag}(I, G_\perp)}` acts as the identity on the ``U`` variables,

.. math::

    c(G) = \mathrm{const} + \sum_{\beta_U}\langle G_\perp^{\otimes s} T_{\beta_U}, T_{\beta_U}\rangle
    + O(\|G_\perp\|^{s+1}),

with :math:`T_{\beta_U}` the symmetric degree-``s`` tensor on :math:`U_\perp` of the coefficients
:math:`\alpha_{(\beta_U, \beta_\perp)}`, :math:`|\beta_\perp| = s` (the construction of
:func:`~mimflow.theory.saddle_sequence`; ``s`` is its exponent). For a new direction
:math:`v \in U_\perp` with :math:`G_\perp \approx x\,vv^T`,
:math:`v^T C v = s\,x^{s-1}\sum_{\beta_U} T_{\beta_U}(v^{\otimes s})^2 = s\,\alpha_{eff}^2\,x^{s-1}` and

.. math::

    \dot x = 2\,v^T(I - G)CGv = 2 s\,\alpha_{eff}^2\, x^s (1 - x),\qquad
    \alpha_{eff}^2 = \sum_{\beta_U} T_{\beta_U}(v^{\otimes s})^2 .

When the saddle picks up one direction, :math:`\Sigma = \sum_{\beta_U}\mathrm{unfold}(T_{\beta_U})
\mathrm{unfold}(T_{\beta_U})^T` has rank one, which forces :math:`T_{\beta_U} = c_{\beta_U} v^{\otimes s}`
for all :math:`\beta_U`, so :math:`\alpha_{eff}^2` *is* the eigenvalue of :math:`\Sigma`
(:func:`saddle_strengths`); for a single-index link it is :math:`\alpha_s^2`. Dropping the saturation
:math:`(1-x)` gives the brief's :math:`\dot x = 2s\alpha_{eff}^2 x^s` and

.. math::

    \tau = \frac{x_0^{1-s} - \theta^{2(1-s)}}{2s(s-1)\alpha_{eff}^2}\ (s \ge 2),\qquad
    \tau = \frac{\ln(\theta^2/x_0)}{2\alpha_{eff}^2}\ (s = 1);

keeping it (``saturation=True``, the default) gives the pure-link closed form (:func:`~mimflow.theory.pure_link_escape_time`) with
:math:`m_0 = \sqrt{x_0}`, which is *exact* for a single-index pure link and differs from the
power law only at relative order :math:`1/d` (``s >= 3``), :math:`\ln d/d` (``s = 2``) and
:math:`1/\ln d` (``s = 1``: :math:`\tfrac12\ln\tfrac43` absolute, 5% at ``d = 1e3``).

References:
    Bietti, Bruna, Pillaud-Vivien, "On learning Gaussian multi-index models with gradient flow",
    arXiv:2310.19793 (Thm 1.4/3.25, Remark 3.13, Thm 4.1; docs/math/grassmannian-flow.md §1.4, docs/math/saddles.md §1.6,
    docs/math/planted.md §1.7, docs/math/finite-sample.md §1.8).
"""

from __future__ import annotations

import math

import numpy as np

from mimflow._errors import MimflowError
from mimflow.hermite import MultivariateSpectrum, as_multivariate, coefficients_to_tensor, tensor_to_coefficients
from mimflow.theory._hermite_support import DEFAULT_RTOL
from mimflow.theory._saddle_sequence import _apply_to_modes, saddle_sequence
from mimflow.theory._single_index_escape import _shrink_factors


def _saddle_sigma(spectrum: MultivariateSpectrum, U: np.ndarray, s: int, alpha_scale: np.ndarray) -> np.ndarray:
    r""":math:`\Sigma = \sum_{\beta_U}\mathrm{unfold}(T_{\beta_U})\mathrm{unfold}(T_{\beta_U})^T` on
    :math:`U_\perp` (coordinates: the complement basis returned alongside).

    ``alpha_scale[k]`` multiplies every coefficient of degree ``k`` (square root of the ridge factor).
    """
    r, m = spectrum.r, U.shape[1]
    complement = np.linalg.svd(U, full_matrices=True)[0][:, m:] if m else np.eye(r)
    R = np.concatenate([U, complement], axis=1)
    q = r - m
    blocks: dict[tuple[int, ...], list[tuple[tuple[int, ...], float]]] = {}
    for k in range(s, spectrum.degree + 1):
        betas, values = tensor_to_coefficients(_apply_to_modes(spectrum.tensor(k), R), r, k)
        for beta, value in zip(betas, values):
            perp = tuple(int(b) for b in beta[m:])
            if sum(perp) == s and value != 0.0:
                blocks.setdefault(tuple(int(b) for b in beta[:m]), []).append((perp, float(value) * alpha_scale[k]))
    sigma = np.zeros((q, q))
    for terms in blocks.values():
        perp_betas = np.array([p for p, _ in terms], dtype=np.int64)
        vals = np.array([v for _, v in terms])
        unfolded = coefficients_to_tensor(perp_betas, vals, q, s).reshape(q, -1)
        sigma += unfolded @ unfolded.T
    return 0.5 * (sigma + sigma.T), complement


def saddle_strengths(
    spectrum, *, ridge: float = 0.0, kernel_decay: float = 0.5, rtol: float = DEFAULT_RTOL
) -> list[np.ndarray]:
    r"""Effective squared coefficients of each saddle of :func:`~mimflow.theory.saddle_sequence`.

    For saddle ``j`` (learned subspace ``U`` = the bases of the earlier saddles, exponent ``s``) the
    eigenvalues of :math:`\Sigma` (module docstring) along its own directions, largest
    first: ``directions`` numbers. For a saddle with one direction this is exactly the
    :math:`\alpha_{eff}^2` of :math:`\dot x = 2s\alpha_{eff}^2x^s(1-x)`; for a single-index link,
    :math:`c_s^2`. Ridge multiplies degree ``k`` (total degree) by :math:`q_k/(q_k+\mu)`.

    Example:
        >>> from mimflow.targets import multivariate_spectrum
        >>> [a.tolist() for a in saddle_strengths(multivariate_spectrum("2*h2(z1) + h3(z2)", 4))]
        [[4.0], [1.0]]
    """
    spec = as_multivariate(spectrum)
    if not np.all(np.isfinite(spec.values)):
        raise MimflowError("the link's Hermite coefficients are not finite (NaN/inf): check the link")
    scale = np.sqrt(_shrink_factors(np.arange(spec.degree + 1), ridge, kernel_decay))
    out = []
    U = np.zeros((spec.r, 0))
    for saddle in saddle_sequence(spec, rtol=rtol):
        sigma, complement = _saddle_sigma(spec, U, saddle.exponent, scale)
        coords = complement.T @ saddle.basis  # the saddle's directions in the complement basis
        values = np.linalg.eigvalsh(coords.T @ sigma @ coords)[::-1]
        out.append(np.maximum(values, 0.0))
        U = np.concatenate([U, saddle.basis], axis=1)
    return out


def _planted_directions(spec: MultivariateSpectrum, rtol: float) -> list[tuple[int, int, float]]:
    """``(axis, s_i, alpha_i^2)`` per variable of a coordinate-separable spectrum; refuses others."""
    threshold = rtol * math.sqrt(max(float(spec.norm2), 0.0))
    lowest: dict[int, tuple[int, float]] = {}
    for beta, value in spec.nonzero(threshold):
        support = [i for i, b in enumerate(beta) if b]
        if not support:
            continue
        if len(support) > 1:
            raise MimflowError(
                f"planted predictions need a link separable in its coordinates (a sum of one-variable terms); "
                f"{spec.name or 'this link'!r} has the mixed term beta = {beta}: use algorithm='two-timescale'"
            )
        i, k = support[0], beta[support[0]]
        if i not in lowest or k < lowest[i][0]:
            lowest[i] = (k, value**2)
    return [(i, s, a2) for i, (s, a2) in sorted(lowest.items())]


__all__ = ["saddle_strengths"]
