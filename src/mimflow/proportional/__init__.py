"""Gradient descent in the proportional regime ``n = alpha d``: finite-d simulation, DMFT, fixed point.

docs/math/dmft.md §3 (Chen and Shen 2025): spectral initialisation followed by full-batch GD on a
single-index model, its dynamical mean-field theory and long-time fixed point, and the exact
ridge-regression trajectory through the Marchenko-Pastur spectrum (the independent anchor).
"""

from mimflow.proportional._losses import KNOWN_LOSSES as KNOWN_LOSSES
from mimflow.proportional._losses import Loss as Loss
from mimflow.proportional._losses import make_loss as make_loss
from mimflow.proportional._problem import InitSpec as InitSpec
from mimflow.proportional._problem import ProportionalGD as ProportionalGD
from mimflow.proportional._problem import make_problem as make_problem
from mimflow.proportional._problem import parse_init as parse_init
from mimflow.proportional._population import test_error as test_error
from mimflow.proportional._gd import GDTrajectory as GDTrajectory
from mimflow.proportional._gd import simulate_gd as simulate_gd
from mimflow.proportional._dmft import DMFTSolution as DMFTSolution
from mimflow.proportional._dmft import solve_dmft as solve_dmft
from mimflow.proportional._fixed_point import FixedPoint as FixedPoint
from mimflow.proportional._fixed_point import solve_fixed_point as solve_fixed_point
from mimflow.proportional._ridge_closed_form import marchenko_pastur_rule as marchenko_pastur_rule
from mimflow.proportional._ridge_closed_form import ridge_gd_trajectory as ridge_gd_trajectory
