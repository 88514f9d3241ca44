"""Measure the package's shape: module sizes, imports inside functions, private
cross-package imports and import cycles (an ``ast`` pass, nothing is imported).

Run ``python tools/package_map.py`` for the report; ``tests/test_architecture.py``
holds the limits (issue 13).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "src"
# optional heavy dependencies that stay lazy for start-up time (docs/architecture.md)
LAZY_ALLOWED = ("matplotlib", "dask", "distributed", "dask_jobqueue", "zarr")


@dataclass
class Module:
    name: str
    path: Path
    lines: int
    top: set[str] = field(default_factory=set)      # mimflow modules imported at top level
    inner: list[tuple[int, str]] = field(default_factory=list)  # (line, imported) inside functions
    private_cross: list[tuple[int, str]] = field(default_factory=list)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _resolve(mod: str, is_pkg: bool, node: ast.ImportFrom) -> list[str]:
    if node.level == 0:
        base = node.module or ""
    else:
        pkg = mod.split(".") if is_pkg else mod.split(".")[:-1]
        pkg = pkg[: len(pkg) - (node.level - 1)]
        base = ".".join(pkg + ([node.module] if node.module else []))
    if node.module is None:  # from . import x -> submodules
        return [f"{base}.{a.name}" for a in node.names]
    return [base]


def _is_module(dotted: str) -> bool:
    path = ROOT.joinpath(*dotted.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def _package(name: str) -> str:
    parts = name.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else parts[0]


def scan() -> dict[str, Module]:
    modules: dict[str, Module] = {}
    for path in sorted((ROOT / "mimflow").rglob("*.py")):
        name = _module_name(path)
        text = path.read_text()
        tree = ast.parse(text)
        m = Module(name, path, len(text.splitlines()))
        is_pkg = path.name == "__init__.py"

        def visit(node, depth, in_type_checking=False):
            for child in ast.iter_child_nodes(node):
                inner = depth or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
                tc = in_type_checking or (isinstance(child, ast.If)
                                          and "TYPE_CHECKING" in ast.unparse(child.test))
                if isinstance(child, (ast.Import, ast.ImportFrom)) and not tc:
                    if isinstance(child, ast.Import):
                        targets = [a.name for a in child.names]
                    else:
                        targets = []
                        for base in _resolve(name, is_pkg, child):
                            # `from mimflow import runs` imports the subpackage mimflow.runs
                            subs = [f"{base}.{a.name}" for a in child.names
                                    if _is_module(f"{base}.{a.name}")]
                            targets += subs or [base]
                    for t in targets:
                        if depth:
                            m.inner.append((child.lineno, t))
                        elif t.startswith("mimflow"):
                            m.top.add(t)
                        if t.startswith("mimflow"):
                            last_private = [p for p in t.split(".")[2:] if p.startswith("_")]
                            if last_private and _package(t) != _package(name):
                                m.private_cross.append((child.lineno, t))
                if (isinstance(child, ast.Call) and getattr(child.func, "id", "") in ("lazy_module", "Deferred")
                        and child.args and isinstance(child.args[0], ast.Constant)
                        and str(child.args[0].value).startswith("mimflow")):
                    # a lazily bound module is still an edge of the import graph
                    m.top.add(str(child.args[0].value).split(":")[0])
                visit(child, inner, tc)

        visit(tree, False)
        modules[name] = m
    return modules


def inner_mimflow_or_light(m: Module) -> list[tuple[int, str]]:
    """Imports inside functions that are not of an optional heavy dependency."""
    return [(ln, t) for ln, t in m.inner if not t.split(".")[0] in LAZY_ALLOWED]


def package_cycles(modules: dict[str, Module]) -> list[list[str]]:
    """Cycles among subpackages in the top-level import graph (Tarjan SCCs of size > 1)."""
    graph: dict[str, set[str]] = {}
    for m in modules.values():
        src = _package(m.name)
        for t in m.top:
            dst = _package(t)
            if dst != src and dst != "mimflow" and src != "mimflow":
                graph.setdefault(src, set()).add(dst)
    return _sccs(graph)


def module_cycles(modules: dict[str, Module]) -> list[list[str]]:
    """Cycles among modules, counting top-level and in-function imports."""
    graph: dict[str, set[str]] = {}
    for m in modules.values():
        targets = set(m.top) | {t for _, t in m.inner if t.startswith("mimflow")}
        for t in targets:
            while t not in modules and "." in t:
                t = t.rsplit(".", 1)[0]
            if t != m.name and not modules.get(t, m).path.name == "__init__.py":
                graph.setdefault(m.name, set()).add(t)
    return _sccs(graph)


def _sccs(graph: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def strong(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in list(graph):
        if v not in index:
            strong(v)
    return out


def report() -> None:
    modules = scan()
    big = sorted(((m.lines, n) for n, m in modules.items() if m.lines > 400), reverse=True)
    inner = [(n, ln, t) for n, m in modules.items() for ln, t in inner_mimflow_or_light(m)]
    private = [(n, ln, t) for n, m in modules.items() for ln, t in m.private_cross]
    print(f"modules: {len(modules)}, lines: {sum(m.lines for m in modules.values())}")
    print(f"over 400 lines ({len(big)}):", *[f"  {n} {l}" for l, n in big], sep="\n")
    total = sum(len(m.inner) for m in modules.values())
    print(f"imports inside functions: {total} in all; not an optional dependency ({len(inner)}):")
    for n, ln, t in inner:
        print(f"  {n}:{ln} {t}")
    print(f"private cross-package imports ({len(private)}):")
    for n, ln, t in private:
        print(f"  {n}:{ln} {t}")
    print("package cycles:", package_cycles(modules))
    print("module cycles:", module_cycles(modules))


if __name__ == "__main__":
    report()
