r"""The rotation-invariant saddle sequence of the two-timescale flow.

Definition and mechanism: docs/math/saddles.md §1.6, docs/math/hermite.md §5.2.

Read off a (truncated) Hermite spectrum by rotating its symmetric tensors degree by degree; the
coefficient threshold is the one of :func:`~mimflow.theory.hermite_support` (module docstring of
:mod:`mimflow.theory._hermite_support`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mimflow._errors import MimflowError
from mimflow.hermite import MultivariateSpectrum, as_multivariate, coefficients_to_tensor, tensor_to_coefficients
from mimflow.theory._hermite_support import DEFAULT_RTOL, Spectrum, _check_rtol, _threshold


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


__all__ = ["Saddle", "rotate_spectrum", "rotation_invariant_leap", "saddle_sequence"]
