"""Run commands built on first use, so that ``mimflow --help`` imports none of their modules.

``add_run_command`` (``_runs.py``) builds one option per field of a run command's pydantic config,
which imports the command's module (and NumPy, pydantic models, ...): ~0.3 s for the eight
commands on this project's 2-vCPU machine, more than half of ``mimflow --help``. Here a run
command is registered as a *stub* that carries only its name and one-line help; the click group
:class:`LazyRunGroup` swaps the stub for the real command (built by ``add_run_command``) when the
command is resolved (``mimflow flow ...``, ``mimflow flow --help``). The group's own ``--help``
lists the stubs' help without building them. The stubs' help must equal the registered
``RunCommand.description`` (tests/test_startup.py checks it).
"""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperGroup

from mimflow.cli._runs import add_run_command

_LAZY_ATTR = "_mimflow_lazy_run_commands"


class LazyRunGroup(TyperGroup):
    """A typer group whose lazily registered run commands are built when first resolved."""

    def get_command(self, ctx: Any, cmd_name: str):
        cmd = self.commands.get(cmd_name)
        if cmd is not None and getattr(cmd, _LAZY_ATTR, False):
            cmd = self._build(cmd_name, hidden=cmd.hidden)
        return cmd

    def _build(self, name: str, *, hidden: bool):
        sub = typer.Typer(add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None)
        add_run_command(sub, name, hidden=hidden)
        cmd = typer.main.get_command(sub)  # one command: typer returns the command itself, not a group
        cmd.name = name
        self.commands[name] = cmd
        return cmd

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        """As ``TyperGroup.format_commands``, but reads the stubs' help instead of building them."""
        rows = [(name, self.commands[name]) for name in self.list_commands(ctx)
                if name in self.commands and not self.commands[name].hidden]
        if rows:
            limit = formatter.width - 6 - max(len(name) for name, _ in rows)
            with formatter.section("Commands"):
                formatter.write_dl([(name, cmd.get_short_help_str(limit)) for name, cmd in rows])


def add_lazy_run_command(app: typer.Typer, name: str, help: str, *, hidden: bool = False) -> None:
    """Register run command ``name`` on ``app`` (made with ``cls=LazyRunGroup``), built on first use.

    ``help`` is the command's one-line help for ``mimflow --help``: the registered
    ``RunCommand.description`` verbatim.
    """

    def stub() -> None:  # pragma: no cover - replaced by LazyRunGroup.get_command before it can run
        raise RuntimeError(f"run command {name!r} was not built")

    setattr(stub, _LAZY_ATTR, True)
    app.command(name, help=help, hidden=hidden, cls=_StubCommand)(stub)


class _StubCommand(typer.core.TyperCommand):
    """The placeholder of a lazily built run command (marked so the group replaces it)."""


setattr(_StubCommand, _LAZY_ATTR, True)


def lazy_run_command_help(app: typer.Typer) -> dict[str, str]:
    """``{name: help}`` of the lazily registered run commands of ``app`` (for the consistency test)."""
    return {info.name: info.help for info in app.registered_commands
            if getattr(info.callback, _LAZY_ATTR, False)}
