"""One tolerant accessor for SDK models, dicts and the SDK's "not given" sentinels."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from datetime import datetime
from functools import partial
from typing import Any

from ..semconv import SERVICE_VALUE_CAP

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
        kind = _KINDS[type(obj)]
        if kind is _PYDANTIC:
            value = obj.__dict__.get(name, _MISSING)
            if value is _MISSING:
                value = _pydantic_missing(obj, name)
        else:
            value = getattr(obj, name, None)
            if value is None and kind is _MAPPING:
                value = obj.get(name)
    cls = type(value)
    if cls in _PLAIN or value is None:  # the common case first: no sentinel is one of these
        return value
    return None if cls.__name__ in _SENTINELS else value


def field_reader(obj: Any) -> Callable[[str], Any]:
    """``field(obj, name)`` for an extractor that reads several names of one object: for a dict or
    a pydantic model, its own dict's ``get`` (a lookup in C, where a ``field()`` call costs more in
    the call than in the read); for anything else, ``field`` itself bound to ``obj``.

    A pydantic model's own ``__dict__`` is merged with its extras (which hold the fields an older SDK
    does not declare). Declared fields and extras only, not properties (``field()`` reads those).
    Unlike ``field()`` a value may be a "not given" sentinel (request kwargs): read values through
    ``text``, ``code``, ``items`` ... as ``field()``'s are, which refuse anything of the wrong type.
    """
    if isinstance(obj, dict):
        return obj.get
    if obj is not None and _KINDS[type(obj)] is _PYDANTIC:
        extra = obj.__pydantic_extra__
        return {**extra, **obj.__dict__}.get if extra else obj.__dict__.get
    return partial(field, obj)


def parsed(result: Any) -> Any:
    """A model as returned, or openai's ``with_raw_response`` LegacyAPIResponse parsed (once: the SDK
    caches it); None for a raw SSE stream, which parsing would consume."""
    if type(result).__name__ == "LegacyAPIResponse":
        return None if getattr(result, "_stream", True) is not False else result.parse()
    return result


def _pydantic_missing(obj: Any, name: str) -> Any:
    """A name not among a pydantic model's fields: an extra field, a property, or nothing. Not
    ``getattr``: a miss goes through pydantic's ``__getattr__`` and raises (~5 us each)."""
    extra = getattr(obj, "__pydantic_extra__", None)
    if extra and name in extra:
        return extra[name]
    key = (type(obj), name)
    on_class = _CLASS_ATTRIBUTES.get(key)
    if on_class is None:
        if len(_CLASS_ATTRIBUTES) > 4096:
            _CLASS_ATTRIBUTES.clear()
        on_class = _CLASS_ATTRIBUTES[key] = hasattr(type(obj), name)
    return getattr(obj, name, None) if on_class else None


_MISSING = object()
_PYDANTIC, _MAPPING, _OTHER = "pydantic", "mapping", "other"


class _Kinds(dict[type, str]):
    """How to read a class's fields, worked out once per class (the ABC check costs ~0.6 us)."""

    def __missing__(self, cls: type) -> str:
        if len(self) > 1024:
            self.clear()
        if hasattr(cls, "__pydantic_fields__") and hasattr(cls, "__pydantic_extra__"):
            kind = _PYDANTIC
        else:
            kind = _MAPPING if issubclass(cls, Mapping) else _OTHER
        self[cls] = kind
        return kind


_KINDS = _Kinds()
# For a hot path that reads models itself: MODEL_KINDS[cls] is PYDANTIC when field() reads an instance
# from its own __dict__, then its extras, then its class.
MODEL_KINDS, PYDANTIC = _KINDS, _PYDANTIC
_CLASS_ATTRIBUTES: dict[tuple[type, str], bool] = {}  # (class, name) -> a property or method?


def _plain(value: str) -> str:
    """A str-valued enum (azure's ``RunStatus.COMPLETED``) as the string it holds: str() would not;
    at most SERVICE_VALUE_CAP characters (a 10 KB "id" is cut, in spans and in remembered state)."""
    value = value if type(value) is str else str.__str__(value)
    return value if len(value) <= SERVICE_VALUE_CAP else value[:SERVICE_VALUE_CAP]


def capped(value: str) -> str:
    """A string from the service (e.g. a header value), cut to SERVICE_VALUE_CAP characters."""
    return value if len(value) <= SERVICE_VALUE_CAP else value[:SERVICE_VALUE_CAP]


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
