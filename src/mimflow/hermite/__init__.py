"""Pure mathematics of Hermite expansions under the standard Gaussian measure."""

from mimflow.hermite._closed_forms import CLOSED_FORMS as CLOSED_FORMS
from mimflow.hermite._coefficients import HermiteSpectrum as HermiteSpectrum
from mimflow.hermite._coefficients import hermite_coefficients_by_quadrature as hermite_coefficients_by_quadrature
from mimflow.hermite._multiindex import MultivariateSpectrum as MultivariateSpectrum
from mimflow.hermite._multiindex import as_multivariate as as_multivariate
from mimflow.hermite._multiindex import coefficients_to_tensor as coefficients_to_tensor
from mimflow.hermite._multiindex import degree_multi_indices as degree_multi_indices
from mimflow.hermite._multiindex import multi_indices as multi_indices
from mimflow.hermite._multiindex import tensor_to_coefficients as tensor_to_coefficients
from mimflow.hermite._polynomials import MAX_DEGREE as MAX_DEGREE
from mimflow.hermite._polynomials import check_degree as check_degree
from mimflow.hermite._polynomials import hermite_he as hermite_he
from mimflow.hermite._polynomials import hermite_normalized as hermite_normalized
from mimflow.hermite._quadrature import gauss_hermite_rule as gauss_hermite_rule
from mimflow.hermite._quadrature import piecewise_gaussian_rule as piecewise_gaussian_rule
from mimflow.hermite._averaging import apply_tensor_power as apply_tensor_power
from mimflow.hermite._averaging import averaged_spectrum as averaged_spectrum
from mimflow.hermite._averaging import averaging_correlation as averaging_correlation
from mimflow.hermite._averaging import make_averaging_correlation as make_averaging_correlation
from mimflow.hermite._ridge import ridge_factors as ridge_factors
from mimflow.hermite._averaging import MAX_TENSOR_ENTRIES as MAX_TENSOR_ENTRIES
from mimflow.hermite._averaging import MAX_VARIABLES as MAX_VARIABLES
from mimflow.hermite._closed_forms import hermite_basis_coefficients as hermite_basis_coefficients
from mimflow.hermite._quadrature import integration_half_width as integration_half_width
