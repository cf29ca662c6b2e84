"""timeline: from the id of any span of a recorded incident, the whole thread, from every source.

The incident (tests/incident.py) is the plugin's own telemetry of a simulator conversation,
exported at once to our JSON-lines file, to OTLP (rewritten as the Collector's OTLP JSON
file) and to Azure Monitor (served back by a loopback Log Analytics endpoint that runs the
timeline's KQL with duckdb-kql).
"""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import zlib
from pathlib import Path
from typing import Any

import pytest

from assistant_telemetry import semconv as sc
from assistant_telemetry.cli import main
from assistant_telemetry.cli.html import BAR_FAILED, BAR_OK, render_html
from assistant_telemetry.cli.sources import AppInsightsSource, FileSource, Progress, otlp_id, spans_from_rows
from assistant_telemetry.cli.story import Story, searchable, timeline

from incident import TEXTS, Recording, recorded
from log_analytics import FakeCredential, LogAnalyticsServer

RESOURCE = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/microsoft.insights/components/app"
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def incident() -> Recording:
    return recorded(anomalies=True)


@pytest.fixture(scope="module")
def log_analytics(incident: Recording) -> Any:
    with LogAnalyticsServer({"dependencies": incident.dependencies, "traces": incident.traces}) as server:
        yield server


def app_insights(server: LogAnalyticsServer, credential: Any = None) -> AppInsightsSource:
    return AppInsightsSource(RESOURCE, credential=credential or FakeCredential(), endpoint=server.endpoint)


def cli(capsys: pytest.CaptureFixture[str], *argv: str, credential: Any = None) -> tuple[int, str, str]:
    code = main(list(argv), credential=credential)
    out, err = capsys.readouterr()
    return code, out, err


def ids_of(span: Any) -> set[str]:
    """Every id a reviewer could copy from one exported span: attributes, events, trace and span id."""
    found = {f"{span.context.trace_id:032x}", f"{span.context.span_id:016x}"}
    for attrs in (span.attributes, *(e.attributes for e in span.events)):
        for key, value in (attrs or {}).items():
            if searchable(key):
                found.update(value if isinstance(value, (list, tuple)) else [value])
    return {str(v) for v in found}


def summary(story: Story) -> dict[str, Any]:
    """What must not depend on the source: threads, runs, steps, messages, calls and their request ids."""
    return {
        thread.thread_id: {
            "runs": {
                r.run_id: (r.status, sorted(r.steps), sorted(r.message_ids), sorted(r.request_ids))
                for r in thread.runs.values()
            },
            "messages": {m.message_id: (m.role, m.run_id, m.fingerprint) for m in thread.messages.values()},
            "calls": sorted(
                (c.name, c.span_id, c.status, str(c.attributes.get(sc.REQUEST_ID))) for c in thread.calls
            ),
            "correlation": thread.correlation,
            "errors": len(thread.errors),
        }
        for thread in story.threads
    }


# --------------------------------------------------------------------------- the story


def test_any_id_of_any_span_tells_the_whole_thread(incident: Recording) -> None:
    source = FileSource([str(incident.jsonl)])
    thread_id = incident.ids["thread_a"]
    spans = incident.of_thread(thread_id)
    expected = {f"{s.context.span_id:016x}" for s in spans}
    assert len(expected) == 12  # 10 calls and the 2 tools the app ran (execute_tool spans)
    asked = set()
    for span in spans:
        for needle in ids_of(span) - {thread_id}:
            story = timeline(source, needle)
            assert [t.thread_id for t in story.threads] == [thread_id], needle
            assert {c.span_id for c in story.threads[0].calls} == expected, needle
            asked.add(needle)
    assert len(asked) > 60  # request ids, Azure request ids, run/message/step ids, app ids, fingerprints ...
    assert set(incident.ids["a_replies"]) <= asked  # ids seen only in lists and events count too


