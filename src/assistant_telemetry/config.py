"""Settings that change what is recorded; validated once, read on the hot path."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field

AZURE_HOST_SUFFIXES = (".openai.azure.com", ".cognitiveservices.azure.com", ".services.ai.azure.com")


@dataclass(frozen=True)
class Settings:
    """What the extractors may record beyond ids, statuses and sizes.

    metadata_allowlist: metadata keys whose *values* are recorded (keys are always recorded).
    azure_hosts: extra hosts (e.g. an API Management front) to treat as Azure OpenAI.
    inner_spans: also make a span for each create/retrieve inside a poll or stream helper.
    message_fingerprint_key: secret key for message fingerprints (keyed HMAC of the text); None: off.
    """

    metadata_allowlist: frozenset[str] = frozenset()
    azure_hosts: frozenset[str] = frozenset()
    inner_spans: bool = False
    azure_suffixes: tuple[str, ...] = field(default=AZURE_HOST_SUFFIXES)
    message_fingerprint_key: bytes | None = field(default=None, repr=False)  # a secret: never printed

    @classmethod
    def build(
        cls,
        metadata_allowlist: Iterable[str] | None = None,
        azure_hosts: Iterable[str] | None = None,
        inner_spans: bool | None = None,
        message_fingerprint_key: str | bytes | None = None,
    ) -> Settings:
        """Arguments win; else ASSISTANT_TELEMETRY_METADATA_ALLOWLIST / _AZURE_HOSTS (comma separated).

        The fingerprint key falls back to ASSISTANT_TELEMETRY_FINGERPRINT_KEY; empty means off.
        """
        allowlist = _listing(metadata_allowlist, "ASSISTANT_TELEMETRY_METADATA_ALLOWLIST")
        hosts = _listing(azure_hosts, "ASSISTANT_TELEMETRY_AZURE_HOSTS")
        inner = inner_spans if inner_spans is not None else _flag("ASSISTANT_TELEMETRY_INNER_SPANS")
        return cls(
            metadata_allowlist=frozenset(allowlist),
            azure_hosts=frozenset(host.lower() for host in hosts),
            inner_spans=bool(inner),
            message_fingerprint_key=_secret(message_fingerprint_key, "ASSISTANT_TELEMETRY_FINGERPRINT_KEY"),
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
