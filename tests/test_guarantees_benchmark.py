"""The overhead benchmark runs and prints its table (a smoke test: no number is judged here), and
its "SDK alone" capture sees what our instrumentation asks of the OpenTelemetry SDK."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import assistant_telemetry
from assistant_telemetry import runtime

from mock_api import MockApi

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import overhead  # noqa: E402  (benchmarks/ is not a package)

CALLS = (
    "messages.create",
    "messages.list",
    "runs.retrieve",
    "runs.create_and_poll (3 polls)",
    "responses.create",
    "chat.completions.create",
)
NUMBER = r"-?\d+(?:\.\d+)?"
# The SDK alone columns: a number each; own code: a number and its interval.
SDK_COLUMNS = ("SDK alone us", "SDK alone sampled out us")
OWN_COLUMNS = ("own code us (95% CI)", "own code sampled out us (95% CI)")


def cells(line: str) -> list[str]:
    """A row of the plain-text table: cells are two or more spaces apart (none holds two)."""
    return re.split(r"\s{2,}", line.strip())


def test_overhead_benchmark_prints_the_table() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "overhead.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert re.match(rf"floor: one span with 15 attributes, .*: {NUMBER} us", lines[0]), lines[0]
    assert any(line.startswith("SDK alone: the same spans, events and metric records") for line in lines)
    least = rf"sampled out, the SDK's least .*: sampling decision {NUMBER} us .* = {NUMBER} x floor; target"
    assert any(re.match(least, line) for line in lines), done.stdout[:2000]
    header = next((cells(line) for line in lines if line.startswith("call ")), None)
    assert header is not None, done.stdout
    for column in (*SDK_COLUMNS, *OWN_COLUMNS):
        assert column in header, header
    for call in CALLS:
        row = next((line for line in lines if line.startswith(call + " ")), None)
        assert row is not None, f"no row for {call}:\n{done.stdout}"
        ratios = re.findall(rf"({NUMBER}) (?:ok|OVER)", row)
        assert len(ratios) == 2, row  # recording and sampled out, each against its target
        spans = row[len(call) :].split()[0]
        assert spans in {"0", "1"}, row  # spans per call: 1 instrumented, 0 not (yet)
        values = dict(zip(header, cells(row), strict=True))
        for column in SDK_COLUMNS:
            assert re.fullmatch(NUMBER, values[column]), (column, row)
            ratio = values[header[header.index(column) + 1]]  # its "x floor"
            assert re.fullmatch(NUMBER, ratio), (column, row)
        for column in OWN_COLUMNS:
            assert re.fullmatch(rf"{NUMBER} \({NUMBER} to {NUMBER}\)", values[column]), (column, row)
        assert re.fullmatch(r"\d+/\d+/\d+", values["SDK attrs/events/records"]), row


def test_sdk_alone_capture_of_messages_create() -> None:
    """Recording: the span starts with the operation name and the duration histogram is recorded."""
    workload = next(w for w in overhead.WORKLOADS if w.name == "messages.create")
    ready = overhead.setup(MockApi())
    try:
        active = runtime.ACTIVE
        captured = overhead.capture(ready, [workload])["messages.create"]
        assert runtime.ACTIVE is active  # the capturing proxies are gone
    finally:
        ready.toggle.set(True)
        assistant_telemetry.uninstrument()
    recording = captured[True]
    starts = [c for c in recording if c.method == "start_span"]
    assert len(starts) == 1, recording
    assert starts[0].attributes["gen_ai.operation.name"] == "create_message", starts[0]
    durations = [c for c in recording if c.instrument == "gen_ai.client.operation.duration"]
    assert [c.method for c in durations] == ["record"], recording
    assert durations[0].span_current, durations[0]  # recorded before the span stops being current
    ends = [c for c in recording if c.target == "span" and c.method == "end"]
    assert len(ends) == 1, recording
    sampled_out = captured[False]
    assert [c.method for c in sampled_out if c.method == "start_span"] == ["start_span"], sampled_out
    assert any(c.instrument == "gen_ai.client.operation.duration" for c in sampled_out), sampled_out
