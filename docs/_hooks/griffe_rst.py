"""Griffe extension: render the RST-flavoured parts of mimflow's docstrings as Markdown.

The docstrings are Google style but use a few reStructuredText constructs (they read well in a
terminal and in ``help()``):

* ``:math:`x``` inline and ``.. math::`` blocks  ->  ``\\(x\\)`` and ``\\[x\\]``, rendered by MathJax
  through ``pymdownx.arithmatex`` (generic mode);
* ``:func:`name```, ``:class:``, ``:mod:``, ... roles  ->  code spans (``~a.b`` shows ``b``);
* citations of the documentation, ``docs/math/saddles.md §1.6``  ->  links to that page and
  section (the API pages live in ``docs/api/``; every section ``x.y`` carries the anchor ``#x.y``).

The docstrings themselves are left untouched; only the text handed to the renderer changes.
"""

from __future__ import annotations

import re

import griffe

_MATH_ROLE = re.compile(r":math:`([^`]+)`")
_XREF_ROLE = re.compile(r":(?:py:)?(?:func|class|meth|mod|data|attr|obj|exc|const):`~?([^`]+)`")
_MATH_DIRECTIVE = re.compile(r"^(?P<indent>[ \t]*)\.\. math::[ \t]*(?P<inline>.*)$")
# docs/conventions.md, docs/math/saddles.md §1.6, docs/math/dmft.md §3.2 (first section of a list/range)
CITATION = re.compile(r"docs/(?P<page>(?:math/)?[A-Za-z0-9_-]+\.md)(?P<sec>\s*§\s*(?P<major>\d+)(?:\.(?P<minor>\d+))?)?")


def _math_blocks(text: str) -> str:
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        match = _MATH_DIRECTIVE.match(lines[i])
        if not match:
            out.append(lines[i])
            i += 1
            continue
        indent = match["indent"]
        body = [match["inline"].strip()] if match["inline"].strip() else []
        i += 1
        # the directive's body: the following lines indented deeper than the directive (blank lines allowed)
        while i < len(lines) and (not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) > len(indent)):
            body.append(lines[i].strip())
            i += 1
        while body and not body[-1]:
            body.pop()
        body = [b for b in body if b]
        out.extend(["", f"{indent}\\[", *(f"{indent}{b}" for b in body), f"{indent}\\]", ""])
    return "\n".join(out)


def _doctest_blocks(text: str) -> str:
    """Fence every doctest block (``>>>`` lines and their output, up to a blank line) as ``pycon``."""
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        stripped = lines[i].lstrip()
        if not stripped.startswith(">>>"):
            out.append(lines[i])
            i += 1
            continue
        indent = lines[i][: len(lines[i]) - len(stripped)]
        block = []
        while i < len(lines) and lines[i].strip():
            block.append(lines[i][len(indent):] if lines[i].startswith(indent) else lines[i].strip())
            i += 1
        out.extend([f"{indent}```pycon", *(f"{indent}{b}" for b in block), f"{indent}```"])
    return "\n".join(out)


def _citation_link(match: re.Match) -> str:
    anchor = f"#{match['major']}.{match['minor']}" if match["minor"] is not None else ""
    return f"[{match.group(0)}](../{match['page']}{anchor})"


def rst_to_markdown(text: str) -> str:
    """Return ``text`` with the RST roles, math blocks and doc citations turned into Markdown."""
    text = _doctest_blocks(text)
    text = _math_blocks(text)
    parts = re.split(r"(```pycon\n.*?```)", text, flags=re.S)
    for i in range(0, len(parts), 2):  # even parts are outside the doctest fences
        part = _MATH_ROLE.sub(lambda m: f"\\({m[1]}\\)", parts[i])
        part = _XREF_ROLE.sub(lambda m: f"`{m[1].rsplit('.', 1)[-1] if '~' in m.group(0) else m[1]}`", part)
        parts[i] = CITATION.sub(_citation_link, part)
    return "".join(parts)


class RstToMarkdown(griffe.Extension):
    """Rewrite every docstring with :func:`rst_to_markdown` once the package is loaded."""

    def on_object(self, *, obj: griffe.Object, **kwargs) -> None:
        if obj.docstring is not None:
            obj.docstring.value = rst_to_markdown(obj.docstring.value)


class PublicReexports(griffe.Extension):
    """Document exactly the names each public subpackage re-exports.

    mimflow's ``__init__`` files re-export with ``from ._module import name as name`` (no
    ``__all__``), or load names lazily from a ``_LAZY`` table (PEP 562, ``mimflow.runs``, ``mimflow.theory``):
    both become the subpackage's ``exports``, so ``filters: public`` lists every public name.
    """

    def on_package(self, *, pkg: griffe.Module, **kwargs) -> None:
        if pkg.path != "mimflow":
            return
        import importlib

        for name, sub in pkg.members.items():
            if name.startswith("_") or sub.is_alias or not (sub.is_package or sub.is_subpackage):
                continue
            lazy = getattr(importlib.import_module(sub.path), "_LAZY", None)
            lazy = lazy if isinstance(lazy, dict) else {}
            for public, module in lazy.items():
                if public not in sub.members:
                    target = f"{sub.path}.{module.lstrip('.')}.{public}"
                    sub.set_member(public, griffe.Alias(public, target, parent=sub))
            reexported = [
                n for n, m in sub.members.items()
                if m.is_alias and not n.startswith("_") and m.target_path.startswith(sub.path + ".")
            ]
            sub.exports = list(dict.fromkeys([*reexported, *lazy]))
