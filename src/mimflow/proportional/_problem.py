r"""One description of "GD on a single-index model in the proportional regime" (docs/math/dmft.md §3.2).

:class:`ProportionalGD` is shared by the finite-``d`` simulation (:mod:`._gd`), the DMFT
(:mod:`._dmft`), the fixed point (:mod:`._fixed_point`) and the ridge closed form, so that comparing
them is a subtraction.

**User-facing convention** (issue 7): ``a_i ~ N(0, I_d)``, ``||w*|| = 1``,
``y_i = f(a_i^T w*) + noise * eps_i`` with ``eps_i ~ N(0, 1)``, ``n = alpha d`` samples, empirical loss

.. math::

    \hat L(w) = \frac{1}{n}\sum_{i=1}^n \ell(a_i^\top w; y_i) + \frac{\tilde\lambda}{2}\|w\|^2 ,
    \qquad w^{t+1} = w^t - \tilde\eta\, \nabla \hat L(w^t).

``lr`` is ``eta~`` and ``ridge`` is ``lambda~``. **Internal convention** (docs/math/dmft.md §3.2, used by the
DMFT): ``X = A/sqrt(d)`` (entries ``N(0, 1/d)``), ``theta = sqrt(d) w``; then GD reads
``theta <- theta - eta (lambda theta + X^T l'(X theta; y))`` with

.. math::  \eta = \tilde\eta/\alpha,\qquad \lambda = \alpha\tilde\lambda ,

and the order parameters ``m_t = <theta^t, theta*>/d = <w^t, w*>`` (the overlap) and
``q_t = ||theta^t||^2/d = ||w^t||^2`` are the same numbers in both conventions.

Initialisations (``init``): ``"random"`` (uniform direction, overlap ~ 0), ``"warm:M"`` (overlap
``<w^0, w*> = M`` exactly: the inner product, the number printed as ``overlap[0]``, not the cosine;
``|M| <= init_norm``), ``"spectral"`` (top eigenvector of ``(1/n) sum_i T(y_i) a_i a_i^T`` for the
``preprocessing`` ``T``, sign chosen so that the overlap is positive, docs/math/dmft.md §3.2). All are scaled to
``||w^0|| = init_norm``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np

from mimflow import _jax  # noqa: F401  (x64)
from mimflow._errors import MimflowError, check_finite
from mimflow.hermite import gauss_hermite_rule
from mimflow.proportional._losses import Loss, make_loss
from mimflow.spectral import make_preprocessing
from mimflow.targets import BinOp, Call, Neg, make_link

__all__ = ["ProportionalGD", "InitSpec", "parse_init", "make_problem"]


@dataclass(frozen=True)
class InitSpec:
    """``kind`` in ``spectral | random | warm``; ``overlap`` = ``<w^0, w*>`` for ``warm`` (the inner
    product, ``|overlap| <= norm``, not the cosine); ``norm`` = ``||w^0||``."""

    kind: str
    overlap: float = 0.0
    norm: float = 1.0


def parse_init(text: str, norm: float = 1.0) -> InitSpec:
    """``"spectral"``, ``"random"`` or ``"warm:M"`` -> :class:`InitSpec`.

    ``warm:M`` starts at ``<w^0, w*> = M`` with ``||w^0|| = norm`` (so the cosine is ``M / norm``);
    ``|M| > norm`` is impossible (Cauchy-Schwarz) and refused.

    Example:
        >>> parse_init("warm:0.7", 0.86023).overlap
        0.7
    """
    if isinstance(text, InitSpec):
        return text
    if not isinstance(text, str):
        raise MimflowError(f"init must be spectral, random or warm:M, got {text!r}")
    check_finite("init_norm", norm)
    if norm <= 0:
        raise MimflowError(f"init_norm must be positive, got {norm!r}")
    key = text.strip().lower()
    if key in ("spectral", "random"):
        return InitSpec(key, 0.0, float(norm))
    if key.startswith("warm:"):
        raw = key.split(":", 1)[1]
        try:
            m = float(raw)
        except ValueError:
            raise MimflowError(f"init warm:M needs a number M (the overlap <w0, w*>), got {raw!r} (e.g. warm:0.5)") from None
        if not (abs(m) <= norm):
            raise MimflowError(f"init warm:M needs |M| <= init_norm = {norm:g} (M is the overlap <w0, w*>, not the cosine), got {m!r}")
        return InitSpec("warm", m, float(norm))
    raise MimflowError(f"init must be spectral, random or warm:M (e.g. warm:0.5), got {text!r}")


@dataclass(frozen=True, eq=False)
class ProportionalGD:
    """GD after an initialisation, for ``y = f(a^T w*) + noise * eps`` with ``n = alpha d``.

    Attributes (user-facing convention, see the module docstring):
        link: the link ``f`` (a one-variable :class:`mimflow.targets.Link`).
        alpha: ``n/d``.
        lr: ``eta~``.
        ridge: ``lambda~``.
        loss: the :class:`Loss` ``l(r; y)``.
        noise: standard deviation of the additive label noise.
        init: the :class:`InitSpec`.
        preprocessing: the spectral preprocessing (a :class:`mimflow.spectral.Preprocessing`), for
            ``init.kind == "spectral"``.
    """

    link: object
    alpha: float
    lr: float
    ridge: float
    loss: Loss
    noise: float = 0.0
    init: InitSpec = field(default_factory=lambda: InitSpec("spectral"))
    preprocessing: object | None = None

    @property
    def eta(self) -> float:
        """Internal step ``eta = eta~ / alpha`` (docs/math/dmft.md §3.2)."""
        return self.lr / self.alpha

    @property
    def lam(self) -> float:
        """Internal ridge ``lambda = alpha lambda~`` (docs/math/dmft.md §3.2)."""
        return self.alpha * self.ridge

    def f(self, z):
        """The link, elementwise on ``z`` of any shape."""
        return self.link.fn(jnp.asarray(z, dtype=jnp.float64)[..., None])

    def f_prime(self, z):
        """``f'(z)`` elementwise (``jax.grad`` of the link; kinks get a one-sided value)."""
        scalar = lambda x: self.link.fn(jnp.reshape(x, (1, 1)))[0]  # noqa: E731
        return jnp.vectorize(jax.grad(scalar))(jnp.asarray(z, dtype=jnp.float64))

    def labels(self, z, eps):
        """``y = f(z) + noise * eps``."""
        return self.f(z) + self.noise * eps

    def label_mean(self) -> float:
        """``E[Y]`` by Gauss-Hermite quadrature (for preprocessings written for labels of mean 1)."""
        x, w = gauss_hermite_rule(200)
        return float(np.sum(w * np.asarray(self.f(jnp.asarray(x)))))

    def T(self, y, mean):
        """``T`` of the preprocessing applied to labels (divided by ``mean`` when it assumes mean 1)."""
        p = self.preprocessing
        return p.T(y / mean) if getattr(p, "mean_one", False) else p.T(y)

    def T_prime(self, y, mean):
        """``dT(y)/dy`` (including the ``1/mean`` factor)."""
        scalar = lambda v: self.T(jnp.reshape(v, (1,)), mean)[0]  # noqa: E731
        return jnp.vectorize(jax.grad(scalar))(jnp.asarray(y, dtype=jnp.float64))


