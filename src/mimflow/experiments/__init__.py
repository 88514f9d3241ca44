"""Runs, reports, reproductions: the edge between the library and its users.

The names below are loaded on first use (PEP 562 ``__getattr__``): the command line imports this
package to build its options, and a command that does not compute must not import JAX, xarray,
Dask or matplotlib (tests/test_startup.py).
"""

_LAZY = {
    "hermite_headline": "._demo",
    "ClaimCheck": "._claims",
    "check_claim": "._claims",
    "coverage_claim": "._claims",
    "read_claims": "._claims",
    "write_claims": "._claims",
    "atomic_write_json": "._io",
    "atomic_write_text": "._io",
    "list_reproductions": "._registry",
    "register": "._registry",
    "reproduce": "._registry",
    "exponents_report": "._reports",
    "hermite_report": "._reports",
    "resolve_config": "._config",
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
    "SweepReport": "._sweep",
    "plan_sweep": "._sweep",
    "run_sweep": "._sweep",
}

__all__ = list(_LAZY)


from .._lazy_exports import lazy_exports as _lazy_exports

__getattr__, __dir__ = _lazy_exports(__name__, _LAZY, globals())
