"""``assistant-telemetry timeline ID``: one thread's whole story from any one of its ids.

Told thread -> runs -> steps -> messages with ids, request ids, deployment, statuses,
latencies, safety outcomes and errors: as text, as JSON (``--json``) or as a
self-contained page with a waterfall of the calls (``--html FILE``). See ``story`` for how
the spans are found and read.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterable, Iterator
from typing import Any

from .. import semconv as sc
from .sources import add_source_arguments, open_source
from .spans import Span
from .story import KNOWN_NAMES, MessageView, RunView, Story, ThreadView, UnknownId, shown, timeline


def items_of(thread: ThreadView) -> list[tuple[int, RunView | MessageView]]:
    """The thread's story in order: messages outside runs and runs, by when they were first seen."""
    in_runs = {m for run in thread.runs.values() for m in run.message_ids}
    loose: list[tuple[int, RunView | MessageView]] = [
        (m.first_ns, m) for m in thread.messages.values() if m.message_id not in in_runs and not m.run_id
    ]
    runs: list[tuple[int, RunView | MessageView]] = [(r.first_ns, r) for r in thread.runs.values()]
    return sorted(loose + runs, key=lambda item: item[0])


def render_text(story: Story) -> Iterator[str]:
    origin = min((c.start_ns for c in story.calls), default=0)
    yield f"timeline of {story.needle} (found as {', '.join(story.matched)}) in {story.source}"
    for thread in story.threads:
        yield ""
        yield from _thread_lines(thread, origin)
    if story.other_calls:
        yield ""
        yield "calls outside any thread:"
        for span in story.other_calls:
            yield "  " + call_line(span, origin)


def _thread_lines(thread: ThreadView, origin: int) -> Iterator[str]:
    calls = thread.calls
    took = (max(c.end_ns for c in calls) - calls[0].start_ns) / 1e6
    yield (
        f"thread {thread.thread_id}: {len(calls)} calls over {took:.0f} ms, "
        f"{len(thread.runs)} run(s), {len(thread.messages)} message(s)"
    )
    for key, values in thread.correlation.items():
        yield f"  app {key.rsplit('.', 1)[-1]}: {', '.join(values)}"
    for _, item in items_of(thread):
        if isinstance(item, RunView):
            yield from _run_lines(item, thread, origin)
        else:
            yield "  " + message_line(item, origin)
    for outcome in thread.safety:
        yield f"  safety: {outcome}"
    for error in thread.errors:
        yield f"  error: {error}"
    yield "  calls:"
    for span in calls:
        yield "    " + call_line(span, origin)


def _run_lines(run: RunView, thread: ThreadView, origin: int) -> Iterator[str]:
    parts = [f"run {run.run_id}", f"status {run.status or '?'}", f"agent {run.agent_id or '?'}"]
    parts += [f"model {run.model}"] if run.model else []
    parts += [f"deployment {run.deployment}"] if run.deployment else []
    parts += [f"{name.removesuffix('_s')} {value:g} s" for name, value in run.timings.items()]
    parts += [f"tokens {run.tokens[0]}->{run.tokens[1]}"] if run.tokens else []
    parts += [f"error {run.error_code}"] if run.error_code else []
    parts += [f"incomplete {run.incomplete_reason}"] if run.incomplete_reason else []
    yield "  " + "  ".join(parts)
    if run.statuses:
        yield "    statuses: " + " -> ".join(f"{s} (+{(t - origin) / 1e6:.0f} ms)" for t, s in run.statuses)
    if run.required_functions:
        yield f"    asked for tools: {', '.join(run.required_functions)}"
    if run.request_ids:
        yield f"    requests: {', '.join(run.request_ids)}"
    for step in sorted(run.steps.values(), key=lambda s: s.first_ns):
        made = f" -> message {step.message_id}" if step.message_id else ""
        tools = f" tools {','.join(step.tool_types)}" if step.tool_types else ""
        took = f" {step.duration_s:g} s" if step.duration_s is not None else ""
        error = f" error {step.error_code}" if step.error_code else ""
        yield f"    step {step.step_id} {step.type or '?'} {step.status or '?'}{took}{tools}{error}{made}"
    for message_id in run.message_ids:
        if message_id in thread.messages:
            yield "    " + message_line(thread.messages[message_id], origin)


def message_line(message: MessageView, origin: int) -> str:
    parts = [f"message {message.message_id}", message.role or "?"]
    parts += [message.status] if message.status else []
    parts += [f"text_length {message.text_length}"] if message.text_length is not None else []
    parts += [f"fingerprint {message.fingerprint}"] if message.fingerprint else []
    parts += [f"incomplete {message.incomplete_reason}"] if message.incomplete_reason else []
    if message.reply_to:
        took = f" in {message.reply_time_s:g} s" if message.reply_time_s is not None else ""
        parts.append(f"reply to {message.reply_to}{took}")
    parts += [f"request {message.request_id}"] if message.request_id else []
    parts.append(f"seen +{(message.first_ns - origin) / 1e6:.0f} ms by {', '.join(message.seen_by)}")
    return "  ".join(parts)


