"""JAX configuration shared by the whole package.

mimflow works in float64 everywhere (population dynamics start at overlaps of order
``d^{-1/2}``, and Hermite coefficients are checked to 1e-10), so importing the package
turns on JAX's x64 mode. Worker processes import mimflow and so get the same setting.
"""

from __future__ import annotations

import jax

jax.config.update("jax_enable_x64", True)

__all__ = ["jax"]
