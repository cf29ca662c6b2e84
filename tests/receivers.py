"""Loopback receivers that real OpenTelemetry / Azure Monitor exporters send to.

Both receivers are stdlib ``ThreadingHTTPServer`` instances on ``127.0.0.1:0``
serving from a daemon thread; use them as context managers (or call
``start()`` / ``stop()``). Every request is recorded in ``.received`` and its
decompressed body in ``.raw_bodies`` (also failed or hung ones), so
"this canary never left the process" checks see everything that was sent.

Outage simulation: set ``receiver.fail_with = 500`` (any status) to reject
requests, or ``receiver.hang = True`` to black-hole them: each is held open
until ``hang`` is cleared or the receiver stops, then closed without a reply
(the client hits its own timeout first). Rejected and hung requests appear in
``.received`` (``status`` 500 / None) but are never decoded.

OTLP/HTTP (``OtlpReceiver``)
    POST /v1/traces, /v1/metrics, /v1/logs with protobuf bodies (gzip or
    deflate ``Content-Encoding`` honoured), answered with an empty
    ``Export*ServiceResponse``. ``.spans`` / ``.metrics`` / ``.logs`` return
    plain dicts. Span ``kind`` is the *protobuf* enum (CLIENT == 3, while
    ``opentelemetry.trace.SpanKind.CLIENT.value == 2``); ``kind_name`` is
    "CLIENT". ``status_code`` matches ``StatusCode`` (UNSET 0, OK 1, ERROR 2).
    Build exporters with ``otlp_trace_exporter`` / ``otlp_metric_exporter`` /
    ``otlp_log_exporter``; they retry 429/502/503/504 and timeouts until their
    ``timeout`` (default here 2 s) runs out, but not other statuses such as 500.

Azure Monitor (``AzureIngestionReceiver``)
    The exporter POSTs ``{IngestionEndpoint}/v2.1/track`` with an
    *uncompressed* JSON array of envelopes (``Content-Type: application/json``;
    a trailing ``/`` on IngestionEndpoint yields ``//v2.1/track``, which is
    normalised). ``.envelopes`` holds the raw envelope dicts; ``.dependencies()``,
    ``.requests()``, ``.traces()``, ``.exceptions()`` and ``.custom_metrics()``
    return App-Insights-like rows.

    Recipe (what ``azure_trace_exporter`` / ``azure_metric_exporter`` do)::

        with azure_test_env():  # or monkeypatch.setenv for each AZURE_TEST_ENV item
            exporter = AzureMonitorTraceExporter(
                connection_string=azure_connection_string(receiver),
                tracer_provider=provider,      # else it reads the global provider
                disable_offline_storage=True,  # no disk, no retry-from-disk thread
                retry_total=0,                 # azure-core retries 5xx/429 with backoff
                timeout=2.0,                   # connect timeout (s)
                read_timeout=2.0,              # azure-core default is 300 s
            )
            # AzureMonitorMetricExporter(...) takes the same keywords (minus
            # tracer_provider); read it with PeriodicExportingMetricReader and
            # call provider.force_flush().

    ``AZURE_TEST_ENV`` must be in ``os.environ`` while exporters are built and
    used: it disables statsbeat, customer SDK stats (a 15-minute background
    MeterProvider) and the OneSettings control plane (an outbound HTTPS poll).
    The exporter itself never starts live metrics (only the distro does).

    What the exporter sends (azure-monitor-opentelemetry-exporter 1.0.0b58):
    each span batch is preceded by a ``_OTELRESOURCE_`` MetricData envelope
    (``custom_metrics()`` hides it unless asked); CLIENT/INTERNAL/PRODUCER spans
    become RemoteDependencyData, SERVER/CONSUMER spans RequestData; span events
    become MessageData (``exception`` events ExceptionData) whose
    ``ai.operation.parentId`` is the span's id. ``properties`` (customDimensions)
    drop the prefixes ``http. db. message. messaging. rpc. enduser. net. peer.
    exception. thread. fass. code.``, the keys ``server.address/port``,
    ``client.address/port``, ``url.full/path/query/scheme/template``,
    ``network.*`` transport keys, ``user_agent.original``, ``error.type`` and
    ``session.id``; everything else (``gen_ai.*`` included) is kept as
    ``str(value)``, so a sequence becomes ``"('a', 'b')"``. A CLIENT span with ``gen_ai.system`` gets type
    ``"GenAI | <system>"`` and target ``<system>`` unless ``peer.service`` /
    ``net.peer.name`` is set (``server.address`` is ignored); resultCode stays
    "0" and success follows the span status only, unless the span is HTTP
    (``http.request.method``). Durations are ``"d.hh:mm:ss.ffffff"`` strings,
    rows give them in milliseconds; ``severityLevel`` is an int (2 = Warning).
    JSON is ASCII-escaped, so prefer ASCII canaries (``body_contains`` checks
    both forms). Each ``export()`` call is one POST, sent synchronously.
"""

