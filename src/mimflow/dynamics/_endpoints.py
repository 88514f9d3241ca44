r"""Classify the end point of a run by the Riemannian Hessian (issue 4 section 2; docs/math/grassmannian-flow.md §1.4, docs/math/planted.md §1.7).

**An equivalent small frame.** The loss :math:`L(W) = \ell(W_*^T W)` depends on ``W`` only through
:math:`M = W_*^T W`, and it is invariant under the rotations that fix :math:`W_*` (they act on the
part of ``W`` orthogonal to :math:`W_*`). Writing :math:`W = W_* M + W_\perp` with
:math:`W_\perp^T W_\perp = I - M^T M`, such a rotation maps :math:`W_\perp` to
:math:`[0; C; 0]` with :math:`C = (I_p - M^T M)^{1/2}`, so every ``W`` with overlaps ``M`` is
isometric, loss included, to

.. math::  W_*^{\rm eff} = [I_r;\,0_{p\times r};\,0_{p\times r}],\qquad
           W^{\rm eff} = [M;\ C;\ 0_{p\times p}] \in \mathrm{St}(n, p),\quad n = r + 2p .

The ``p`` extra rows represent every direction orthogonal to :math:`\mathrm{span}(W_*, W)` in high
``d``: split a tangent vector :math:`\xi = \xi_S + \xi_N` (``S`` = that span, ``N`` its complement).
Then :math:`W_*^T\xi_N = 0`, :math:`W^T\xi_N = 0`, :math:`\xi_S^T\xi_N = 0`, so along the retraction
below the loss sees :math:`\xi_N` only through its ``p x p`` Gram matrix :math:`\xi_N^T\xi_N` (rank
<= p), and ``p`` orthonormal extra directions realise every such Gram matrix. The loss along any
curve of the d-dimensional problem is therefore reproduced exactly; the Hessian eigenvalues of
the N block appear with multiplicity ``p`` here instead of ``d - dim span(W*, W)`` (the *set* of
eigenvalues is the same). For the planted problem ``p = r``, i.e. ``n = r + p + r``.

**Riemannian derivatives.** With an orthonormal (Frobenius) basis :math:`\{B_k\}` of the tangent
space and the polar retraction :math:`R_W(\xi) = (W + \xi)(I + \xi^T\xi)^{-1/2}`, the gradient and
Hessian of :math:`x \mapsto L(R_W(\sum_k x_k B_k))` at ``x = 0`` (``jax.grad`` / ``jax.hessian``)
are the Riemannian gradient and, at a critical point, the Riemannian Hessian (for any retraction;
the polar one is moreover second order, so the Hessian is right to O(gradient) elsewhere).

* planted: Stiefel manifold, embedded metric; tangent :math:`\xi = W\Omega + W_\perp K`
  (:math:`W^T\xi` skew); basis :math:`W(E_{ij} - E_{ji})/\sqrt2`, :math:`W_\perp E_{kl}`;
* two-timescale: the loss is invariant under :math:`W \to WO`, :math:`O \in O(p)`, so the manifold is
  the Grassmannian: only the horizontal directions :math:`W_\perp E_{kl}` (:math:`W^T\xi = 0`).

**Symmetry zero modes.** The rotations fixing :math:`W_*` give exact zero modes at a critical point
(an invariant function's Hessian vanishes along its orbit there). Their tangents
:math:`[0;\, A W_{\rm rows\ge r}]` (``A`` skew on the last ``n - r`` coordinates) are projected out;
the eigenvalues reported are those of the Hessian on the orthogonal complement (dimension ``r p`` when
``||M|| < 1``: the quotient is the ball of overlap matrices). Any zero eigenvalue left is a genuine
degeneracy of the landscape.

**Classification** (``E = sum_{beta != 0} alpha_beta^2 = ||f - E f||^2`` sets the scale):

1. ``"global minimum"``: ``loss <= loss_tol * E`` (only when the minimum is known to be 0:
   planted, or two-timescale with student rank >= the link's relevant rank).
2. ``"not stationary"``: Riemannian gradient norm ``g > grad_tol * E``; nothing else is claimed.
3. ``"saddle"``: smallest eigenvalue ``< -eig_tol``.
4. ``"spurious minimum"``: all eigenvalues ``> eig_tol`` and not global (``"local minimum"`` when the
   minimum is unknown).
5. otherwise the second-order test is inconclusive (eigenvalues in ``[-eig_tol, eig_tol]``, none
   below): along each such eigenvector ``v`` the loss is probed at ``R_W(±eps v)``, ``eps`` in
   ``PROBE_STEPS``; a decrease beyond ``2 g eps + 1e-13 E`` at both step sizes gives
   ``"degenerate saddle"`` (a higher-order descent direction), else ``"degenerate"``
   (a degenerate minimum or a saddle of higher order than the probes resolve).

Tolerances: ``eig_tol = hess_tol * E + sqrt(2 T g)`` with ``T = q (q-1) (q-2) E`` a bound on the
third derivative of the degree-``q`` polynomial loss (``q = K`` planted, ``2K`` two-timescale). Why:
a point at distance ``delta`` from a critical point whose Hessian has a null direction has
``g ~ T delta^2 / 2`` along it, hence ``delta ~ sqrt(2 g / T)`` and a Hessian shifted by
``T delta = sqrt(2 T g)``; in the non-degenerate directions the shift ``T g / lambda`` is smaller.
Singular values of ``M`` within ``snap`` (1e-12) of 1 are set to 1 (a column of ``W`` inside
``span(W*)``): rounding puts converged columns at ``1 - O(1e-16)``, which would otherwise leave a
spurious ``O(1e-8)`` component along ``C`` (``W`` moves by at most ``sqrt(2 snap)``).

Why traps exist (planted ``f = sum_i h_s(z_i)``, correlation ``sum_ij M_ij^s``, docs/math/planted.md §1.7): once a
student column has aligned with ``v_1``, the remaining overlap ``c = M_22`` follows
``dc/dt = s c^{s-1}(1 - c^2)`` (the other entries are exactly 0). For odd ``s`` a negative ``c``
decreases in size without ever changing sign: the flow converges to ``M = diag(1, 0)``, a
*degenerate* saddle (the loss falls like ``-c^s`` for ``c > 0``) whose basin has positive measure;
the second-order test cannot see it, the probe does. For even ``s`` the same point repels (slowly:
``t ~ 1/(s(s-2) c^{s-2})``), so runs look trapped only up to a finite ``t_max``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from scipy.special import betaincinv

from mimflow import _jax  # noqa: F401
from mimflow._errors import MimflowError, check_finite
from mimflow._linalg import inverse_sqrt
from mimflow.dynamics._flows import OverlapFlow
from mimflow.dynamics._initial import haar_overlaps_batch
from mimflow.dynamics._solve import solve_flow, stop_loss_for

LABELS = ("global minimum", "spurious minimum", "local minimum", "saddle", "degenerate saddle", "degenerate",
          "not stationary")
SPURIOUS = ("spurious minimum", "saddle", "degenerate saddle", "degenerate")
PROBE_STEPS = (0.1, 0.05)


@dataclass(frozen=True)
class EndPoint:
    """The classification of one overlap matrix (see the module docstring).

    Attributes:
        label: one of :data:`LABELS`.
        loss: ``flow.loss(M)``; ``relative_loss``: ``loss / E``.
        gradient_norm: Riemannian gradient norm ``g``.
        eigenvalues: Riemannian Hessian eigenvalues on the complement of the symmetry modes (ascending).
        n_symmetry_modes: number of exact zero modes projected out.
        eig_tol: the eigenvalue tolerance used.
        probe_descent: most negative loss change found by the probes (``None`` when not probed).
        M: the (snapped) overlap matrix classified.
    """

    label: str
    loss: float
    relative_loss: float
    gradient_norm: float
    eigenvalues: np.ndarray = field(repr=False)
    n_symmetry_modes: int
    eig_tol: float
    probe_descent: float | None
    M: np.ndarray = field(repr=False)

    @property
    def spurious(self) -> bool:
        """A critical point that is not a global minimum."""
        return self.label in SPURIOUS


def equivalent_frame(M, snap: float = 1e-12) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""``(W_star (n, r), W (n, p), M_snapped)`` with ``n = r + 2p`` and ``W_star^T W = M_snapped`` (module docstring)."""
    M = np.asarray(M, dtype=np.float64)
    if M.ndim != 2:
        raise MimflowError(f"M must be an (r, p) matrix, got shape {M.shape}")
    check_finite("M", M)
    r, p = M.shape
    U, s, Vt = np.linalg.svd(M, full_matrices=False)
    if s.size and s[0] > 1.0 + 1e-8:
        raise MimflowError(f"M = W*^T W must have operator norm <= 1, got {s[0]:.10g}")
    s = np.where(s > 1.0 - snap, 1.0, s)
    M = (U * s[None, :]) @ Vt
    # C = (I - M^T M)^{1/2} = V diag(sqrt(1 - s^2)) V^T on the row space, identity elsewhere
    V = Vt.T
    C = np.eye(p) - V @ V.T + (V * np.sqrt(np.clip(1.0 - s**2, 0.0, None))[None, :]) @ V.T
    W_star = np.zeros((r + 2 * p, r))
    W_star[:r] = np.eye(r)
    W = np.concatenate([M, C, np.zeros((p, p))], axis=0)
    return W_star, W, M