def test_the_story_is_thread_runs_steps_messages(incident: Recording) -> None:
    story = timeline(FileSource([str(incident.jsonl)]), incident.ids["a_runs"][1])
    ids = incident.ids
    thread = story.threads[0]
    assert story.matched == [sc.RUN_ID] or sc.RUN_ID in story.matched
    first, tool = (thread.runs[r] for r in ids["a_runs"])
    assert [s for _, s in first.statuses] == ["queued", "in_progress", "completed"]
    assert [s for _, s in tool.statuses] == [
        "queued", "in_progress", "requires_action", "queued", "in_progress", "completed",
    ]  # fmt: skip
    assert tool.required_functions == ["get_weather", "lookup_order"]
    assert set(tool.steps) == set(ids["a_steps"])
    assert first.deployment == tool.deployment == "gpt-4o-prod"
    assert len(tool.request_ids) >= 4 and all(r.startswith("req_") for r in tool.request_ids)
    # which run produced which message, and which user message each reply answers
    replies = {m: thread.messages[m] for m in ids["a_replies"]}
    assert {m.run_id for m in replies.values()} == set(ids["a_runs"])
    assert all(m.role == "assistant" for m in replies.values())
    for message_id in ids["a_messages"]:
        message = thread.messages[message_id]
        assert (message.role, message.run_id) == ("user", None)
        assert (
            message.request_id
            and message.fingerprint
            and len(message.fingerprint) == sc.FINGERPRINT_HEX_CHARS
        )
    # the order of the story: user message, run, user message, run
    from assistant_telemetry.cli.timeline import items_of

    order = [getattr(item, "run_id", None) or item.message_id for _, item in items_of(thread)]
    assert order == [ids["a_messages"][0], ids["a_runs"][0], ids["a_messages"][1], ids["a_runs"][1]]
    # safety and errors: the blocked prompt
    assert any("blocked_prompt" in s and "failure_class=content_filter" in s for s in thread.safety)
    assert any("content_filter" in e and "HTTP 400" in e for e in thread.errors)
    assert thread.correlation[sc.CORRELATION_REQUEST_ID] == ["app-req-a1", "app-req-a2"]
    assert thread.correlation[sc.CORRELATION_TENANT] == ["contoso"]


