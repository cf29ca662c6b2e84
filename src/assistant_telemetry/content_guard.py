"""Content guard: no conversation content leaves the process through OpenTelemetry, whoever emitted it.

Finished spans are immutable in the SDK, so the guard sits in front of the exporters: each
exporter of a provider is wrapped, and the wrapper hands the real exporter a rebuilt copy of
every span (or log record) without its content-bearing attributes, event attributes, link
attributes, log bodies of GenAI events, and the exception messages and status descriptions
of GenAI spans. What was removed is named (never shown) in ``assistant_telemetry.
content_guard.removed`` and counted by source library. A span with nothing to remove is
passed on as the very same object. A span the guard fails to check is dropped, never sent.

    assistant_telemetry.instrument(content_guard=True)          # the one call
    assistant_telemetry.content_guard()                         # providers set up elsewhere
    BatchSpanProcessor(assistant_telemetry.guard_span_exporter(OTLPSpanExporter()))
"""

from __future__ import annotations

import copy
import dataclasses
import fnmatch
import functools
import json
import logging
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.sdk._logs import export as _logs_export
from opentelemetry.sdk.trace import Event, ReadableSpan, SpanProcessor
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.sdk.util import BoundedList
from opentelemetry.trace import Link, Status
from opentelemetry.util.types import Attributes

from . import guard
from . import semconv as sc
from .runtime import VERSION

# opentelemetry-sdk before 1.39 names them LogExporter / LogExportResult
_LogRecordExporter: Any = getattr(_logs_export, "LogRecordExporter", None) or _logs_export.LogExporter
_LogRecordExportResult: Any = (
    getattr(_logs_export, "LogRecordExportResult", None) or _logs_export.LogExportResult
)

logger = logging.getLogger("assistant_telemetry")

# --- what counts as content ------------------------------------------------------------------
# GenAI semconv (current and deprecated), Azure AI agent tracing, OpenLLMetry, OpenInference.
CONTENT_KEYS = frozenset(
    {
        "gen_ai.input.messages",
        "gen_ai.output.messages",
        "gen_ai.system_instructions",
        "gen_ai.tool.call.arguments",
        "gen_ai.tool.call.result",
        "gen_ai.tool.definitions",
        "gen_ai.event.content",
        "gen_ai.agent.description",
        "input.value",
        "output.value",
        "llm.invocation_parameters",  # OpenInference: every request argument but chat messages
        "tool.description",
        "tool.parameters",
        "traceloop.entity.input",
        "traceloop.entity.output",
    }
)
CONTENT_PREFIXES = (
    "gen_ai.prompt",  # gen_ai.prompt, gen_ai.prompt.0.content ...
    "gen_ai.completion",
    "llm.input_messages.",
    "llm.output_messages.",
    "llm.prompts",
    "llm.prompt_template.",
    "llm.tools.",  # OpenInference tool JSON schemas, with descriptions
    "llm.request.functions.",  # OpenLLMetry's tool definitions
    "retrieval.documents.",
    "embedding.embeddings.",
    "reranker.",
)
# Removed only on GenAI spans and log records: elsewhere they are ordinary diagnostics.
GENAI_ONLY_KEYS = frozenset({"exception.message", "exception.stacktrace", "error.message"})
_GENAI_KEY_PREFIXES = ("gen_ai.", "llm.", "openinference.", "az.ai.")
_GENAI_SCOPE_HINTS = (
    "openai", "openinference", "gen_ai", "genai", "azure.ai.", "anthropic", "traceloop", "langchain",
    "llama_index", "llamaindex", "bedrock", "vertexai", "mistral", "cohere", "ollama", "litellm",
)  # fmt: skip
# An exception from a GenAI client echoes the request wherever it is recorded.
_GENAI_EXCEPTION_MODULES = (
    "openai.", "azure.ai.", "azure.core.exceptions.", "anthropic.", "google.genai.", "litellm.",
    "mistralai.", "cohere.", "ollama.",
)  # fmt: skip
_EXCEPTION_NAME = re.compile(r"[A-Za-z_][\w.]*(Error|Exception|Warning|Timeout|Interrupt|Exit|Cancelled)")
_KEEP, _CONTENT, _GENAI_ONLY = 0, 1, 2
_MEMO_CAP = 4096