from __future__ import annotations

import gzip
import json
import os
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.metrics.v1.metrics_pb2 import Exemplar, Metric
from opentelemetry.proto.trace.v1.trace_pb2 import Span

if TYPE_CHECKING:
    from azure.monitor.opentelemetry.exporter import (
        AzureMonitorLogExporter,
        AzureMonitorMetricExporter,
        AzureMonitorTraceExporter,
    )
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace import TracerProvider

T = TypeVar("T")
R = TypeVar("R", bound="_LoopbackReceiver")

AZURE_TEST_IKEY = "00000000-0000-0000-0000-000000000000"
AZURE_TEST_ENV: dict[str, str] = {
    "APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL": "true",
    "APPLICATIONINSIGHTS_SDKSTATS_DISABLED": "true",
    "APPLICATIONINSIGHTS_CONTROLPLANE_DISABLED": "true",
}
DEFAULT_CLIENT_TIMEOUT = 2.0

# ---------------------------------------------------------------- base server


@dataclass
class ReceivedRequest:
    """One POST as it arrived; ``status`` is what was answered (None: no answer)."""

    path: str
    headers: dict[str, str]
    wire_body: bytes
    body: bytes
    status: int | None = None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = True  # server_close() joins handler threads


def _decode_body(data: bytes, encoding: str) -> bytes:
    encoding = encoding.strip().lower()
    if encoding == "gzip":
        return gzip.decompress(data)
    if encoding == "deflate":
        return zlib.decompress(data)
    if encoding in ("", "identity"):
        return data
    raise ValueError(f"unsupported Content-Encoding {encoding!r}")


def _normalise_path(raw: str) -> str:
    return "/" + raw.split("?", 1)[0].lstrip("/")


class _Handler(BaseHTTPRequestHandler):
    server_version = "loopback-receiver"
    timeout = 5.0  # socket timeout, bounds idle keep-alive connections
    receiver: _LoopbackReceiver  # set on the per-receiver subclass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        wire = self.rfile.read(length)
        path, headers = _normalise_path(self.path), dict(self.headers)
        try:
            body = _decode_body(wire, self.headers.get("Content-Encoding", ""))
        except (OSError, ValueError, zlib.error):
            self.receiver._record(ReceivedRequest(path, headers, wire, wire, status=400))
            self._reply(400, "text/plain", b"bad Content-Encoding")
            return
        status, content_type, payload = self.receiver._handle(ReceivedRequest(path, headers, wire, body))
        if status is not None:
            self._reply(status, content_type, payload)

    def _reply(self, status: int, content_type: str, payload: bytes) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except OSError:  # client gave up (e.g. timed out on a hang)
            pass

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""


Reply = tuple[int | None, str, bytes]


