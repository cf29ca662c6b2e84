"""An exception raised by a wrapped call -> attributes: its class, never its message.

Error messages from the service can echo the request (a rejected message, a metadata
value), so only the class name, HTTP status, the API's error code (if it looks like an
identifier) and the response headers are read.
"""

from __future__ import annotations

from typing import Any

from .. import semconv as sc
from .content_filter import CONTENT_FILTER, error_body_attributes
from .fields import code, field
from .http import response_attributes


def error_attributes(error: BaseException) -> dict[str, Any]:
    """error.type, our surviving failure class, status, API error code and response headers."""
    attrs: dict[str, Any] = {sc.ERROR_TYPE: type(error).__name__}
    response = getattr(error, "response", None)
    if response is not None and hasattr(response, "headers"):
        response_attributes(response, attrs)
    status = getattr(error, "status_code", None)
    if isinstance(status, int):
        attrs[sc.HTTP_STATUS_CODE] = status
    body = _error_body(error)
    error_code = code(getattr(error, "code", None)) or code(field(body, "code"))
    if error_code is not None:
        attrs[sc.ERROR_CODE] = error_code
    if error_code == CONTENT_FILTER:  # Azure blocked the prompt: which categories, never the text
        error_body_attributes(body, attrs)
    attrs[sc.FAILURE_CLASS] = failure_class(error, attrs.get(sc.HTTP_STATUS_CODE), error_code)
    return attrs


def _error_body(error: BaseException) -> Any:
    """openai: ``.body`` (the error object); azure-core: ``.model`` (the parsed error response)."""
    body = getattr(error, "body", None)
    if body is None:
        body = getattr(error, "model", None)
    return field(body, "error") or body


_CONNECTION_ERROR_SUFFIXES = (
    "ProtocolError",
    "ReadError",
    "WriteError",
    "NetworkError",
    "ConnectError",
    "ServiceRequestError",
    "ServiceResponseError",
)


def failure_class(error: BaseException, status: Any, error_code: str | None) -> str:
    """A low-cardinality class a dashboard can group failures by."""
    if error_code == CONTENT_FILTER:
        return CONTENT_FILTER
    if isinstance(status, int):
        if status == 429:
            return "rate_limited"
        if status in (408, 504):
            return "timeout"
        if status >= 500:
            return "server_error"
        if status in (401, 403):
            return "auth"
        if status == 404:
            return "not_found"
        return "bad_request"
    name = type(error).__name__
    if "Timeout" in name:
        return "timeout"
    # httpx/httpx2 transport errors (a stream cut mid-way raises RemoteProtocolError raw in
    # openai 1.x/2.x) and azure-core's request/response errors are connections failing too.
    if "Connection" in name or name.endswith(_CONNECTION_ERROR_SUFFIXES):
        return "connection"
    if name == "CancelledError" or isinstance(error, (KeyboardInterrupt, SystemExit)):
        return "cancelled"
    return "client_error"