def test_a_failed_run_and_a_retry_are_in_the_story(
    incident: Recording, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = cli(capsys, "timeline", incident.ids["failed_run"], "--file", str(incident.jsonl))
    assert code == 0
    assert f"run {incident.ids['failed_run']}  status failed" in out
    assert "error server_error" in out
    assert "after 1 retry(ies)" in out  # the 429 on create_message


def test_three_sources_tell_the_same_story(incident: Recording, log_analytics: LogAnalyticsServer) -> None:
    needle = incident.ids["a_replies"][0]  # a message id seen only in a list and in events
    from_file = summary(timeline(FileSource([str(incident.jsonl)]), needle))
    from_otlp = summary(timeline(FileSource([str(incident.otlp_dir)]), needle))
    from_azure = summary(timeline(app_insights(log_analytics), needle))
    assert from_file == from_otlp == from_azure
    assert list(from_file) == [incident.ids["thread_a"]]


def test_app_insights_is_queried_with_the_timeline_kql_and_a_token(
    incident: Recording, log_analytics: LogAnalyticsServer
) -> None:
    credential = FakeCredential()
    log_analytics.queries.clear()
    story = timeline(app_insights(log_analytics, credential), incident.ids["a_runs"][0])
    assert [t.thread_id for t in story.threads] == [incident.ids["thread_a"]]
    assert len(log_analytics.queries) == 2  # find the id, then collect its threads
    for query in log_analytics.queries:
        assert query["path"].endswith(f"{RESOURCE}/query")
        assert query["authorization"] == "Bearer fake-token-for-loopback"
        assert "dependencies" in query["body"]["query"] and "/" in query["body"]["timespan"]
    assert credential.scopes and all(
        scopes == (f"{log_analytics.endpoint}/.default",) for scopes in credential.scopes
    )


# ----------------------------------------------------------------- the three forms


def test_text_json_and_html_from_the_command_line(
    incident: Recording, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    ids = incident.ids
    page = tmp_path / "story.html"
    code, out, _ = cli(
        capsys, "timeline", ids["a_steps"][0], "--file", str(incident.jsonl), "--html", str(page)
    )
    assert code == 0
    for expected in [ids["thread_a"], *ids["a_runs"], *ids["a_steps"], *ids["a_replies"], *ids["a_messages"]]:
        assert expected in out
    assert "deployment gpt-4o-prod" in out and "status completed" in out
    assert "safety: create_message" in out and "FAILED content_filter 400" in out

    code, out, _ = cli(capsys, "timeline", ids["a_steps"][0], "--file", str(incident.jsonl), "--json")
    data = json.loads(out)
    thread = data["threads"][0]
    assert thread["thread_id"] == ids["thread_a"] and len(thread["calls"]) == 12
    assert [r["run_id"] for r in thread["runs"]] == ids["a_runs"]
    assert thread["story"][1] == {"run_id": ids["a_runs"][0]}
    # Every provider call carries its request id; the tool executions (ours, INTERNAL) are in the story too.
    tools = [c for c in thread["calls"] if c["attributes"].get(sc.OPERATION_NAME) == sc.OP_EXECUTE_TOOL]
    provider_calls = [c for c in thread["calls"] if c not in tools]
    assert tools and all(sc.TOOL_NAME in c["attributes"] for c in tools)
    assert all(c["attributes"][sc.REQUEST_ID].startswith("req_") for c in provider_calls)

    html = page.read_text()
    assert html.count("<rect") >= 10 and ids["thread_a"] in html
    lowered = html.lower()
    for external in ("http:", "https:", "<script", "<link", "src=", "url(", "@import"):
        assert external not in lowered  # self-contained: nothing to fetch


@pytest.mark.parametrize("where", ["otlp", "app-insights"])
def test_other_sources_from_the_command_line(
    where: str, incident: Recording, log_analytics: LogAnalyticsServer, capsys: pytest.CaptureFixture[str]
) -> None:
    needle = "app-req-a2"  # the application's own request id, from correlate()
    if where == "otlp":
        argv = ["--source", str(incident.otlp_dir)]
    else:
        argv = ["--app-insights", RESOURCE, "--logs-endpoint", log_analytics.endpoint, "--since", "1d"]
    code, out, err = cli(capsys, "timeline", needle, *argv, "--json", credential=FakeCredential())
    assert code == 0, err
    data = json.loads(out)
    assert data["found_as"] == [sc.CORRELATION_REQUEST_ID]
    assert [t["thread_id"] for t in data["threads"]] == [incident.ids["thread_a"]]
    assert len(data["threads"][0]["calls"]) == 12


def test_no_content_in_any_output(
    incident: Recording, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    outputs = []
    for thread in ("thread_a", "thread_b", "thread_c", "thread_d", "thread_g"):
        for form in ([], ["--json"], ["--html", str(tmp_path / "page.html")]):
            code, out, err = cli(
                capsys, "timeline", incident.ids[thread], "--file", str(incident.jsonl), *form
            )
            assert code == 0
            outputs += [out, err]
    outputs.append((tmp_path / "page.html").read_text())
    leaked = [text for text in TEXTS.values() for output in outputs if text in output or "CANARY" in output]
    assert not leaked


def test_unknown_id_is_a_clear_error(incident: Recording, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "timeline", "thread_doesnotexist", "--file", str(incident.jsonl))
    assert code == 1 and not out
    assert "no span" in err and "thread_doesnotexist" in err
    code, _, err = cli(capsys, "timeline", "thread_x", "--file", "/nonexistent/file.jsonl")
    assert code == 2 and "nonexistent" in err


# ------------------------------------------------------------------------ the picture


def test_the_waterfall_is_drawn_in_chromium(incident: Recording, tmp_path: Path) -> None:
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} missing: `make test` installs it (make chromium)")
        pytest.skip(f"{CHROMIUM} not installed (make chromium)")
    page, shot = tmp_path / "story.html", tmp_path / "story.png"
    page.write_text(render_html(timeline(FileSource([str(incident.jsonl)]), incident.ids["thread_a"])))
    command = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--hide-scrollbars", f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1280,800",
        f"--screenshot={shot}", page.as_uri(),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert shot.exists(), done.stderr[-2000:]
    width, height, pixels = decode_png(shot.read_bytes())
    assert (width, height) == (1280, 800)
    blue, red = (count_colour(pixels, colour) for colour in (BAR_OK, BAR_FAILED))
    # 9 successful calls and 1 failed one, each bar 14 px high and at least 3 px wide
    assert blue > 9 * 14 * 3 and red > 14 * 3, (blue, red)
    bars = rows_with_colour(pixels, width, BAR_OK)
    assert bars >= 9 * 10  # bars on (at least) nine distinct rows of the waterfall


def decode_png(data: bytes) -> tuple[int, int, list[bytes]]:
    """A tiny PNG decoder (8-bit RGB/RGBA, not interlaced): rows of RGB pixels."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    offset, chunks, header = 8, [], b""
    while offset < len(data):
        (length,), kind = struct.unpack(">I", data[offset : offset + 4]), data[offset + 4 : offset + 8]
        body = data[offset + 8 : offset + 8 + length]
        offset += 12 + length
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            chunks.append(body)
    width, height, depth, colour_type, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and colour_type in (2, 6) and interlace == 0
    channels = 4 if colour_type == 6 else 3
    raw, stride = zlib.decompress(b"".join(chunks)), width * channels
    rows: list[bytes] = []
    previous = bytearray(stride)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up, corner = previous[i], previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 0xFF
        previous = line
        rows.append(bytes(line) if channels == 3 else bytes(b for i, b in enumerate(line) if i % 4 != 3))
    return width, height, rows


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def count_colour(rows: list[bytes], colour: str, tolerance: int = 6) -> int:
    r, g, b = _rgb(colour)
    return sum(
        1
        for row in rows
        for x in range(0, len(row), 3)
        if abs(row[x] - r) <= tolerance
        and abs(row[x + 1] - g) <= tolerance
        and abs(row[x + 2] - b) <= tolerance
    )


def rows_with_colour(rows: list[bytes], width: int, colour: str) -> int:
    return sum(1 for row in rows if count_colour([row], colour) >= 3)


# --------------------------------------------------------------------- the readers


def test_progress_is_reported_on_long_reads(incident: Recording, tmp_path: Path) -> None:
    lines = incident.jsonl.read_bytes()
    big = tmp_path / "big.jsonl"
    big.write_bytes(lines * (3 * (1 << 20) // len(lines) + 1))  # > 3 MB
    stream = io.StringIO()
    story = timeline(FileSource([str(big)], Progress(stream, interval_s=0)), incident.ids["thread_b"])
    assert story.threads[0].thread_id == incident.ids["thread_b"]
    assert len(story.threads[0].calls) == 4  # the copies are the same spans: told once
    reported = stream.getvalue().splitlines()
    assert len(reported) >= 4 and all(line.startswith(f"reading {big}: ") for line in reported)
    assert " MB (" in reported[-1]


def test_otlp_json_ids_in_hex_or_base64_and_other_signals_skipped(tmp_path: Path) -> None:
    assert otlp_id("5b8efff798038103d269b633813fc60c") == "5b8efff798038103d269b633813fc60c"
    assert otlp_id("W47/95gDgQPSabYzgT/GDA==") == "5b8efff798038103d269b633813fc60c"
    folder = tmp_path / "collector"
    folder.mkdir()
    (folder / "metrics.json").write_text('{"resourceMetrics": []}\n')
    (folder / "traces.json").write_text(
        json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [{
            "traceId": "W47/95gDgQPSabYzgT/GDA==", "spanId": "EjRWeJCrze8=", "name": "get_thread_run",
            "startTimeUnixNano": "1700000000000000000", "endTimeUnixNano": "1700000000500000000",
            "status": {"code": 2},
            "attributes": [{"key": sc.RUN_ID, "value": {"stringValue": "run_1"}},
                           {"key": sc.HTTP_STATUS_CODE, "value": {"intValue": "500"}},
                           {"key": sc.REQUEST_IDS, "value": {"arrayValue": {"values": [{"stringValue": "req_1"}]}}}],
        }]}]}]}) + "\n"
    )  # fmt: skip
    (span,) = FileSource([str(folder)]).scan()
    assert (span.trace_id, span.span_id, span.status) == (
        "5b8efff798038103d269b633813fc60c",
        "1234567890abcdef",
        "ERROR",
    )
    assert span.attributes == {sc.RUN_ID: "run_1", sc.HTTP_STATUS_CODE: 500, sc.REQUEST_IDS: ["req_1"]}
    assert span.duration_ms == 500


def test_app_insights_rows_become_spans_with_their_events() -> None:
    rows = [
        {"row_kind": "event", "timestamp": "2026-01-01T00:00:00.2Z", "operation_ParentId": "abcd",
         "name": sc.EVENT_RUN_STATUS, "customDimensions": json.dumps({sc.RUN_STATUS: "queued", sc.RUN_POLLS: "0"})},
        {"row_kind": "span", "timestamp": "2026-01-01T00:00:00.1Z", "id": "abcd", "operation_Id": "t1",
         "operation_ParentId": "t1", "name": "invoke_agent helper", "duration": 250.0, "success": "False",
         "customDimensions": json.dumps({sc.RUN_ID: "run_1", sc.REQUEST_IDS: "('req_1', 'req_2')", sc.RETRIES: "1",
                                         sc.LIST_HAS_MORE: "False"})},
    ]  # fmt: skip
    (span,) = spans_from_rows(rows)
    assert (span.span_id, span.trace_id, span.parent_id, span.status) == ("abcd", "t1", "", "ERROR")
    assert span.attributes == {
        sc.RUN_ID: "run_1",
        sc.REQUEST_IDS: ["req_1", "req_2"],
        sc.RETRIES: 1,
        sc.LIST_HAS_MORE: False,
    }
    assert span.duration_ms == 250
    (event,) = span.events
    assert event.attributes == {sc.RUN_STATUS: "queued", sc.RUN_POLLS: 0}
    assert event.time_ns - span.start_ns == 100_000_000


def test_the_kql_passes_the_kusto_language_service() -> None:
    """The queries sent to Log Analytics are real Kusto (Microsoft's analyzer), not only duckdb-kql's dialect."""
    from datetime import datetime, timedelta, timezone

    from assistant_telemetry.cli.sources import check_query, timeline_query
    from dashboard_data import SCHEMA
    from dashboard_tools import kql_diagnostics

    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    queries = {
        "timeline": timeline_query(["thread_abc", "req_0123", "app-req-1"]),
        "check": check_query(start, start + timedelta(hours=6)),
    }
    assert kql_diagnostics(queries, SCHEMA) == {"timeline": [], "check": []}
