"""Population gradient flows of multi-index learning: ``mimflow flow``, ``mimflow demo`` and the
reproductions ``saddles``, ``escape-times``, ``planted-traps`` (docs/math/grassmannian-flow.md, docs/math/saddles.md,
docs/math/planted.md).

Names are loaded on first use (PEP 562), so ``mimflow hermite`` and ``mimflow --help`` import no
simulation code (tests/test_startup.py).
"""

_LAZY = {
    "FlowConfig": "._command",
    "HORIZON_QUANTILE": "._run",
    "HORIZON_FACTOR": "._run",
    "PREDICTION_DRAWS": "._run",
    "predictions": "._run",
    "run_flow": "._run",
    "escape_time_slopes": "._run",
    "ESCAPING": "._run",
    "escape_arrays": "._command",
    "plot_flow": "._command",
    "FLOW": "._command",
    "DEMO_LINK": "._reproductions",
    "ESCAPE_KEYS": "._reproductions",
    "BBPV": "._reproductions",
    "flow_claims": "._reproductions",
    "saddles_headline": "._reproductions",
    "reproduce_saddles": "._reproductions",
    "reproduce_escape_times": "._reproductions",
    "TRAP_LINKS": "._reproductions",
    "TRAP_PROBABILITY": "._reproductions",
    "reproduce_planted_traps": "._reproductions",
}

__all__ = list(_LAZY)


from mimflow._lazy_exports import lazy_exports as _lazy_exports

__getattr__, __dir__ = _lazy_exports(__name__, _LAZY, globals())
