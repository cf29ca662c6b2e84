"""The one call: choose where telemetry goes, build the providers, wrap the client libraries.

Each destination is one small function (file, console, otlp, azure-monitor) so a missing
extra or a bad option fails with a message naming the fix, before anything is wrapped.
"""

from __future__ import annotations

import atexit
import logging
import os
import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

from . import file_exporter, pipeline, runtime
from .config import FileLimits, PriceTable, load_prices
from .content_guard import ContentGuard, azure_monitor_options_guarded, content_guard_enabled
from .content_guard import content_guard as guard_providers
from .instrumentor import AssistantTelemetryInstrumentor

logger = logging.getLogger("assistant_telemetry")

EXPORTERS = ("file", "console", "otlp", "azure-monitor")
ENTRY_POINT_NAME = "assistant_telemetry"


class MissingExtraError(ImportError):
    """An exporter was chosen whose optional dependencies are not installed."""


class ExistingProviderError(ValueError):
    """``exporter=`` was given while another OpenTelemetry SDK pipeline is set globally."""


@dataclass
class Instrumentation:
    """What ``instrument()`` set up. ``flush()`` before a short-lived process exits."""

    exporter: str
    tracer_provider: Any
    meter_provider: Any
    file_path: str | None = None
    content_guard: ContentGuard | None = None  # set when content_guard=True
    logger_provider: Any = None
    added: pipeline.Added = field(default_factory=pipeline.Added, repr=False)  # what we put on providers

    def flush(self, timeout_millis: int = pipeline.FLUSH_TIMEOUT_MS) -> bool:
        """Export everything buffered so far (spans and metrics); returns within ``timeout_millis``.

        One deadline covers every provider. False when something was not exported in time (it
        stays queued, or is dropped if the queue is full; counted in instrumentation.errors).
        """
        deadline = pipeline.Deadline(timeout_millis)
        if self.added.span_processors or self.added.metric_readers:
            done = self.added.flush(deadline)
        else:  # providers someone else built (or a distro we ran): flush them as they are
            done = pipeline.flush_providers((self.tracer_provider, self.meter_provider), deadline)
        if not done:
            self.added.count_drop("flush")
        return done


_current: Instrumentation | None = None
_distro: dict[str, Instrumentation] = {}  # configure_azure_monitor ran: its pipeline stays for the process
_owned: weakref.WeakSet[Any] = weakref.WeakSet()  # providers we created (they stay global, emptied)


