"""Finite-sample training on Gaussian samples: online SGD (d-dimensional or exact reduced chain) and full-batch GD.

See docs/math/online-sgd.md §6.1-6.3, docs/math/planted.md §1.7, docs/math/finite-sample.md §1.8-1.9 and
docs/math/neurons.md §2.2. :mod:`mimflow.training._algorithm` describes a :class:`TrainingAlgorithm`
(its coefficient function, closed-form population risk and population ``flow``, an
:class:`~mimflow.dynamics.OverlapFlow`); :data:`ALGORITHMS` are the registered ones
(:mod:`mimflow.training._registry`). The engines: :mod:`mimflow.training._reduced` (the exact reduced
chain, the time mapping ``t = step * lr`` and the first-order noise correction) and
:mod:`mimflow.training._full` (d-dimensional samples); the drivers :func:`train_online` and
:func:`train_full_batch`; the population reference :func:`population_reference` (one
:func:`~mimflow.dynamics.solve_flow` call) and the noise-corrected single-index limit
(:mod:`mimflow.training._online_limit`).
"""

from mimflow.training._algorithm import CONSTRAINTS as CONSTRAINTS
from mimflow.training._algorithm import TrainingAlgorithm as TrainingAlgorithm
from mimflow.training._registry import ALGORITHMS as ALGORITHMS
from mimflow.training._registry import BUILDERS as BUILDERS
from mimflow.training._registry import make_algorithm as make_algorithm
from mimflow.training._online import ENGINES as ENGINES
from mimflow.training._online import save_steps as save_steps
from mimflow.training._online import train_online as train_online
from mimflow.training._full_batch import train_full_batch as train_full_batch
from mimflow.training._online_limit import hermite_link_functions as hermite_link_functions
from mimflow.training._online_limit import online_limit_coefficients as online_limit_coefficients
from mimflow.training._online_limit import solve_single_index_ode as solve_single_index_ode
from mimflow.training._reference import max_deviation as max_deviation
from mimflow.training._reference import population_reference as population_reference
from mimflow.training._scaling import Scaling as Scaling
from mimflow.training._scaling import resolve_learning_rate as resolve_learning_rate
from mimflow.training._scaling import resolve_size as resolve_size
