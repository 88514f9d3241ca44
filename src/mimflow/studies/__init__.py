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
"""
