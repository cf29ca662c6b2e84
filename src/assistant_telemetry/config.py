"""Settings that change what is recorded; validated once, read on the hot path."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

AZURE_HOST_SUFFIXES = (".openai.azure.com", ".cognitiveservices.azure.com", ".services.ai.azure.com")


@dataclass(frozen=True)
class Settings:
    """What the extractors may record beyond ids, statuses and sizes.

    metadata_allowlist: metadata keys whose *values* are recorded (keys are always recorded).
    azure_hosts: extra hosts (e.g. an API Management front) to treat as Azure OpenAI.
    inner_spans: also make a span for each create/retrieve inside a poll or stream helper.
    message_fingerprint_key: secret key for message fingerprints (keyed HMAC of the text); None: off.
    prices: the user's price table (cost.py puts the estimated cost on token-bearing spans); None: off.
    """

    metadata_allowlist: frozenset[str] = frozenset()
    azure_hosts: frozenset[str] = frozenset()
    inner_spans: bool = False
    azure_suffixes: tuple[str, ...] = field(default=AZURE_HOST_SUFFIXES)
    message_fingerprint_key: bytes | None = field(default=None, repr=False)  # a secret: never printed
    prices: PriceTable | None = None

    @classmethod
    def build(
        cls,
        metadata_allowlist: Iterable[str] | None = None,
        azure_hosts: Iterable[str] | None = None,
        inner_spans: bool | None = None,
        message_fingerprint_key: str | bytes | None = None,
        prices: PriceTable | Mapping[str, Any] | str | os.PathLike[str] | None = None,
    ) -> Settings:
        """Arguments win; else ASSISTANT_TELEMETRY_METADATA_ALLOWLIST / _AZURE_HOSTS (comma separated).

        The fingerprint key falls back to ASSISTANT_TELEMETRY_FINGERPRINT_KEY; empty means off.
        Prices fall back to ASSISTANT_TELEMETRY_PRICES (see ``load_prices``).
        """
        allowlist = _listing(metadata_allowlist, "ASSISTANT_TELEMETRY_METADATA_ALLOWLIST")
        hosts = _listing(azure_hosts, "ASSISTANT_TELEMETRY_AZURE_HOSTS")
        inner = inner_spans if inner_spans is not None else _flag("ASSISTANT_TELEMETRY_INNER_SPANS")
        return cls(
            metadata_allowlist=frozenset(allowlist),
            azure_hosts=frozenset(host.lower() for host in hosts),
            inner_spans=bool(inner),
            message_fingerprint_key=_secret(message_fingerprint_key, "ASSISTANT_TELEMETRY_FINGERPRINT_KEY"),
            prices=load_prices(prices),
        )

    def is_azure_host(self, host: str) -> bool:
        return host in self.azure_hosts or host.endswith(self.azure_suffixes)


def _listing(given: Iterable[str] | None, env: str) -> list[str]:
    if given is not None:
        if isinstance(given, str):
            raise TypeError(f"expected a list of strings, got the string {given!r}")
        return [str(item).strip() for item in given if str(item).strip()]
    return [item.strip() for item in os.environ.get(env, "").split(",") if item.strip()]


def _flag(env: str) -> bool:
    return os.environ.get(env, "").strip().lower() in {"1", "true", "yes", "on"}


def _secret(given: str | bytes | None, env: str) -> bytes | None:
    value = given if given is not None else os.environ.get(env, "")
    if isinstance(value, str):
        value = value.encode("utf-8")
    if not isinstance(value, bytes):
        raise TypeError(f"expected a str or bytes key, got {type(value).__name__}")
    return value or None


FILE_MAX_BYTES_ENV = "ASSISTANT_TELEMETRY_FILE_MAX_BYTES"
FILE_BACKUPS_ENV = "ASSISTANT_TELEMETRY_FILE_BACKUPS"
FILE_MAX_BYTES = 50 * 1024 * 1024  # per file: with 3 backups at most ~200 MiB on disk
FILE_BACKUPS = 3
_UNITS = {"": 1, "k": 1 << 10, "kb": 1 << 10, "m": 1 << 20, "mb": 1 << 20, "g": 1 << 30, "gb": 1 << 30}


@dataclass(frozen=True)
class FileLimits:
    """How much the JSON-lines file may hold: ``max_bytes`` per file, ``backups`` rotated files kept.

    When a write would take the file past ``max_bytes`` it becomes ``<path>.1`` (``.1`` -> ``.2`` ...,
    the oldest beyond ``backups`` deleted), so the newest records are kept and the whole set stays
    under about ``max_bytes * (backups + 1)``. ``max_bytes=0`` turns rotation off (unbounded).
    """

    max_bytes: int = FILE_MAX_BYTES
    backups: int = FILE_BACKUPS

    @classmethod
    def build(cls, max_bytes: int | str | None = None, backups: int | str | None = None) -> FileLimits:
        """Arguments win; else ASSISTANT_TELEMETRY_FILE_MAX_BYTES (bytes, or with K/M/G) and
        ASSISTANT_TELEMETRY_FILE_BACKUPS; else 50 MiB and 3."""
        size = _size(max_bytes if max_bytes is not None else os.environ.get(FILE_MAX_BYTES_ENV))
        kept = _count(backups if backups is not None else os.environ.get(FILE_BACKUPS_ENV))
        return cls(FILE_MAX_BYTES if size is None else size, FILE_BACKUPS if kept is None else kept)


def _size(value: int | str | None) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, int):
        number = value
    else:
        text = value.strip().lower()
        digits = text.rstrip("kmgb ")
        unit = text[len(digits) :].strip()
        if not digits.isdigit() or unit not in _UNITS:
            raise ValueError(f"{FILE_MAX_BYTES_ENV}: expected bytes such as 52428800 or 50M, got {value!r}")
        number = int(digits) * _UNITS[unit]
    if number < 0:
        raise ValueError(f"{FILE_MAX_BYTES_ENV}: must not be negative, got {value!r}")
    return number


def _count(value: int | str | None) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, str) and not value.strip().isdigit():
        raise ValueError(f"{FILE_BACKUPS_ENV}: expected a whole number of files, got {value!r}")
    return int(value)


PRICES_ENV = "ASSISTANT_TELEMETRY_PRICES"
PRICE_FIELDS = ("input", "output", "cached_input")  # currency units per million tokens
_REQUIRED_PRICE_FIELDS = ("input", "output")


class PriceTableError(ValueError):
    """The price table given to ``instrument(prices=...)`` or in ASSISTANT_TELEMETRY_PRICES is unusable."""


@dataclass(frozen=True)
class Price:
    """One model's or deployment's prices per million tokens, in the table's currency.

    ``cached_input`` prices the input tokens served from the provider's cache (part of the input
    tokens); None prices them as any input token.
    """

    input: float
    output: float
    cached_input: float | None = None


@dataclass(frozen=True)
class PriceTable:
    """Model or Azure deployment name -> its prices; matched exactly (cost.py says in which order)."""

    prices: Mapping[str, Price]
    unpriced: set[str] = field(default_factory=set, compare=False, repr=False)  # names seen without one


def load_prices(given: PriceTable | Mapping[str, Any] | str | os.PathLike[str] | None) -> PriceTable | None:
    """The price table: ``given`` (a table, a mapping, inline JSON or a JSON file's path), else
    ASSISTANT_TELEMETRY_PRICES (inline JSON or a path), else None. An empty table is None (off).

    The JSON is ``{"<model or deployment>": {"input": 2.5, "output": 10, "cached_input": 1.25}}``
    (per million tokens; ``cached_input`` optional). Anything else raises ``PriceTableError``.
    """
    if isinstance(given, PriceTable):
        return given
    source = "prices="
    if given is None:
        given = os.environ.get(PRICES_ENV, "").strip() or None
        source = PRICES_ENV
        if given is None:
            return None
    if isinstance(given, (str, os.PathLike)):
        given, source = _price_json(given, source)
    return parse_prices(given, source)


def _price_json(given: str | os.PathLike[str], source: str) -> tuple[Any, str]:
    text = given.strip() if isinstance(given, str) else ""
    if not text.startswith(("{", "[")):  # not inline JSON: a path to a JSON file
        path = Path(given)
        source = f"{source} file {str(path)!r}"
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise PriceTableError(
                f"{source}: cannot be read as inline JSON or a file ({error.strerror})"
            ) from None
    try:
        return json.loads(text), source
    except ValueError as error:
        raise PriceTableError(f"{source}: not valid JSON ({error})") from None


def parse_prices(table: Any, source: str = "prices=") -> PriceTable | None:
    """Validate a ``{name: {"input": ..., "output": ..., "cached_input": ...}}`` mapping."""
    if not isinstance(table, Mapping):
        raise PriceTableError(
            f"{source}: expected an object of model or deployment names, got {type(table).__name__}"
        )
    prices: dict[str, Price] = {}
    for name, entry in table.items():
        if not isinstance(name, str) or not name.strip():
            raise PriceTableError(f"{source}: every key must be a model or deployment name, got {name!r}")
        if not isinstance(entry, Mapping):
            raise PriceTableError(f"{source}: {name!r} must be an object with input and output prices")
        unknown = sorted(str(key) for key in entry if key not in PRICE_FIELDS)
        if unknown:
            raise PriceTableError(
                f"{source}: {name!r} has unknown field(s) {unknown}; allowed: {list(PRICE_FIELDS)}"
            )
        missing = [key for key in _REQUIRED_PRICE_FIELDS if key not in entry]
        if missing:
            raise PriceTableError(f"{source}: {name!r} lacks {missing} (prices per million tokens)")
        values = {key: _price(entry[key], f"{source}: {name!r} {key}") for key in entry}
        prices[name] = Price(**values)
    return PriceTable(prices) if prices else None


def _price(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise PriceTableError(f"{where} must be a number (per million tokens), got {value!r}")
    if not math.isfinite(value) or value < 0:
        raise PriceTableError(f"{where} must be a finite number >= 0, got {value!r}")
    return float(value)
