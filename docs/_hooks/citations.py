"""MkDocs hooks: check every citation of the documentation, generate the CLI reference.

* **Citations.** The source cites pages of this site as ``docs/math/saddles.md §1.6`` (also lists and
  ranges: ``§1.6, 1.7``, ``§1.7-1.9 and 2.2``). Before the build, every such citation in ``src/``,
  ``tests/``, ``benchmarks/``, ``README.md`` and ``BENCHMARKS.md`` is checked: the page must exist and
  each cited section ``x.y`` must be a heading with the anchor ``{#x.y}`` on that page. A missing page
  or section is a warning, so ``mkdocs build --strict`` fails on it.
* **CLI reference.** ``<!-- mimflow-cli-reference -->`` in ``cli.md`` is replaced by the ``--help`` of
  every command of the Typer app (``mimflow.cli.app``), rendered by click at build time.
* **Pages written by others.** ``math/amp.md`` is written by another engineer; while it does not exist
  a one-line stub is generated so that the navigation builds.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from mkdocs.structure.files import File

log = logging.getLogger("mkdocs.hooks.mimflow")

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("src", "tests", "benchmarks", "README.md", "BENCHMARKS.md")
SUFFIXES = {".py", ".md", ".toml", ".txt", ".cfg", ".yml", ".yaml"}
NUMBER = r"\d+(?:\.\d+)*"
CITATION = re.compile(
    r"docs/(?P<page>(?:math/)?[A-Za-z0-9_-]+\.md)"
    rf"(?:\s*§\s*(?P<secs>{NUMBER}(?:\s*(?:-|–|/|,|and)\s*{NUMBER}(?![\w=]))*))?"
)
ANCHOR = re.compile(r"^#+ .*\{#(?P<id>[0-9][0-9.]*)\}\s*$", re.M)
CLI_MARKER = "<!-- mimflow-cli-reference -->"
STUBS = {"math/amp.md": "# Bayes-optimal estimation and AMP\n\nThis page is being written.\n"}


def _scanned_files():
    for name in SCANNED:
        path = ROOT / name
        if path.is_file():
            yield path
        elif path.is_dir():
            for f in sorted(path.rglob("*")):
                if f.is_file() and f.suffix in SUFFIXES and "__pycache__" not in f.parts:
                    yield f


def check_citations(docs_dir: Path, extra_pages: set[str] = frozenset()) -> list[str]:
    """Problems with the citations of ``docs/...`` in the scanned files (empty when all resolve)."""
    anchors: dict[str, set[str] | None] = {}
    problems = []
    for path in _scanned_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        for match in CITATION.finditer(text):
            page = match["page"]
            if page not in anchors:
                target = docs_dir / page
                anchors[page] = set(ANCHOR.findall(target.read_text(encoding="utf-8"))) if target.is_file() else None
                if anchors[page] is None and page in extra_pages:
                    anchors[page] = {"*"}  # a generated stub: its sections are not checked
            line = text.count("\n", 0, match.start()) + 1
            where = f"{path.relative_to(ROOT)}:{line}"
            if anchors[page] is None:
                problems.append(f"{where}: cites docs/{page}, which does not exist")
                continue
            for sec in re.findall(NUMBER, match["secs"] or ""):
                ok = "*" in anchors[page] or sec in anchors[page] or ("." not in sec and any(a.split(".")[0] == sec for a in anchors[page]))
                if not ok:
                    problems.append(f"{where}: cites docs/{page} §{sec}, which has no section {{#{sec}}}")
    return problems


def on_files(files, config):
    for page, content in STUBS.items():
        if files.get_file_from_path(page) is None:
            log.info("generating a stub for %s (the page is not written yet)", page)
            files.append(File.generated(config, page, content=content))
    return files


def on_pre_build(config):
    stubbed = {p for p in STUBS if not (Path(config["docs_dir"]) / p).is_file()}
    for problem in check_citations(Path(config["docs_dir"]), stubbed):
        log.warning("citation: %s", problem)


def _cli_reference() -> str:
    import click
    import typer

    from mimflow.cli import app

    root = typer.main.get_command(app)
    root_ctx = click.Context(root, info_name="mimflow")
    parts = ["## mimflow\n", "```text", root.get_help(root_ctx), "```\n"]
    routed = {"neurons-beta-c": "mimflow neurons beta-c", "neurons-phase-diagram": "mimflow neurons phase-diagram"}

    def walk(group, ctx, prefix):
        for name in group.list_commands(ctx) if not getattr(group, "commands", None) else group.commands:
            cmd = group.get_command(ctx, name)
            if cmd is None:
                continue
            title = routed.get(name, f"{prefix} {name}")
            sub_ctx = click.Context(cmd, info_name=title.removeprefix("mimflow "), parent=ctx)
            parts.extend([f"## {title}\n", "```text", cmd.get_help(sub_ctx), "```\n"])
            if getattr(cmd, "commands", None):  # a group (typer's groups are not click.Group subclasses)
                walk(cmd, sub_ctx, title)

    walk(root, root_ctx, "mimflow")
    return "\n".join(parts)


def on_page_markdown(markdown, page, config, files):
    if CLI_MARKER in markdown:
        markdown = markdown.replace(CLI_MARKER, _cli_reference())
    return markdown


HREF = re.compile(r'href="(?P<target>[^"#:]*)(?:#(?P<anchor>[^"]*))?"')


def on_post_build(config):
    """Check the links of the executed tutorials (notebook HTML is not checked by MkDocs itself)."""
    site = Path(config["site_dir"])
    ids: dict[Path, set[str]] = {}
    for page in sorted((site / "tutorials").glob("*.html")):
        for match in HREF.finditer(page.read_text(encoding="utf-8")):
            target, anchor = match["target"], match["anchor"]
            if not target or target.startswith(("/", "data")):
                continue
            path = (page.parent / target).resolve()
            if not path.is_file():
                log.warning("tutorial %s links to %s, which is not in the site", page.name, target)
                continue
            if anchor and path.suffix == ".html":
                if path not in ids:
                    ids[path] = set(re.findall(r'id="([^"]+)"', path.read_text(encoding="utf-8")))
                if anchor not in ids[path]:
                    log.warning("tutorial %s links to %s#%s: no such anchor", page.name, target, anchor)
