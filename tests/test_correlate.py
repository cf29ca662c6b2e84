"""correlate(): the application's ids on every span made inside it, across awaits, tasks and threads."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import assistant_telemetry
from assistant_telemetry import correlate, correlation_processor, with_current_context
from assistant_telemetry import semconv as sc
from assistant_telemetry.correlation import SALT_ENV, CorrelationSpanProcessor, correlation_attributes

from conftest import Telemetry


@pytest.fixture(autouse=True)
def _no_salt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SALT_ENV, raising=False)


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[: sc.FINGERPRINT_HEX_CHARS]


def correlation_of(span: Any) -> dict[str, Any]:
    return {
        k: v for k, v in (span.attributes or {}).items() if k.startswith("assistant_telemetry.correlation.")
    }


def test_every_span_inside_carries_the_ids_and_none_outside(telemetry: Telemetry, client: Any) -> None:
    with correlate(
        request_id="req-42", idempotency_key="submit-7", tenant="contoso", user="alice@example.com"
    ):
        thread = client.beta.threads.create()
        client.beta.threads.messages.create(thread.id, role="user", content="hi")
    client.beta.threads.retrieve(thread.id)
    inside = [telemetry.one("create_thread"), telemetry.one("create_message")]
    for span in inside:
        assert correlation_of(span) == {
            sc.CORRELATION_REQUEST_ID: "req-42",
            sc.CORRELATION_IDEMPOTENCY_KEY: "submit-7",
            sc.CORRELATION_TENANT: "contoso",
            sc.CORRELATION_USER_HASH: sha("alice@example.com"),
        }
    assert correlation_of(telemetry.one("get_thread")) == {}
    assert "alice" not in str([s.attributes for s in telemetry.spans])


def test_users_are_hashed_with_a_salt_or_kept_only_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    plain = correlation_attributes(user="alice")
    assert plain == {sc.CORRELATION_USER_HASH: sha("alice")}
    monkeypatch.setenv(SALT_ENV, "pepper")
    salted = hmac.new(b"pepper", b"alice", hashlib.sha256).hexdigest()[: sc.FINGERPRINT_HEX_CHARS]
    assert correlation_attributes(user="alice") == {sc.CORRELATION_USER_HASH: salted}
    assert correlation_attributes(user="alice", user_salt=b"other")[sc.CORRELATION_USER_HASH] not in (
        salted,
        plain,
    )
    assert correlation_attributes(user="alice", hash_user=False) == {sc.CORRELATION_USER: "alice"}
    assert correlation_attributes(request_id=None, tenant="", user=None) == {}
    assert correlation_attributes(request_id=12345)[sc.CORRELATION_REQUEST_ID] == "12345"
    assert len(correlation_attributes(tenant="x" * 1000)[sc.CORRELATION_TENANT]) == sc.CORRELATION_VALUE_CAP


def test_nested_scopes_inherit_and_override(telemetry: Telemetry) -> None:
    tracer = trace.get_tracer("app", tracer_provider=telemetry.tracer_provider)
    with correlate(request_id="outer", tenant="contoso", user="alice"):
        with correlate(request_id="inner", user="bob", hash_user=False):
            tracer.start_span("inner").end()
        tracer.start_span("after").end()
    inner, after = (telemetry.one(name) for name in ("inner", "after"))
    assert correlation_of(inner) == {
        sc.CORRELATION_REQUEST_ID: "inner",
        sc.CORRELATION_TENANT: "contoso",
        sc.CORRELATION_USER: "bob",  # the inner user replaces the outer one, hash included
    }
    assert correlation_of(after) == {
        sc.CORRELATION_REQUEST_ID: "outer",
        sc.CORRELATION_TENANT: "contoso",
        sc.CORRELATION_USER_HASH: sha("alice"),
    }


def test_any_library_s_spans_get_them(telemetry: Telemetry) -> None:
    """The processor is generic: the app's own spans (or another instrumentation's) are tagged too."""
    tracer = trace.get_tracer("my.web.framework", tracer_provider=telemetry.tracer_provider)
    with correlate(request_id="req-1"), tracer.start_as_current_span("GET /chat"):
        pass
    assert correlation_of(telemetry.one("GET /chat")) == {sc.CORRELATION_REQUEST_ID: "req-1"}


def test_decorator_on_sync_and_async_functions(telemetry: Telemetry, client: Any, async_client: Any) -> None:
    @correlate(tenant="sync-tenant")
    def handle() -> str:
        return str(client.beta.threads.create().id)

    @correlate(tenant="async-tenant")
    async def handle_async() -> str:
        return str((await async_client.beta.threads.create()).id)

    sync_thread, async_thread = handle(), asyncio.run(handle_async())
    by_thread = {s.attributes[sc.THREAD_ID]: s for s in telemetry.named("create_thread")}
    assert by_thread[sync_thread].attributes[sc.CORRELATION_TENANT] == "sync-tenant"
    assert by_thread[async_thread].attributes[sc.CORRELATION_TENANT] == "async-tenant"
    tracer = trace.get_tracer("app", tracer_provider=telemetry.tracer_provider)
    tracer.start_span("outside").end()
    assert correlation_of(telemetry.one("outside")) == {}  # nothing leaks out of a decorated call


def test_concurrent_asyncio_tasks_keep_their_own_ids(telemetry: Telemetry, async_client: Any) -> None:
    @correlate()
    async def one_request(number: int) -> str:
        with correlate(request_id=f"req-{number}"):
            thread = await async_client.beta.threads.create()
            await asyncio.sleep(0.01 * (3 - number))  # interleave the tasks
            child = asyncio.create_task(async_client.beta.threads.retrieve(thread.id))  # a task made inside
            await child
            return str(thread.id)

    async def both() -> list[str]:
        return list(await asyncio.gather(*(one_request(n) for n in range(3))))

    threads = asyncio.run(both())
    for span in telemetry.spans:
        number = threads.index(span.attributes[sc.THREAD_ID])
        assert span.attributes[sc.CORRELATION_REQUEST_ID] == f"req-{number}", span.name
    assert len(telemetry.spans) == 6


def test_threads_need_the_context_carried(telemetry: Telemetry, client: Any) -> None:
    """Worker threads start with an empty context: with_current_context carries it (documented)."""
    with correlate(request_id="req-threads"), ThreadPoolExecutor(2) as pool:
        bare = pool.submit(lambda: client.beta.threads.create().id).result()
        carried = pool.submit(with_current_context(lambda: client.beta.threads.create().id)).result()
        started = threading.Thread(target=with_current_context(lambda: client.beta.threads.create()))
        started.start()
        started.join()
    spans = {s.attributes[sc.THREAD_ID]: s for s in telemetry.named("create_thread")}
    assert correlation_of(spans[bare]) == {}
    assert correlation_of(spans[carried]) == {sc.CORRELATION_REQUEST_ID: "req-threads"}
    assert sum(1 for s in spans.values() if correlation_of(s)) == 2


def test_threading_instrumentation_carries_it_too(telemetry: Telemetry, client: Any) -> None:
    """The ids live in the OpenTelemetry context, so opentelemetry-instrumentation-threading carries them."""
    from opentelemetry.instrumentation.threading import ThreadingInstrumentor

    ThreadingInstrumentor().instrument()
    try:
        with correlate(request_id="req-otel-threads"), ThreadPoolExecutor(2) as pool:
            thread_id = pool.submit(lambda: client.beta.threads.create().id).result()
    finally:
        ThreadingInstrumentor().uninstrument()
    (span,) = [s for s in telemetry.named("create_thread") if s.attributes[sc.THREAD_ID] == thread_id]
    assert span.attributes[sc.CORRELATION_REQUEST_ID] == "req-otel-threads"


def test_the_processor_is_added_once_and_can_be_added_by_hand(strict_guard: None) -> None:
    provider = TracerProvider()
    for _ in range(2):  # instrument, uninstrument, instrument again: still one processor
        assistant_telemetry.instrument(tracer_provider=provider)
        assistant_telemetry.uninstrument()
    processors = provider._active_span_processor._span_processors
    assert sum(isinstance(p, CorrelationSpanProcessor) for p in processors) == 1

    own = TracerProvider()  # an app that builds its provider itself and never gives it to instrument()
    exporter = InMemorySpanExporter()
    own.add_span_processor(correlation_processor())
    own.add_span_processor(SimpleSpanProcessor(exporter))
    with correlate(tenant="own-provider"):
        own.get_tracer("app").start_span("work").end()
    (span,) = exporter.get_finished_spans()
    assert correlation_of(span) == {sc.CORRELATION_TENANT: "own-provider"}


def test_ids_do_not_travel_as_baggage(telemetry: Telemetry) -> None:
    """Propagators never send them to other services: they are not W3C Baggage."""
    from opentelemetry import baggage
    from opentelemetry.propagate import inject

    with correlate(request_id="req-secret", tenant="contoso", user="alice"):
        carrier: dict[str, str] = {}
        inject(carrier)
        assert baggage.get_all() == {}
    assert not any("req-secret" in v or "contoso" in v for v in carrier.values())
