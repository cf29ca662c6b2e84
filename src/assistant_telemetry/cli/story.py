"""The story of a thread from its spans: which spans belong to it, and thread -> runs -> steps -> messages.

``select`` makes two streaming passes over a source: the first finds the spans naming the
id asked for (thread, run, message, step, provider request id, the app's correlation ids,
a fingerprint, a trace or span id) and notes their threads, runs and traces; the second
collects the spans of those threads and runs, and the span-mates in the same traces that
belong to no thread (e.g. a blocked create_thread). Only that story is held in memory.
``build_story`` reads whatever attributes and events are present, so older telemetry and
partial sources (Application Insights' string-typed customDimensions) tell what they can.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .. import semconv as sc
from .sources import SpanSource
from .spans import Span

# Content-filter outcomes: whatever attributes arrive under this prefix are shown as they are.
CONTENT_FILTER_PREFIX = sc.CONTENT_FILTER_PREFIX
FINGERPRINT_KEYS = frozenset({sc.MESSAGE_FINGERPRINT, sc.MESSAGE_FINGERPRINTS})
NOT_SEARCHED = frozenset({sc.AGENT_ID, sc.MESSAGE_FILE_IDS})  # shared by many threads
# Attribute names the output may show: every name semconv defines, and its prefixes.
_NAMES = {v for k, v in vars(sc).items() if k.isupper() and isinstance(v, str) and "." in v}
KNOWN_NAMES = frozenset(n for n in _NAMES if not n.endswith("."))
KNOWN_PREFIXES = tuple(sorted(n for n in _NAMES if n.endswith(".")))


class UnknownId(LookupError):
    """No span in the source names the id."""


# ------------------------------------------------------------------------ attributes


def thread_of(attrs: dict[str, Any]) -> str | None:
    value = attrs.get(sc.THREAD_ID) or attrs.get(sc.CONVERSATION_ID)
    return str(value) if value else None


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def shown(attrs: dict[str, Any]) -> dict[str, Any]:
    """Only names the plugin defines: another library's span may carry content."""
    return {k: v for k, v in attrs.items() if k in KNOWN_NAMES or k.startswith(KNOWN_PREFIXES)}


def safety_outcomes(attrs: dict[str, Any]) -> list[str]:
    """What the safety system did, from any attribute that says so (never content)."""
    found = []
    if attrs.get(sc.CONTENT_FILTER_OUTCOME, "safe") != "safe" or attrs.get(sc.CONTENT_FILTER_ERROR):
        found += [
            f"{key.removeprefix(CONTENT_FILTER_PREFIX)}={_text(value)}"
            for key, value in sorted(attrs.items())
            if key.startswith(CONTENT_FILTER_PREFIX)
        ]
    for key in (sc.FAILURE_CLASS, sc.ERROR_CODE, sc.RUN_INCOMPLETE_REASON, sc.MESSAGE_INCOMPLETE_REASON):
        if attrs.get(key) == "content_filter":
            found.append(f"{key.split('.', 1)[-1]}=content_filter")
    return found


def searchable(key: str) -> bool:
    return (key.endswith(("id", "ids", "_key")) or key in FINGERPRINT_KEYS) and key not in NOT_SEARCHED


def mentions(span: Span, needle: str) -> str | None:
    """Which id of the span (or of one of its events) equals ``needle``, if any."""
    if needle == span.trace_id:
        return "trace id"
    if needle == span.span_id:
        return "span id"
    for attrs in (span.attributes, *(event.attributes for event in span.events)):
        for key, value in attrs.items():
            if isinstance(value, (list, tuple)):
                named = any(str(item) == needle for item in value)
            else:
                named = str(value) == needle  # App Insights may have turned "42" into 42
            if named and searchable(key):
                return key
    return None


# ------------------------------------------------------------------------- selection


@dataclass
class Selection:
    needle: str
    matched: set[str] = field(default_factory=set)  # the attribute names the id was found in
    threads: set[str] = field(default_factory=set)
    runs: set[str] = field(default_factory=set)
    traces: set[str] = field(default_factory=set)

    def keys(self) -> set[str]:
        return self.threads | self.runs | self.traces

    def wants(self, span: Span) -> bool:
        attrs = span.attributes
        thread, run = thread_of(attrs), attrs.get(sc.RUN_ID)
        if thread in self.threads or run in self.runs:
            return True
        return span.trace_id in self.traces and not thread and not run


