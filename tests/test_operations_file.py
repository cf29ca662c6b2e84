"""The JSON-lines file stays bounded, keeps the newest records, parses line by line, survives fork.

Real files, real processes: 20x the size cap written (in one process and in three at once), the CLI
reading the rotated set, an idle process writing no metric points, and fork() while another thread
holds the exporter's lock and the SDK reader's export lock.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from assistant_telemetry.cli.sources import FileSource
from assistant_telemetry.config import FileLimits
from assistant_telemetry.file_exporter import JsonLinesSpanExporter, rotated_set

SRC = str(Path(__file__).resolve().parents[1] / "src")
CAP = 64 * 1024
BACKUPS = 2
BOUND = CAP * (BACKUPS + 1)


def spans(count: int, tag: str) -> list[Any]:
    """Real finished spans named ``{tag}-{n}``."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("test")
    for number in range(count):
        with tracer.start_as_current_span(f"{tag}-{number}") as span:
            span.set_attribute("gen_ai.thread.id", f"thread_{tag}_{number}")
    return list(memory.get_finished_spans())


def records(path: Path) -> list[dict[str, Any]]:
    """Every line of the rotated set, oldest first; each must parse."""
    found = []
    for name in rotated_set(str(path)):
        with open(name, encoding="utf-8") as lines:
            found += [json.loads(line) for line in lines]
    return found


def total_size(path: Path) -> int:
    return sum(os.path.getsize(name) for name in rotated_set(str(path)))


