"""``assistant-telemetry check``: anomalies worth an alert, found in one streaming pass.

- ``completed_without_message``: a run seen ``completed`` but no assistant message of it was
  observed (no message span or event with its run id and role assistant, no step naming
  its message, no ``run.message_ids``). For telemetry without message events (recorded
  before they existed), a ``list_messages`` of the thread started after the run was seen
  completed counts as observing it.
- ``duplicate_idempotency_key``: one idempotency key (``correlate(idempotency_key=...)``)
  created two messages, or started two runs, within the window.
- ``duplicate_fingerprint``: the same message fingerprint twice within the window from the
  same user (``correlation.user_hash`` / ``.user``), else in the same thread.
- ``stuck_run``: a run last seen ``queued`` or ``in_progress`` for longer than the threshold
  (measured up to ``--as-of``, default now).
- ``long_thread``: a thread with more distinct messages than the threshold.

Memory is bounded by what is open, not by the input: per thread a set of message-id hashes
(at most 4x the threshold), per unfinished run a few numbers, finished runs as hashes, and
the submissions per key or fingerprint of the last window (plus ``SLACK_NS`` for spans that
arrive out of order; at most ``RECENT_CAP``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

from .. import semconv as sc
from .sources import add_source_arguments, open_source
from .spans import Span
from .story import as_list, thread_of
from .timeline import emit

ACTIVE = frozenset({"queued", "in_progress"})
TERMINAL = frozenset({"completed", "failed", "cancelled", "expired", "incomplete"})
CREATE_MESSAGE = "create_message"  # the operation name of messages.create (instrumentors/openai.py)
RECENT_CAP = 200_000  # idempotency keys and fingerprints remembered
PER_KEY_CAP = 8  # submissions remembered per key or fingerprint
SLACK_NS = 600 * 10**9  # how far out of time order spans may arrive (export batches, several files)


@dataclass(frozen=True)
class Limits:
    stuck_after_s: float = 600.0
    max_messages: int = 100
    window_s: float = 60.0
    as_of_ns: int | None = None  # None: now


@dataclass
class Finding:
    kind: str
    subject: str  # an id to give to `assistant-telemetry timeline`
    thread_id: str | None
    detail: str
    ids: list[str] = field(default_factory=list)  # what was duplicated (at most PER_KEY_CAP)
    count: int = 1  # how many submissions a duplicate finding covers

    def line(self) -> str:
        thread = f"  thread {self.thread_id}" if self.thread_id and self.thread_id != self.subject else ""
        return f"{self.kind:<27} {self.subject}{thread}  {self.detail}"


class _Run:
    __slots__ = ("completed_ns", "last_ns", "observed", "since_ns", "status", "thread")

    def __init__(self, thread: str | None):
        self.thread = thread
        self.status: str | None = None
        self.since_ns = self.last_ns = 0
        self.completed_ns: int | None = None
        self.observed = False


class _Thread:
    __slots__ = ("last_list_ns", "messages", "more")

    def __init__(self) -> None:
        self.messages: set[int] = set()  # hashes of the distinct message ids seen
        self.more = False  # stopped counting at the cap
        self.last_list_ns = 0


class Checker:
    """Feed it spans (any order); ``findings()`` at the end."""

    def __init__(self, limits: Limits):
        self.limits = limits
        self.window_ns = int(limits.window_s * 1e9)
        self.spans = 0
        self.runs: dict[str, _Run] = {}
        self.finished: set[int] = set()  # hashes of runs that can no longer be anomalies
        self.threads: dict[str, _Thread] = {}
        self.message_events = False
        self.keys: OrderedDict[tuple[str, str], list[tuple[int, str, str | None]]] = OrderedDict()
        self.prints: OrderedDict[tuple[str, str], list[tuple[int, str, str | None]]] = OrderedDict()
        self.duplicates: dict[tuple[str, str], Finding] = {}
        self.latest_ns = 0

    def add_all(self, spans: Iterable[Span]) -> Checker:
        for span in spans:
            self.add(span)
        return self

    def add(self, span: Span) -> None:
        self.spans += 1
        attrs = span.attributes
        thread_id = thread_of(attrs)
        thread = self.threads.setdefault(thread_id, _Thread()) if thread_id else None
        run_id = attrs.get(sc.RUN_ID)
        if run_id and not (attrs.get(sc.RUN_STEP_ID) or attrs.get(sc.MESSAGE_ID)):
            for moment, status in _statuses(span):
                self._status(str(run_id), thread_id, status, moment)
        if thread is not None:
            self._length(thread, attrs, span)
        self._observations(span)
        if span.status != "ERROR":
            self._submissions(span, thread_id)

    # --- runs

    def _run(self, run_id: str, thread: str | None) -> _Run | None:
        if hash(run_id) in self.finished:
            return None
        run = self.runs.get(run_id)
        if run is None:
            run = self.runs[run_id] = _Run(thread)
        run.thread = run.thread or thread
        return run

    def _status(self, run_id: str, thread: str | None, status: str, at: int) -> None:
        run = self._run(run_id, thread)
        if run is None:
            return
        if status == "completed" and (run.completed_ns is None or at < run.completed_ns):
            run.completed_ns = at
        if at >= run.last_ns:
            if status != run.status:
                run.status, run.since_ns = status, at
            run.last_ns = at
        elif status == run.status and at < run.since_ns:
            run.since_ns = at
        self._settle(run_id, run)

    def _observed(self, run_id: str) -> None:
        run = self._run(run_id, None)
        if run is not None:
            run.observed = True
            self._settle(run_id, run)

    def _settle(self, run_id: str, run: _Run) -> None:
        """A finished run that completed with its message seen (or did not complete) is forgotten."""
        if run.status in TERMINAL and (run.completed_ns is None or run.observed):
            del self.runs[run_id]
            self.finished.add(hash(run_id))

    def _observations(self, span: Span) -> None:
        """Assistant messages of a run seen: message spans and events, steps, a stream's message ids."""
        for attrs in (span.attributes, *(e.attributes for e in span.events if e.name != sc.EVENT_RUN_STATUS)):
            run_id = attrs.get(sc.RUN_ID)
            if not run_id:
                continue
            by_message = attrs.get(sc.MESSAGE_ID) and attrs.get(sc.MESSAGE_ROLE) == "assistant"
            by_step = attrs.get(sc.RUN_STEP_ID) and attrs.get(sc.MESSAGE_ID)
            if by_message or by_step or attrs.get(sc.RUN_MESSAGE_IDS):
                self._observed(str(run_id))
        if any(e.name == sc.EVENT_MESSAGE for e in span.events):
            self.message_events = True

    # --- threads

    def _length(self, thread: _Thread, attrs: dict[str, Any], span: Span) -> None:
        ids = [attrs.get(sc.MESSAGE_ID), *as_list(attrs.get(sc.RUN_MESSAGE_IDS))]
        if "message" in span.name and sc.LIST_COUNT in attrs:  # a page of the thread's messages
            ids += as_list(attrs.get(sc.LIST_IDS))
            thread.last_list_ns = max(thread.last_list_ns, span.start_ns)
        ids += [e.attributes.get(sc.MESSAGE_ID) for e in span.events if e.name == sc.EVENT_MESSAGE]
        cap = 4 * self.limits.max_messages
        for message_id in ids:
            if message_id and not thread.more:
                thread.messages.add(hash(str(message_id)))
                thread.more = len(thread.messages) >= cap

    # --- duplicates

    def _submissions(self, span: Span, thread_id: str | None) -> None:
        attrs = span.attributes
        created = attrs.get(sc.MESSAGE_ID) if span.name == CREATE_MESSAGE else None
        key = attrs.get(sc.CORRELATION_IDEMPOTENCY_KEY)
        if key:  # one submission makes one message and one run: two of either is a duplicate
            if created:
                self._remember(
                    self.keys, (str(key), "message"), span.start_ns, f"message {created}", thread_id
                )
            if attrs.get(sc.RUN_ID) and attrs.get(sc.RUN_STATUS) and not attrs.get(sc.RUN_STEP_ID):
                what = f"run {attrs[sc.RUN_ID]}"
                self._remember(self.keys, (str(key), "run"), span.start_ns, what, thread_id)
        prints = [attrs.get(sc.MESSAGE_FINGERPRINT)] if created else []
        prints += as_list(attrs.get(sc.MESSAGE_FINGERPRINTS))
        user = attrs.get(sc.CORRELATION_USER_HASH) or attrs.get(sc.CORRELATION_USER)
        scope = f"from user {user}" if user else f"in thread {thread_id}"
        for index, fingerprint in enumerate(p for p in prints if p):
            what = f"message {created}" if created else f"{span.name} {span.span_id or span.start_ns}#{index}"
            self._remember(self.prints, (str(scope), str(fingerprint)), span.start_ns, what, thread_id)

    def _remember(
        self, recent: OrderedDict[Any, Any], key: Any, at: int, what: str, thread: str | None
    ) -> None:
        seen = recent.get(key)
        if seen is None:
            seen = recent[key] = []
        recent.move_to_end(key)
        if any(what == w for _, w, _ in seen):
            return  # the same message or run seen again (a retrieve, a poll)
        close = [(t, w, th) for t, w, th in seen if abs(at - t) <= self.window_ns]
        if close:
            self._duplicate(recent is self.keys, key, [*close, (at, what, thread)])
        seen.append((at, what, thread))
        del seen[:-PER_KEY_CAP]
        self.latest_ns = max(self.latest_ns, at)
        # Least recently seen first: forget what can no longer be close to anything still to come.
        horizon = self.latest_ns - self.window_ns - SLACK_NS
        while recent and (len(recent) > RECENT_CAP or next(iter(recent.values()))[-1][0] < horizon):
            recent.popitem(last=False)

    def _duplicate(
        self, by_key: bool, key: tuple[str, str], items: list[tuple[int, str, str | None]]
    ) -> None:
        kind = "duplicate_idempotency_key" if by_key else "duplicate_fingerprint"
        subject = key[0] if by_key else key[1]
        found = self.duplicates.get((kind, subject))
        whats = [w for _, w, _ in items]
        threads = sorted({th for _, _, th in items if th})
        if found is None:
            found = Finding(kind, subject, threads[0] if threads else None, "", count=1)
            self.duplicates[(kind, subject)] = found
        found.count += 1  # the submission that made it a duplicate
        for what in whats:
            if what not in found.ids and len(found.ids) < PER_KEY_CAP:
                found.ids.append(what)
        spread = (max(t for t, _, _ in items) - min(t for t, _, _ in items)) / 1e6
        scope = "" if by_key else f" {key[0]}"
        found.detail = f"{found.count} submissions{scope} within {spread:.0f} ms: {', '.join(found.ids)}"
        if len(threads) > 1:
            found.detail += f" (threads {', '.join(threads)})"

    # --- results

    def findings(self) -> list[Finding]:
        as_of = self.limits.as_of_ns if self.limits.as_of_ns is not None else time.time_ns()
        found = list(self.duplicates.values())
        for run_id, run in self.runs.items():
            if run.status in ACTIVE and as_of - run.since_ns > self.limits.stuck_after_s * 1e9:
                waited = (as_of - run.since_ns) / 1e9
                found.append(Finding("stuck_run", run_id, run.thread, f"{run.status} for {waited:.0f} s"))
            elif run.completed_ns is not None and not run.observed and not self._listed_after(run):
                detail = "completed, but no assistant message of it was observed"
                found.append(Finding("completed_without_message", run_id, run.thread, detail))
        for thread_id, thread in self.threads.items():
            count = len(thread.messages)
            if count > self.limits.max_messages:
                more = "at least " if thread.more else ""
                detail = f"{more}{count} messages (threshold {self.limits.max_messages})"
                found.append(Finding("long_thread", thread_id, thread_id, detail))
        return sorted(found, key=lambda f: (f.kind, f.subject))

    def _listed_after(self, run: _Run) -> bool:
        if self.message_events or run.thread is None or run.thread not in self.threads:
            return False
        return self.threads[run.thread].last_list_ns >= (run.completed_ns or 0)

    def summary(self) -> str:
        return f"{self.spans} spans, {len(self.threads)} threads read"


