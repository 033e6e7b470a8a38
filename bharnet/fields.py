"""Building frozen config dataclasses from plain (YAML) dicts, with errors that name the offending key.

Values are checked and converted against the dataclass type hints, so a config that loads is a config of
the right types: YAML reads ``1e-3`` as a string (it wants ``1.0e-3``), and without this an option typed in
a natural way would fail deep inside training instead of here.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import types
import typing
from typing import Any, TypeVar

from bharnet.errors import ConfigError

T = TypeVar("T")


class _Mismatch(Exception):
    """A value that does not fit its type hint; turned into a ConfigError naming the key by ``build``."""


def type_name(hint: Any) -> str:
    """``float``, ``tuple[int, ...]``, ``float | None``: the hint as a reader of the config writes it."""
    if isinstance(hint, type) and not typing.get_args(hint):
        return "null" if hint is type(None) else hint.__name__
    return str(hint).replace("typing.", "").replace("NoneType", "None")


def _number(value: Any) -> float:
    """An int, float or numeric string (``'1e-3'``) as a finite float; bools are not numbers here."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _Mismatch
    try:
        number = float(value)
    except ValueError:
        raise _Mismatch from None
    if not math.isfinite(number):
        raise _Mismatch
    return number


def _to_int(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    number = _number(value)
    if not number.is_integer():
        raise _Mismatch
    return int(number)


def _to_union(value: Any, options: tuple[Any, ...]) -> Any:
    # an exact type match wins, so `str | int` keeps "9" a string and 9 an integer
    for option in options:
        if option is type(None) and value is None:
            return None
        if isinstance(option, type) and type(value) is option:
            return value
    for option in options:
        try:
            return coerce(value, option)
        except _Mismatch:
            continue
    raise _Mismatch


def _to_tuple(value: Any, args: tuple[Any, ...]) -> tuple:
    if not isinstance(value, list | tuple):
        raise _Mismatch
    if len(args) == 2 and args[1] is Ellipsis:
        return tuple(coerce(item, args[0]) for item in value)
    if args and len(value) != len(args):
        raise _Mismatch
    return tuple(coerce(item, hint) for item, hint in zip(value, args, strict=True)) if args else tuple(value)


def coerce(value: Any, hint: Any) -> Any:
    """``value`` converted to the type ``hint`` (raises _Mismatch when it cannot be, without guessing)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        return _to_union(value, args)
    if origin is typing.Literal:
        if value not in args:
            raise _Mismatch
        return value
    if origin is tuple or hint is tuple:
        return _to_tuple(value, args)
    if origin is dict or hint is dict:
        if not isinstance(value, dict):
            raise _Mismatch
        key_hint, value_hint = args or (Any, Any)
        return {coerce(k, key_hint): coerce(v, value_hint) for k, v in value.items()}
    if hint is type(None):
        if value is not None:
            raise _Mismatch
        return None
    if hint is bool:
        if not isinstance(value, bool):
            raise _Mismatch
        return value
    if hint is int:
        return _to_int(value)
    if hint is float:
        return _number(value)
    if hint is str:
        if not isinstance(value, str):
            raise _Mismatch
        return value
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        try:
            return value if isinstance(value, hint) else hint(value)
        except ValueError:
            raise _Mismatch from None
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        if isinstance(value, hint):
            return value
        if not isinstance(value, dict):
            raise _Mismatch
        return build(hint, value, hint.__name__)
    return value  # a hint this loader does not know: the dataclass checks it itself


def build(cls: type[T], values: dict | None, section: str) -> T:
    """``cls(**values)`` after checking every key is a field and converting every value to its field's
    type (``'1e-3'`` -> 0.001, lists -> tuples); a wrong type names the key, the value and the type."""
    values = dict(values or {})
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(f"unknown {section} option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    hints = typing.get_type_hints(cls)
    for name, value in values.items():
        try:
            values[name] = coerce(value, hints[name])
        except _Mismatch:
            raise ConfigError(f"{section}.{name} = {value!r} is not of type {type_name(hints[name])}") from None
    try:
        return cls(**values)
    except TypeError as error:
        raise ConfigError(f"{section}: {error}") from None


def to_dict(config: Any) -> dict:
    """A plain, YAML-safe dict (tuples as lists)."""

    def plain(value):
        if isinstance(value, tuple | list):
            return [plain(v) for v in value]
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, enum.Enum):
            return value.value
        return value

    return plain(dataclasses.asdict(config))