# Processors that never send a span or log record anywhere (copy attributes, count).
_HARMLESS_PROCESSORS = frozenset(
    {
        "assistant_telemetry.correlation.CorrelationSpanProcessor",  # sets attributes on start
        "azure.monitor.opentelemetry.exporter._gen_ai._processor._GenAIMainAgentSpanProcessor",
        "azure.monitor.opentelemetry.exporter._gen_ai._processor._GenAIMainAgentLogRecordProcessor",
        "azure.monitor.opentelemetry.exporter._performance_counters._processor._PerformanceCountersSpanProcessor",
        "azure.monitor.opentelemetry.exporter._performance_counters._processor._PerformanceCountersLogRecordProcessor",
    }
)
_EXPORTER_SLOTS = ("span_exporter", "_exporter", "exporter")
ENV_ENABLED = "ASSISTANT_TELEMETRY_CONTENT_GUARD"
ENV_PATTERNS = "ASSISTANT_TELEMETRY_CONTENT_GUARD_PATTERNS"


Tally = dict[tuple[str, str], int]  # (source scope, signal) -> values removed


class ContentGuardError(ValueError):
    """The guard cannot see what a processor sends, so it cannot promise a content-free pipeline."""


class ContentGuard:
    """Removes content from spans and log records; ``patterns`` adds attribute names (globs)."""

    def __init__(self, patterns: Iterable[str] = (), meter_provider: Any = None) -> None:
        if isinstance(patterns, str):
            raise TypeError(f"patterns: expected a list of globs, got the string {patterns!r}")
        self.patterns: tuple[str, ...] = ()
        self._pattern: Callable[[str], Any] | None = None
        self._keys: dict[str, int] = {}
        self._kept: set[str] = set()  # names known to carry no content: the fast path
        self.add_patterns(patterns)
        self._scopes: dict[str, bool] = {}
        meter = metrics.get_meter("assistant_telemetry", VERSION, meter_provider)
        self._removals = meter.create_counter(
            sc.METRIC_CONTENT_GUARD_REMOVALS,
            unit="{value}",
            description="Content-bearing values the content guard removed before export, by source",
        )
        self.guarded: list[str] = []  # exporters wrapped by content_guard(), for the record
        self.unguarded: list[str] = []  # processors it could not see into
        self.counting: set[str] = set()  # signals whose removals one wrapped exporter already counts

    def add_patterns(self, patterns: Iterable[str]) -> None:
        """More attribute names (globs) to remove, from now on."""
        self.patterns = tuple(dict.fromkeys((*self.patterns, *patterns)))
        joined = "|".join(fnmatch.translate(p) for p in self.patterns)
        self._pattern = re.compile(joined).match if joined else None
        self._keys, self._kept = {}, set()

    # classification (memoized: attribute names and scopes are few)
    def _classify(self, key: str) -> int:
        kind = self._keys.get(key)
        if kind is None:
            if key == sc.CONTENT_GUARD_REMOVED:
                kind = _KEEP
            elif self._is_content_name(key):
                kind = _CONTENT
            else:
                kind = _GENAI_ONLY if key in GENAI_ONLY_KEYS else _KEEP
            if len(self._keys) >= _MEMO_CAP:
                self._keys.clear()
                self._kept.clear()
            self._keys[key] = kind
            if kind == _KEEP:
                self._kept.add(key)
        return kind

    def _is_content_name(self, key: str) -> bool:
        if key in CONTENT_KEYS or key.startswith(CONTENT_PREFIXES):
            return True
        return self._pattern is not None and self._pattern(key) is not None

    def _genai_scope(self, scope: str) -> bool:
        known = self._scopes.get(scope)
        if known is None:
            lowered = scope.lower()
            known = any(hint in lowered for hint in _GENAI_SCOPE_HINTS)
            if len(self._scopes) >= _MEMO_CAP:
                self._scopes.clear()
            self._scopes[scope] = known
        return known

    def _drops(self, attributes: Mapping[str, Any], genai: Callable[[], bool]) -> list[str]:
        drops: list[str] = []
        if self._kept.issuperset(attributes):  # one C-level pass when every name is known clean
            return drops
        for key in attributes:
            kind = self._classify(key)
            if kind == _CONTENT or (kind == _GENAI_ONLY and genai()):
                drops.append(key)
        return drops

    # spans
    def span(self, span: ReadableSpan, tally: Tally | None = None) -> ReadableSpan:
        """The span without content; the same object when there is nothing to remove."""
        attributes = span.attributes or {}
        scope = span.instrumentation_scope.name if span.instrumentation_scope else ""
        verdict: list[bool] = []

        def genai() -> bool:
            if not verdict:
                verdict.append(
                    self._genai_scope(scope) or any(k.startswith(_GENAI_KEY_PREFIXES) for k in attributes)
                )
            return verdict[0]

        removed: list[tuple[str, int]] = []
        kept_attributes = _without(attributes, self._drops(attributes, genai), "", removed)
        events = span.events
        kept_events = self._events(events, genai, removed) if events else None
        links = span.links
        kept_links = self._links(links, removed) if links else None
        status = span.status
        kept_status = None
        if status.description and (genai() or any(_genai_exception(e.attributes or {}) for e in events)):
            kept_status = _status_without_message(status, removed)
        if not removed:
            return span
        self._count(tally, scope, "span", len(removed))
        new_attributes = dict(attributes if kept_attributes is None else kept_attributes)
        new_attributes[sc.CONTENT_GUARD_REMOVED] = _removed_entries(removed)
        return ReadableSpan(
            name=span.name,
            context=span.context,
            parent=span.parent,
            resource=span.resource,
            attributes=_bounded(new_attributes, span.dropped_attributes),
            events=_bounded_list(events if kept_events is None else kept_events, span.dropped_events),
            links=_bounded_list(links if kept_links is None else kept_links, span.dropped_links),
            kind=span.kind,
            status=status if kept_status is None else kept_status,
            start_time=span.start_time,
            end_time=span.end_time,
            instrumentation_scope=span.instrumentation_scope,
        )

    def _events(
        self, events: Sequence[Event], genai: Callable[[], bool], removed: list[tuple[str, int]]
    ) -> list[Event] | None:
        kept: list[Event] = []
        changed = False
        for event in events:
            attributes = event.attributes or {}
            drops = self._drops(attributes, functools.partial(_genai_event, genai, attributes))
            if drops:
                changed = True
                clean = _without(attributes, drops, event.name + "/", removed)
                event = Event(event.name, clean, event.timestamp)
            kept.append(event)
        return kept if changed else None

    def _links(self, links: Sequence[Link], removed: list[tuple[str, int]]) -> list[Link] | None:
        kept: list[Link] = []
        changed = False
        for link in links:
            attributes = link.attributes or {}
            drops = self._drops(attributes, lambda: False)
            if drops:
                changed = True
                link = Link(link.context, _without(attributes, drops, "link/", removed))
            kept.append(link)
        return kept if changed else None

    # log records
    def log(self, item: Any, tally: Tally | None = None) -> Any:
        """The log record (``ReadableLogRecord``) without content; the same object if clean."""
        record = item.log_record
        attributes = record.attributes or {}
        scope = item.instrumentation_scope.name if item.instrumentation_scope else ""
        event = getattr(record, "event_name", None) or attributes.get("event.name")
        is_genai = (
            (isinstance(event, str) and event.startswith("gen_ai."))
            or self._genai_scope(scope)
            or any(k.startswith(_GENAI_KEY_PREFIXES) for k in attributes)
        )
        removed: list[tuple[str, int]] = []
        kept = _without(attributes, self._drops(attributes, lambda: is_genai), "", removed)
        drop_body = is_genai and record.body is not None
        if drop_body:
            removed.append(("body", _size(record.body)))
        if not removed:
            return item
        self._count(tally, scope, "log", len(removed))
        new_attributes = dict(attributes if kept is None else kept)
        new_attributes[sc.CONTENT_GUARD_REMOVED] = _removed_entries(removed)
        clean = copy.copy(record)
        clean.attributes = _bounded(new_attributes, getattr(item, "dropped_attributes", 0))
        if drop_body:
            clean.body = None
        if dataclasses.is_dataclass(item) and not isinstance(item, type):
            return dataclasses.replace(item, log_record=clean)
        copied = copy.copy(item)
        copied.log_record = clean
        return copied

    def _count(self, tally: Tally | None, scope: str, signal: str, removed: int) -> None:
        """Into the batch's tally (added once per batch: a counter add costs more than a rebuild)."""
        key = (scope or "unknown", signal)
        if tally is None:
            self._add({key: removed})
        else:
            tally[key] = tally.get(key, 0) + removed

    def _add(self, tally: Tally) -> None:
        for (scope, signal), removed in tally.items():
            self._removals.add(removed, {sc.CONTENT_GUARD_SOURCE: scope, sc.CONTENT_GUARD_SIGNAL: signal})

    def clean(self, items: Sequence[Any], sanitize: Callable[[Any, Tally], Any], count: bool) -> list[Any]:
        """Each item sanitized; one that cannot be checked is dropped (fail closed), not sent."""
        out: list[Any] = []
        append = out.append
        tally: Tally = {}
        for item in items:
            try:
                append(sanitize(item, tally))
            except Exception as error:
                guard.internal_error(error, "content_guard")
        if count and tally:
            self._add(tally)
        return out


