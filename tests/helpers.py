"""Shared test helpers (pytest puts this folder on sys.path: ``from helpers import run_cli``)."""

from __future__ import annotations


def run_cli(capsys, *args):
    """Run the ``mimflow`` command line in-process; return ``(exit code, stdout, stderr)``."""
    from mimflow.cli import main

    code = 0
    try:
        main(list(args))
    except SystemExit as exc:
        code = exc.code or 0
    out = capsys.readouterr()
    return code, out.out, out.err
