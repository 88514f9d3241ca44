"""Population dynamics in overlap space: cost independent of d (docs/math/grassmannian-flow.md §1.4, docs/math/saddles.md §1.6, docs/math/planted.md §1.7, docs/math/finite-sample.md §1.8, docs/math/neurons.md §2.2).

Every population flow is an :class:`OverlapFlow` registered in :data:`FLOWS` (built by
:func:`make_flow`) and solved by :func:`solve_flow`; results convert to :class:`xarray.Dataset` by
``to_dataset()`` (:class:`Trajectory`, :class:`FullFlowResult`, :class:`NeuronRun`).
"""

from mimflow.dynamics._flows import GEOMETRIES as GEOMETRIES
from mimflow.dynamics._flows import OverlapFlow as OverlapFlow
from mimflow.dynamics._flows import as_multivariate as as_multivariate
from mimflow.dynamics._flows import planted_flow as planted_flow
from mimflow.dynamics._flows import shrink_spectrum as shrink_spectrum
from mimflow.dynamics._flows import spectrum_rank as spectrum_rank
from mimflow.dynamics._flows import two_timescale_flow as two_timescale_flow
from mimflow.dynamics._correlation import check_coefficients as check_coefficients
from mimflow.dynamics._correlation import check_gram as check_gram
from mimflow.dynamics._correlation import correlation_flow as correlation_flow
from mimflow.dynamics._correlation import equiangular_gram as equiangular_gram
from mimflow.dynamics._correlation import gram_factor as gram_factor
from mimflow.dynamics._correlation import neuron_vector_field as neuron_vector_field
from mimflow.dynamics._make_flow import ALGORITHMS as ALGORITHMS
from mimflow.dynamics._make_flow import FLOWS as FLOWS
from mimflow.dynamics._make_flow import make_flow as make_flow
from mimflow.dynamics._initial import haar_overlaps as haar_overlaps
from mimflow.dynamics._initial import haar_overlaps_batch as haar_overlaps_batch
from mimflow.dynamics._initial import neuron_initial_overlaps as neuron_initial_overlaps
from mimflow.dynamics._saddles import crossing_times as crossing_times
from mimflow.dynamics._saddles import direction_escape_times as direction_escape_times
from mimflow.dynamics._saddles import plateaus as plateaus
from mimflow.dynamics._saddles import saddle_escape_times as saddle_escape_times
from mimflow.dynamics._solve import relevant_rank as relevant_rank
from mimflow.dynamics._solve import save_times as save_times
from mimflow.dynamics._solve import solve_flow as solve_flow
from mimflow.dynamics._solve import stop_loss_for as stop_loss_for
from mimflow.dynamics._trajectory import Trajectory as Trajectory
from mimflow.dynamics._full_flow import FullFlowResult as FullFlowResult
from mimflow.dynamics._full_flow import full_flow_from_overlaps as full_flow_from_overlaps
from mimflow.dynamics._full_flow import solve_full_flow as solve_full_flow
from mimflow.dynamics._endpoints import SPURIOUS as SPURIOUS
from mimflow.dynamics._endpoints import EndPoint as EndPoint
from mimflow.dynamics._endpoints import TrapProbability as TrapProbability
from mimflow.dynamics._endpoints import classify_end_point as classify_end_point
from mimflow.dynamics._endpoints import trap_probability as trap_probability
from mimflow.dynamics._neurons import NeuronRun as NeuronRun
from mimflow.dynamics._neurons import classify_neuron_end_points as classify_neuron_end_points
from mimflow.dynamics._neurons import solve_neurons as solve_neurons
from mimflow.dynamics._neuron_checks import gauss_hermite_correlation as gauss_hermite_correlation
from mimflow.dynamics._neuron_checks import solve_network_correlation_flow as solve_network_correlation_flow
from mimflow.dynamics._neuron_checks import solve_spherical_neurons as solve_spherical_neurons
from mimflow.dynamics._rosenbrock import rosenbrock_solve_batch as rosenbrock_solve_batch