def call_line(span: Span, origin_ns: int) -> str:
    attrs = span.attributes
    parts = [
        f"+{(span.start_ns - origin_ns) / 1e6:7.0f} ms",
        f"{span.name:<22}",
        f"{span.duration_ms:7.1f} ms",
    ]
    parts.append(str(attrs.get(sc.REQUEST_ID) or "-"))
    if attrs.get(sc.AZURE_SERVICE_REQUEST_ID):
        parts.append(f"azure {attrs[sc.AZURE_SERVICE_REQUEST_ID]}")
    for key, label in ((sc.RUN_ID, "run"), (sc.RUN_STEP_ID, "step"), (sc.MESSAGE_ID, "message")):
        if attrs.get(key):
            parts.append(f"{label} {attrs[key]}")
    if attrs.get(sc.RUN_STATUS):
        parts.append(f"status {attrs[sc.RUN_STATUS]}")
    if span.status == "ERROR":
        why = [str(attrs[key]) for key in (sc.FAILURE_CLASS, sc.HTTP_STATUS_CODE) if attrs.get(key)]
        parts.append(" ".join(["FAILED", *why]))
    else:
        parts.append("ok")
    if attrs.get(sc.RETRIES):
        parts.append(f"after {attrs[sc.RETRIES]} retry(ies)")
    return "  ".join(parts)


def to_json(story: Story) -> dict[str, Any]:
    return {
        "id": story.needle,
        "found_as": story.matched,
        "source": story.source,
        "threads": [
            {
                "thread_id": t.thread_id,
                "correlation": t.correlation,
                "story": [_item_json(item) for _, item in items_of(t)],
                "runs": [_run_json(r) for r in t.runs.values()],
                "messages": [vars(m) for m in t.messages.values()],
                "safety": t.safety,
                "errors": t.errors,
                "calls": [call_json(c) for c in t.calls],
            }
            for t in story.threads
        ],
        "other_calls": [call_json(c) for c in story.other_calls],
    }


def _item_json(item: RunView | MessageView) -> dict[str, str]:
    if isinstance(item, RunView):
        return {"run_id": item.run_id}
    return {"message_id": item.message_id}


def _run_json(run: RunView) -> dict[str, Any]:
    data = dict(vars(run))
    data["statuses"] = [{"time_unix_nano": t, "status": s} for t, s in run.statuses]
    data["steps"] = [vars(s) for s in run.steps.values()]
    data["tokens"] = {"input": run.tokens[0], "output": run.tokens[1]} if run.tokens else None
    return data


def call_json(span: Span) -> dict[str, Any]:
    return {
        "name": span.name,
        "trace_id": span.trace_id,
        "span_id": span.span_id,
        "parent_span_id": span.parent_id or None,
        "start_time_unix_nano": span.start_ns,
        "end_time_unix_nano": span.end_ns,
        "duration_ms": round(span.duration_ms, 3),
        "status": span.status,
        "attributes": shown(span.attributes),
        "events": [
            {"name": e.name, "time_unix_nano": e.time_ns, "attributes": shown(e.attributes)}
            for e in span.events
            if e.name in KNOWN_NAMES
        ],
    }


def dumps(story: Story) -> str:
    return json.dumps(to_json(story), indent=2, default=str)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("id", help="a thread/conversation, run, message, step or request id (or your own)")
    output = parser.add_argument_group("output")
    output.add_argument("--json", action="store_true", help="the story as JSON on stdout")
    output.add_argument("--html", metavar="FILE", help="also write a self-contained page with a waterfall")
    add_source_arguments(parser)


def run_timeline(args: argparse.Namespace, credential: Any = None) -> int:
    """The command: 0 with the story told, 1 when no span names the id, 2 when the source fails."""
    try:
        source = open_source(args, credential, default_since="30d")
        story = timeline(source, args.id)
    except UnknownId:
        print(f"timeline: no span in {source.label} names {args.id!r}", file=sys.stderr)
        return 1
    except (OSError, ValueError, RuntimeError) as error:
        print(f"timeline: {error}", file=sys.stderr)
        return 2
    if args.html:
        from .html import render_html

        with open(args.html, "w", encoding="utf-8") as page:
            page.write(render_html(story))
    lines = [dumps(story)] if args.json else list(render_text(story))
    if args.html and not args.json:
        lines.append(f"\nwaterfall written to {args.html}")
    emit(lines)
    return 0


def emit(lines: Iterable[str]) -> None:
    """Print to stdout; a reader that went away (``| head``) is not an error."""
    try:
        for line in lines:
            print(line)
        sys.stdout.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the flush at exit does not fail again
