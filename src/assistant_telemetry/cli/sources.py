"""Where ``timeline`` and ``check`` read spans: JSON lines, OTLP JSON files, Application Insights.

Every reader streams: files are read one line at a time (an OTLP JSON line is one export
batch), Application Insights is queried in time slices. ``scan(needles)`` may skip what
cannot mention any of the needles (a byte search on the raw line, a KQL filter), so the
caller still checks each span it gets; ``scan()`` without needles yields everything.
"""

from __future__ import annotations

import argparse
import ast
import base64
import binascii
import json
import os
import re
import sys
import time
from collections.abc import Collection, Iterable, Iterator, Mapping
from datetime import datetime, timedelta, timezone
from typing import IO, Any, Protocol

from .. import semconv as sc
from ..file_exporter import default_path, rotated_set
from .spans import Event, Span, span_from_record

MB = 1 << 20
_OTLP_STATUS = {2: "ERROR", "STATUS_CODE_ERROR": "ERROR", 1: "OK", "STATUS_CODE_OK": "OK"}
_NUMBER = re.compile(r"-?\d+(\.\d+)?")
_SAFE_ID = re.compile(r"[A-Za-z0-9_.:\-]{1,128}")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
# The plugin's span event names, for KQL: the traces rows worth reading.
_EVENTS = ", ".join(json.dumps(v) for k, v in sorted(vars(sc).items()) if k.startswith("EVENT_"))


class Progress:
    """Progress of long reads on stderr: once ``interval_s`` has passed, at most every ``interval_s``."""

    def __init__(self, stream: IO[str] | None = None, interval_s: float = 2.0, enabled: bool = True):
        self.stream = stream if stream is not None else sys.stderr
        self.interval_s = interval_s
        self.enabled = enabled
        self.label = ""
        self.total = 0
        self.done = 0
        self._next_check = MB
        self._started = self._last = time.monotonic()

    def start(self, label: str, total_bytes: int) -> None:
        self.label, self.total, self.done, self._next_check = label, total_bytes, 0, MB
        self._started = self._last = time.monotonic()

    def advance(self, nbytes: int) -> None:
        self.done += nbytes
        if self.done < self._next_check:
            return
        self._next_check = self.done + MB
        now = time.monotonic()
        if self.enabled and now - self._last >= self.interval_s:
            self._last = now
            share = f" ({100 * self.done / self.total:.0f}%)" if self.total else ""
            self.note(f"{self.done / MB:.0f} of {self.total / MB:.0f} MB{share}, {now - self._started:.1f} s")

    def note(self, message: str) -> None:
        if self.enabled:
            print(f"reading {self.label}: {message}", file=self.stream, flush=True)


class SpanSource(Protocol):
    label: str

    def scan(self, needles: Collection[str] | None = None) -> Iterator[Span]: ...


# --------------------------------------------------------------------------- files


class FileSource:
    """Files and folders of JSON lines: our ``file`` exporter's, or the Collector's OTLP JSON.

    The format is recognised per file from its first record; folders are read in name order.
    """

    def __init__(self, paths: Iterable[str], progress: Progress | None = None):
        self.paths = list(paths)
        self.progress = progress or Progress(enabled=False)
        self.label = ", ".join(self.paths)

    def files(self) -> list[str]:
        """Every file to read; a file comes with its rotated set (``path.2``, ``path.1``, oldest first)."""
        found: list[str] = []
        for path in self.paths:
            if os.path.isdir(path):
                names = sorted(os.listdir(path), key=_rotation_order)
                found += [os.path.join(path, n) for n in names if os.path.isfile(os.path.join(path, n))]
                continue
            rotated = rotated_set(path)
            if not rotated:
                raise FileNotFoundError(f"no such file or folder: {path}")
            found += [f for f in rotated if f not in found]
        return found

    def scan(self, needles: Collection[str] | None = None) -> Iterator[Span]:
        wanted = [json.dumps(n)[1:-1].encode() for n in needles] if needles is not None else None
        for path in self.files():
            yield from self._scan_file(path, wanted)

    def _scan_file(self, path: str, wanted: list[bytes] | None) -> Iterator[Span]:
        self.progress.start(path, os.path.getsize(path))
        with open(path, "rb") as lines:
            for line in lines:
                self.progress.advance(len(line))
                if wanted is not None and not any(n in line for n in wanted):
                    continue
                if line.startswith(b'{"signal":"metric"'):
                    continue  # the file exporter's metric points: cheap to skip unparsed
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if not isinstance(record, dict):
                    continue
                if record.get("signal") == "span":
                    yield span_from_record(record)
                elif "resourceSpans" in record:
                    yield from otlp_spans(record)


