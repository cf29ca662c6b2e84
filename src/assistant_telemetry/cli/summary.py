"""A per-thread story in plain text: thread -> runs -> messages, with request ids and latencies."""

from __future__ import annotations

from collections.abc import Iterator

from .. import semconv as sc
from .spans import Span


def render_thread(thread_id: str, spans: list[Span]) -> Iterator[str]:
    """Lines describing one thread; each call shows latency, status and provider request id."""
    if not spans:
        yield f"thread {thread_id}: no spans recorded"
        return
    origin = spans[0].start_ns
    total_ms = (max(s.end_ns for s in spans) - origin) / 1e6
    yield f"thread {thread_id}  ({len(spans)} calls over {total_ms:.0f} ms)"
    current_run = None
    for span in spans:
        run_id = span.get(sc.RUN_ID)
        if run_id and run_id != current_run and span.name != "list_messages":
            current_run = run_id
            yield f"  run {run_id}  agent {span.get(sc.AGENT_ID, '?')}"
        indent = "    " if run_id and run_id == current_run else "  "
        yield indent + _call_line(span, origin)
    for span in spans:
        if span.name == "get_run_step" and span.get(sc.MESSAGE_ID):
            run_id, step_id = span.get(sc.RUN_ID), span.get(sc.RUN_STEP_ID)
            yield f"  run {run_id} produced message {span.get(sc.MESSAGE_ID)} (step {step_id})"


def _call_line(span: Span, origin_ns: int) -> str:
    offset = (span.start_ns - origin_ns) / 1e6
    parts = [
        f"+{offset:7.0f} ms",
        f"{span.name:<20}",
        f"{span.duration_ms:6.1f} ms",
        span.get(sc.REQUEST_ID, "-"),
    ]
    detail = _detail(span)
    if detail:
        parts.append(detail)
    if span.status == "ERROR":
        parts.append(f"FAILED {span.get(sc.FAILURE_CLASS, '')} {span.get(sc.HTTP_STATUS_CODE, '')}".rstrip())
    if span.get(sc.RETRIES):
        parts.append(f"after {span.get(sc.RETRIES)} retry(ies)")
    return "  ".join(str(p) for p in parts)


def _detail(span: Span) -> str:
    if span.get(sc.RUN_STATUS):
        usage = ""
        if span.get(sc.USAGE_INPUT_TOKENS) is not None:
            usage = f" tokens {span.get(sc.USAGE_INPUT_TOKENS)}->{span.get(sc.USAGE_OUTPUT_TOKENS)}"
        polls = f" after {span.get(sc.RUN_POLLS)} poll(s)" if span.get(sc.RUN_POLLS) is not None else ""
        tools = span.get(sc.RUN_REQUIRED_FUNCTIONS)
        needs = f" needs {', '.join(tools)}" if tools else ""
        return f"status {span.get(sc.RUN_STATUS)}{polls}{needs}{usage}"
    if span.get(sc.RUN_STEP_ID):
        made = f" -> message {span.get(sc.MESSAGE_ID)}" if span.get(sc.MESSAGE_ID) else ""
        kind, status = span.get(sc.RUN_STEP_TYPE, "?"), span.get(sc.RUN_STEP_STATUS, "")
        return f"step {span.get(sc.RUN_STEP_ID)} {kind} {status}{made}"
    if span.name == "list_messages":
        return f"{span.get(sc.LIST_COUNT, 0)} message(s): {', '.join(span.get(sc.LIST_IDS, []))}"
    if span.get(sc.MESSAGE_ID):
        return f"message {span.get(sc.MESSAGE_ID)} ({span.get(sc.MESSAGE_ROLE, '?')})"
    return ""
