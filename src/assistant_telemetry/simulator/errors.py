"""API errors raised by the simulator's handlers, rendered in OpenAI's ``ErrorResponse`` shape."""

from __future__ import annotations

from typing import Any

Json = dict[str, Any]


class ApiError(Exception):
    """An HTTP error answer; handlers raise it and the server turns it into a JSON response."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str | None = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
        body: Json | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers or {}
        # A prebuilt body lets faults reproduce non-OpenAI shapes (Azure's content filter error).
        self.body = body or {"error": {"message": message, "type": type, "param": param, "code": code}}


def not_found(kind: str, object_id: str) -> ApiError:
    return ApiError(404, f"No {kind} found with id '{object_id}'.")


def bad_request(message: str, param: str | None = None, code: str | None = None) -> ApiError:
    return ApiError(400, message, param=param, code=code)
