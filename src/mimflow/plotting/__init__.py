"""Figures from stored NumPy arrays (never runs a simulation)."""

from ._spectra import plot_energy_by_degree as plot_energy_by_degree
from ._spectra import plot_tail_decay as plot_tail_decay
from ._style import new_figure as new_figure