_ROTATED = re.compile(r"(.*)\.(\d+)")


def _rotation_order(name: str) -> tuple[str, int]:
    """Name order, except that a rotated set reads oldest first: ``x.2``, ``x.1``, ``x``."""
    match = _ROTATED.fullmatch(name)
    return (match.group(1), -int(match.group(2))) if match else (name, 0)


# ------------------------------------------------------------------------ OTLP JSON


def otlp_spans(request: Mapping[str, Any]) -> Iterator[Span]:
    """Spans of one ExportTraceServiceRequest in OTLP/JSON (as the Collector's file exporter writes)."""
    for resource_spans in request.get("resourceSpans") or ():
        for scope_spans in resource_spans.get("scopeSpans") or ():
            for span in scope_spans.get("spans") or ():
                yield _otlp_span(span)


def _otlp_span(span: Mapping[str, Any]) -> Span:
    status = span.get("status") or {}
    events = tuple(
        Event(str(e.get("name")), int(e.get("timeUnixNano") or 0), otlp_attributes(e.get("attributes")))
        for e in span.get("events") or ()
    )
    return Span(
        name=str(span.get("name")),
        start_ns=int(span.get("startTimeUnixNano") or 0),
        end_ns=int(span.get("endTimeUnixNano") or 0),
        status=_OTLP_STATUS.get(status.get("code"), "UNSET"),
        attributes=otlp_attributes(span.get("attributes")),
        trace_id=otlp_id(span.get("traceId")),
        span_id=otlp_id(span.get("spanId")),
        parent_id=otlp_id(span.get("parentSpanId")),
        events=events,
    )


def otlp_id(value: Any) -> str:
    """Hex as OTLP/JSON specifies; base64 (protobuf's generic JSON mapping) is converted."""
    if not isinstance(value, str) or not value:
        return ""
    if len(value) in (16, 32) and all(c in "0123456789abcdefABCDEF" for c in value):
        return value.lower()
    try:
        return base64.b64decode(value, validate=True).hex()
    except (ValueError, binascii.Error):
        return value


def otlp_attributes(items: Any) -> dict[str, Any]:
    return {
        str(kv.get("key")): _any_value(kv.get("value") or {}) for kv in items or () if isinstance(kv, dict)
    }


def _any_value(value: Mapping[str, Any]) -> Any:
    if "stringValue" in value:
        return value["stringValue"]
    if "intValue" in value:
        return int(value["intValue"])
    if "doubleValue" in value:
        return float(value["doubleValue"])
    if "boolValue" in value:
        return bool(value["boolValue"])
    if "arrayValue" in value:
        return [_any_value(v) for v in (value["arrayValue"] or {}).get("values") or ()]
    if "kvlistValue" in value:
        return otlp_attributes((value["kvlistValue"] or {}).get("values"))
    return None


# --------------------------------------------------------------- Application Insights

# The KQL behind the timeline (and the workbook's thread view): the spans that name any of
# the ids (in customDimensions, as span id or as operation id), or whose events name one,
# plus their own events. Only the plugin's event rows are read ({events}): other traces rows
# are application logs, which may hold content.
TIMELINE_KQL = """
let needles = dynamic({needles});
let named_by_events = traces
    | where message in ({events}) and ({match})
    | distinct operation_ParentId;
let spans = dependencies
    | where id in (needles) or operation_Id in (needles) or ({match}) or id in (named_by_events);
union
    (spans | extend row_kind = "span"),
    (traces
        | where message in ({events}) and operation_ParentId in ((spans | project id))
        | extend row_kind = "event", name = message)
| project row_kind, timestamp, id, operation_Id, operation_ParentId, name, duration, success, customDimensions
| order by timestamp asc
"""

# The KQL behind `check` (and the workbook's health view): every span of ours that started in
# one time slice, with its events.
CHECK_KQL = """
let spans = dependencies
    | where timestamp >= datetime({start}) and timestamp < datetime({end})
    | where isnotempty(tostring(customDimensions["{operation}"]));
union
    (spans | extend row_kind = "span"),
    (traces
        | where message in ({events}) and operation_ParentId in ((spans | project id))
        | extend row_kind = "event", name = message)
| project row_kind, timestamp, id, operation_Id, operation_ParentId, name, duration, success, customDimensions
| order by timestamp asc
"""


