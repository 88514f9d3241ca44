"""Figures from stored NumPy arrays (never runs a simulation)."""

from mimflow.plotting._flows import plot_escape_per_seed as plot_escape_per_seed
from mimflow.plotting._flows import plot_escape_times_vs_d as plot_escape_times_vs_d
from mimflow.plotting._flows import plot_singular_values as plot_singular_values
from mimflow.plotting._flows import plot_trap_probability as plot_trap_probability
from mimflow.plotting._spectra import plot_energy_by_degree as plot_energy_by_degree
from mimflow.plotting._spectra import plot_tail_decay as plot_tail_decay
from mimflow.plotting._style import new_figure as new_figure
from mimflow.plotting._dmft import plot_dmft_trajectories as plot_dmft_trajectories
from mimflow.plotting._training import plot_deviation_vs_d as plot_deviation_vs_d
from mimflow.plotting._training import plot_samples_to_escape as plot_samples_to_escape
from mimflow.plotting._training import plot_sgd_vs_ode as plot_sgd_vs_ode
from mimflow.plotting._neurons import plot_coverage as plot_coverage
from mimflow.plotting._neurons import plot_neuron_overlaps as plot_neuron_overlaps
from mimflow.plotting._neurons import plot_phase_diagram as plot_phase_diagram
from mimflow.plotting._spectral_init import plot_overlap_vs_alpha as plot_overlap_vs_alpha
from mimflow.plotting._amp import plot_gamp_vs_state_evolution as plot_gamp_vs_state_evolution, plot_limits_vs_alpha as plot_limits_vs_alpha
