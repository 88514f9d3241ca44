r"""Ridge shrinkage of a Hermite expansion (Bietti, Bruna, Pillaud-Vivien 2023, Prop. 3.3; docs/math/finite-sample.md §1.8).

Fitting the link by ridge regression with penalty :math:`\mu` in the isotropic Hermite RKHS whose
kernel operator is diagonal in the degree, :math:`Q h_\beta = q_{|\beta|} h_\beta`, replaces
:math:`f_*` by :math:`f_*^\mu = (Q+\mu)^{-1/2}Q^{1/2}f_*`: every coefficient of degree k is multiplied
by :math:`\sqrt{q_k/(q_k+\mu)}`. mimflow uses :math:`q_k = \rho^k` (``kernel_decay`` ρ, default 1/2).
"""

from __future__ import annotations

import numpy as np

from mimflow._errors import MimflowError, check_finite


def ridge_factors(degrees, ridge: float, kernel_decay: float = 0.5) -> np.ndarray:
    r""":math:`q_k/(q_k+\mu)` for each degree (the factor on *squared* coefficients), :math:`q_k = \rho^k`.

    Raises:
        MimflowError: negative or non-finite ``ridge``, ``kernel_decay`` outside ``(0, 1]``.
    """
    check_finite("ridge", ridge)
    check_finite("kernel_decay", kernel_decay)
    if ridge < 0:
        raise MimflowError(f"ridge must be >= 0, got {ridge}")
    if not 0 < kernel_decay <= 1:
        raise MimflowError(f"kernel_decay must be in (0, 1], got {kernel_decay}")
    degrees = np.asarray(degrees, dtype=float)
    if ridge == 0:
        return np.ones(degrees.shape)
    q = float(kernel_decay) ** degrees
    return q / (q + float(ridge))