# --- small pure helpers ------------------------------------------------------------------------
def _size(value: Any) -> int:
    """UTF-8 bytes of a value (a log body: of its JSON form)."""
    if isinstance(value, str):
        return len(value.encode("utf-8", "surrogatepass"))
    if isinstance(value, bytes):
        return len(value)
    if isinstance(value, (list, tuple)):
        return sum(_size(item) for item in value)
    if isinstance(value, Mapping):
        return len(json.dumps(value, default=str, ensure_ascii=False).encode("utf-8", "surrogatepass"))
    return len(str(value).encode("utf-8", "surrogatepass"))


def _without(
    attributes: Mapping[str, Any], drops: list[str], where: str, removed: list[tuple[str, int]]
) -> dict[str, Any] | None:
    if not drops:
        return None
    removed.extend((where + key, _size(attributes[key])) for key in drops)
    dropped = set(drops)
    return {key: value for key, value in attributes.items() if key not in dropped}


def _removed_entries(removed: list[tuple[str, int]]) -> tuple[str, ...]:
    return tuple(f"{key}:{size}" for key, size in removed[: sc.CONTENT_GUARD_REMOVED_CAP])


def _genai_event(genai_span: Callable[[], bool], attributes: Mapping[str, Any]) -> bool:
    return genai_span() or _genai_exception(attributes)