class _LoopbackReceiver:
    """HTTP server on 127.0.0.1:0 recording POSTs; subclasses decode payloads."""

    paths: frozenset[str] = frozenset()

    def __init__(self) -> None:
        self.fail_with: int | None = None
        self.hang = False
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._received: list[ReceivedRequest] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # lifecycle
    def start(self: R) -> R:
        self._stopping.clear()
        handler = type("Handler", (_Handler,), {"receiver": self})
        self._server = _Server(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{type(self).__name__}:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Release hung requests, stop serving and join every server thread."""
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server, self._thread = None, None

    def __enter__(self: R) -> R:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # addressing
    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("receiver is not running")
        return int(self._server.server_address[1])

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # recorded traffic
    @property
    def received(self) -> list[ReceivedRequest]:
        with self._lock:
            return list(self._received)

    @property
    def raw_bodies(self) -> list[bytes]:
        """Decompressed bodies of every request, including rejected ones."""
        return [r.body for r in self.received]

    def body_contains(self, needle: str) -> bool:
        """True if ``needle`` occurs in any body (UTF-8 or JSON-escaped form)."""
        forms = {needle.encode(), json.dumps(needle)[1:-1].encode()}
        return any(form in body for body in self.raw_bodies for form in forms)

    def clear(self) -> None:
        """Forget everything received so far."""
        with self._lock:
            self._received.clear()
            self._clear_decoded()

    def wait_for(self, predicate: Callable[[], T], timeout: float = 5.0, interval: float = 0.01) -> T:
        """Poll ``predicate`` until it returns something truthy and return that."""
        deadline = time.monotonic() + timeout
        while True:
            result = predicate()
            if result:
                return result
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"condition not met within {timeout}s; {len(self.received)} request(s) received"
                )
            time.sleep(interval)

    # request handling (runs on handler threads)
    def _record(self, record: ReceivedRequest) -> None:
        with self._lock:
            self._received.append(record)

    def _handle(self, record: ReceivedRequest) -> Reply:
        self._record(record)
        if record.path not in self.paths:
            record.status = 404
            return 404, "text/plain", b"unknown path"
        if self.hang:  # black hole: hold the connection, then drop it unanswered
            while self.hang and not self._stopping.wait(0.02):
                pass
            return None, "", b""
        status, content_type, payload = self._respond(record)
        record.status = status
        return status, content_type, payload

    def _respond(self, record: ReceivedRequest) -> tuple[int, str, bytes]:
        failure = self.fail_with
        if failure is not None:
            return failure, *self._failure_payload(record, failure)
        try:
            with self._lock:
                content_type, payload = self._accept(record)
        except Exception as exc:  # malformed payload: tell the client
            return 400, "text/plain", f"cannot decode: {exc}".encode()
        return 200, content_type, payload

    def _accept(self, record: ReceivedRequest) -> tuple[str, bytes]:
        raise NotImplementedError

    def _failure_payload(self, record: ReceivedRequest, status: int) -> tuple[str, bytes]:
        return "text/plain", b"simulated failure"

    def _clear_decoded(self) -> None:
        raise NotImplementedError


# ---------------------------------------------------------------------- OTLP

_OTLP_TYPES: dict[str, tuple[Any, Any]] = {
    "/v1/traces": (ExportTraceServiceRequest, ExportTraceServiceResponse),
    "/v1/metrics": (ExportMetricsServiceRequest, ExportMetricsServiceResponse),
    "/v1/logs": (ExportLogsServiceRequest, ExportLogsServiceResponse),
}
_PROTOBUF = "application/x-protobuf"


def _any_value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [_any_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return _attributes(value.kvlist_value.values)
    return getattr(value, kind)


def _attributes(pairs: Any) -> dict[str, Any]:
    return {kv.key: _any_value(kv.value) for kv in pairs}


def _hex(raw: bytes) -> str | None:
    return raw.hex() if raw else None


def _span_dict(span: Span, resource: dict[str, Any], scope: str) -> dict[str, Any]:
    return {
        "name": span.name,
        "trace_id": span.trace_id.hex(),
        "span_id": span.span_id.hex(),
        "parent_span_id": _hex(span.parent_span_id),
        "kind": int(span.kind),
        "kind_name": Span.SpanKind.Name(span.kind).removeprefix("SPAN_KIND_"),
        "attributes": _attributes(span.attributes),
        "events": [{"name": e.name, "attributes": _attributes(e.attributes)} for e in span.events],
        "links": [
            {
                "trace_id": lk.trace_id.hex(),
                "span_id": lk.span_id.hex(),
                "attributes": _attributes(lk.attributes),
            }
            for lk in span.links
        ],
        "status_code": int(span.status.code),
        "status_message": span.status.message,
        "start_time_unix_nano": span.start_time_unix_nano,
        "end_time_unix_nano": span.end_time_unix_nano,
        "resource": resource,
        "scope": scope,
    }


def _exemplar_dict(ex: Exemplar) -> dict[str, Any]:
    kind = ex.WhichOneof("value")
    return {
        "trace_id": _hex(ex.trace_id),
        "span_id": _hex(ex.span_id),
        "value": getattr(ex, kind) if kind else None,
        "attributes": _attributes(ex.filtered_attributes),
    }


def _number_point(point: Any) -> dict[str, Any]:
    kind = point.WhichOneof("value")
    return {
        "attributes": _attributes(point.attributes),
        "value": getattr(point, kind) if kind else None,
        "exemplars": [_exemplar_dict(e) for e in point.exemplars],
    }


def _histogram_point(point: Any) -> dict[str, Any]:
    return {
        "attributes": _attributes(point.attributes),
        "count": point.count,
        "sum": point.sum if point.HasField("sum") else None,
        "min": point.min if point.HasField("min") else None,
        "max": point.max if point.HasField("max") else None,
        "bucket_counts": list(point.bucket_counts),
        "explicit_bounds": list(point.explicit_bounds),
        "exemplars": [_exemplar_dict(e) for e in point.exemplars],
    }


def _exponential_point(point: Any) -> dict[str, Any]:
    return {
        "attributes": _attributes(point.attributes),
        "count": point.count,
        "sum": point.sum if point.HasField("sum") else None,
        "scale": point.scale,
        "exemplars": [_exemplar_dict(e) for e in point.exemplars],
    }


_TEMPORALITY = {0: None, 1: "delta", 2: "cumulative"}
_POINT_DECODERS: dict[str, Callable[[Any], dict[str, Any]]] = {
    "sum": _number_point,
    "gauge": _number_point,
    "histogram": _histogram_point,
    "exponential_histogram": _exponential_point,
}


def _metric_dict(metric: Metric, resource: dict[str, Any], scope: str) -> dict[str, Any]:
    kind = metric.WhichOneof("data") or "unknown"
    data: Any = getattr(metric, kind, None)
    decode = _POINT_DECODERS.get(kind)
    row: dict[str, Any] = {
        "name": metric.name,
        "unit": metric.unit,
        "description": metric.description,
        "kind": kind,
        "points": [decode(p) for p in data.data_points] if decode else [],
        "temporality": _TEMPORALITY.get(getattr(data, "aggregation_temporality", 0)),
        "resource": resource,
        "scope": scope,
    }
    if kind == "sum":
        row["is_monotonic"] = data.is_monotonic
    return row


def _log_dict(record: Any, resource: dict[str, Any], scope: str) -> dict[str, Any]:
    return {
        "body": _any_value(record.body),
        "attributes": _attributes(record.attributes),
        "trace_id": _hex(record.trace_id),
        "span_id": _hex(record.span_id),
        "severity_text": record.severity_text,
        "severity_number": int(record.severity_number),
        "event_name": getattr(record, "event_name", "") or None,
        "resource": resource,
        "scope": scope,
    }


class OtlpReceiver(_LoopbackReceiver):
    """OTLP/HTTP protobuf receiver for traces, metrics and logs."""

    paths = frozenset(_OTLP_TYPES)

    def __init__(self) -> None:
        super().__init__()
        self._messages: dict[str, list[Any]] = {path: [] for path in _OTLP_TYPES}

    def _accept(self, record: ReceivedRequest) -> tuple[str, bytes]:
        request_type, response_type = _OTLP_TYPES[record.path]
        message = request_type()
        message.ParseFromString(record.body)
        self._messages[record.path].append(message)
        return _PROTOBUF, response_type().SerializeToString()

    def _failure_payload(self, record: ReceivedRequest, status: int) -> tuple[str, bytes]:
        return _PROTOBUF, b""

    def _clear_decoded(self) -> None:
        for messages in self._messages.values():
            messages.clear()

    def _snapshot(self, path: str) -> list[Any]:
        with self._lock:
            return list(self._messages[path])

    @property
    def spans(self) -> list[dict[str, Any]]:
        return [
            _span_dict(span, _attributes(rs.resource.attributes), ss.scope.name)
            for request in self._snapshot("/v1/traces")
            for rs in request.resource_spans
            for ss in rs.scope_spans
            for span in ss.spans
        ]

    @property
    def metrics(self) -> list[dict[str, Any]]:
        return [
            _metric_dict(metric, _attributes(rm.resource.attributes), sm.scope.name)
            for request in self._snapshot("/v1/metrics")
            for rm in request.resource_metrics
            for sm in rm.scope_metrics
            for metric in sm.metrics
        ]

    @property
    def logs(self) -> list[dict[str, Any]]:
        return [
            _log_dict(record, _attributes(rl.resource.attributes), sl.scope.name)
            for request in self._snapshot("/v1/logs")
            for rl in request.resource_logs
            for sl in rl.scope_logs
            for record in sl.log_records
        ]

    def span(self, name: str) -> dict[str, Any]:
        """The single received span called ``name``."""
        return _only(self.spans, "name", name)

    def metric(self, name: str) -> dict[str, Any]:
        """The latest received metric stream called ``name``."""
        matches = [m for m in self.metrics if m["name"] == name]
        if not matches:
            raise AssertionError(f"no metric named {name!r}")
        return matches[-1]


def _only(rows: list[dict[str, Any]], key: str, value: Any) -> dict[str, Any]:
    matches = [row for row in rows if row.get(key) == value]
    if len(matches) != 1:
        raise AssertionError(f"expected one row with {key}={value!r}, found {len(matches)}")
    return matches[0]


# --------------------------------------------------------------------- Azure

_AZURE_TRACK_PATH = "/v2.1/track"
_JSON = "application/json"
_RESOURCE_METRIC = "_OTELRESOURCE_"


def _parse_envelopes(body: bytes) -> list[dict[str, Any]]:
    text = body.decode("utf-8").strip()
    if text.startswith("["):
        parsed = json.loads(text)
        return list(parsed)
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _duration_ms(value: str | None) -> float | None:
    """Convert ``d.hh:mm:ss.ffffff`` to milliseconds."""
    if not value:
        return None
    days, _, clock = value.partition(".")
    hours, minutes, seconds = clock.split(":")
    total = ((int(days) * 24 + int(hours)) * 60 + int(minutes)) * 60 + float(seconds)
    return total * 1000.0


def _base_row(envelope: Mapping[str, Any]) -> dict[str, Any]:
    tags = envelope.get("tags", {})
    base = envelope["data"]["baseData"]
    return {
        "timestamp": envelope.get("time"),
        "iKey": envelope.get("iKey"),
        "operation_Id": tags.get("ai.operation.id"),
        "operation_ParentId": tags.get("ai.operation.parentId"),
        "operation_Name": tags.get("ai.operation.name"),
        "session_Id": tags.get("ai.session.id"),
        "cloud_RoleName": tags.get("ai.cloud.role"),
        "cloud_RoleInstance": tags.get("ai.cloud.roleInstance"),
        "customDimensions": dict(base.get("properties") or {}),
        "customMeasurements": dict(base.get("measurements") or {}),
        "tags": dict(tags),
    }


def _dependency_row(envelope: Mapping[str, Any]) -> dict[str, Any]:
    base = envelope["data"]["baseData"]
    return _base_row(envelope) | {
        "name": base.get("name"),
        "id": base.get("id"),
        "target": base.get("target"),
        "type": base.get("type"),
        "data": base.get("data"),
        "resultCode": base.get("resultCode"),
        "success": base.get("success"),
        "duration": _duration_ms(base.get("duration")),
    }


def _request_row(envelope: Mapping[str, Any]) -> dict[str, Any]:
    base = envelope["data"]["baseData"]
    return _base_row(envelope) | {
        "name": base.get("name"),
        "id": base.get("id"),
        "url": base.get("url"),
        "source": base.get("source"),
        "resultCode": base.get("responseCode"),
        "success": base.get("success"),
        "duration": _duration_ms(base.get("duration")),
    }


def _trace_row(envelope: Mapping[str, Any]) -> dict[str, Any]:
    base = envelope["data"]["baseData"]
    return _base_row(envelope) | {
        "message": base.get("message"),
        "severityLevel": base.get("severityLevel"),
    }


def _exception_row(envelope: Mapping[str, Any]) -> dict[str, Any]:
    base = envelope["data"]["baseData"]
    details = list(base.get("exceptions") or [])
    first = details[0] if details else {}
    return _base_row(envelope) | {
        "type": first.get("typeName"),
        "outerMessage": first.get("message"),
        "details": details,
        "severityLevel": base.get("severityLevel"),
        "problemId": base.get("problemId"),
    }


def _metric_rows(envelope: Mapping[str, Any]) -> list[dict[str, Any]]:
    row = _base_row(envelope)
    return [
        row
        | {
            "name": point.get("name"),
            "namespace": point.get("ns"),
            "value": point.get("value"),
            "valueSum": point.get("value"),
            "valueCount": point.get("count", 1),
            "valueMin": point.get("min"),
            "valueMax": point.get("max"),
        }
        for point in envelope["data"]["baseData"].get("metrics", [])
    ]


class AzureIngestionReceiver(_LoopbackReceiver):
    """Application Insights ``/v2.1/track`` (Breeze) ingestion receiver."""

    paths = frozenset({_AZURE_TRACK_PATH})

    def __init__(self) -> None:
        super().__init__()
        self._envelopes: list[dict[str, Any]] = []

    def _accept(self, record: ReceivedRequest) -> tuple[str, bytes]:
        envelopes = _parse_envelopes(record.body)
        self._envelopes.extend(envelopes)
        count = len(envelopes)
        reply = {"itemsReceived": count, "itemsAccepted": count, "errors": []}
        return _JSON, json.dumps(reply).encode()

    def _failure_payload(self, record: ReceivedRequest, status: int) -> tuple[str, bytes]:
        try:
            count = len(_parse_envelopes(record.body))
        except ValueError:
            count = 0
        errors = [{"index": i, "statusCode": status, "message": "simulated failure"} for i in range(count)]
        reply = {"itemsReceived": count, "itemsAccepted": 0, "errors": errors}
        return _JSON, json.dumps(reply).encode()

    def _clear_decoded(self) -> None:
        self._envelopes.clear()

    @property
    def envelopes(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._envelopes)

    def _of_type(self, base_type: str) -> list[dict[str, Any]]:
        return [e for e in self.envelopes if e.get("data", {}).get("baseType") == base_type]

    def dependencies(self) -> list[dict[str, Any]]:
        return [_dependency_row(e) for e in self._of_type("RemoteDependencyData")]

    def requests(self) -> list[dict[str, Any]]:
        return [_request_row(e) for e in self._of_type("RequestData")]

    def traces(self) -> list[dict[str, Any]]:
        return [_trace_row(e) for e in self._of_type("MessageData")]

    def exceptions(self) -> list[dict[str, Any]]:
        return [_exception_row(e) for e in self._of_type("ExceptionData")]

    def custom_metrics(self, include_resource: bool = False) -> list[dict[str, Any]]:
        """MetricData rows; the per-batch ``_OTELRESOURCE_`` row only on request."""
        rows = [row for e in self._of_type("MetricData") for row in _metric_rows(e)]
        return [r for r in rows if include_resource or r["name"] != _RESOURCE_METRIC]


# ----------------------------------------------------------------- exporters


def azure_connection_string(receiver: AzureIngestionReceiver) -> str:
    return f"InstrumentationKey={AZURE_TEST_IKEY};IngestionEndpoint={receiver.endpoint}/"


@contextmanager
def azure_test_env() -> Iterator[None]:
    """Apply ``AZURE_TEST_ENV`` to ``os.environ`` and restore it afterwards."""
    saved = {key: os.environ.get(key) for key in AZURE_TEST_ENV}
    os.environ.update(AZURE_TEST_ENV)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _azure_kwargs(receiver: AzureIngestionReceiver, overrides: Mapping[str, Any]) -> dict[str, Any]:
    missing = [k for k, v in AZURE_TEST_ENV.items() if os.environ.get(k, "").lower() != v]
    if missing:
        raise RuntimeError(f"set {missing} first (use azure_test_env() or monkeypatch.setenv)")
    return {
        "connection_string": azure_connection_string(receiver),
        "disable_offline_storage": True,
        "retry_total": 0,
        "timeout": DEFAULT_CLIENT_TIMEOUT,
        "read_timeout": DEFAULT_CLIENT_TIMEOUT,
        **overrides,
    }


def azure_trace_exporter(
    receiver: AzureIngestionReceiver, tracer_provider: TracerProvider | None = None, **overrides: Any
) -> AzureMonitorTraceExporter:
    """Real ``AzureMonitorTraceExporter`` sending to ``receiver``."""
    from azure.monitor.opentelemetry.exporter import AzureMonitorTraceExporter

    kwargs = _azure_kwargs(receiver, overrides)
    if tracer_provider is not None:
        kwargs["tracer_provider"] = tracer_provider
    return AzureMonitorTraceExporter(**kwargs)


def azure_metric_exporter(receiver: AzureIngestionReceiver, **overrides: Any) -> AzureMonitorMetricExporter:
    """Real ``AzureMonitorMetricExporter`` (delta temporality) sending to ``receiver``."""
    from azure.monitor.opentelemetry.exporter import AzureMonitorMetricExporter

    return AzureMonitorMetricExporter(**_azure_kwargs(receiver, overrides))


def azure_log_exporter(receiver: AzureIngestionReceiver, **overrides: Any) -> AzureMonitorLogExporter:
    """Real ``AzureMonitorLogExporter`` sending to ``receiver``."""
    from azure.monitor.opentelemetry.exporter import AzureMonitorLogExporter

    return AzureMonitorLogExporter(**_azure_kwargs(receiver, overrides))


def otlp_trace_exporter(
    receiver: OtlpReceiver, timeout: float = DEFAULT_CLIENT_TIMEOUT, **kwargs: Any
) -> OTLPSpanExporter:
    """Real OTLP/HTTP span exporter; pass ``compression=Compression.Gzip`` to test gzip."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter(endpoint=f"{receiver.endpoint}/v1/traces", timeout=timeout, **kwargs)


def otlp_metric_exporter(
    receiver: OtlpReceiver, timeout: float = DEFAULT_CLIENT_TIMEOUT, **kwargs: Any
) -> OTLPMetricExporter:
    """Real OTLP/HTTP metric exporter (takes ``preferred_temporality`` etc.)."""
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

    return OTLPMetricExporter(endpoint=f"{receiver.endpoint}/v1/metrics", timeout=timeout, **kwargs)


def otlp_log_exporter(
    receiver: OtlpReceiver, timeout: float = DEFAULT_CLIENT_TIMEOUT, **kwargs: Any
) -> OTLPLogExporter:
    """Real OTLP/HTTP log exporter."""
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter

    return OTLPLogExporter(endpoint=f"{receiver.endpoint}/v1/logs", timeout=timeout, **kwargs)
