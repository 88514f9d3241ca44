"""Closed-form and quadrature-only predictions. Never imports dynamics or training."""

from ._exponents import DEFAULT_DEGREE as DEFAULT_DEGREE
from ._exponents import DEFAULT_RTOL as DEFAULT_RTOL
from ._exponents import GENERATIVE_RTOL as GENERATIVE_RTOL
from ._exponents import TAIL_FLOOR as TAIL_FLOOR
from ._exponents import Exponents as Exponents
from ._exponents import Saddle as Saddle
from ._exponents import conditional_hermite_energies as conditional_hermite_energies
from ._exponents import exponent_status as exponent_status
from ._exponents import exponents as exponents
from ._exponents import generative_exponent as generative_exponent
from ._exponents import hermite_support as hermite_support
from ._exponents import information_exponent as information_exponent
from ._exponents import leap_exponent as leap_exponent
from ._exponents import rotate_spectrum as rotate_spectrum
from ._exponents import rotation_invariant_leap as rotation_invariant_leap
from ._exponents import saddle_sequence as saddle_sequence
