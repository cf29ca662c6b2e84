"""Reading exported spans back: the JSON-lines file, streamed one line at a time.

``Span`` is the one shape every reader produces (this file, OTLP JSON and Application
Insights in ``sources``), so the commands built on it do not care where spans came from.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from .. import semconv as sc


@dataclass(frozen=True)
class Event:
    name: str
    time_ns: int
    attributes: dict[str, Any]


@dataclass(frozen=True)
class Span:
    name: str
    start_ns: int
    end_ns: int
    status: str  # UNSET, OK or ERROR
    attributes: dict[str, Any]
    trace_id: str = ""  # hex
    span_id: str = ""
    parent_id: str = ""
    events: tuple[Event, ...] = ()

    @property
    def duration_ms(self) -> float:
        return (self.end_ns - self.start_ns) / 1e6

    def get(self, key: str, default: Any = None) -> Any:
        return self.attributes.get(key, default)


def read_spans(path: str) -> Iterator[Span]:
    """Spans from a JSON-lines file written by the ``file`` exporter (other lines are skipped)."""
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and record.get("signal") == "span":
                yield span_from_record(record)


def span_from_record(record: dict[str, Any]) -> Span:
    """One ``{"signal": "span"}`` record of the ``file`` exporter."""
    events = tuple(
        Event(str(e.get("name")), int(e.get("time_unix_nano") or 0), dict(e.get("attributes") or {}))
        for e in record.get("events") or ()
        if isinstance(e, dict)
    )
    return Span(
        name=str(record.get("name")),
        start_ns=int(record.get("start_time_unix_nano") or 0),
        end_ns=int(record.get("end_time_unix_nano") or 0),
        status=str(record.get("status")),
        attributes=dict(record.get("attributes") or {}),
        trace_id=str(record.get("trace_id") or ""),
        span_id=str(record.get("span_id") or ""),
        parent_id=str(record.get("parent_span_id") or ""),
        events=events,
    )


def of_threads(spans: Iterable[Span], thread_ids: set[str]) -> dict[str, list[Span]]:
    """The spans of each thread, in start order; runs are tied to their thread by id."""
    run_thread: dict[str, str] = {}
    by_thread: dict[str, list[Span]] = {thread_id: [] for thread_id in thread_ids}
    pending: list[Span] = []
    for span in spans:
        thread_id, run_id = span.get(sc.THREAD_ID), span.get(sc.RUN_ID)
        if thread_id and run_id:
            run_thread[run_id] = thread_id
        pending.append(span)
    for span in pending:
        thread_id = span.get(sc.THREAD_ID) or run_thread.get(span.get(sc.RUN_ID, ""))
        if thread_id in by_thread:
            by_thread[thread_id].append(span)
    for found in by_thread.values():
        found.sort(key=lambda s: s.start_ns)
    return by_thread
