"""The non-call work a user feels: ``timeline`` and ``check`` on a big file, the file exporter's throughput.

    .venv/bin/python benchmarks/cli.py                        # 500,000 spans (~1 GB) in /tmp
    .venv/bin/python benchmarks/cli.py --spans 2000 --threads-seconds 0.5   # seconds (smoke test)

The file is made from real telemetry: one conversation (a thread, a message, a polled run, the
thread's messages, a response and a chat completion) goes through ``instrument()`` and the
mock API (tests/mock_api.py) into the JSON-lines file exporter; its lines are then copied with
every id and timestamp shifted per copy until the file holds ``--spans`` spans, so every copy is
a conversation of its own. ``timeline`` (one thread from the middle of the file) and ``check``
then run as the user would run them, each in a child process: wall time, and the child's peak
RSS from ``os.wait4``'s resource usage. Last, 8 threads export batches of the conversation's
spans through one ``JsonLinesSpanExporter`` for ``--threads-seconds``: spans and MB per second
(wall), and every line written must parse.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "benchmarks"), str(ROOT / "tests")]

# hex ids (trace 32, span 16, the mock API's 24 after a prefix, request ids 32) and times in ns
_ID = re.compile(r"(?<![0-9a-f])([0-9a-f]{32}|[0-9a-f]{24}|[0-9a-f]{16})(?![0-9a-f])")
_TIME = re.compile(r'("(?:start_|end_)?time_unix_nano":)(\d+)')
SPACING_NS = 60_000_000_000  # each copy starts a minute after the previous one


def conversation() -> tuple[list[str], list[Any], str]:
    """One conversation's JSON lines as the file exporter writes them, its spans, and its thread id."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    import assistant_telemetry
    from assistant_telemetry.file_exporter import span_record

    from mock_api import MockApi

    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    assistant_telemetry.instrument(tracer_provider=provider)
    try:
        client = MockApi().client()
        thread = client.beta.threads.create()
        client.beta.threads.messages.create(thread.id, role="user", content="hi")
        client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id="asst_1")
        client.beta.threads.messages.list(thread.id)
        client.responses.create(model="gpt-4o", input="hi")
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    finally:
        assistant_telemetry.uninstrument()
    spans = list(memory.get_finished_spans())
    lines = [json.dumps(span_record(s), separators=(",", ":"), default=str) for s in spans]
    return lines, spans, thread.id


def _shifted(line: str, copy: int) -> str:
    mask = copy * 0x9E3779B1  # a different id for every copy, same length, still hex

    def new_id(match: re.Match[str]) -> str:
        text = match.group(1)
        return f"{(int(text, 16) ^ mask) % (16 ** len(text)):0{len(text)}x}"

    line = _ID.sub(new_id, line)
    return _TIME.sub(lambda m: f"{m.group(1)}{int(m.group(2)) + copy * SPACING_NS}", line)


def generate(path: Path, spans: int, template: Sequence[str]) -> tuple[int, int]:
    """Write copies of ``template`` until ``spans`` lines; return (spans, bytes)."""
    written = 0
    with path.open("w", encoding="utf-8") as out:
        copy = 0
        while written < spans:
            chunk = [_shifted(line, copy) for line in template[: spans - written]]
            out.write("\n".join(chunk) + "\n")
            written += len(chunk)
            copy += 1
    return written, path.stat().st_size


@dataclass
class Child:
    command: str
    seconds: float
    peak_rss_mb: float
    returncode: int
    stdout_bytes: int


def run_child(args: Sequence[str], timeout: float) -> Child:
    """Run the CLI in a child process; its wall time and its own peak RSS (``os.wait4``)."""
    command = [
        sys.executable,
        "-c",
        "import sys; from assistant_telemetry.cli import main; sys.exit(main())",
        *args,
    ]
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        child = subprocess.Popen(command, stdout=out, stderr=subprocess.DEVNULL)
        deadline = start + timeout
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                child.kill()
                pid, status, usage = os.wait4(child.pid, 0)
                break
            time.sleep(0.01)
        seconds = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        size = out.seek(0, os.SEEK_END)
    return Child(
        " ".join(["assistant-telemetry", *args]), seconds, usage.ru_maxrss / 1024, child.returncode, size
    )