@pytest.mark.timeout(60)
def test_twenty_times_the_cap_stays_bounded_and_keeps_the_newest(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    exporter = JsonLinesSpanExporter(path, FileLimits(max_bytes=CAP, backups=BACKUPS))
    batch = spans(50, "s")
    line = len(json.dumps({"x": 1})) + 300  # about a span's line: the loop writes past 20x the cap
    written = 0
    rounds = 0
    while written < 20 * CAP:
        exporter.export(batch)
        written += len(batch) * line
        rounds += 1
        assert total_size(path) <= BOUND
    exporter.shutdown()
    kept = records(path)
    assert len(rotated_set(str(path))) == BACKUPS + 1
    assert all(os.path.getsize(name) <= CAP for name in rotated_set(str(path)))
    assert kept[-1]["name"] == "s-49", "the newest record is not the last one kept"
    assert len(kept) < rounds * len(batch)  # old ones were dropped
    assert not (tmp_path / "out.jsonl.3").exists()


WRITER = """
import sys
sys.path.insert(0, {tests!r})
from test_operations_file import spans
from assistant_telemetry.config import FileLimits
from assistant_telemetry.file_exporter import JsonLinesSpanExporter
exporter = JsonLinesSpanExporter({path!r}, FileLimits(max_bytes={cap}, backups={backups}))
batch = spans(40, sys.argv[1])
for _ in range(60):
    exporter.export(batch)
print("done")
"""


@pytest.mark.timeout(120)
def test_several_processes_write_one_path(tmp_path: Path) -> None:
    path = tmp_path / "shared.jsonl"
    script = tmp_path / "writer.py"
    script.write_text(
        WRITER.format(tests=str(Path(__file__).parent), path=str(path), cap=CAP, backups=BACKUPS)
    )
    env = {**os.environ, "PYTHONPATH": SRC}
    writers = [
        subprocess.Popen([sys.executable, str(script), tag], env=env, stdout=subprocess.PIPE, text=True)
        for tag in ("a", "b", "c")
    ]
    for writer in writers:
        out, _ = writer.communicate(timeout=90)
        assert writer.returncode == 0 and out.strip() == "done"
    kept = records(path)  # every line parses: no interleaved or torn lines
    # Three writers may each append one chunk past the cap before the next one rotates.
    assert total_size(path) <= BOUND + 3 * CAP
    # Who wrote last is up to the scheduler: the newest records kept are some writer's, whole.
    assert {r["name"].split("-")[0] for r in kept} <= {"a", "b", "c"}
    assert len(kept) > 100


@pytest.mark.timeout(60)
def test_timeline_and_check_read_the_rotated_set(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    exporter = JsonLinesSpanExporter(path, FileLimits(max_bytes=4096, backups=3))
    for number in range(6):
        exporter.export(spans(5, f"batch{number}"))
    exporter.shutdown()
    assert len(rotated_set(str(path))) == 4
    names = [span.name for span in FileSource([str(path)]).scan()]
    assert names == [r["name"] for r in records(path)]  # oldest file first, each in order
    assert names[-1] == "batch5-4"
    assert [s.name for s in FileSource([str(tmp_path)]).scan()] == names  # a folder: same order


APP = """
import json, os, sys, threading, time
import assistant_telemetry, openai
from assistant_telemetry.simulator import Simulator
session = assistant_telemetry.instrument(exporter="file", file_path="out.jsonl")
{body}
"""

IDLE = """
with Simulator() as sim:
    openai.OpenAI(base_url=sim.base_url, api_key="k").beta.threads.create()
time.sleep(1.0)  # two export intervals: the call's points are written
before = open("out.jsonl").read().count('"signal":"metric"')
time.sleep(1.5)  # three more intervals, nothing recorded meanwhile
print(json.dumps({"before": before, "after": open("out.jsonl").read().count('"signal":"metric"')}))
"""


def run_app(tmp_path: Path, body: str, **env: str) -> dict[str, Any]:
    (tmp_path / "app.py").write_text(APP.format(body=textwrap.dedent(body)))
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "ASSISTANT_TELEMETRY_"))}
    done = subprocess.run(
        [sys.executable, "app.py"],
        cwd=tmp_path,
        env={**clean, "PYTHONPATH": SRC, **env},
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


@pytest.mark.timeout(120)
def test_an_idle_process_writes_no_metric_points(tmp_path: Path) -> None:
    report = run_app(tmp_path, IDLE, OTEL_METRIC_EXPORT_INTERVAL="300")
    assert report["before"] > 0
    assert report["after"] == report["before"], "metric points repeated while nothing changed"
    with open(tmp_path / "out.jsonl", encoding="utf-8") as lines:
        points = [json.loads(line) for line in lines if '"signal":"metric"' in line]
    assert {p["temporality"] for p in points} == {"delta"}


FORK = """
from assistant_telemetry import setup
# Another thread is mid-write and mid-export when the app forks: it holds our file lock and the
# SDK reader's export lock. A child inheriting them held could never write or flush.
writer = session.added.span_processors[0][1].span_exporter._out
reader = session.added.metric_readers[0][1]
held = threading.Event()
release = threading.Event()
def busy():
    with writer._lock, reader._export_lock:
        held.set()
        release.wait()
threading.Thread(target=busy, daemon=True).start()
held.wait()
with Simulator() as sim:
    pid = os.fork()
    if pid == 0:
        client = openai.OpenAI(base_url=sim.base_url, api_key="k", max_retries=0)
        client.beta.threads.create(metadata={"child": "1"})
        flushed = session.flush(5000)
        os._exit(0 if flushed else 3)
    status = 1
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.05)
    else:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
    release.set()
    openai.OpenAI(base_url=sim.base_url, api_key="k").beta.threads.create(metadata={"parent": "1"})
assert session.flush(5000)
keys = [json.loads(l)["attributes"].get("assistant_telemetry.metadata.keys") for l in open("out.jsonl") if '"signal":"span"' in l]
print(json.dumps({"child_exit": os.waitstatus_to_exitcode(status) if status else 0, "keys": keys}))
"""


@pytest.mark.timeout(120)
def test_fork_while_the_exporter_holds_its_locks(tmp_path: Path) -> None:
    report = run_app(tmp_path, FORK)
    assert report["child_exit"] == 0, "the child's flush did not finish"
    assert ["child"] in report["keys"], "the child's telemetry never reached the file"
    assert ["parent"] in report["keys"]
