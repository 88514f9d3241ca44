r"""Closed-form Hermite coefficients :math:`c_k = \mathbb{E}[\sigma(z) h_k(z)]` of named functions.

All derived with Stein's identity :math:`\mathbb{E}[\sigma(z) He_k(z)] = \mathbb{E}[\sigma^{(k)}(z)]`
(docs/math/hermite.md §5.1, where the first coefficients are tabulated):

=========  ==============================================================================
relu       :math:`c_0 = 1/\sqrt{2\pi}`, :math:`c_1 = 1/2`, :math:`c_k = He_{k-2}(0)/(\sqrt{2\pi}\sqrt{k!})` (k >= 2)
abs        :math:`c_0 = \sqrt{2/\pi}`, :math:`c_1 = 0`, :math:`c_k = 2 He_{k-2}(0)/(\sqrt{2\pi}\sqrt{k!})` (k >= 2)
sign       :math:`c_k = \sqrt{2/\pi}\, He_{k-1}(0)/\sqrt{k!}` (k odd), 0 otherwise
erf(a z)   :math:`c_{2j+1} = \frac{2a s}{\sqrt\pi}\,\frac{(2j-1)!!\,(s^2-1)^j}{\sqrt{(2j+1)!}}`,
           :math:`s^2 = 1/(1+2a^2)`; :math:`\|\cdot\|^2 = \frac{2}{\pi}\arcsin\frac{2a^2}{1+2a^2}`
he_K       :math:`c_K = \sqrt{K!}`;  h_K: :math:`c_K = 1`
=========  ==============================================================================

The erf row follows from :math:`\sigma' = \frac{2a}{\sqrt\pi}e^{-a^2z^2}` and
:math:`\mathbb{E}[e^{-a^2z^2}He_m(z)] = s\,\mathbb{E}[He_m(s\xi)] = s\,(m-1)!!\,(s^2-1)^{m/2}`.
Everything is evaluated in log space, so degree 400 does not overflow.
"""

from __future__ import annotations

import math

import numpy as np

from mimflow.hermite._polynomials import normalized_he_at_zero_ratio

SQRT_2PI = math.sqrt(2.0 * math.pi)


def relu_coefficients(k_max: int) -> tuple[np.ndarray, float]:
    c = np.zeros(k_max + 1)
    c[0] = 1.0 / SQRT_2PI
    if k_max >= 1:
        c[1] = 0.5
    for k in range(2, k_max + 1):
        c[k] = normalized_he_at_zero_ratio(k - 2, 2) / SQRT_2PI
    return c, 0.5


def abs_coefficients(k_max: int) -> tuple[np.ndarray, float]:
    c = np.zeros(k_max + 1)
    c[0] = 2.0 / SQRT_2PI
    for k in range(2, k_max + 1):
        c[k] = 2.0 * normalized_he_at_zero_ratio(k - 2, 2) / SQRT_2PI
    return c, 1.0


def sign_coefficients(k_max: int) -> tuple[np.ndarray, float]:
    c = np.zeros(k_max + 1)
    for k in range(1, k_max + 1, 2):
        c[k] = math.sqrt(2.0 / math.pi) * normalized_he_at_zero_ratio(k - 1, 1)
    return c, 1.0


def erf_coefficients(k_max: int, scale: float = 1.0) -> tuple[np.ndarray, float]:
    """Coefficients of ``erf(scale * z)``."""
    a = float(scale)
    s2 = 1.0 / (1.0 + 2.0 * a * a)
    c = np.zeros(k_max + 1)
    for k in range(1, k_max + 1, 2):
        m = k - 1  # even
        j = m // 2
        # (m-1)!! / sqrt((m+1)!) with (m-1)!! = m! / (2^j j!)
        log_mag = (
            math.lgamma(m + 1) - j * math.log(2.0) - math.lgamma(j + 1) - 0.5 * math.lgamma(m + 2)
            + j * math.log(1.0 - s2)
        )
        c[k] = (2.0 * a * math.sqrt(s2) / math.sqrt(math.pi)) * (-1.0) ** j * math.exp(log_mag)
    norm2 = (2.0 / math.pi) * math.asin(2.0 * a * a / (1.0 + 2.0 * a * a))
    return c, norm2


def hermite_basis_coefficients(degree: int, k_max: int, normalized: bool) -> tuple[np.ndarray, float]:
    """Coefficients of ``h_degree`` (normalized) or ``He_degree``."""
    c = np.zeros(k_max + 1)
    value = 1.0 if normalized else math.exp(0.5 * math.lgamma(degree + 1))
    if degree <= k_max:
        c[degree] = value
    return c, value * value


CLOSED_FORMS = {
    "relu": relu_coefficients,
    "abs": abs_coefficients,
    "sign": sign_coefficients,
    "erf": erf_coefficients,
}
"""Named functions with closed-form coefficients: ``name -> (k_max -> (c, ||f||^2))``."""
