"""The package's shape (issue 13, docs/architecture.md): module sizes, imports, layers, one registration.

An ``ast`` pass over ``src/mimflow`` (``tools/package_map.py``; nothing is imported), so these tests
fail when a change adds a module over the size limit, an import hidden inside a function, an import of
another subpackage's private module, an import cycle, or a layer imported upwards.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("package_map", ROOT / "tools" / "package_map.py")
package_map = importlib.util.module_from_spec(_spec)
sys.modules["package_map"] = package_map
_spec.loader.exec_module(package_map)

MAX_LINES = 400
MAX_INNER_IMPORTS = 25

# Layers (docs/architecture.md): a package may import only packages of a lower or equal layer.
LAYERS = {
    "mimflow._errors": 0, "mimflow._lazy_exports": 0, "mimflow._jax": 0, "mimflow._seeds": 0, "mimflow._linalg": 0,
    "mimflow.hermite": 1,
    "mimflow.targets": 2,
    "mimflow.spectral": 3,
    "mimflow.theory": 4,
    "mimflow.dynamics": 5, "mimflow.training": 5, "mimflow.proportional": 5, "mimflow.amp": 5,
    "mimflow.plotting": 6, "mimflow.runs": 6,
    "mimflow.studies": 7,
    "mimflow.cli": 8,
}


@pytest.fixture(scope="module")
def modules():
    return package_map.scan()


def test_no_module_over_the_size_limit(modules):
    big = {name: m.lines for name, m in modules.items() if m.lines > MAX_LINES}
    assert not big, f"split by concept (one concept per file): {big}"


def test_imports_inside_functions_are_few_and_only_optional_dependencies(modules):
    inner = [(name, line, target) for name, m in modules.items() for line, target in m.inner]
    assert len(inner) < MAX_INNER_IMPORTS, inner
    hidden = [(name, line, target) for name, m in modules.items()
              for line, target in package_map.inner_mimflow_or_light(m)]
    assert not [h for h in hidden if h[2].startswith("mimflow")], hidden


def test_no_private_cross_package_imports(modules):
    private = [(name, line, target) for name, m in modules.items() for line, target in m.private_cross]
    assert not private, private


def test_no_import_cycles(modules):
    assert package_map.package_cycles(modules) == []
    assert package_map.module_cycles(modules) == []


def test_layers_import_only_downwards(modules):
    def layer(name):
        parts = name.split(".")
        for k in (".".join(parts[:2]), parts[0]):
            if k in LAYERS:
                return k, LAYERS[k]
        raise AssertionError(f"{name}: no layer in tests/test_architecture.py LAYERS (add it, docs/architecture.md)")

    upward = []
    for name, m in modules.items():
        if name == "mimflow":
            continue
        src, level = layer(name)
        for target in m.top | {t for _, t in m.inner if t.startswith("mimflow")}:
            if target == "mimflow":
                continue
            dst, dst_level = layer(target)
            if dst != src and dst_level > level:
                upward.append((name, target))
    assert not upward, upward


def test_theory_never_imports_a_solver(modules):
    for name, m in modules.items():
        if name.startswith("mimflow.theory"):
            targets = m.top | {t for _, t in m.inner}
            assert not [t for t in targets if t.startswith(("mimflow.dynamics", "mimflow.training", "diffrax"))], name


def test_every_catalogue_entry_loads_and_matches_its_name():
    from mimflow.runs import RunCommand, get_run_command, list_reproductions
    from mimflow.runs._catalogue import REPRODUCTIONS, RUN_COMMANDS
    from mimflow.runs._registry import load_target

    for entry in RUN_COMMANDS:
        command = load_target(entry.target)
        assert isinstance(command, RunCommand) and command.name == entry.name, entry
        assert get_run_command(entry.name).description == entry.description
    for entry in REPRODUCTIONS:
        assert callable(load_target(entry.target)), entry
        assert entry.target.split(":")[1] == "reproduce_" + entry.name.replace("-", "_"), entry
    assert sorted(r.name for r in list_reproductions()) == sorted(e.name for e in REPRODUCTIONS)
