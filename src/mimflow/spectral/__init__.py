"""Spectral estimators: the top eigenvector of (1/n) sum_i T(y_i) a_i a_i^T (docs/math/spectral.md §4)."""

from ._preprocessing import KNOWN_PREPROCESSINGS as KNOWN_PREPROCESSINGS
from ._preprocessing import Preprocessing as Preprocessing
from ._preprocessing import make_preprocessing as make_preprocessing
from ._estimator import SpectralData as SpectralData
from ._estimator import SpectralEstimate as SpectralEstimate
from ._estimator import SpectralRun as SpectralRun
from ._estimator import measure_spectral_overlaps as measure_spectral_overlaps
from ._estimator import sample_spectral_data as sample_spectral_data
from ._estimator import spectral_estimate as spectral_estimate
from ._estimator import top_eigenpair as top_eigenpair
from ._estimator import top_eigenpairs_batched as top_eigenpairs_batched
