"""Run configs: pydantic models, TOML files, dotted overrides, canonical JSON.

A run command's config is a frozen pydantic model (``extra="forbid"``, every field with a
default and a description; nested models give dotted keys such as ``algorithm.lr``). A
resolved config is built from, in increasing precedence,

1. the model's defaults,
2. a TOML file (``--config FILE``; nested tables for nested models),
3. dotted overrides (``--set algorithm.lr=0.1`` and the command's own options).

Every mistake is one :class:`~mimflow.MimflowError` line naming the key and the fix::

    unknown key 'algorthm'; did you mean 'algorithm'?
    degree = 50: Input should be less than or equal to 40
    malformed TOML in sweep.toml: Expected '=' after a key in a key/value pair (at line 3, column 7)

Values given as text (command line) are read as TOML literals (``1e4``, ``true``,
``[1, 2]``) except for string fields, which take the text verbatim.
"""

from __future__ import annotations

import difflib
import json
import math
import tomllib
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from mimflow._errors import MimflowError

__all__ = [
    "FieldSpec",
    "canonical_json",
    "config_fields",
    "config_to_toml",
    "flatten",
    "load_toml",
    "parse_value",
    "resolve_config",
    "split_list",
    "suggest",
    "unflatten",
]


# ---------------------------------------------------------------------------- fields
class FieldSpec(typing.NamedTuple):
    """One leaf field of a (possibly nested) config model, addressed by a dotted key."""

    key: str
    annotation: Any
    default: Any
    description: str
    required: bool = False

    @property
    def takes_text(self) -> bool:
        """True for string fields: command-line text is taken verbatim."""
        return _is_str_type(self.annotation)

    @property
    def accepts_list(self) -> bool:
        return _accepts_list(self.annotation)

    @property
    def metavar(self) -> str:
        return _metavar(self.annotation)


def _is_model(tp) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _union_args(tp) -> tuple:
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        return tuple(a for a in typing.get_args(tp) if a is not type(None))
    if origin is typing.Annotated:
        return _union_args(typing.get_args(tp)[0])
    return (tp,)


def _is_str_type(tp) -> bool:
    args = _union_args(tp)
    if typing.get_origin(tp) is typing.Literal:
        return all(isinstance(a, str) for a in typing.get_args(tp))
    return all(a is str or (typing.get_origin(a) is typing.Literal and all(isinstance(v, str) for v in typing.get_args(a)))
               for a in args)


def _accepts_list(tp) -> bool:
    return any(typing.get_origin(a) in (list, tuple) or a in (list, tuple) for a in _union_args(tp))


def _metavar(tp) -> str:
    names = []
    for a in _union_args(tp):
        origin = typing.get_origin(a)
        if origin is typing.Literal:
            names.append("|".join(str(v) for v in typing.get_args(a)))
        elif origin in (list, tuple):
            inner = typing.get_args(a)
            names.append(f"{_metavar(inner[0]) if inner else 'X'},...")
        elif isinstance(a, type):
            names.append({"int": "INT", "float": "FLOAT", "str": "TEXT", "bool": "BOOL"}.get(a.__name__, a.__name__.upper()))
        else:
            names.append(str(a))
    return "|".join(names)


def config_fields(model: type[BaseModel], prefix: str = "") -> dict[str, FieldSpec]:
    """Leaf fields of ``model`` by dotted key (nested models are walked)."""
    out: dict[str, FieldSpec] = {}
    for name, info in model.model_fields.items():
        key = f"{prefix}{name}"
        if _is_model(info.annotation):
            out.update(config_fields(info.annotation, prefix=f"{key}."))
            continue
        required = info.is_required()
        default = None if required else info.get_default(call_default_factory=True)
        out[key] = FieldSpec(key, info.annotation, default, info.description or "", required)
    return out


def suggest(word: str, choices) -> str:
    """``"; did you mean 'x'?"`` for the nearest of ``choices`` (difflib), or ``""``."""
    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.5)
    return f"; did you mean {match[0]!r}?" if match else ""


def _unknown_key(key: str, fields, what: str = "key") -> MimflowError:
    hint = suggest(key, fields)
    if not hint:
        hint = f"; valid keys: {', '.join(sorted(fields))}"
    return MimflowError(f"unknown {what} {key!r}{hint}")


# ---------------------------------------------------------------------------- dicts
def flatten(data: Mapping[str, Any], prefix: str = "", *, model: type[BaseModel] | None = None) -> dict[str, Any]:
    """Nested dicts to dotted keys. With ``model``, only tables of nested models are flattened."""
    out: dict[str, Any] = {}
    for k, v in data.items():
        key = f"{prefix}{k}"
        nested = None
        if model is not None:
            info = model.model_fields.get(str(k))
            nested = info.annotation if info is not None and _is_model(info.annotation) else None
        if isinstance(v, Mapping) and (model is None or nested is not None):
            out.update(flatten(v, f"{key}.", model=nested))
        else:
            out[key] = v
    return out