def _genai_exception(attributes: Mapping[str, Any]) -> bool:
    kind = attributes.get("exception.type")
    return isinstance(kind, str) and kind.startswith(_GENAI_EXCEPTION_MODULES)


def _status_without_message(status: Status, removed: list[tuple[str, int]]) -> Status | None:
    """Keep only a leading exception class name ("BadRequestError: ..." -> "BadRequestError")."""
    description = status.description or ""
    head = description.partition(":")[0].strip()
    kept = head if _EXCEPTION_NAME.fullmatch(head) else None
    if kept == description:
        return None
    removed.append(("status.description", _size(description) - _size(kept or "")))
    return Status(status.status_code, kept)


def _bounded(attributes: dict[str, Any], dropped: int) -> Attributes:
    if not dropped:
        return attributes
    from opentelemetry.attributes import BoundedAttributes

    bounded = BoundedAttributes(attributes=attributes, immutable=True)
    bounded.dropped = dropped
    return bounded


def _bounded_list(items: Sequence[Any], dropped: int) -> Sequence[Any]:
    if not dropped:
        return tuple(items)
    bounded: BoundedList = BoundedList(None)
    bounded.extend(items)
    bounded.dropped = dropped
    return bounded


# --- exporter wrappers -----------------------------------------------------------------------
class GuardedSpanExporter(SpanExporter):
    """Hands the wrapped ``SpanExporter`` every span without its content."""

    def __init__(self, exporter: SpanExporter, content_guard: ContentGuard, counts: bool = True) -> None:
        self.__wrapped__ = exporter
        self.content_guard = content_guard
        self.counts = counts  # one exporter per provider counts, so a removal counts once

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        clean = self.content_guard.clean(spans, self.content_guard.span, self.counts)
        if not clean and spans:
            return SpanExportResult.SUCCESS
        return self.__wrapped__.export(clean)

    def shutdown(self) -> None:
        self.__wrapped__.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self.__wrapped__.force_flush(timeout_millis)


