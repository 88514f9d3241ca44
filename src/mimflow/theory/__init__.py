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
from ._escape_times import escape_time_slope as escape_time_slope
from ._escape_times import fit_loglog_slope as fit_loglog_slope
from ._escape_times import initial_saddle_overlaps as initial_saddle_overlaps
from ._escape_times import leading_order_escape_time as leading_order_escape_time
from ._escape_times import predicted_escape_times as predicted_escape_times
from ._escape_times import pure_link_escape_time as pure_link_escape_time
from ._escape_times import saddle_strengths as saddle_strengths
from ._escape_times import single_index_escape_time as single_index_escape_time
from ._escape_times import single_index_velocity as single_index_velocity
