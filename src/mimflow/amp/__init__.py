"""Bayes-optimal limits and AMP for single-index models (GLMs) in the proportional regime (docs/math/amp.md).

``y = f(a^T w*) (+ noise)``, ``a ~ N(0, I_d/d)``, ``||w*||^2 = d``, ``n = alpha d``: the state evolution of
Bayes-optimal GAMP, the replica free entropy and the Bayes-optimal overlap and MSE it selects, the
weak-recovery, algorithmic and information-theoretic thresholds, and GAMP itself on finite samples.
"""

from mimflow.amp._channels import EvenChannel as EvenChannel
from mimflow.amp._channels import NoisyChannel as NoisyChannel
from mimflow.amp._channels import ReluChannel as ReluChannel
from mimflow.amp._channels import SignChannel as SignChannel
from mimflow.amp._channels import make_channel as make_channel
from mimflow.amp._priors import KNOWN_PRIORS as KNOWN_PRIORS
from mimflow.amp._priors import GaussianPrior as GaussianPrior
from mimflow.amp._priors import RademacherPrior as RademacherPrior
from mimflow.amp._priors import make_prior as make_prior
from mimflow.amp._state_evolution import FixedPointSE as FixedPointSE
from mimflow.amp._state_evolution import SEPoint as SEPoint
from mimflow.amp._state_evolution import StateEvolution as StateEvolution
from mimflow.amp._state_evolution import make_state_evolution as make_state_evolution
from mimflow.amp._thresholds import Thresholds as Thresholds
from mimflow.amp._thresholds import compute_thresholds as compute_thresholds
from mimflow.amp._gamp import GAMPRun as GAMPRun
from mimflow.amp._gamp import run_gamp as run_gamp
