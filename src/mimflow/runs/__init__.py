"""Run machinery: configs, the catalogue of run commands and reproductions, the store, sweeps, atomic io.

Every study (:mod:`mimflow.studies`) is run, stored and swept through this package
(docs/architecture.md).

The names below are loaded on first use (PEP 562 ``__getattr__``): the command line imports this
package to build its options, and a command that does not compute must not import JAX, xarray,
Dask or matplotlib (tests/test_startup.py).
"""

_LAZY = {
    "ClaimCheck": "._claims",
    "check_claim": "._claims",
    "welch_dof": "._claims",
    "coverage_claim": "._claims",
    "read_claims": "._claims",
    "write_claims": "._claims",
    "atomic_write_json": "._io",
    "atomic_write_text": "._io",
    "list_reproductions": "._registry",
    "register": "._registry",
    "reproduce": "._registry",
    "load_target": "._registry",
    "resolve_config": "._config",
    "CatalogueEntry": "._catalogue",
    "REPRODUCTIONS": "._catalogue",  # the catalogue's entries (runs/_catalogue.py), read without importing a study
    "RUN_COMMANDS": "._catalogue",
    "RunCommand": "._runs",
    "RunResult": "._runs",
    "check_finite_result": "._runs",
    "get_run_command": "._runs",
    "list_run_commands": "._runs",
    "register_run_command": "._runs",
    "export_results": "._export",
    "list_runs": "._listing",
    "load_run": "._listing",
    "run_and_store": "._store",
    "run_id": "._store",
    "SweepPlan": "._plan",
    "SweepReport": "._sweep",
    "plan_sweep": "._plan",
    "run_sweep": "._sweep",
    "atomic_savefig": "._io",
    "atomic_write_dataset": "._io",
    "check_out_dir": "._paths",
    "check_plot_path": "._paths",
    "config_dict": "._config",
    "config_fields": "._config",
    "config_to_toml": "._config",
    "dmft_memory": "._bounds",
    "export_runs": "._export",
    "load_run_config_file": "._args",
    "load_sweep_file": "._plan",
    "neurons_memory": "._bounds",
    "out_of_memory_message": "._bounds",
    "parse_command_args": "._args",
    "parse_value": "._config",
    "seed_list": "._fields",
    "spectral_memory": "._bounds",
    "to_jsonable": "._io",
    "train_memory": "._bounds",
    "unflatten": "._config",
    "validate_alphas": "._fields",
    "validate_dimensions": "._fields",
    "validate_seeds": "._fields",
    "AlphasMixin": "._fields",  # the shared config fields d, seeds, alpha, link (runs/_fields.py)
    "DimensionsMixin": "._fields",
    "LinkMixin": "._fields",
    "SeedsMixin": "._fields",
}

__all__ = list(_LAZY)


from mimflow._lazy_exports import lazy_exports as _lazy_exports

__getattr__, __dir__ = _lazy_exports(__name__, _LAZY, globals())