def select(source: SpanSource, needle: str) -> tuple[Selection, list[Span]]:
    """The spans of the story around ``needle``, in start order; UnknownId if nothing names it."""
    selection = Selection(needle)
    for span in source.scan([needle]):
        key = mentions(span, needle)
        if key is None:
            continue
        selection.matched.add(key)
        thread = thread_of(span.attributes)
        if thread:
            selection.threads.add(thread)
        if span.attributes.get(sc.RUN_ID):
            selection.runs.add(str(span.attributes[sc.RUN_ID]))
        if span.trace_id:
            selection.traces.add(span.trace_id)
    if not selection.matched:
        raise UnknownId(needle)
    spans = [span for span in source.scan(selection.keys()) if selection.wants(span)]
    spans.sort(key=lambda s: (s.start_ns, s.end_ns))
    return selection, _unique(spans)


def _unique(spans: list[Span]) -> list[Span]:
    """The same span read twice (two overlapping files) is told once."""
    seen: set[tuple[str, str, int]] = set()
    kept = []
    for span in spans:
        key = (span.trace_id, span.span_id, span.start_ns)
        if not span.span_id or key not in seen:
            seen.add(key)
            kept.append(span)
    return kept


# ---------------------------------------------------------------------------- story


@dataclass
class MessageView:
    message_id: str
    first_ns: int
    role: str | None = None
    status: str | None = None
    run_id: str | None = None
    text_length: int | None = None
    fingerprint: str | None = None
    incomplete_reason: str | None = None
    reply_to: str | None = None
    reply_time_s: float | None = None
    request_id: str | None = None  # of the call that created it
    seen_by: list[str] = field(default_factory=list)  # the operations that saw it


@dataclass
class StepView:
    step_id: str
    first_ns: int
    type: str | None = None
    status: str | None = None
    message_id: str | None = None
    tool_types: list[str] = field(default_factory=list)
    duration_s: float | None = None
    error_code: str | None = None


@dataclass
class RunView:
    run_id: str
    first_ns: int
    last_ns: int = 0
    status: str | None = None
    statuses: list[tuple[int, str]] = field(default_factory=list)  # (observed at, status)
    agent_id: str | None = None
    model: str | None = None
    deployment: str | None = None
    request_ids: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)  # queue / execution / total, seconds
    tokens: tuple[Any, Any] | None = None
    error_code: str | None = None
    incomplete_reason: str | None = None
    required_functions: list[str] = field(default_factory=list)
    steps: dict[str, StepView] = field(default_factory=dict)
    message_ids: list[str] = field(default_factory=list)


@dataclass
class ThreadView:
    thread_id: str
    calls: list[Span] = field(default_factory=list)
    runs: dict[str, RunView] = field(default_factory=dict)
    messages: dict[str, MessageView] = field(default_factory=dict)
    correlation: dict[str, list[str]] = field(default_factory=dict)
    safety: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@dataclass
class Story:
    needle: str
    matched: list[str]
    source: str
    threads: list[ThreadView]
    other_calls: list[Span]

    @property
    def calls(self) -> list[Span]:
        every = [c for t in self.threads for c in t.calls] + self.other_calls
        return sorted(every, key=lambda s: s.start_ns)


_CORRELATION_KEYS = (
    sc.CORRELATION_REQUEST_ID,
    sc.CORRELATION_IDEMPOTENCY_KEY,
    sc.CORRELATION_TENANT,
    sc.CORRELATION_USER_HASH,
    sc.CORRELATION_USER,
)
_TIMINGS = {"queue_s": sc.RUN_QUEUE_TIME, "execution_s": sc.RUN_EXECUTION_TIME, "total_s": sc.RUN_TOTAL_TIME}


def timeline(source: SpanSource, needle: str) -> Story:
    """The story around ``needle`` read from ``source`` (UnknownId if no span names it)."""
    selection, spans = select(source, needle)
    return build_story(needle, sorted(selection.matched), source.label, spans)


def build_story(needle: str, matched: list[str], label: str, spans: Iterable[Span]) -> Story:
    threads: dict[str, ThreadView] = {}
    run_thread: dict[str, str] = {}
    spans = list(spans)
    for span in spans:
        thread, run = thread_of(span.attributes), span.attributes.get(sc.RUN_ID)
        if thread and run:
            run_thread[str(run)] = thread
    other: list[Span] = []
    for span in spans:
        thread = thread_of(span.attributes) or run_thread.get(str(span.attributes.get(sc.RUN_ID)))
        if not thread:
            other.append(span)
            continue
        view = threads.setdefault(thread, ThreadView(thread))
        view.calls.append(span)
        _read_call(view, span)
    ordered = sorted(threads.values(), key=lambda t: t.calls[0].start_ns)
    return Story(needle, matched, label, ordered, other)


