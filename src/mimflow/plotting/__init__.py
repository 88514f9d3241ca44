"""Figures from stored NumPy arrays (never runs a simulation)."""

from ._flows import plot_escape_per_seed as plot_escape_per_seed
from ._flows import plot_escape_times_vs_d as plot_escape_times_vs_d
from ._flows import plot_singular_values as plot_singular_values
from ._flows import plot_trap_probability as plot_trap_probability
from ._spectra import plot_energy_by_degree as plot_energy_by_degree
from ._spectra import plot_tail_decay as plot_tail_decay
from ._style import new_figure as new_figure
from ._dmft import plot_dmft_trajectories as plot_dmft_trajectories
from ._training import plot_deviation_vs_d as plot_deviation_vs_d
from ._training import plot_samples_to_escape as plot_samples_to_escape
from ._training import plot_sgd_vs_ode as plot_sgd_vs_ode
from ._neurons import plot_coverage as plot_coverage
from ._neurons import plot_neuron_overlaps as plot_neuron_overlaps
from ._neurons import plot_phase_diagram as plot_phase_diagram
from ._spectral_init import plot_overlap_vs_alpha as plot_overlap_vs_alpha
from ._amp import plot_gamp_vs_state_evolution as plot_gamp_vs_state_evolution, plot_limits_vs_alpha as plot_limits_vs_alpha
