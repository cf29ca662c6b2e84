"""The one call: choose where telemetry goes, build the providers, wrap the client libraries.

Each destination is one small function (file, console, otlp, azure-monitor) so a missing
extra or a bad option fails with a message naming the fix, before anything is wrapped.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricExporter, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

from . import file_exporter
from .content_guard import ContentGuard, azure_monitor_options_guarded, content_guard_enabled
from .content_guard import content_guard as guard_providers
from .instrumentor import AssistantTelemetryInstrumentor

logger = logging.getLogger("assistant_telemetry")

EXPORTERS = ("file", "console", "otlp", "azure-monitor")
ENTRY_POINT_NAME = "assistant_telemetry"


class MissingExtraError(ImportError):
    """An exporter was chosen whose optional dependencies are not installed."""


@dataclass
class Instrumentation:
    """What ``instrument()`` set up. ``flush()`` before a short-lived process exits."""

    exporter: str
    tracer_provider: Any
    meter_provider: Any
    file_path: str | None = None
    content_guard: ContentGuard | None = None  # set when content_guard=True

    def flush(self, timeout_millis: int = 10_000) -> None:
        """Export everything buffered so far (spans and metrics)."""
        for provider in (self.tracer_provider, self.meter_provider):
            force_flush = getattr(provider, "force_flush", None)
            if force_flush is not None:
                force_flush(timeout_millis)


_current: Instrumentation | None = None
_installed: dict[tuple[str, str], Instrumentation] = {}  # what we set up, reused after uninstrument


def instrument(
    exporter: str | None = None,
    *,
    tracer_provider: Any = None,
    meter_provider: Any = None,
    service_name: str | None = None,
    file_path: str | os.PathLike[str] | None = None,
    otlp_endpoint: str | None = None,
    otlp_protocol: str | None = None,
    otlp_headers: Mapping[str, str] | None = None,
    connection_string: str | None = None,
    azure_monitor_options: Mapping[str, Any] | None = None,
    metadata_allowlist: Iterable[str] | None = None,
    azure_hosts: Iterable[str] | None = None,
    inner_spans: bool | None = None,
    message_fingerprint_key: str | bytes | None = None,
    content_guard: bool | None = None,
    content_guard_patterns: Iterable[str] | None = None,
    semconv: str | None = None,
) -> Instrumentation:
    """Instrument every supported client library with one call; returns what was set up.

    With no arguments the destination is chosen from the environment:
    APPLICATIONINSIGHTS_CONNECTION_STRING -> Azure Monitor; OTEL_EXPORTER_OTLP_ENDPOINT or
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT -> OTLP; an SDK TracerProvider already set globally ->
    that provider; else JSON lines in ``$ASSISTANT_TELEMETRY_FILE`` or ./assistant-telemetry.jsonl.
    ``exporter=`` picks one of "file", "console", "otlp", "azure-monitor" explicitly;
    ``tracer_provider=`` / ``meter_provider=`` use those providers and install nothing else.
    ``azure_monitor_options`` are passed on to ``configure_azure_monitor`` (e.g. sampling_ratio).
    ``message_fingerprint_key`` (or ASSISTANT_TELEMETRY_FINGERPRINT_KEY) turns on message
    fingerprints: a keyed HMAC of each message's text, never the text. The tracer provider
    gets the ``correlate()`` span processor when it is an SDK provider.
    ``content_guard=True`` (or ASSISTANT_TELEMETRY_CONTENT_GUARD=1) removes conversation content
    from every span and log record the providers export, whichever library emitted it (see
    docs/privacy.md); ``content_guard_patterns`` adds attribute names (globs) to remove.
    ``semconv`` chooses the GenAI convention names: "default" (today's), "gen_ai_latest_experimental"
    (the latest development names) or "gen_ai_latest_experimental/dup" (both); unset, the gen_ai entry
    of OTEL_SEMCONV_STABILITY_OPT_IN decides (docs/attributes.md, "Semconv modes").
    Calling it again while instrumented returns the first call's result unchanged.
    """
    global _current
    if _current is not None:
        logger.debug("assistant_telemetry: already instrumented (%s); call ignored", _current.exporter)
        return _current
    guarded = content_guard_enabled(content_guard)
    if guarded:  # live metrics read spans before any exporter: the guard cannot cover them
        azure_monitor_options = azure_monitor_options_guarded(azure_monitor_options)
    if tracer_provider is not None or meter_provider is not None:
        if exporter is not None:
            raise ValueError("pass either exporter= or tracer_provider=/meter_provider=, not both")
        session = Instrumentation("providers", tracer_provider, meter_provider)
    else:
        session = _build(
            exporter or _exporter_from_environment(),
            service_name=service_name,
            file_path=file_path,
            otlp_endpoint=otlp_endpoint,
            otlp_protocol=otlp_protocol,
            otlp_headers=otlp_headers,
            connection_string=connection_string,
            azure_monitor_options=azure_monitor_options,
        )
    if guarded:
        session.content_guard = guard_providers(
            session.tracer_provider, meter_provider=session.meter_provider, patterns=content_guard_patterns
        )
    if _disabled_by_environment():
        logger.info("assistant_telemetry: disabled by OTEL_PYTHON_DISABLED_INSTRUMENTATIONS")
        return session
    AssistantTelemetryInstrumentor().instrument(
        tracer_provider=session.tracer_provider,
        meter_provider=session.meter_provider,
        metadata_allowlist=metadata_allowlist,
        azure_hosts=azure_hosts,
        inner_spans=inner_spans,
        message_fingerprint_key=message_fingerprint_key,
        semconv=semconv,
    )
    _current = session
    return session


def uninstrument() -> None:
    """Restore every wrapped method; no span is made afterwards, also by cached SDK methods."""
    global _current
    if _current is not None:
        _current.flush()
    instrumentor = AssistantTelemetryInstrumentor()
    if instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.uninstrument()
    _current = None


def _exporter_from_environment() -> str:
    if os.environ.get("APPLICATIONINSIGHTS_CONNECTION_STRING"):
        return "azure-monitor"
    if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        return "otlp"
    if isinstance(trace.get_tracer_provider(), TracerProvider):
        return "existing"
    return "file"


def _disabled_by_environment() -> bool:
    disabled = os.environ.get("OTEL_PYTHON_DISABLED_INSTRUMENTATIONS", "")
    names = {name.strip().replace("-", "_") for name in disabled.split(",")}
    return ENTRY_POINT_NAME in names


def _build(exporter: str, **options: Any) -> Instrumentation:
    if exporter == "existing":
        return Instrumentation("existing", trace.get_tracer_provider(), metrics.get_meter_provider())
    if exporter not in EXPORTERS:
        raise ValueError(f"unknown exporter {exporter!r}: choose one of {', '.join(EXPORTERS)}")
    if exporter == "azure-monitor":
        return _azure_monitor(
            options["connection_string"], options["service_name"], options["azure_monitor_options"]
        )
    key = (exporter, repr(sorted((k, str(v)) for k, v in options.items())))
    if key not in _installed:  # exporters are built once: a second build would only be discarded
        span_exporter, metric_exporter, path = _EXPORTER_FACTORIES[exporter](**options)
        providers = _install_providers(span_exporter, metric_exporter, options["service_name"])
        _installed[key] = Instrumentation(exporter, *providers, file_path=path)
    return _installed[key]


def _install_providers(
    spans: SpanExporter, metric_exporter: MetricExporter, service_name: str | None
) -> tuple[TracerProvider, MeterProvider]:
    """Use the global SDK providers if the app has them (adding our exporter), else set ours globally."""
    resource = Resource.create({"service.name": service_name} if service_name else {})
    tracer_provider = trace.get_tracer_provider()
    if not isinstance(tracer_provider, TracerProvider):
        tracer_provider = TracerProvider(resource=resource)
        trace.set_tracer_provider(tracer_provider)
    tracer_provider.add_span_processor(BatchSpanProcessor(spans))
    meter_provider = metrics.get_meter_provider()
    if not isinstance(meter_provider, MeterProvider):
        reader = PeriodicExportingMetricReader(metric_exporter)
        meter_provider = MeterProvider(resource=resource, metric_readers=[reader])
        metrics.set_meter_provider(meter_provider)
    return tracer_provider, meter_provider


def _file(file_path: Any = None, **_: Any) -> tuple[SpanExporter, MetricExporter, str]:
    spans = file_exporter.JsonLinesSpanExporter(file_path)
    return spans, file_exporter.JsonLinesMetricExporter(spans.path), spans.path


def _console(**_: Any) -> tuple[SpanExporter, MetricExporter, None]:
    from opentelemetry.sdk.metrics.export import ConsoleMetricExporter
    from opentelemetry.sdk.trace.export import ConsoleSpanExporter

    return ConsoleSpanExporter(), ConsoleMetricExporter(), None


def _otlp(
    otlp_endpoint: str | None = None,
    otlp_protocol: str | None = None,
    otlp_headers: Mapping[str, str] | None = None,
    **_: Any,
) -> tuple[SpanExporter, MetricExporter, None]:
    protocol = (
        otlp_protocol
        or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
        or os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
        or "http/protobuf"
    )
    if protocol not in ("grpc", "http/protobuf"):
        raise ValueError(f"unsupported OTLP protocol {protocol!r}: use 'http/protobuf' or 'grpc'")
    variant = "grpc" if protocol == "grpc" else "http"
    try:
        if variant == "grpc":
            from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
        else:
            from opentelemetry.exporter.otlp.proto.http.metric_exporter import (  # type: ignore[assignment]
                OTLPMetricExporter,
            )
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # type: ignore[assignment]
                OTLPSpanExporter,
            )
    except ImportError as error:
        raise MissingExtraError(
            f"exporter='otlp' needs the OTLP exporter: pip install 'assistant-telemetry[otlp]' ({error})"
        ) from error
    headers = dict(otlp_headers) if otlp_headers else None
    if otlp_endpoint and variant == "http":
        base = otlp_endpoint.rstrip("/")
        return (
            OTLPSpanExporter(endpoint=f"{base}/v1/traces", headers=headers),
            OTLPMetricExporter(endpoint=f"{base}/v1/metrics", headers=headers),
            None,
        )
    return (
        OTLPSpanExporter(endpoint=otlp_endpoint, headers=headers),
        OTLPMetricExporter(endpoint=otlp_endpoint, headers=headers),
        None,
    )


def _azure_monitor(
    connection_string: str | None, service_name: str | None, extra: Mapping[str, Any] | None
) -> Instrumentation:
    try:
        from azure.monitor.opentelemetry import configure_azure_monitor
    except ImportError as error:
        raise MissingExtraError(
            "exporter='azure-monitor' needs azure-monitor-opentelemetry: "
            f"pip install 'assistant-telemetry[azure]' ({error})"
        ) from error
    connection_string = connection_string or os.environ.get("APPLICATIONINSIGHTS_CONNECTION_STRING")
    if not connection_string:
        raise ValueError(
            "exporter='azure-monitor' needs connection_string= or APPLICATIONINSIGHTS_CONNECTION_STRING"
        )
    key = ("azure-monitor", connection_string)
    if key not in _installed:
        resource = Resource.create({"service.name": service_name} if service_name else {})
        configure_azure_monitor(connection_string=connection_string, resource=resource, **(extra or {}))
        _installed[key] = Instrumentation(
            "azure-monitor", trace.get_tracer_provider(), metrics.get_meter_provider()
        )
    return _installed[key]


_EXPORTER_FACTORIES: dict[str, Callable[..., tuple[SpanExporter, MetricExporter, str | None]]] = {
    "file": _file,
    "console": _console,
    "otlp": _otlp,
}
