"""A run command's own arguments and config file: command-line text to config values.

``mimflow COMMAND ...`` and ``mimflow sweep COMMAND ...`` take the same arguments: positionals,
``--key value``, ``--key=value`` and ``--set key=value`` (dotted keys for nested models). A comma
list for a field listed in the command's ``vmapped_fields`` (or any field accepting a list) is one
list value, passed whole into one run; for any other field it is a sweep axis (one run per value),
an error outside a sweep. Values are read as in :mod:`._config` (TOML literals, strings verbatim).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mimflow._errors import MimflowError
from mimflow.runs._config import FieldSpec, canonical_json, check_keys, config_fields, load_toml, parse_value, split_list, suggest
from mimflow.runs._runs import RunCommand

__all__ = ["load_run_config_file", "parse_command_args", "parse_value_list"]


def parse_value_list(command: RunCommand, key: str, text: str, *, sweep: bool) -> tuple[Any, list | None]:
    """One command-line value: ``(value, None)`` or, for a sweep axis, ``(None, [values])``.

    A comma list for a vmapped field (or any field accepting a list) is one list value; for any
    other field it is a sweep axis (an error outside a sweep).
    """
    spec: FieldSpec = config_fields(command.config_model)[key]
    items = split_list(text)
    if len(items) == 1:
        return parse_value(items[0], spec), None
    if key in command.vmapped_fields or spec.accepts_list:
        return [parse_value(item, spec) for item in items], None
    values = [parse_value(item, spec) for item in items]
    if not sweep:
        flag = f"--{key.replace('_', '-')}"
        raise MimflowError(
            f"{flag} takes one value, got {text!r}: to run one job per value use "
            f"`mimflow sweep {command.name} ... {flag} {text} --out DIR`"
        )
    return None, values


def parse_command_args(
    command: RunCommand, tokens: Sequence[str], *, sweep: bool = True
) -> tuple[dict[str, Any], dict[str, list]]:
    """Parse a run command's own arguments: positionals, ``--key value``, ``--key=value``,
    ``--set key=value``. Returns ``(values, axes)`` with dotted keys.

    Raises:
        MimflowError: unknown option (with the nearest valid one), missing value, too many
            positional arguments, a comma list outside a sweep.
    """
    fields = config_fields(command.config_model)
    flags = {key.replace("_", "-"): key for key in fields}
    values: dict[str, Any] = {}
    axes: dict[str, list] = {}
    positional = list(command.positional)
    tokens = list(tokens)
    i = 0

    def put(key: str, text: str) -> None:
        value, axis = parse_value_list(command, key, text, sweep=sweep)
        values.pop(key, None)
        axes.pop(key, None)
        if axis is None:
            values[key] = value
        else:
            if len({canonical_json(v) for v in axis}) != len(axis):
                raise MimflowError(f"the values of --{key.replace('_', '-')} repeat: {text!r}; list each value once")
            axes[key] = axis

    while i < len(tokens):
        token = tokens[i]
        if token.startswith("--") and len(token) > 2:
            name, eq, inline = token[2:].partition("=")
            if not eq:
                if i + 1 >= len(tokens):
                    raise MimflowError(f"option --{name} needs a value")
                inline = tokens[i + 1]
                i += 1
            if name == "set":
                key, eq2, text = inline.partition("=")
                if not eq2:
                    raise MimflowError(f"--set takes KEY=VALUE, got {inline!r}")
                key = key.strip()
                check_keys([key], command.config_model)
                put(key, text.strip())
            else:
                key = flags.get(name) or (name if name in fields else None)
                if key is None:
                    hint = suggest(name.replace("_", "-"), flags) or ""
                    hint = hint.replace("'", "'--", 1) if hint else f"; options of {command.name}: " + " ".join(
                        f"--{f}" for f in flags)
                    raise MimflowError(f"unknown option '--{name}' for {command.name}{hint}")
                put(key, inline)
        else:
            if not positional:
                raise MimflowError(
                    f"unexpected argument {token!r} for {command.name} "
                    f"(it takes {len(command.positional)} positional: {', '.join(command.positional) or 'none'})"
                )
            put(positional.pop(0), token)
        i += 1
    return values, axes


def load_run_config_file(command: RunCommand, path) -> dict[str, Any]:
    """A run command's TOML config (``command = ...`` optional; no ``[grid]`` or ``[sweep]`` here)."""
    data = load_toml(path)
    name = data.pop("command", command.name)
    if name != command.name:
        raise MimflowError(f"config file {str(path)!r} is for command {name!r}, not {command.name!r}")
    for table in ("grid", "sweep"):
        if table in data:
            raise MimflowError(f"config file {str(path)!r} has a [{table}] table: run it with `mimflow sweep {path}`")
    return data