def _tangent_basis(W: np.ndarray, grassmann: bool) -> np.ndarray:
    n, p = W.shape
    U = np.linalg.svd(W, full_matrices=True)[0]
    W_perp = U[:, p:]
    basis = []
    if not grassmann:
        for i in range(p):
            for j in range(i + 1, p):
                omega = np.zeros((p, p))
                omega[i, j], omega[j, i] = 1.0, -1.0
                basis.append(W @ omega / math.sqrt(2.0))
    for k in range(n - p):
        for col in range(p):
            E = np.zeros((n, p))
            E[:, col] = W_perp[:, k]
            basis.append(E)
    return np.stack(basis)


def _symmetry_complement(W: np.ndarray, r: int, basis: np.ndarray, grassmann: bool) -> tuple[np.ndarray, int]:
    """Orthonormal coordinates (k, m) of the complement of the orbit tangent of the rotations fixing W*."""
    n, p = W.shape
    gens = []
    for a in range(r, n):
        for b in range(a + 1, n):
            A = np.zeros((n, n))
            A[a, b], A[b, a] = 1.0, -1.0
            xi = A @ W
            if grassmann:
                xi = xi - W @ (W.T @ xi)
            gens.append(np.einsum("kij,ij->k", basis, xi))
    k = basis.shape[0]
    if not gens:
        return np.eye(k), 0
    G = np.stack(gens, axis=1)
    U, s, _ = np.linalg.svd(G, full_matrices=True)
    rank = int(np.sum(s > 1e-9))
    return U[:, rank:], rank