def timeline_query(needles: Collection[str]) -> str:
    """TIMELINE_KQL for these ids; ids are checked to be plain identifiers (no KQL injection)."""
    bad = [n for n in needles if not _SAFE_ID.fullmatch(n)]
    if bad:
        raise ValueError(f"not an id that can be searched in Application Insights: {bad[0]!r}")
    match = " or ".join(f'tostring(customDimensions) contains "{n}"' for n in sorted(needles))
    return TIMELINE_KQL.format(needles=json.dumps(sorted(needles)), match=match or "false", events=_EVENTS)


def check_query(start: datetime, end: datetime) -> str:
    return CHECK_KQL.format(
        start=_kql_time(start), end=_kql_time(end), operation=sc.OPERATION_NAME, events=_EVENTS
    )


def _kql_time(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class AppInsightsSource:
    """Spans from Application Insights (the ``dependencies`` and ``traces`` tables) via azure-monitor-query.

    ``credential`` defaults to ``DefaultAzureCredential``; ``endpoint`` to the public Log
    Analytics query endpoint. ``check`` reads the time span in slices of ``slice``.
    """

    def __init__(
        self,
        resource_id: str,
        *,
        credential: Any = None,
        endpoint: str | None = None,
        since: timedelta = timedelta(days=30),
        until: datetime | None = None,
        slice: timedelta = timedelta(hours=6),
        progress: Progress | None = None,
    ):
        self.resource_id = resource_id
        self.label = resource_id
        self.endpoint = endpoint
        self.until = until or datetime.now(timezone.utc)
        self.since = self.until - since
        self.slice = slice
        self.progress = progress or Progress(enabled=False)
        self._credential = credential
        self._client: Any = None

    def client(self) -> Any:
        if self._client is None:
            try:
                from azure.monitor.query import LogsQueryClient
            except ImportError as error:
                raise RuntimeError(
                    "--app-insights needs azure-monitor-query and azure-identity: "
                    f"pip install 'assistant-telemetry[query]' ({error})"
                ) from error
            credential = self._credential
            if credential is None:
                from azure.identity import DefaultAzureCredential

                credential = DefaultAzureCredential()
            options = {"endpoint": self.endpoint} if self.endpoint else {}
            self._client = LogsQueryClient(credential, **options)
        return self._client

    def scan(self, needles: Collection[str] | None = None) -> Iterator[Span]:
        if needles is not None:
            if needles:
                yield from self._query(timeline_query(needles), self.since, self.until)
            return
        start, slices = self.since, 0
        total = max(1, int((self.until - self.since) / self.slice + 0.999))
        while start < self.until:
            end = min(start + self.slice, self.until)
            # Events may be written after their span's slice ends: the query window runs on.
            yield from self._query(check_query(start, end), start, min(end + self.slice, self.until))
            start, slices = end, slices + 1
            self.progress.note(f"{slices} of {total} time slices")

    def _query(self, query: str, start: datetime, end: datetime) -> Iterator[Span]:
        options: dict[str, Any] = {}
        if self.endpoint and self.endpoint.startswith(("http://127.", "http://localhost", "http://[::1]")):
            options["enforce_https"] = False  # a loopback endpoint (tests, a local proxy)
        client = self.client()
        try:
            result = client.query_resource(self.resource_id, query, timespan=(start, end), **options)
        except Exception as error:  # azure-core's HttpResponseError, ClientAuthenticationError ...
            raise RuntimeError(
                f"Application Insights query failed: {type(error).__name__}: {error}"
            ) from error
        partial = getattr(result, "partial_error", None)
        if partial is not None:  # a partial result would tell half a story: refuse it
            raise RuntimeError(f"Application Insights query incomplete: {getattr(partial, 'code', partial)}")
        for table in result.tables:
            yield from spans_from_rows(dict(zip(table.columns, row, strict=False)) for row in table.rows)


def spans_from_rows(rows: Iterable[Mapping[str, Any]]) -> Iterator[Span]:
    """Span rows with their event rows attached (one query result, so bounded), in start order."""
    spans: list[dict[str, Any]] = []
    events: dict[str, list[Event]] = {}
    for row in rows:
        if row.get("row_kind") == "event":
            event = Event(
                str(row.get("name")), _ns(row.get("timestamp")), dimensions(row.get("customDimensions"))
            )
            events.setdefault(str(row.get("operation_ParentId")), []).append(event)
        else:
            spans.append(dict(row))
    for row in spans:
        start = _ns(row.get("timestamp"))
        trace_id, parent = str(row.get("operation_Id") or ""), str(row.get("operation_ParentId") or "")
        yield Span(
            name=str(row.get("name")),
            start_ns=start,
            end_ns=start + int(float(row.get("duration") or 0) * 1e6),
            status="ERROR" if str(row.get("success")).lower() == "false" else "UNSET",
            attributes=dimensions(row.get("customDimensions")),
            trace_id=trace_id,
            span_id=str(row.get("id") or ""),
            parent_id="" if parent == trace_id else parent,
            events=tuple(events.get(str(row.get("id")), ())),
        )


def dimensions(value: Any) -> dict[str, Any]:
    """customDimensions back to attribute values: every value arrives as a string."""
    if isinstance(value, str):
        try:
            value = json.loads(value) if value else {}
        except ValueError:
            return {}
    if not isinstance(value, dict):
        return {}
    return {str(k): _typed(v) for k, v in value.items()}


def _typed(value: Any) -> Any:
    """ "400" -> 400, "True" -> True, "('a', 'b')" -> ["a", "b"]: how the exporter stringified them."""
    if not isinstance(value, str):
        return value
    if _NUMBER.fullmatch(value):
        return float(value) if "." in value else int(value)
    if value in ("True", "False"):
        return value == "True"
    if value and value[0] in "([" and value[-1] in ")]":
        try:
            parsed = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            return value
        if isinstance(parsed, (tuple, list)):
            return list(parsed)
    return value


def _ns(value: Any) -> int:
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        return (moment - _EPOCH) // timedelta(microseconds=1) * 1000
    if isinstance(value, str) and value:
        return _ns(datetime.fromisoformat(value.replace("Z", "+00:00")))
    return 0


# ------------------------------------------------------------------------ command line


def add_source_arguments(parser: argparse.ArgumentParser) -> None:
    """The options ``timeline`` and ``check`` share: where to read, and how to report progress."""
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--file",
        help="our JSON-lines file (default: $ASSISTANT_TELEMETRY_FILE or ./assistant-telemetry.jsonl)",
    )
    where.add_argument(
        "--source",
        action="append",
        metavar="PATH",
        help="OTLP JSON as the OpenTelemetry Collector's file exporter writes it: a file or a folder "
        "(repeatable; JSON-lines files of ours are recognised too)",
    )
    where.add_argument(
        "--app-insights",
        metavar="RESOURCE_ID",
        help="an Application Insights resource id, queried with azure-monitor-query (DefaultAzureCredential)",
    )
    parser.add_argument(
        "--since",
        default=None,
        metavar="DURATION",
        help="with --app-insights: how far back to look, e.g. 7d, 12h (timeline default 30d, check 1d)",
    )
    parser.add_argument("--logs-endpoint", help="with --app-insights: the Log Analytics query endpoint")
    parser.add_argument("--quiet", action="store_true", help="no progress messages on stderr")
    parser.add_argument("--progress-interval", type=float, default=2.0, help=argparse.SUPPRESS)


def open_source(args: argparse.Namespace, credential: Any = None, default_since: str = "30d") -> SpanSource:
    progress = Progress(interval_s=args.progress_interval, enabled=not args.quiet)
    if args.app_insights:
        return AppInsightsSource(
            args.app_insights,
            credential=credential,
            endpoint=args.logs_endpoint,
            since=parse_duration(args.since or default_since),
            progress=progress,
        )
    if args.source:
        return FileSource(args.source, progress)
    return FileSource([args.file or default_path()], progress)


def parse_duration(text: str) -> timedelta:
    """``30d``, ``12h``, ``45m``, ``90s`` (a bare number is seconds)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([dhms]?)\s*", text)
    if not match:
        raise ValueError(f"not a duration: {text!r} (use e.g. 7d, 12h, 30m, 90s)")
    unit = {"d": 86_400, "h": 3_600, "m": 60, "s": 1, "": 1}[match.group(2)]
    return timedelta(seconds=float(match.group(1)) * unit)
