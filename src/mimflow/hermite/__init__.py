"""Pure mathematics of Hermite expansions under the standard Gaussian measure."""

from ._closed_forms import CLOSED_FORMS as CLOSED_FORMS
from ._coefficients import HermiteSpectrum as HermiteSpectrum
from ._coefficients import hermite_coefficients_by_quadrature as hermite_coefficients_by_quadrature
from ._multiindex import MultivariateSpectrum as MultivariateSpectrum
from ._multiindex import coefficients_to_tensor as coefficients_to_tensor
from ._multiindex import degree_multi_indices as degree_multi_indices
from ._multiindex import multi_indices as multi_indices
from ._multiindex import tensor_to_coefficients as tensor_to_coefficients
from ._polynomials import MAX_DEGREE as MAX_DEGREE
from ._polynomials import hermite_he as hermite_he
from ._polynomials import hermite_normalized as hermite_normalized
from ._quadrature import gauss_hermite_rule as gauss_hermite_rule
from ._quadrature import piecewise_gaussian_rule as piecewise_gaussian_rule
from ._averaging import apply_tensor_power as apply_tensor_power
from ._averaging import averaged_spectrum as averaged_spectrum
from ._averaging import averaging_correlation as averaging_correlation
from ._averaging import make_averaging_correlation as make_averaging_correlation
from ._ridge import ridge_factors as ridge_factors