def _inv_sqrt_series(S):
    # (I + S)^{-1/2} to O(S^3): exact derivatives at S = 0 up to order 5 (S = xi^T xi is second order)
    eye = jnp.eye(S.shape[0], dtype=S.dtype)
    return eye - 0.5 * S + 0.375 * (S @ S)


@partial(jax.jit, static_argnames=("flow",))
def _derivatives(flow: OverlapFlow, W_star, W, basis):
    def f(x):
        xi = jnp.tensordot(x, basis, axes=1)
        R = (W + xi) @ _inv_sqrt_series(xi.T @ xi)
        return flow.loss(W_star.T @ R)

    x0 = jnp.zeros(basis.shape[0], dtype=W.dtype)
    return f(x0), jax.grad(f)(x0), jax.hessian(f)(x0)


@partial(jax.jit, static_argnames=("flow",))
def _loss_retracted(flow: OverlapFlow, W_star, W, xi):
    Y = W + xi
    return flow.loss(W_star.T @ (Y @ inverse_sqrt(Y.T @ Y)))


def _energy(flow: OverlapFlow) -> float:
    return float(np.sum(flow.spectrum.values[1:] ** 2))


def _polynomial_degree(flow: OverlapFlow) -> int:
    return flow.degree * (2 if flow.geometry == "grassmann" else 1)  # a polynomial of M M^T on the Grassmannian