def _read_call(view: ThreadView, span: Span) -> None:
    attrs = span.attributes
    for key in _CORRELATION_KEYS:
        if attrs.get(key) and str(attrs[key]) not in view.correlation.setdefault(key, []):
            view.correlation[key].append(str(attrs[key]))
    outcomes = safety_outcomes(attrs)
    if outcomes:
        view.safety.append(f"{span.name} {attrs.get(sc.REQUEST_ID) or span.span_id}: {', '.join(outcomes)}")
    if span.status == "ERROR":
        view.errors.append(_failure(span))
    run = _run(view, span) if attrs.get(sc.RUN_ID) else None
    if attrs.get(sc.RUN_STEP_ID):
        _step(view, run, attrs, span.end_ns)
    elif attrs.get(sc.MESSAGE_ID):
        _message(view, attrs, span.end_ns, span.name, creating=span.status != "ERROR")
    listed = [str(i) for i in as_list(attrs.get(sc.LIST_IDS))]
    if "message" in span.name and sc.LIST_COUNT in attrs:
        for message_id in listed:
            _seen(view, message_id, span.end_ns, span.name)
    for event in span.events:
        _read_event(view, run, event.name, event.attributes, event.time_ns)


def _failure(span: Span) -> str:
    attrs = span.attributes
    parts = [span.name, "failed:", str(attrs.get(sc.FAILURE_CLASS) or attrs.get(sc.ERROR_TYPE) or "error")]
    if attrs.get(sc.HTTP_STATUS_CODE):
        parts.append(f"HTTP {attrs[sc.HTTP_STATUS_CODE]}")
    if attrs.get(sc.ERROR_CODE):
        parts.append(f"code {attrs[sc.ERROR_CODE]}")
    if attrs.get(sc.REQUEST_ID):
        parts.append(f"request {attrs[sc.REQUEST_ID]}")
    return " ".join(parts)


def _run(view: ThreadView, span: Span) -> RunView:
    attrs = span.attributes
    run_id = str(attrs[sc.RUN_ID])
    run = view.runs.setdefault(run_id, RunView(run_id, span.start_ns))
    run.last_ns = max(run.last_ns, span.end_ns)
    if attrs.get(sc.RUN_STEP_ID) or attrs.get(sc.MESSAGE_ID) or sc.LIST_COUNT in attrs:
        return run  # a step's, message's or page's span names its run; the run's own fields are not there
    for request_id in (*as_list(attrs.get(sc.REQUEST_ID)), *as_list(attrs.get(sc.REQUEST_IDS))):
        if request_id not in run.request_ids:
            run.request_ids.append(str(request_id))
    observed = [
        (event.time_ns, str(event.attributes[sc.RUN_STATUS]))
        for event in span.events
        if event.name == sc.EVENT_RUN_STATUS and event.attributes.get(sc.RUN_STATUS)
    ]
    if attrs.get(sc.RUN_STATUS):
        run.status = str(attrs[sc.RUN_STATUS])
        observed.append((span.end_ns, run.status))
    for moment, status in observed:
        if not run.statuses or run.statuses[-1][1] != status:
            run.statuses.append((moment, status))
    run.agent_id = attrs.get(sc.AGENT_ID) or run.agent_id
    run.model = attrs.get(sc.RESPONSE_MODEL) or attrs.get(sc.REQUEST_MODEL) or run.model
    run.deployment = attrs.get(sc.AZURE_DEPLOYMENT) or run.deployment
    run.error_code = attrs.get(sc.RUN_LAST_ERROR_CODE) or run.error_code
    run.incomplete_reason = attrs.get(sc.RUN_INCOMPLETE_REASON) or run.incomplete_reason
    run.required_functions = [str(f) for f in as_list(attrs.get(sc.RUN_REQUIRED_FUNCTIONS))] or (
        run.required_functions
    )
    for name, key in _TIMINGS.items():
        if attrs.get(key) is not None:
            run.timings[name] = float(attrs[key])
    if attrs.get(sc.USAGE_INPUT_TOKENS) is not None or attrs.get(sc.USAGE_OUTPUT_TOKENS) is not None:
        run.tokens = (attrs.get(sc.USAGE_INPUT_TOKENS), attrs.get(sc.USAGE_OUTPUT_TOKENS))
    for message_id in as_list(attrs.get(sc.RUN_MESSAGE_IDS)):
        _seen(view, str(message_id), span.end_ns, span.name).run_id = run_id
        _add(run.message_ids, str(message_id))
    for step_id in as_list(attrs.get(sc.RUN_STEP_IDS)):
        run.steps.setdefault(str(step_id), StepView(str(step_id), span.end_ns))
    return run


