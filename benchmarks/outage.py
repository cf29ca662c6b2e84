"""Exporter outages: the application's call latency, the span queue, and how long exit takes.

    .venv/bin/python benchmarks/outage.py            # 5 rounds of every scenario (~4 minutes)
    .venv/bin/python benchmarks/outage.py --quick    # 1 round, fewer calls

Each scenario is a fresh process (``instrument()`` installs global providers once per process)
configured the way an application would be, by ``assistant_telemetry.instrument(exporter=...)``:

    otlp healthy     OTLP/HTTP to a loopback receiver that accepts everything
    otlp down        OTLP/HTTP to a closed port on 127.0.0.1 (connection refused)
    azure healthy    Azure Monitor to a loopback ingestion endpoint that accepts everything
    azure 500        the ingestion endpoint answers every request with 500
    azure hanging    the ingestion endpoint accepts the connection and never answers

Receivers run in their own process, so a healthy run does not pay for its receiver's CPU.
Each app process makes ``--calls`` calls (openai client, in-process mock API) and reports their
wall-clock latencies and the largest span queue it saw. In the first round the parent also
measures how long the process takes to exit after its last call (the SDK flushes at exit);
later rounds end the process once it has reported. Scenarios run in rotating order, round
after round; the table gives medians over rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ("otlp healthy", "otlp down", "azure healthy", "azure 500", "azure hanging")
AZURE_TEST_ENV = {
    "APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL": "true",
    "APPLICATIONINSIGHTS_SDKSTATS_DISABLED": "true",
    "APPLICATIONINSIGHTS_CONTROLPLANE_DISABLED": "true",
}
RECEIVER = """
import sys
sys.path.insert(0, {tests!r})
from receivers import AzureIngestionReceiver, OtlpReceiver
receiver = ({kind})().start()
receiver.fail_with = {fail_with!r}
receiver.hang = {hang!r}
print(receiver.endpoint, flush=True)
sys.stdin.read()
receiver.hang = False
receiver.stop()
"""


def closed_port() -> str:
    """An address on 127.0.0.1 where nothing listens (connections are refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


class Receiver:
    """A loopback receiver in its own process; ``stop()`` releases hung requests and ends it."""

    def __init__(self, kind: str, fail_with: int | None = None, hang: bool = False) -> None:
        code = RECEIVER.format(tests=str(ROOT / "tests"), kind=kind, fail_with=fail_with, hang=hang)
        self.process = subprocess.Popen(
            [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdout is not None
        self.endpoint = self.process.stdout.readline().strip()

    def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=30)


def endpoint_for(scenario: str) -> tuple[str, Receiver | None]:
    if scenario == "otlp down":
        return closed_port(), None
    if scenario.startswith("otlp"):
        receiver = Receiver("OtlpReceiver")
        return receiver.endpoint, receiver
    fail_with = 500 if scenario == "azure 500" else None
    receiver = Receiver("AzureIngestionReceiver", fail_with=fail_with, hang=scenario == "azure hanging")
    return receiver.endpoint, receiver


def run_app(
    scenario: str, calls: int, measure_exit: bool = True, exit_limit_s: float = 600.0
) -> dict[str, Any]:
    """One app process: its report, plus ``exit_s``, the time from its last call to its exit.

    ``measure_exit=False`` kills the process once it has reported (exit_s is then None).
    """
    endpoint, receiver = endpoint_for(scenario)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "APPLICATIONINSIGHTS_"))}
    env.update(AZURE_TEST_ENV)
    try:
        process = subprocess.Popen(
            [sys.executable, __file__, "--app", scenario, "--endpoint", endpoint, "--calls", str(calls)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert process.stdout is not None
        line = process.stdout.readline()
        done = time.monotonic()
        if not measure_exit:
            process.kill()
        try:
            process.wait(timeout=exit_limit_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        exit_s = time.monotonic() - done if measure_exit else None
        stderr = process.stderr.read() if process.stderr else ""
    finally:
        if receiver is not None:
            receiver.stop()
    if not line:
        raise RuntimeError(f"{scenario}: the app failed:\n{stderr[-3000:]}")
    report: dict[str, Any] = json.loads(line)
    report.update(scenario=scenario, exit_s=exit_s, returncode=process.returncode)
    return report


# --- the application process -----------------------------------------------------------------------


def _span_queues(provider: Any) -> list[tuple[Any, int]]:
    """(queue, its bound) of each batch span processor (SDK internals, read only, best effort)."""
    found = []
    # Processors nest (the provider's multi-processor, our detachable one): walk them all.
    pending = list(getattr(getattr(provider, "_active_span_processor", None), "_span_processors", ()))
    while pending:
        processor = pending.pop()
        pending.extend(getattr(processor, "_span_processors", ()))
        batch = getattr(processor, "_batch_processor", None)
        queue = getattr(batch, "_queue", None)
        if queue is not None:
            found.append((queue, int(getattr(batch, "_max_queue_size", 0))))
    return found


def app(scenario: str, endpoint: str, calls: int) -> None:
    sys.path.insert(0, str(ROOT / "tests"))
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    import assistant_telemetry

    from mock_api import MockApi

    if scenario.startswith("otlp"):
        session = assistant_telemetry.instrument(exporter="otlp", otlp_endpoint=endpoint)
    else:
        session = assistant_telemetry.instrument(
            exporter="azure-monitor",
            connection_string=f"InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint={endpoint}/",
            # every span (the distro's default samples 5 traces/s), no retry files on disk
            azure_monitor_options={"disable_offline_storage": True, "sampling_ratio": 1.0},
        )
    queues = _span_queues(session.tracer_provider)
    largest = [0]
    stop = threading.Event()

    def watch() -> None:
        while not stop.wait(0.005):
            for queue, _ in queues:
                largest[0] = max(largest[0], len(queue))

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    client = MockApi().client(max_retries=0)
    latencies = []
    for _ in range(calls):
        start = time.perf_counter()
        client.beta.threads.messages.create("thread_1", role="user", content="Hello?")
        latencies.append(time.perf_counter() - start)
    stop.set()
    watcher.join()
    ordered = sorted(latencies)
    report = {
        "calls": calls,
        "p50_ms": statistics.median(ordered) * 1e3,
        "p99_ms": ordered[int(0.99 * (len(ordered) - 1))] * 1e3,
        "max_queue": largest[0],
        "queue_bound": max((bound for _, bound in queues), default=0),
        "queues_seen": len(queues),
    }
    print(json.dumps(report), flush=True)
    # Exit as an application does: the SDK's atexit handlers flush and shut the pipeline down.


# --- the table -------------------------------------------------------------------------------------


def measure(rounds: int, calls: int) -> dict[str, list[dict[str, Any]]]:
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in SCENARIOS}
    for number in range(rounds):
        order = SCENARIOS[number % len(SCENARIOS) :] + SCENARIOS[: number % len(SCENARIOS)]
        for scenario in order:
            runs[scenario].append(run_app(scenario, calls, measure_exit=number == 0))
            print(f"\rround {number + 1}/{rounds}: {scenario:<14}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return runs


def table(runs: dict[str, list[dict[str, Any]]]) -> str:
    from measure import render

    rows = [
        ("scenario", "p50 ms", "p99 ms", "p99 vs healthy", "max span queue (bound)", "exit after last call s")
    ]
    for scenario, reports in runs.items():
        p99 = statistics.median(r["p99_ms"] for r in reports)
        healthy = "otlp healthy" if scenario.startswith("otlp") else "azure healthy"
        base = statistics.median(r["p99_ms"] for r in runs[healthy])
        rows.append(
            (
                scenario,
                f"{statistics.median(r['p50_ms'] for r in reports):.2f}",
                f"{p99:.2f}",
                f"{(p99 / base - 1) * 100:+.0f}%",
                f"{max(r['max_queue'] for r in reports)} ({reports[0]['queue_bound']})",
                f"{max(r['exit_s'] for r in reports if r['exit_s'] is not None):.1f}",
            )
        )
    return render(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="1 round of 300 calls per scenario")
    parser.add_argument("--rounds", type=int, default=None, help="rounds (default 5)")
    parser.add_argument("--calls", type=int, default=None, help="calls per app process (default 3000)")
    parser.add_argument("--app", help=argparse.SUPPRESS)
    parser.add_argument("--endpoint", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.app:
        app(args.app, args.endpoint, args.calls)
        return 0
    rounds = args.rounds or (1 if args.quick else 5)
    calls = args.calls or (300 if args.quick else 3000)
    print(table(measure(rounds, calls)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