def classify_end_point(
    flow: OverlapFlow,
    M,
    *,
    loss_tol: float = 1e-8,
    grad_tol: float = 1e-8,
    hess_tol: float = 1e-6,
    snap: float = 1e-12,
) -> EndPoint:
    r"""Classify the overlap ``M`` (``(r, p)``) as a critical point of ``flow``'s loss (module docstring).

    Args:
        flow: planted (Stiefel) or two-timescale (Grassmannian) flow.
        M: the overlap at the end of a run.
        loss_tol, grad_tol, hess_tol: relative to ``E = ||f - E f||^2`` (module docstring).
        snap: singular values of ``M`` above ``1 - snap`` are set to 1.

    Returns:
        :class:`EndPoint`.

    Example:
        >>> import numpy as np
        >>> from mimflow.dynamics import planted_flow
        >>> from mimflow.targets import multivariate_spectrum
        >>> flow = planted_flow(multivariate_spectrum("h4(z1) + h4(z2)", 4))
        >>> classify_end_point(flow, np.array([[1.0, 1.0], [1.0, -1.0]]) / np.sqrt(2)).label
        'saddle'
    """
    M = np.asarray(M, dtype=np.float64)
    if M.shape != (flow.r, flow.p):
        raise MimflowError(f"M must have shape ({flow.r}, {flow.p}), got {M.shape}")
    for name, tol in (("loss_tol", loss_tol), ("grad_tol", grad_tol), ("hess_tol", hess_tol), ("snap", snap)):
        check_finite(name, tol)
        if tol < 0:
            raise MimflowError(f"{name} must be >= 0, got {tol}")
    if flow.geometry not in ("grassmann", "stiefel"):
        raise MimflowError(f"end points are classified on the Grassmannian or the Stiefel manifold, not for the "
                           f"{flow.geometry} geometry of the {flow.algorithm} flow")
    grassmann = flow.geometry == "grassmann"
    W_star, W, M = equivalent_frame(M, snap)
    basis = _tangent_basis(W, grassmann)
    Q, n_sym = _symmetry_complement(W, flow.r, basis, grassmann)
    loss, grad, hess = (np.asarray(a) for a in _derivatives(flow, jnp.asarray(W_star), jnp.asarray(W),
                                                             jnp.asarray(basis)))
    loss = float(loss)
    E = _energy(flow)
    g = float(np.linalg.norm(grad))
    hess = 0.5 * (hess + hess.T)
    eig, vec = np.linalg.eigh(Q.T @ hess @ Q)
    q = _polynomial_degree(flow)
    T = max(q * (q - 1) * (q - 2), 2) * E
    eig_tol = hess_tol * E + math.sqrt(2.0 * T * g)
    minimum_known = stop_loss_for(flow) > 0

    def result(label, probe=None):
        return EndPoint(label, loss, loss / E, g, eig, n_sym, eig_tol, probe, M)

    if minimum_known and loss <= loss_tol * E:
        return result("global minimum")
    if g > grad_tol * E:
        return result("not stationary")
    if eig.size and eig[0] < -eig_tol:
        return result("saddle")
    if eig.size == 0 or eig[0] > eig_tol:
        return result("spurious minimum" if minimum_known else "local minimum")
    # second order inconclusive: probe the loss along the (near-)null eigenvectors
    null = (Q @ vec)[:, np.abs(eig) <= eig_tol]
    best = 0.0
    descends = False
    Wj, Wsj = jnp.asarray(W), jnp.asarray(W_star)
    for v in null.T:
        direction = np.tensordot(v, basis, axes=1)
        for sign in (1.0, -1.0):
            drops = [float(_loss_retracted(flow, Wsj, Wj, jnp.asarray(sign * eps * direction))) - loss
                     for eps in PROBE_STEPS]
            best = min(best, min(drops))
            if all(drop < -(2.0 * g * eps + 1e-13 * E) for drop, eps in zip(drops, PROBE_STEPS)):
                descends = True
    return result("degenerate saddle" if descends else "degenerate", best)