def make_problem(link, *, alpha: float, lr: float, ridge: float = 0.0, loss="wirtinger", noise: float = 0.0,
                 init="spectral", init_norm: float = 1.0, preprocess="trimmed", clip: float | None = None
                 ) -> ProportionalGD:
    """Validate user inputs and build a :class:`ProportionalGD` (errors name the field and the fix).

    Example:
        >>> p = make_problem("z**2", alpha=4.0, lr=0.2, ridge=0.01)
        >>> p.eta, p.lam
        (0.05, 0.04)
    """
    for name, value in (("alpha", alpha), ("lr", lr), ("ridge", ridge), ("noise", noise)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
            raise MimflowError(f"{name} must be a number, got {value!r}")
        check_finite(name, value)
    if alpha <= 0:
        raise MimflowError(f"alpha (= n/d) must be positive, got {alpha!r}")
    if lr <= 0:
        raise MimflowError(f"lr (the GD step) must be positive, got {lr!r}")
    if ridge < 0:
        raise MimflowError(f"ridge must be >= 0, got {ridge!r}")
    if noise < 0:
        raise MimflowError(f"noise (a standard deviation) must be >= 0, got {noise!r}")
    lk = make_link(link)
    if lk.r != 1:
        raise MimflowError(f"link {lk.name!r} has r = {lk.r} variables: the proportional regime here is single-index (use z)")
    spec = parse_init(init, init_norm)
    pre = None
    if spec.kind == "spectral":
        pre = make_preprocessing(preprocess, alpha=float(alpha), clip=clip)
    return ProportionalGD(lk, float(alpha), float(lr), float(ridge), make_loss(loss), float(noise), spec, pre)


def _has_jump(tree) -> bool:
    if isinstance(tree, Call):
        return tree.func == "sign" or _has_jump(tree.arg)
    if isinstance(tree, BinOp):
        return _has_jump(tree.left) or _has_jump(tree.right)
    if isinstance(tree, Neg):
        return _has_jump(tree.arg)
    return False


def shift_bound(alpha: float, t_min: float) -> float:
    """A shift ``c >= |lambda_min(D)|`` for ``D = X^T diag(T) X`` (internal scaling, docs/math/dmft.md §3.3).

    ``lambda_min(D) >= min(T, 0) * lambda_max(X^T X)`` and ``lambda_max(X^T X) -> (1 + sqrt(alpha))^2``
    (Marchenko-Pastur); we add 5% for finite-sample room.
    """
    if not math.isfinite(t_min):
        raise MimflowError("the preprocessing is unbounded below on the labels: use a bounded one "
                           "(e.g. --preprocess trimmed, or optimal with --clip 1)")
    return 1.05 * max(0.0, -t_min) * (1.0 + math.sqrt(alpha)) ** 2
