"""Building frozen config dataclasses from plain (YAML) dicts, with errors that name the offending key."""

from __future__ import annotations

import dataclasses
import typing
from typing import Any, TypeVar

from bharnet.errors import ConfigError

T = TypeVar("T")


def _is_tuple(annotation: Any) -> bool:
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
    return text.startswith("tuple") or typing.get_origin(annotation) is tuple


def build(cls: type[T], values: dict | None, section: str) -> T:
    """``cls(**values)`` after checking every key is a field; lists become tuples where the field is one."""
    values = dict(values or {})
    known = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ConfigError(f"unknown {section} option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    for name, value in values.items():
        if isinstance(value, list) and _is_tuple(known[name].type):
            values[name] = tuple(value)
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
        return value

    return plain(dataclasses.asdict(config))