def _statuses(span: Span) -> Iterator[tuple[int, str]]:
    for event in span.events:
        if event.name == sc.EVENT_RUN_STATUS and event.attributes.get(sc.RUN_STATUS):
            yield event.time_ns, str(event.attributes[sc.RUN_STATUS])
    if span.attributes.get(sc.RUN_STATUS):
        yield span.end_ns, str(span.attributes[sc.RUN_STATUS])


def render_text(findings: list[Finding], checker: Checker, source: str) -> Iterator[str]:
    if not findings:
        yield f"check: nothing found in {source} ({checker.summary()})"
        return
    yield f"check: {len(findings)} finding(s) in {source} ({checker.summary()})"
    for finding in findings:
        yield finding.line()


def dumps(findings: list[Finding], checker: Checker, source: str) -> str:
    data = {
        "source": source,
        "spans": checker.spans,
        "threads": len(checker.threads),
        "findings": [asdict(f) for f in findings],
    }
    return json.dumps(data, indent=2)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    limits = parser.add_argument_group("thresholds")
    limits.add_argument(
        "--stuck-after",
        type=float,
        default=600.0,
        metavar="SECONDS",
        help="a run queued or in progress longer than this is stuck (default 600)",
    )
    limits.add_argument(
        "--max-messages",
        type=int,
        default=100,
        metavar="N",
        help="a thread with more distinct messages than this is long (default 100)",
    )
    limits.add_argument(
        "--window",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="two submissions closer than this are duplicates (default 60)",
    )
    limits.add_argument(
        "--as-of",
        metavar="TIME",
        help="measure stuck runs up to this moment (ISO 8601 or Unix seconds; default now)",
    )
    parser.add_argument("--json", action="store_true", help="the findings as JSON on stdout")
    add_source_arguments(parser)


def run_check(args: argparse.Namespace, credential: Any = None) -> int:
    """The command: 0 when nothing is found, 1 when anything is, 2 when the source fails."""
    try:
        limits = Limits(args.stuck_after, args.max_messages, args.window, _moment(args.as_of))
        source = open_source(args, credential, default_since="1d")
        checker = Checker(limits).add_all(source.scan())
    except (OSError, ValueError, RuntimeError) as error:
        print(f"check: {error}", file=sys.stderr)
        return 2
    findings = checker.findings()
    emit(
        [dumps(findings, checker, source.label)]
        if args.json
        else render_text(findings, checker, source.label)
    )
    return 1 if findings else 0


def _moment(text: str | None) -> int | None:
    if not text:
        return None
    try:
        return int(float(text) * 1e9)
    except ValueError:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        return int(moment.timestamp() * 1e9)
