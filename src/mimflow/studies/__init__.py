"""Studies: one subpackage per problem family, each holding its run commands, reproductions and plots.

=========== ============================================== =====================================
family      run commands                                   reproductions
=========== ============================================== =====================================
hermite     hermite-mc (and ``mimflow hermite/exponents``) hermite-spectra, quadrature-accuracy
flow        flow (and ``mimflow demo``)                    saddles, escape-times, planted-traps
train       train                                          sgd-vs-ode, sample-complexity
neurons     neurons, neurons-beta-c, neurons-phase-diagram search-phase, coverage, beta-c
spectral    spectral                                       spectral-overlap
dmft        dmft                                           dmft-wirtinger
amp         amp                                            algorithms-vs-limits
=========== ============================================== =====================================

A study is registered by one line in the catalogue (``mimflow/runs/_catalogue.py``); see
docs/architecture.md. Importing this package imports no family (they load JAX).

Each family has the same files: ``_command.py`` holds the config, the plot hook and the
:class:`~mimflow.runs.RunCommand`, and stays light (``mimflow <command> --help`` imports it: no JAX,
xarray or matplotlib); its computation is in ``_run.py``, named by a
:class:`~mimflow.studies._deferred.Deferred` ``"module:function"`` and imported when the command runs;
reproductions are in ``_reproductions.py`` (``train``: ``_sgd_vs_ode.py``, ``_sample_complexity.py``).
Every other module imports what it uses at its top.
"""
