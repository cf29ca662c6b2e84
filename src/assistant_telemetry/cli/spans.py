"""Reading exported spans back: the JSON-lines file, streamed one line at a time."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from .. import semconv as sc


@dataclass(frozen=True)
class Span:
    name: str
    start_ns: int
    end_ns: int
    status: str
    attributes: dict[str, Any]

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
                yield Span(
                    name=str(record.get("name")),
                    start_ns=int(record.get("start_time_unix_nano") or 0),
                    end_ns=int(record.get("end_time_unix_nano") or 0),
                    status=str(record.get("status")),
                    attributes=dict(record.get("attributes") or {}),
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
