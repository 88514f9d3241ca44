"""Spectral estimators: the top eigenvector of (1/n) sum_i T(y_i) a_i a_i^T (docs/math/spectral.md §4)."""

from mimflow.spectral._preprocessing import KNOWN_PREPROCESSINGS as KNOWN_PREPROCESSINGS
from mimflow.spectral._preprocessing import Preprocessing as Preprocessing
from mimflow.spectral._preprocessing import make_preprocessing as make_preprocessing
from mimflow.spectral._estimator import SpectralData as SpectralData
from mimflow.spectral._estimator import SpectralEstimate as SpectralEstimate
from mimflow.spectral._estimator import SpectralRun as SpectralRun
from mimflow.spectral._estimator import measure_spectral_overlaps as measure_spectral_overlaps
from mimflow.spectral._estimator import sample_spectral_data as sample_spectral_data
from mimflow.spectral._estimator import spectral_estimate as spectral_estimate
from mimflow.spectral._estimator import top_eigenpair as top_eigenpair
from mimflow.spectral._estimator import top_eigenpairs_batched as top_eigenpairs_batched
