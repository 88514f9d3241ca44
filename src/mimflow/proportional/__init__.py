"""Gradient descent in the proportional regime ``n = alpha d``: finite-d simulation, DMFT, fixed point.

docs/math/dmft.md §3 (Chen and Shen 2025): spectral initialisation followed by full-batch GD on a
single-index model, its dynamical mean-field theory and long-time fixed point, and the exact
ridge-regression trajectory through the Marchenko-Pastur spectrum (the independent anchor).
"""

from ._losses import KNOWN_LOSSES as KNOWN_LOSSES
from ._losses import Loss as Loss
from ._losses import make_loss as make_loss
from ._problem import InitSpec as InitSpec
from ._problem import ProportionalGD as ProportionalGD
from ._problem import make_problem as make_problem
from ._problem import parse_init as parse_init
from ._population import test_error as test_error
from ._gd import GDTrajectory as GDTrajectory
from ._gd import simulate_gd as simulate_gd
from ._dmft import DMFTSolution as DMFTSolution
from ._dmft import solve_dmft as solve_dmft
from ._fixed_point import FixedPoint as FixedPoint
from ._fixed_point import solve_fixed_point as solve_fixed_point
from ._ridge_closed_form import marchenko_pastur_rule as marchenko_pastur_rule
from ._ridge_closed_form import ridge_gd_trajectory as ridge_gd_trajectory