class GuardedLogRecordExporter(_LogRecordExporter):
    """Hands the wrapped ``LogRecordExporter`` every log record without its content."""

    def __init__(self, exporter: Any, content_guard: ContentGuard, counts: bool = True) -> None:
        self.__wrapped__ = exporter
        self.content_guard = content_guard
        self.counts = counts

    def export(self, batch: Sequence[Any]) -> Any:
        clean = self.content_guard.clean(batch, self.content_guard.log, self.counts)
        if not clean and batch:
            return _LogRecordExportResult.SUCCESS
        return self.__wrapped__.export(clean)

    def shutdown(self) -> None:
        self.__wrapped__.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return bool(self.__wrapped__.force_flush(timeout_millis))


def guard_span_exporter(exporter: SpanExporter, *, patterns: Iterable[str] = ()) -> GuardedSpanExporter:
    """Wrap a span exporter you build yourself: ``BatchSpanProcessor(guard_span_exporter(e))``."""
    if isinstance(exporter, GuardedSpanExporter):
        return exporter
    return GuardedSpanExporter(exporter, ContentGuard(patterns))


def guard_log_exporter(exporter: Any, *, patterns: Iterable[str] = ()) -> GuardedLogRecordExporter:
    """Wrap a log record exporter you build yourself: ``BatchLogRecordProcessor(guard_log_exporter(e))``."""
    if isinstance(exporter, GuardedLogRecordExporter):
        return exporter
    return GuardedLogRecordExporter(exporter, ContentGuard(patterns))


# --- providers ---------------------------------------------------------------------------------
def content_guard(
    tracer_provider: Any = None,
    logger_provider: Any = None,
    *,
    patterns: Iterable[str] | None = None,
    meter_provider: Any = None,
    strict: bool = True,
) -> ContentGuard:
    """Guard every exporter of the SDK providers (default: the global ones); returns the guard.

    Exporters behind the providers' Simple/Batch processors are wrapped in place, and so are
    those of processors added later. A processor whose output the guard cannot see (Azure
    Monitor's live metrics, an unknown custom processor that handles finished spans) raises
    ``ContentGuardError`` naming it, or with ``strict=False`` is logged and listed in
    ``.unguarded``. ``patterns``: extra attribute names to remove, as globs (``"app.prompt*"``),
    else ``$ASSISTANT_TELEMETRY_CONTENT_GUARD_PATTERNS`` (comma separated).
    """
    chosen = ContentGuard(_patterns(patterns), meter_provider)
    tracer_provider = tracer_provider if tracer_provider is not None else trace.get_tracer_provider()
    logger_provider = logger_provider if logger_provider is not None else _global_logger_provider()
    _attach(chosen, tracer_provider, "add_span_processor", "_active_span_processor", "span")
    if logger_provider is not None:
        _attach(chosen, logger_provider, "add_log_record_processor", "_multi_log_record_processor", "log")
    if chosen.unguarded:
        message = (
            "content_guard cannot see what these processors send: "
            f"{', '.join(chosen.unguarded)}. Remove them, wrap their exporter with "
            "assistant_telemetry.guard_span_exporter() / guard_log_exporter(), or for Azure Monitor "
            "pass enable_live_metrics=False"
        )
        if strict:
            raise ContentGuardError(message)
        logger.warning("assistant_telemetry: %s", message)
    if not chosen.guarded:
        logger.warning("assistant_telemetry: content_guard found no exporter to guard (no SDK provider set?)")
    return chosen


def content_guard_enabled(content_guard: bool | None) -> bool:
    """The argument, else ``$ASSISTANT_TELEMETRY_CONTENT_GUARD`` (1/true/yes/on)."""
    if content_guard is not None:
        return bool(content_guard)
    return os.environ.get(ENV_ENABLED, "").strip().lower() in {"1", "true", "yes", "on"}


