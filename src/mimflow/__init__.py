"""mimflow: gradient-based learning of Gaussian single- and multi-index models.

Importing mimflow enables JAX's float64 mode.
"""

from . import _jax  # noqa: F401  (x64 before anything else touches JAX)
from ._errors import MimflowError as MimflowError
from .hermite import HermiteSpectrum as HermiteSpectrum
from .hermite import MultivariateSpectrum as MultivariateSpectrum
from .hermite import hermite_he as hermite_he
from .hermite import hermite_normalized as hermite_normalized
from .hermite import multi_indices as multi_indices
from .targets import Link as Link
from .targets import make_link as make_link

__version__ = "0.1.0"
