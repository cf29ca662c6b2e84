"""On-demand faults: error statuses, Azure's content filter error, errors echoing input, dropped streams."""

from __future__ import annotations

import fnmatch
import math
import threading
from dataclasses import dataclass
from typing import Any

from .errors import ApiError, Json

KINDS = ("status", "content_filter", "echo_error", "drop_stream", "oversize", "oversize_headers")
# A misbehaving service or proxy: the answer succeeds, but every id in its body is padded to
# OVERSIZE_ID_CHARS and x-request-id is long. "oversize": 12 KB, what an httpx client still takes
# (h11 refuses a header block over 16 KB); "oversize_headers": 60 KB values in x-request-id and
# apim-request-id, for http.client-based clients (azure-core's requests transport allows 64 KB a line).
OVERSIZE_ID_CHARS = 10 * 1024
OVERSIZE_HEADER_CHARS = {"oversize": 12 * 1024, "oversize_headers": 60 * 1024}
OVERSIZE_HEADERS = {"oversize": ("x-request-id",), "oversize_headers": ("x-request-id", "apim-request-id")}

STATUS_ERRORS: dict[int, tuple[str, str | None, str]] = {
    400: ("invalid_request_error", None, "Invalid request."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
    403: (
        "invalid_request_error",
        "unsupported_country_region_territory",
        "Country, region, or territory not supported.",
    ),
    404: ("invalid_request_error", None, "Not found."),
    408: ("server_error", "timeout", "Request timed out."),
    409: ("invalid_request_error", "conflict", "Conflict."),
    429: (
        "requests",
        "rate_limit_exceeded",
        "Rate limit reached for requests. Please try again in 1ms.",
    ),
    500: (
        "server_error",
        "server_error",
        "The server had an error while processing your request. Sorry about that!",
    ),
    502: ("server_error", "bad_gateway", "Bad gateway."),
    503: ("server_error", "service_unavailable", "The server is overloaded or not ready yet."),
}

_SAFE = {"filtered": False, "severity": "safe"}
CONTENT_FILTER_BODY: Json = {
    "error": {
        "message": "The response was filtered due to the prompt triggering Azure OpenAI's content management "
        "policy. Please modify your prompt and retry. To learn more about our content filtering policies "
        "please read our documentation: https://go.microsoft.com/fwlink/?linkid=2198766",
        "type": None,
        "param": "prompt",
        "code": "content_filter",
        "status": 400,
        "innererror": {
            "code": "ResponsibleAIPolicyViolation",
            "content_filter_result": {
                "hate": _SAFE,
                "jailbreak": {"filtered": True, "detected": True},
                "self_harm": _SAFE,
                "sexual": _SAFE,
                "violence": {"filtered": True, "severity": "medium"},
            },
        },
    }
}


@dataclass
class Fault:
    kind: str
    status: int
    method: str
    path: str
    times: int | None
    retry_after: float | None

    def matches(self, method: str, path: str) -> bool:
        return self.method in ("*", method.upper()) and fnmatch.fnmatchcase(path, self.path)

    def error(self, body: Any) -> ApiError:
        if self.kind == "content_filter":
            return ApiError(400, "content_filter", body=CONTENT_FILTER_BODY)
        if self.kind == "echo_error":
            # Real services quote offending input back; privacy tests rely on that leak being present.
            quoted = ", ".join(f"'{text}'" for text in _strings(body)) or "''"
            return ApiError(400, f"Invalid content: {quoted}", code="invalid_value")
        kind, code, message = STATUS_ERRORS.get(self.status, ("server_error", None, "Simulated failure."))
        return ApiError(self.status, message, type=kind, code=code, headers=self._retry_headers())

    def _retry_headers(self) -> dict[str, str]:
        if self.retry_after is None:
            return {}
        # The SDK ignores a non-positive delay and falls back to 0.5-8 s of backoff, so 0 is sent as 1 ms.
        millis = max(1, round(self.retry_after * 1000))
        return {"retry-after": str(math.ceil(self.retry_after)), "retry-after-ms": str(millis)}


def oversized(value: Any) -> Any:
    """A JSON body with every id (``id``, ``*_id``) padded to OVERSIZE_ID_CHARS, kept unique."""
    if isinstance(value, list):
        return [oversized(item) for item in value]
    if not isinstance(value, dict):
        return value
    return {
        key: (
            item.ljust(OVERSIZE_ID_CHARS, "x")
            if isinstance(item, str) and (key == "id" or key.endswith("_id"))
            else oversized(item)
        )
        for key, item in value.items()
    }


def oversized_headers(kind: str, served: int) -> dict[str, str]:
    """The long header values of an oversize fault (unique per request)."""
    return {name: f"{served}-".ljust(OVERSIZE_HEADER_CHARS[kind], "h") for name in OVERSIZE_HEADERS[kind]}


def _strings(value: Any) -> list[str]:
    """Every string in a JSON value, depth first: contents, instructions, metadata values, tool outputs."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        return [text for item in value for text in _strings(item)]
    return []


class Faults:
    """Thread-safe FIFO of faults; each match counts down ``times`` (None never runs out)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(
        self,
        status: int | None = None,
        *,
        kind: str | None = None,
        method: str = "*",
        path: str = "*",
        times: int | None = 1,
        retry_after: float | None = 0,
    ) -> Fault:
        kind = kind or "status"
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {KINDS}")
        if kind == "status" and status is None:
            raise ValueError("a status fault needs status=, e.g. add_fault(status=429)")
        if times is not None and times < 1:
            raise ValueError("times must be positive or None (forever)")
        fault = Fault(kind, status or 400, method.upper(), path, times, retry_after)
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, method: str, path: str, *, streaming: bool = False) -> Fault | None:
        """Consume the first matching fault: drop_stream ones only while streaming, the others otherwise."""
        with self._lock:
            for fault in self._faults:
                if (fault.kind == "drop_stream") == streaming and fault.matches(method, path):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times == 0:
                            self._faults.remove(fault)
                    return fault
        return None