def azure_monitor_options_guarded(options: Mapping[str, Any] | None) -> dict[str, Any]:
    """``configure_azure_monitor`` options for a guarded pipeline: live metrics off."""
    chosen = dict(options or {})
    if chosen.get("enable_live_metrics"):
        raise ContentGuardError(
            "content_guard=True cannot guard Azure Monitor live metrics (they read spans before any "
            "exporter): drop enable_live_metrics=True"
        )
    chosen["enable_live_metrics"] = False
    return chosen


def _patterns(given: Iterable[str] | None) -> tuple[str, ...]:
    if given is not None:
        if isinstance(given, str):
            raise TypeError(f"patterns: expected a list of globs, got the string {given!r}")
        return tuple(str(p).strip() for p in given if str(p).strip())
    return tuple(p.strip() for p in os.environ.get(ENV_PATTERNS, "").split(",") if p.strip())


def _global_logger_provider() -> Any:
    try:
        from opentelemetry._logs import get_logger_provider
        from opentelemetry.sdk._logs import LoggerProvider
    except ImportError:  # pragma: no cover - logs SDK absent
        return None
    provider = get_logger_provider()
    return provider if isinstance(provider, LoggerProvider) else None


def _attach(chosen: ContentGuard, provider: Any, add_name: str, active_name: str, signal: str) -> None:
    """Wrap the exporters the provider has now, and those of processors added later."""
    active = getattr(provider, active_name, None)
    if active is None:
        if provider is not None and not type(provider).__name__.startswith(("Proxy", "NoOp")):
            chosen.unguarded.append(f"{type(provider).__qualname__} (not an SDK provider)")
        return
    _guard_processors(chosen, [active], signal)
    add = getattr(provider, add_name)
    if getattr(add, "_content_guard", None) is not None:
        return  # already guarded: processors added later are handled by the first guard

    def add_processor(processor: Any) -> None:
        add(processor)
        before = len(chosen.unguarded)
        _guard_processors(chosen, [processor], signal)
        if len(chosen.unguarded) > before:
            logger.warning("assistant_telemetry: content_guard cannot guard %s", chosen.unguarded[-1])

    add_processor._content_guard = chosen  # type: ignore[attr-defined]
    setattr(provider, add_name, add_processor)


def _guard_processors(chosen: ContentGuard, processors: Iterable[Any], signal: str) -> None:
    for processor in processors:
        nested = getattr(processor, "_span_processors", None)
        if nested is None:
            nested = getattr(processor, "_log_record_processors", None)
        if isinstance(nested, (tuple, list)):
            _guard_processors(chosen, nested, signal)
        elif not _wrap_exporters(chosen, processor, signal) and not _harmless(processor, signal):
            chosen.unguarded.append(_qualname(processor))


def _wrap_exporters(chosen: ContentGuard, processor: Any, signal: str) -> bool:
    """Wrap every exporter the processor holds; False if it holds none we can see."""
    wrapper: Any = GuardedSpanExporter if signal == "span" else GuardedLogRecordExporter
    found = False
    for holder in (processor, getattr(processor, "_batch_processor", None)):
        slots = vars(holder) if holder is not None and hasattr(holder, "__dict__") else {}
        for name in _EXPORTER_SLOTS:
            exporter = slots.get(name)
            if exporter is None or not callable(getattr(exporter, "export", None)):
                continue
            found = True
            if isinstance(exporter, wrapper):  # guarded before: the new patterns apply there too
                exporter.content_guard.add_patterns(chosen.patterns)
            else:
                counts = signal not in chosen.counting
                chosen.counting.add(signal)
                setattr(holder, name, wrapper(exporter, chosen, counts))
                chosen.guarded.append(_qualname(exporter))
    return found


def _harmless(processor: Any, signal: str) -> bool:
    """Known not to send anything, or (spans) never looks at a finished span."""
    if _qualname(processor) in _HARMLESS_PROCESSORS:
        return True
    if signal != "span":
        return False
    kind = type(processor)
    return kind.on_end is SpanProcessor.on_end and kind._on_ending is SpanProcessor._on_ending


def _qualname(obj: Any) -> str:
    kind = type(obj)
    return f"{kind.__module__}.{kind.__qualname__}"
