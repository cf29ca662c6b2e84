"""The application's correlation ids on every span made inside ``correlate(...)``.

    with assistant_telemetry.correlate(request_id=req.id, tenant="contoso", user=req.user):
        client.beta.threads.messages.create(...)      # every span here carries the ids

    @assistant_telemetry.correlate(idempotency_key="order-42")
    async def handle(): ...

The ids live in the OpenTelemetry context (a value under a private key, never Baggage, so no
propagator sends them to another service). A span processor (``CorrelationSpanProcessor``,
which ``instrument()`` adds to the provider it builds or is given) copies them onto every span
that starts inside the context, ours and any other library's.

The context follows ``await`` and asyncio tasks by itself. Threads start with an empty
context: wrap the function a worker runs with ``with_current_context(fn)`` (or use
``opentelemetry-instrumentation-threading``, which carries the OpenTelemetry context into
``Thread`` and ``ThreadPoolExecutor`` workers).

Users are never recorded as given unless asked (``hash_user=False``): the user id becomes
``correlation.user_hash``, SHA-256 of the id, or HMAC-SHA256 keyed with
``ASSISTANT_TELEMETRY_USER_SALT`` (or ``user_salt=``) when set: use a salt, because an
unsalted hash of a guessable id (an e-mail address) can be reversed by guessing.
"""

from __future__ import annotations

import contextvars
import copy
import functools
import hashlib
import hmac
import inspect
import os
import weakref
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, TypeVar, cast

from opentelemetry import context as otel_context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

from . import semconv as sc

F = TypeVar("F", bound=Callable[..., Any])
SALT_ENV = "ASSISTANT_TELEMETRY_USER_SALT"
_KEY = otel_context.create_key("assistant_telemetry.correlation")
_installed: weakref.WeakSet[Any] = weakref.WeakSet()
_USER_KEYS = frozenset({sc.CORRELATION_USER_HASH, sc.CORRELATION_USER})


def current() -> Mapping[str, str]:
    """The correlation attributes in effect here (empty outside ``correlate``)."""
    value = otel_context.get_value(_KEY)
    return cast("Mapping[str, str]", value) if isinstance(value, Mapping) else {}


class correlate:
    """Put the application's correlation ids on every span made inside (context manager or decorator).

    request_id: your request or trace id; idempotency_key: the key of a submission (duplicate
    detection); tenant: your tenant or customer id; user: your user id, hashed unless
    ``hash_user=False``. Nested scopes inherit the outer ids and override the ones they set.
    """

    def __init__(
        self,
        request_id: object = None,
        idempotency_key: object = None,
        tenant: object = None,
        user: object = None,
        *,
        hash_user: bool = True,
        user_salt: str | bytes | None = None,
    ) -> None:
        self.attributes = correlation_attributes(
            request_id=request_id,
            idempotency_key=idempotency_key,
            tenant=tenant,
            user=user,
            hash_user=hash_user,
            user_salt=user_salt,
        )
        self._tokens: list[object] = []

    def __enter__(self) -> correlate:
        merged = dict(current())
        if _USER_KEYS & self.attributes.keys():  # a user given here replaces the outer one, in either form
            for key in _USER_KEYS:
                merged.pop(key, None)
        merged.update(self.attributes)
        self._tokens.append(otel_context.attach(otel_context.set_value(_KEY, merged)))
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        otel_context.detach(self._tokens.pop())  # type: ignore[arg-type]

    def __call__(self, function: F) -> F:
        """As a decorator: each call (also of an ``async def``) runs inside a fresh scope."""

        def scope() -> correlate:  # one object per call: calls may overlap (threads, tasks)
            fresh = copy.copy(self)
            fresh._tokens = []
            return fresh

        if inspect.iscoroutinefunction(function):

            @functools.wraps(function)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                with scope():
                    return await function(*args, **kwargs)

            return cast(F, run_async)

        @functools.wraps(function)
        def run(*args: Any, **kwargs: Any) -> Any:
            with scope():
                return function(*args, **kwargs)

        return cast(F, run)


def correlation_attributes(
    request_id: object = None,
    idempotency_key: object = None,
    tenant: object = None,
    user: object = None,
    *,
    hash_user: bool = True,
    user_salt: str | bytes | None = None,
) -> dict[str, str]:
    """The span attributes ``correlate`` would set for these ids (None and empty values are left out)."""
    attrs: dict[str, str] = {}
    for key, value in (
        (sc.CORRELATION_REQUEST_ID, request_id),
        (sc.CORRELATION_IDEMPOTENCY_KEY, idempotency_key),
        (sc.CORRELATION_TENANT, tenant),
    ):
        text = _text(value)
        if text:
            attrs[key] = text
    user_text = _text(user)
    if user_text:
        if hash_user:
            attrs[sc.CORRELATION_USER_HASH] = user_hash(user_text, user_salt)
        else:
            attrs[sc.CORRELATION_USER] = user_text
    return attrs


def user_hash(user: str, salt: str | bytes | None = None) -> str:
    """Hex SHA-256 of the user id, keyed (HMAC) with the salt when one is set; 32 hex characters."""
    if salt is None:
        salt = os.environ.get(SALT_ENV) or None
    data = user.encode("utf-8", "surrogatepass")
    if salt:
        key = salt.encode("utf-8") if isinstance(salt, str) else salt
        digest = hmac.new(key, data, hashlib.sha256).hexdigest()
    else:
        digest = hashlib.sha256(data).hexdigest()
    return digest[: sc.FINGERPRINT_HEX_CHARS]


def _text(value: object) -> str:
    if value is None:
        return ""
    return str(value)[: sc.CORRELATION_VALUE_CAP]


def with_current_context(function: F) -> F:
    """``function`` bound to the context current now: correlation ids and the active span follow it.

    For work handed to threads, e.g. ``executor.submit(with_current_context(work), item)``;
    asyncio tasks need nothing (they copy the context themselves).
    """
    snapshot = contextvars.copy_context()

    @functools.wraps(function)
    def run(*args: Any, **kwargs: Any) -> Any:
        return snapshot.copy().run(function, *args, **kwargs)

    return cast(F, run)


class CorrelationSpanProcessor(SpanProcessor):
    """Copies the correlation ids in effect when a span starts onto that span."""

    def on_start(self, span: Span, parent_context: otel_context.Context | None = None) -> None:
        value = otel_context.get_value(_KEY, parent_context) if parent_context is not None else None
        attrs = value if isinstance(value, Mapping) else current()
        if attrs:
            span.set_attributes(attrs)

    def on_end(self, span: ReadableSpan) -> None:
        pass

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True


def correlation_processor() -> CorrelationSpanProcessor:
    """The span processor to add yourself when your provider is not given to ``instrument()``."""
    return CorrelationSpanProcessor()


def install(tracer_provider: Any) -> bool:
    """Add the processor to an SDK tracer provider once; False when it cannot take processors."""
    add = getattr(tracer_provider, "add_span_processor", None)
    if add is None:
        return False
    try:
        if tracer_provider in _installed:
            return True
        _installed.add(tracer_provider)
    except TypeError:  # not weak-referenceable: add it anyway, at most once per call
        pass
    add(CorrelationSpanProcessor())
    return True