def _step(view: ThreadView, run: RunView | None, attrs: dict[str, Any], at_ns: int) -> None:
    run_id = attrs.get(sc.RUN_ID)
    if run is None and run_id:
        run = view.runs.setdefault(str(run_id), RunView(str(run_id), at_ns))
    if run is None:
        return
    step_id = str(attrs[sc.RUN_STEP_ID])
    step = run.steps.setdefault(step_id, StepView(step_id, at_ns))
    step.type = attrs.get(sc.RUN_STEP_TYPE) or step.type
    step.status = attrs.get(sc.RUN_STEP_STATUS) or step.status
    step.tool_types = [str(t) for t in as_list(attrs.get(sc.RUN_STEP_TOOL_TYPES))] or step.tool_types
    step.error_code = attrs.get(sc.RUN_LAST_ERROR_CODE) or step.error_code
    if attrs.get(sc.RUN_STEP_DURATION) is not None:
        step.duration_s = float(attrs[sc.RUN_STEP_DURATION])
    if attrs.get(sc.MESSAGE_ID):
        step.message_id = str(attrs[sc.MESSAGE_ID])
        message = _seen(view, step.message_id, at_ns, "run step")
        message.run_id = run.run_id
        message.role = message.role or "assistant"  # a message_creation step's message is the reply
        _add(run.message_ids, step.message_id)


def _message(view: ThreadView, attrs: dict[str, Any], at_ns: int, seen_by: str, creating: bool) -> None:
    message = _seen(view, str(attrs[sc.MESSAGE_ID]), at_ns, seen_by)
    message.role = attrs.get(sc.MESSAGE_ROLE) or message.role
    message.status = attrs.get(sc.MESSAGE_STATUS) or message.status
    message.run_id = attrs.get(sc.RUN_ID) or message.run_id
    message.text_length = attrs.get(sc.MESSAGE_TEXT_LENGTH, message.text_length)
    message.fingerprint = attrs.get(sc.MESSAGE_FINGERPRINT) or message.fingerprint
    message.incomplete_reason = attrs.get(sc.MESSAGE_INCOMPLETE_REASON) or message.incomplete_reason
    if creating and message.request_id is None and attrs.get(sc.REQUEST_ID):
        message.request_id = str(attrs[sc.REQUEST_ID])
    if message.run_id:
        run = view.runs.setdefault(message.run_id, RunView(message.run_id, at_ns))
        _add(run.message_ids, message.message_id)


def _read_event(view: ThreadView, run: RunView | None, name: str, attrs: dict[str, Any], at: int) -> None:
    if name == sc.EVENT_RUN_STEP and attrs.get(sc.RUN_STEP_ID):
        _step(view, run if run and attrs.get(sc.RUN_ID) in (None, run.run_id) else None, attrs, at)
    elif name == sc.EVENT_MESSAGE and attrs.get(sc.MESSAGE_ID):
        _message(view, attrs, at, "message event", creating=False)
    elif name == sc.EVENT_REPLY and attrs.get(sc.MESSAGE_ID):
        message = _seen(view, str(attrs[sc.MESSAGE_ID]), at, "reply event")
        message.role = message.role or "assistant"
        message.reply_to = attrs.get(sc.REPLY_TO_MESSAGE_ID) or message.reply_to
        if attrs.get(sc.REPLY_TIME) is not None:
            message.reply_time_s = float(attrs[sc.REPLY_TIME])
    outcomes = safety_outcomes(attrs)
    if outcomes:
        view.safety.append(f"{name}: {', '.join(outcomes)}")


def _seen(view: ThreadView, message_id: str, at_ns: int, seen_by: str) -> MessageView:
    message = view.messages.setdefault(message_id, MessageView(message_id, at_ns))
    message.first_ns = min(message.first_ns, at_ns)
    _add(message.seen_by, seen_by)
    return message


def _add(values: list[str], value: str) -> None:
    if value not in values:
        values.append(value)


def _text(value: Any) -> str:
    return ",".join(str(v) for v in value) if isinstance(value, (list, tuple)) else str(value)