@dataclass(frozen=True)
class TrapProbability:
    """Output of :func:`trap_probability`.

    Attributes:
        probability: fraction of seeds ending at a spurious critical point (labels in :data:`SPURIOUS`).
        standard_error: binomial ``sqrt(P (1 - P) / n)`` (0 when P is 0 or 1: then see ``upper_95``).
        upper_95: one-sided 95% upper bound on the probability (exact binomial, Clopper-Pearson).
        n: number of seeds.
        counts: label -> number of seeds.
        labels: per-seed labels; ``end_points``: per-seed :class:`EndPoint`.
        trajectory: the runs.
        d, t_max: settings.
    """

    probability: float
    standard_error: float
    upper_95: float
    n: int
    counts: dict
    labels: list
    end_points: list = field(repr=False)
    trajectory: object = field(repr=False)
    d: int = 0
    t_max: float = 0.0


def trap_probability(flow: OverlapFlow, d: int, seeds, *, t_max: float, streams: tuple[int, ...] = (),
                     n_save: int = 100,
                     **classify_kwargs) -> TrapProbability:
    r"""Fraction of Haar initialisations whose flow ends at a spurious critical point.

    Draws ``M(0)`` exactly for ``W(0)`` Haar on ``St(d, p)`` (:func:`haar_overlaps_batch`), solves the
    overlap flow to ``t_max`` (:func:`solve_flow`, which stops a run once it has converged) and
    classifies each end point (:func:`classify_end_point`). Runs still moving at ``t_max`` are
    ``"not stationary"`` and are *not* counted as trapped.

    Args:
        flow: the flow (planted for the rough landscape; two-timescale for the benign one).
        d: dimension of the initial condition.
        seeds: integer seeds (one run each).
        t_max: final time (units of docs/math/grassmannian-flow.md §1.4).
        streams: seed streams of :func:`haar_overlaps_batch` (docs/conventions.md).
        classify_kwargs: tolerances passed to :func:`classify_end_point`.

    Returns:
        :class:`TrapProbability` with a binomial standard error.
    """
    seeds = np.asarray(seeds, dtype=np.int64).reshape(-1)
    if seeds.size == 0:
        raise MimflowError("trap_probability needs at least one seed")
    M0 = haar_overlaps_batch(d, flow.r, flow.p, seeds, streams=streams)
    traj = solve_flow(flow, M0, t_max=t_max, d=d, seeds=seeds, n_save=n_save)
    ends = [classify_end_point(flow, traj.M[i, -1], **classify_kwargs) for i in range(seeds.size)]
    labels = [e.label for e in ends]
    n = len(labels)
    trapped = sum(e.spurious for e in ends)
    prob = trapped / n
    upper = 1.0 if trapped == n else float(betaincinv(trapped + 1, n - trapped, 0.95))  # the beta quantile
    counts = {label: labels.count(label) for label in LABELS if label in labels}
    return TrapProbability(prob, math.sqrt(prob * (1.0 - prob) / n), upper, n, counts, labels, ends, traj,
                           int(d), float(t_max))