def exporter_throughput(spans: Sequence[Any], seconds: float, threads: int = 8) -> dict[str, float]:
    """``threads`` threads export batches of ``spans`` through one exporter for ``seconds`` (wall)."""
    from assistant_telemetry.file_exporter import JsonLinesSpanExporter

    with tempfile.TemporaryDirectory() as folder:
        exporter = JsonLinesSpanExporter(Path(folder) / "out.jsonl")
        counts = [0] * threads
        stop = threading.Event()

        def work(index: int) -> None:
            while not stop.is_set():
                exporter.export(spans)
                counts[index] += len(spans)

        workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
        start = time.perf_counter()
        for worker in workers:
            worker.start()
        time.sleep(seconds)
        stop.set()
        for worker in workers:
            worker.join(timeout=60)
        elapsed = time.perf_counter() - start
        path = Path(exporter.path)
        size = path.stat().st_size
        with path.open(encoding="utf-8") as lines:
            parsed = sum(1 for line in lines if json.loads(line)["signal"] == "span")
    total = sum(counts)
    if parsed != total:
        raise RuntimeError(f"file exporter: {total} spans exported, {parsed} lines parse")
    return {
        "threads": threads,
        "spans": total,
        "spans_per_s": total / elapsed,
        "mb_per_s": size / elapsed / 1e6,
    }


def measure(spans: int, folder: Path, threads_seconds: float, timeout: float) -> dict[str, Any]:
    template, span_objects, thread_id = conversation()
    path = folder / "assistant-telemetry-bench.jsonl"
    start = time.perf_counter()
    count, size = generate(path, spans, template)
    generated_s = time.perf_counter() - start
    copies = -(-count // len(template))
    middle = _shifted(thread_id, copies // 2)  # a thread from the middle of the file
    try:
        children = [
            run_child(["timeline", middle, "--file", str(path), "--quiet"], timeout),
            run_child(["timeline", middle, "--json", "--file", str(path), "--quiet"], timeout),
            run_child(["check", "--json", "--file", str(path), "--quiet"], timeout),
        ]
    finally:
        path.unlink(missing_ok=True)
    return {
        "spans": count,
        "bytes": size,
        "conversations": copies,
        "generated_s": generated_s,
        "children": [vars(c) for c in children],
        "exporter": exporter_throughput(span_objects, threads_seconds),
    }


def table(found: dict[str, Any]) -> str:
    from measure import render

    rows = [("command", "wall s", "peak RSS MB", "exit", "stdout bytes")]
    for c in found["children"]:
        rows.append(
            (
                c["command"].replace(str(tempfile.gettempdir()), "/tmp"),
                f"{c['seconds']:.1f}",
                f"{c['peak_rss_mb']:.0f}",
                str(c["returncode"]),
                str(c["stdout_bytes"]),
            )
        )
    e = found["exporter"]
    return "\n".join(
        [
            f"file: {found['spans']:,} spans, {found['bytes'] / 1e9:.2f} GB,"
            f" {found['conversations']:,} conversations (generated in {found['generated_s']:.0f} s)",
            "",
            render(rows, left=1),
            "",
            f"file exporter, {e['threads']} threads on one JsonLinesSpanExporter:"
            f" {e['spans_per_s']:,.0f} spans/s, {e['mb_per_s']:.1f} MB/s"
            f" ({e['spans']:,} spans, every line parses)",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--spans", type=int, default=500_000, help="spans in the file (default 500,000: ~1 GB)"
    )
    parser.add_argument("--dir", default=tempfile.gettempdir(), help="where the file is made (and removed)")
    parser.add_argument(
        "--threads-seconds", type=float, default=10.0, help="file exporter run (default 10 s)"
    )
    parser.add_argument("--timeout", type=float, default=3600.0, help="per command (default 3600 s)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    found = measure(args.spans, Path(args.dir), args.threads_seconds, args.timeout)
    print(json.dumps(found) if args.json else table(found))
    return 0 if all(ok(c) for c in found["children"]) else 1


def ok(child: dict[str, Any]) -> bool:
    """``check`` exits 1 when it finds anomalies (the copies' runs are all alike, so it may)."""
    return child["returncode"] == 0 or (child["command"].split()[1] == "check" and child["returncode"] == 1)


if __name__ == "__main__":
    sys.exit(main())
