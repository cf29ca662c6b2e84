"""One tolerant accessor for SDK models, dicts and the SDK's "not given" sentinels."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, MutableMapping
from datetime import datetime
from typing import Any

Attributes = MutableMapping[str, Any]

_SENTINELS = frozenset({"NotGiven", "Omit", "_Omit", "_NotGiven"})
_PLAIN = frozenset({str, int, float, bool, list, dict})
# An API "code" is an identifier; anything else (e.g. a message that echoes input) is refused.
_CODE = re.compile(r"[A-Za-z0-9_.:\-]{1,64}")


def field(obj: Any, name: str) -> Any:
    """``obj[name]`` or ``obj.name``; None for missing values and the SDK's NOT_GIVEN / omit.

    Mapping models (azure-core's ``Model``, e.g. azure-ai-agents' ``ThreadRun``) are read by
    attribute, else by their wire name (``run["assistant_id"]``, whose attribute is ``agent_id``).
    """
    if obj is None:
        return None
    if isinstance(obj, dict):
        value = obj.get(name)
    else:
        value = getattr(obj, name, None)
        if value is None and _is_mapping(type(obj)):
            value = obj.get(name)
    cls = type(value)
    if cls in _PLAIN or value is None:  # the common case first: no sentinel is one of these
        return value
    return None if cls.__name__ in _SENTINELS else value


_MAPPING_TYPES: dict[type, bool] = {}


def _is_mapping(cls: type) -> bool:
    """``issubclass(cls, Mapping)``, remembered per class: the ABC check costs ~0.6 µs a call."""
    known = _MAPPING_TYPES.get(cls)
    if known is None:
        if len(_MAPPING_TYPES) > 1024:
            _MAPPING_TYPES.clear()
        known = _MAPPING_TYPES[cls] = issubclass(cls, Mapping)
    return known


def _plain(value: str) -> str:
    """A str-valued enum (azure's ``RunStatus.COMPLETED``) as the string it holds: str() would not."""
    return value if type(value) is str else str.__str__(value)


def text(value: Any) -> str | None:
    """The value if it is a non-empty string (wrongly typed values are dropped, not coerced)."""
    return _plain(value) if isinstance(value, str) and value else None


def integer(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def number(value: Any) -> float | int | None:
    """An int or finite float (timestamps, durations); bools, NaN and strings are dropped."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value if value == value and value not in (float("inf"), float("-inf")) else None


def timestamp(value: Any) -> float | int | None:
    """Seconds since the epoch: the openai SDK's ints, or azure-core's ``datetime`` (unix-timestamp
    fields of azure-ai-agents models are deserialized to aware datetimes)."""
    if isinstance(value, datetime):
        seconds = value.timestamp()
        return int(seconds) if seconds.is_integer() else seconds
    return number(value)


def code(value: Any) -> str | None:
    """An error/reason code, only if it looks like an identifier."""
    return _plain(value) if isinstance(value, str) and _CODE.fullmatch(value) else None


def put(attrs: Attributes, key: str, value: Any) -> None:
    """Set ``key`` unless the value is None (OpenTelemetry rejects None)."""
    if value is not None:
        attrs[key] = value


def strings(values: Iterable[Any] | None, limit: int = 64) -> list[str]:
    """Up to ``limit`` non-empty strings out of an iterable, preserving order."""
    out: list[str] = []
    if values is None or isinstance(values, (str, bytes)):
        return out
    try:
        for value in values:
            if isinstance(value, str) and value:
                out.append(_plain(value))
                if len(out) >= limit:
                    break
    except TypeError:
        return out
    return out


def items(value: Any) -> list[Any]:
    """A list out of a list-like field; anything else is an empty list."""
    if isinstance(value, (list, tuple)):
        return list(value)
    return []
