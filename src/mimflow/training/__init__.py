"""Finite-sample training on Gaussian samples: online SGD (d-dimensional or exact reduced chain) and full-batch GD.

See docs/math/online-sgd.md §6.1-6.3, docs/math/planted.md §1.7, docs/math/finite-sample.md §1.8-1.9 and
docs/math/neurons.md §2.2; :mod:`mimflow.training._algorithms` (the algorithms and their
population risks), :mod:`mimflow.training._engines` (the two engines, the exact reduced chain and
the time mapping ``t = step * lr``).
"""

from mimflow.training._algorithms import ALGORITHMS as ALGORITHMS
from mimflow.training._algorithms import CONSTRAINTS as CONSTRAINTS
from mimflow.training._algorithms import TrainingAlgorithm as TrainingAlgorithm
from mimflow.training._algorithms import make_algorithm as make_algorithm
from mimflow.training._online import ENGINES as ENGINES
from mimflow.training._online import save_steps as save_steps
from mimflow.training._online import train_full_batch as train_full_batch
from mimflow.training._online import train_online as train_online
from mimflow.training._reference import max_deviation as max_deviation
from mimflow.training._reference import population_reference as population_reference
from mimflow.training._scaling import Scaling as Scaling
from mimflow.training._scaling import resolve_learning_rate as resolve_learning_rate
from mimflow.training._scaling import resolve_size as resolve_size