def unflatten(data: Mapping[str, Any]) -> dict[str, Any]:
    """Dotted keys to nested dicts."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        parts = key.split(".")
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return out


# ---------------------------------------------------------------------------- values
def split_list(text: str) -> list[str]:
    """Split ``text`` on commas outside parentheses, brackets and quotes: ``"f(a,b),c"`` -> 2 items."""
    items, depth, quote, start = [], 0, None, 0
    for i, ch in enumerate(text):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            items.append(text[start:i].strip())
            start = i + 1
    items.append(text[start:].strip())
    return items


def parse_value(text: str, field: FieldSpec | None = None) -> Any:
    """A command-line value: verbatim for string fields, else a TOML literal (else the text)."""
    if field is not None and field.takes_text:
        return text
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


# ---------------------------------------------------------------------------- TOML
def load_toml(path: str | Path) -> dict[str, Any]:
    """Read a TOML file; a missing or malformed file is a one-line MimflowError."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MimflowError(f"config file {str(path)!r} not found: check the path") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise MimflowError(f"cannot read config file {str(path)!r}: {exc}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise MimflowError(f"malformed TOML in {str(path)!r}: {exc}") from None


def _toml_scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_scalar(v) for v in value) + "]"
    if value is None:
        raise MimflowError("TOML has no null: give the field a value")
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def _toml_key(key: str) -> str:
    return key if key.replace("_", "").replace("-", "").isalnum() else json.dumps(key)


def config_to_toml(data: Mapping[str, Any], *, header: str | None = None, _prefix: str = "") -> str:
    """Write nested dicts of scalars and lists as TOML (``None`` values are left out)."""
    lines = [f"# {line}" for line in (header or "").splitlines()]
    tables = []
    for key, value in data.items():
        if isinstance(value, Mapping):
            tables.append((key, value))
        elif value is not None:
            lines.append(f"{_toml_key(key)} = {_toml_scalar(value)}")
    for key, value in tables:
        name = f"{_prefix}{_toml_key(key)}"
        body = config_to_toml(value, _prefix=f"{name}.")
        lines.extend(["", f"[{name}]", body.rstrip("\n")] if body.strip() else ["", f"[{name}]"])
    return "\n".join(lines).strip("\n") + "\n"


# ---------------------------------------------------------------------------- resolve
def check_keys(keys, model: type[BaseModel], *, what: str = "key") -> None:
    """Refuse keys that are not leaf fields of ``model``, suggesting the nearest one."""
    fields = config_fields(model)
    for key in keys:
        if key not in fields:
            raise _unknown_key(key, fields, what)


def resolve_config(
    model: type[BaseModel],
    *layers: Mapping[str, Any] | None,
    source: str = "config",
) -> BaseModel:
    """Validate ``model``'s defaults updated by each layer in turn (nested or dotted dicts).

    Raises:
        MimflowError: an unknown key (with the nearest valid one) or an invalid value (naming
            the key, the value and pydantic's reason).
    """
    merged: dict[str, Any] = {}
    for layer in layers:
        if not layer:
            continue
        flat = flatten(layer, model=model)
        check_keys(flat, model)
        merged.update(flat)
    _refuse_booleans(merged, config_fields(model))
    try:
        return model.model_validate(unflatten(merged))
    except ValidationError as exc:
        raise MimflowError(f"invalid {source}: {_format_validation(exc)}") from None


def _accepts_bool(tp) -> bool:
    for a in _union_args(tp):
        if a is bool or (typing.get_origin(a) is typing.Literal and any(isinstance(v, bool) for v in typing.get_args(a))):
            return True
        if typing.get_origin(a) in (list, tuple) and any(_accepts_bool(x) for x in typing.get_args(a)):
            return True
    return False


MAX_INTEGER = 2**53
"""Largest integer a config takes (exact in float64 and in JSON); larger ones are typing mistakes."""


def _refuse_booleans(values: Mapping[str, Any], fields: Mapping[str, FieldSpec]) -> None:
    """Refuse ``true``/``false`` for a field that takes numbers or text (pydantic would turn
    ``ridge = true`` into ``1.0``), and integers beyond :data:`MAX_INTEGER` (they overflow later)."""
    for key, value in values.items():
        spec = fields.get(key)
        items = value if isinstance(value, list) else [value]
        for v in items:
            if isinstance(v, int) and not isinstance(v, bool) and abs(v) > MAX_INTEGER:
                shown = f"{v:.3e}" if abs(v) < 1e300 else f"{str(v)[:8]}... ({len(str(v))} digits)"
                raise MimflowError(f"{key} = {shown}: too large; integers must be at most 2**53 = {MAX_INTEGER}")
        if spec is not None and any(isinstance(v, bool) for v in items) and not _accepts_bool(spec.annotation):
            raise MimflowError(f"{key} = {value!r}: a boolean where {spec.metavar} is expected; "
                               f"give {key} a {spec.metavar.lower().replace('|', ' or ')} value")


def _format_validation(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in err.get("loc", ()) if not isinstance(p, int)) or "config"
        msg = err.get("msg", "invalid value")
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, "):]
        if err.get("type") == "extra_forbidden":
            parts.append(f"unknown key {loc!r}")
            continue
        value = err.get("input")
        shown = "" if isinstance(value, Mapping) else f" = {value!r}"
        parts.append(f"{loc}{shown}: {msg}")
    return "; ".join(dict.fromkeys(parts))


def config_dict(config: BaseModel) -> dict[str, Any]:
    """The JSON-ready dict of a config (what is stored and hashed)."""
    return config.model_dump(mode="json")


def canonical_json(data: Any) -> str:
    """Sorted, compact, NaN-free JSON: the same data always gives the same text."""
    try:
        return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except ValueError:
        raise MimflowError("a config must not contain NaN or inf: pass finite numbers") from None

