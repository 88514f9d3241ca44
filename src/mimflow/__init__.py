"""mimflow: gradient-based learning of Gaussian single- and multi-index models.

Importing mimflow enables JAX's float64 mode. The public names below are loaded on first use
(PEP 562 ``__getattr__``), so ``import mimflow`` and ``mimflow --help`` do not import JAX: when
JAX is not imported yet, x64 is switched on through ``JAX_ENABLE_X64`` (read by JAX when it is
first imported, here or in a worker process that inherits the environment); when it is already
imported, through ``jax.config`` (as :mod:`mimflow._jax` does for every module that uses JAX).
"""

import os as _os
import sys as _sys

if "jax" in _sys.modules:
    _sys.modules["jax"].config.update("jax_enable_x64", True)
else:
    _os.environ["JAX_ENABLE_X64"] = "1"

__version__ = "0.1.0"

_LAZY = {
    "MimflowError": "._errors",
    "HermiteSpectrum": ".hermite",
    "MultivariateSpectrum": ".hermite",
    "hermite_he": ".hermite",
    "hermite_normalized": ".hermite",
    "multi_indices": ".hermite",
    "Link": ".targets",
    "make_link": ".targets",
}

__all__ = ["__version__", *_LAZY]


from mimflow._lazy_exports import lazy_exports as _lazy_exports

__getattr__, __dir__ = _lazy_exports(__name__, _LAZY, globals())