def instrument(
    exporter: str | None = None,
    *,
    tracer_provider: Any = None,
    meter_provider: Any = None,
    alongside: bool = False,
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
    prices: PriceTable | Mapping[str, Any] | str | os.PathLike[str] | None = None,
) -> Instrumentation:
    """Instrument every supported client library with one call; returns what was set up.

    With no arguments: an OpenTelemetry SDK provider already set globally (by
    ``opentelemetry-instrument``, ``configure_azure_monitor()`` or the app) is used as it is, adding
    no exporter; else APPLICATIONINSIGHTS_CONNECTION_STRING -> Azure Monitor;
    OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT -> OTLP; else JSON lines in
    ``$ASSISTANT_TELEMETRY_FILE`` or ./assistant-telemetry.jsonl (size-capped, see config.FileLimits).
    ``exporter=`` picks one of "file", "console", "otlp", "azure-monitor" explicitly; over a pipeline
    that is already set it raises ``ExistingProviderError`` unless ``alongside=True``, which adds our
    exporter beside the pipeline's own. ``tracer_provider=`` / ``meter_provider=`` use those
    providers and install nothing else.
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
    ``prices`` (or ASSISTANT_TELEMETRY_PRICES: inline JSON or a JSON file's path) maps a model or Azure
    deployment name to ``{"input": ..., "output": ..., "cached_input": ...}`` per million tokens: spans
    carrying usage then get ``microsoft.gen_ai.cost.input`` / ``.output``. A bad table raises
    ``config.PriceTableError`` (a ValueError) before anything is set up.
    Calling it again while instrumented returns the first call's result unchanged.
    """
    global _current
    if _current is not None:
        logger.debug("assistant_telemetry: already instrumented (%s); call ignored", _current.exporter)
        return _current
    price_table = load_prices(prices)  # a user's mistake fails here, before any provider is built
    guarded = content_guard_enabled(content_guard)
    if guarded:  # live metrics read spans before any exporter: the guard cannot cover them
        azure_monitor_options = azure_monitor_options_guarded(azure_monitor_options)
    if tracer_provider is not None or meter_provider is not None:
        if exporter is not None:
            raise ValueError("pass either exporter= or tracer_provider=/meter_provider=, not both")
        session = Instrumentation("providers", tracer_provider, meter_provider)
    else:
        session = _build(
            exporter,
            alongside,
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
    instrumentor = AssistantTelemetryInstrumentor()
    if instrumentor.is_instrumented_by_opentelemetry:
        # opentelemetry-instrument ran our entry point already: this call's settings win, quietly
        # (instrumenting twice would only log "Attempting to instrument while already instrumented").
        instrumentor.uninstrument()
    instrumentor.instrument(
        tracer_provider=session.tracer_provider,
        meter_provider=session.meter_provider,
        metadata_allowlist=metadata_allowlist,
        azure_hosts=azure_hosts,
        inner_spans=inner_spans,
        message_fingerprint_key=message_fingerprint_key,
        semconv=semconv,
        prices=price_table,
    )
    if runtime.ACTIVE is not None:
        session.added.errors = runtime.ACTIVE.errors
    _current = session
    # Last registered runs first: ahead of the exit handlers of the providers just created.
    atexit.unregister(_at_exit)
    atexit.register(_at_exit)
    return session


def uninstrument(timeout_millis: int = pipeline.FLUSH_TIMEOUT_MS) -> None:
    """Restore every wrapped method and take off what ``instrument()`` added, within ``timeout_millis``.

    No span is made afterwards, also by cached SDK methods. Our exporters get what they still
    hold until the deadline (what is left is dropped and counted); a pipeline ``instrument()`` did
    not build is flushed, not removed. A distro's (``configure_azure_monitor``) stays for the process.
    """
    global _current
    instrumentor = AssistantTelemetryInstrumentor()
    if instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.uninstrument()
    session, _current = _current, None
    if session is None:
        return
    if session.added.span_processors or session.added.metric_readers:
        session.added.remove(pipeline.Deadline(timeout_millis))
    else:
        session.flush(timeout_millis)


def _at_exit() -> None:
    """Bounded exit: our exporters (or the distro pipeline we built) get EXIT_TIMEOUT_S overall.

    Registered again by each instrument(), after the providers exist, so it runs before their own
    exit handlers (LIFO), which then find nothing left to wait for.
    """
    deadline = pipeline.Deadline(pipeline.EXIT_TIMEOUT_S * 1000)
    session = _current
    if session is not None and (session.added.span_processors or session.added.metric_readers):
        session.added.remove(deadline)
    for built in _distro.values():
        if not pipeline.shutdown_pipeline(
            built.tracer_provider, built.meter_provider, built.logger_provider, deadline
        ):
            built.added.count_drop("shutdown")


def _exporter_from_environment() -> str:
    if os.environ.get("APPLICATIONINSIGHTS_CONNECTION_STRING"):
        return "azure-monitor"
    if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        return "otlp"
    return "file"


def _disabled_by_environment() -> bool:
    disabled = os.environ.get("OTEL_PYTHON_DISABLED_INSTRUMENTATIONS", "")
    names = {name.strip().replace("-", "_") for name in disabled.split(",")}
    return ENTRY_POINT_NAME in names


def _logger_provider() -> Any:
    try:
        from opentelemetry._logs import get_logger_provider
        from opentelemetry.sdk._logs import LoggerProvider
    except ImportError:  # pragma: no cover - the logs SDK is part of opentelemetry-sdk
        return None
    provider = get_logger_provider()
    return provider if isinstance(provider, LoggerProvider) else None


def existing_pipeline() -> dict[str, Any]:
    """The SDK providers set globally that we did not create: signal -> provider."""
    found = {
        "traces": trace.get_tracer_provider(),
        "metrics": metrics.get_meter_provider(),
        "logs": _logger_provider(),
    }
    sdk = {"traces": TracerProvider, "metrics": MeterProvider}
    return {
        signal: provider
        for signal, provider in found.items()
        if provider is not None
        and isinstance(provider, sdk.get(signal, object))
        and provider not in _owned
        and not any(
            provider in (d.tracer_provider, d.meter_provider, d.logger_provider) for d in _distro.values()
        )
    }


def _build(exporter: str | None, alongside: bool, **options: Any) -> Instrumentation:
    """Whose pipeline carries our telemetry: one already set for traces or metrics, else ours.

    A logger provider alone does not count (we export no logs), but it keeps the Azure Monitor
    distro from running: it would try to replace it.
    """
    if exporter is not None and exporter not in EXPORTERS:
        raise ValueError(f"unknown exporter {exporter!r}: choose one of {', '.join(EXPORTERS)}")
    existing = existing_pipeline()
    taken = sorted(signal for signal in existing if signal != "logs")
    distro = next(iter(_distro.values()), None)
    if not alongside and distro is not None and exporter in (None, "azure-monitor") and not taken:
        return distro  # instrument() ran the distro earlier in this process: it is still there
    if not alongside and exporter is None and taken:
        # One export chain: theirs. Adding ours would send every span twice.
        return Instrumentation("existing", trace.get_tracer_provider(), metrics.get_meter_provider())
    chosen = exporter or _exporter_from_environment()
    if not alongside and (taken or distro is not None):
        who = ", ".join(taken) or "traces and metrics (configure_azure_monitor, run by instrument())"
        raise ExistingProviderError(
            f"an OpenTelemetry SDK pipeline is already set for {who} (by opentelemetry-instrument, "
            "configure_azure_monitor() or the app): call instrument() without exporter= to use it as "
            f"it is, or pass alongside=True to add the {chosen!r} exporter beside its own"
        )
    if chosen == "azure-monitor" and not existing and distro is None and not _owned:
        return _azure_monitor(
            options["connection_string"], options["service_name"], options["azure_monitor_options"]
        )
    factory = _azure_exporters if chosen == "azure-monitor" else _EXPORTER_FACTORIES[chosen]
    span_exporter, metric_exporter, path = factory(**options)
    return _install(chosen, span_exporter, metric_exporter, path, options["service_name"])


def _install(
    exporter: str, spans: SpanExporter, metric_exporter: MetricExporter, path: str | None, service: str | None
) -> Instrumentation:
    """Our exporters on the global SDK providers (creating and setting them if there are none)."""
    resource = Resource.create({"service.name": service} if service else {})
    tracer_provider = trace.get_tracer_provider()
    if not isinstance(tracer_provider, TracerProvider):
        tracer_provider = TracerProvider(resource=resource)  # span limits from OTEL_*_LIMIT variables
        trace.set_tracer_provider(tracer_provider)
        _owned.add(tracer_provider)
    meter_provider = metrics.get_meter_provider()
    if not isinstance(meter_provider, MeterProvider):
        meter_provider = MeterProvider(resource=resource)  # readers are added (and removed) below
        metrics.set_meter_provider(meter_provider)
        _owned.add(meter_provider)
    session = Instrumentation(exporter, tracer_provider, meter_provider, file_path=path)
    session.added.add_span_processor(tracer_provider, BatchSpanProcessor(spans))
    session.added.add_metric_reader(meter_provider, pipeline.ForkSafeMetricReader(metric_exporter))
    return session


def _file(file_path: Any = None, **_: Any) -> tuple[SpanExporter, MetricExporter, str]:
    limits = FileLimits.build()  # a bad ASSISTANT_TELEMETRY_FILE_* value fails here, before any wrapping
    spans = file_exporter.JsonLinesSpanExporter(file_path, limits)
    return spans, file_exporter.JsonLinesMetricExporter(spans.path, limits), spans.path


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


def _azure_connection_string(given: str | None) -> str:
    connection_string = given or os.environ.get("APPLICATIONINSIGHTS_CONNECTION_STRING")
    if not connection_string:
        raise ValueError(
            "exporter='azure-monitor' needs connection_string= or APPLICATIONINSIGHTS_CONNECTION_STRING"
        )
    return connection_string


def _missing_azure(error: ImportError) -> MissingExtraError:
    return MissingExtraError(
        "exporter='azure-monitor' needs azure-monitor-opentelemetry: "
        f"pip install 'assistant-telemetry[azure]' ({error})"
    )


def _azure_monitor(
    connection_string: str | None, service_name: str | None, extra: Mapping[str, Any] | None
) -> Instrumentation:
    try:
        from azure.monitor.opentelemetry import configure_azure_monitor
    except ImportError as error:
        raise _missing_azure(error) from error
    connection_string = _azure_connection_string(connection_string)
    resource = Resource.create({"service.name": service_name} if service_name else {})
    configure_azure_monitor(connection_string=connection_string, resource=resource, **(extra or {}))
    built = Instrumentation(
        "azure-monitor",
        trace.get_tracer_provider(),
        metrics.get_meter_provider(),
        logger_provider=_logger_provider(),
    )
    _distro["azure-monitor"] = built
    return built


def _azure_exporters(
    connection_string: str | None = None, azure_monitor_options: Mapping[str, Any] | None = None, **_: Any
) -> tuple[SpanExporter, MetricExporter, None]:
    """Azure Monitor's exporters for a pipeline that is already there (the distro cannot run twice).

    Of ``azure_monitor_options`` only what the exporters take applies (the provider's sampler,
    resource and live metrics belong to whoever built the pipeline).
    """
    try:
        from azure.monitor.opentelemetry.exporter import AzureMonitorMetricExporter, AzureMonitorTraceExporter
    except ImportError as error:
        raise _missing_azure(error) from error
    connection_string = _azure_connection_string(connection_string)
    given = dict(azure_monitor_options or {})
    options = {k: given[k] for k in _AZURE_EXPORTER_OPTIONS if k in given}
    return (
        AzureMonitorTraceExporter(connection_string=connection_string, **options),
        AzureMonitorMetricExporter(connection_string=connection_string, **options),
        None,
    )


_AZURE_EXPORTER_OPTIONS = ("credential", "disable_offline_storage", "storage_directory")

_EXPORTER_FACTORIES: dict[str, Callable[..., tuple[SpanExporter, MetricExporter, str | None]]] = {
    "file": _file,
    "console": _console,
    "otlp": _otlp,
}
