"""check: each planted anomaly is found, a clean recording has none; from every source; bounded memory.

The recordings are the plugin's own telemetry of simulator conversations (tests/incident.py):
C completed run never read, D one submission twice (same idempotency key and text), E the
same first message in two new threads from one user, F a run left queued, G 12 messages.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from assistant_telemetry import semconv as sc
from assistant_telemetry.cli import main
from assistant_telemetry.cli.check import Checker, Limits
from assistant_telemetry.cli.sources import FileSource
from assistant_telemetry.cli.spans import Span

from incident import LONG_THREAD_MESSAGES, Recording, recorded
from log_analytics import FakeCredential, LogAnalyticsServer

RESOURCE = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/microsoft.insights/components/app"
THRESHOLDS = ["--max-messages", str(LONG_THREAD_MESSAGES - 2), "--stuck-after", "60"]


def later(seconds: float = 3600) -> str:
    return str(int(time.time() + seconds))


def cli(capsys: pytest.CaptureFixture[str], *argv: str, credential: Any = None) -> tuple[int, str, str]:
    code = main(list(argv), credential=credential)
    out, err = capsys.readouterr()
    return code, out, err


def expected_findings(incident: Recording) -> set[tuple[str, str]]:
    ids = incident.ids
    by_span = {f"{s.context.span_id:016x}": s.attributes for s in incident.spans}
    d_print = {
        a.get(sc.MESSAGE_FINGERPRINT)
        for a in by_span.values()
        if a.get(sc.MESSAGE_ID) in ids["duplicate_messages"]
    }
    e_print = {
        a[sc.MESSAGE_FINGERPRINTS][0] for a in by_span.values() if a.get(sc.THREAD_ID) in ids["threads_e"]
    }
    assert len(d_print) == 1 and len(e_print) == 1  # the same text, the same fingerprint
    return {
        ("completed_without_message", ids["silent_run"]),
        ("duplicate_idempotency_key", "idem-d"),
        ("duplicate_fingerprint", d_print.pop()),
        ("duplicate_fingerprint", e_print.pop()),
        ("stuck_run", ids["stuck_run"]),
        ("long_thread", ids["thread_g"]),
    }


@pytest.fixture(scope="module")
def incident() -> Recording:
    return recorded(anomalies=True)


@pytest.fixture(scope="module")
def clean() -> Recording:
    return recorded(anomalies=False)


# -------------------------------------------------------------------------- findings


def test_every_planted_anomaly_is_found(incident: Recording, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(
        capsys, "check", "--file", str(incident.jsonl), *THRESHOLDS, "--as-of", later(), "--json"
    )
    assert code == 1
    findings = json.loads(out)["findings"]
    assert {(f["kind"], f["subject"]) for f in findings} == expected_findings(incident)
    by_kind = {f["kind"]: f for f in findings}
    ids = incident.ids
    assert by_kind["completed_without_message"]["thread_id"] == ids["thread_c"]
    assert (
        by_kind["stuck_run"]["thread_id"] == ids["thread_f"]
        and "queued for" in by_kind["stuck_run"]["detail"]
    )
    assert by_kind["duplicate_idempotency_key"]["ids"] == [f"message {m}" for m in ids["duplicate_messages"]]
    assert f"{LONG_THREAD_MESSAGES} messages" in by_kind["long_thread"]["detail"]
    threads_e = [
        f for f in findings if f["kind"] == "duplicate_fingerprint" and f["thread_id"] in ids["threads_e"]
    ]
    assert len(threads_e) == 1 and all(t in threads_e[0]["detail"] for t in ids["threads_e"])


def test_a_clean_recording_has_no_findings(clean: Recording, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "check", "--file", str(clean.jsonl), *THRESHOLDS, "--as-of", later())
    assert code == 0
    assert out.startswith("check: nothing found") and "2 threads" in out


def test_text_output_names_what_to_follow_with_timeline(
    incident: Recording, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = cli(capsys, "check", "--file", str(incident.jsonl), *THRESHOLDS, "--as-of", later())
    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith("check: 6 finding(s)")
    for kind, subject in expected_findings(incident):
        line = next(line for line in lines if line.startswith(kind) and subject in line)
        code, story, _ = cli(
            capsys, "timeline", subject, "--file", str(incident.jsonl)
        )  # the reviewer's next step
        assert code == 0 and "thread thread_" in story, line
    assert "CANARY" not in out


def test_thresholds(incident: Recording, capsys: pytest.CaptureFixture[str]) -> None:
    """The queued run was created a moment ago: not stuck by the default 600 s, long threads need > N."""
    _, out, _ = cli(capsys, "check", "--file", str(incident.jsonl), "--json")
    kinds = {f["kind"] for f in json.loads(out)["findings"]}
    assert "stuck_run" not in kinds and "long_thread" not in kinds  # defaults: 600 s, 100 messages
    _, out, _ = cli(capsys, "check", "--file", str(incident.jsonl), "--window", "0", "--json")
    kinds = {f["kind"] for f in json.loads(out)["findings"]}
    assert not {"duplicate_idempotency_key", "duplicate_fingerprint"} & kinds  # 0 s window: nothing is close


@pytest.mark.parametrize("where", ["otlp", "app-insights"])
def test_the_same_findings_from_otlp_json_and_app_insights(
    where: str, incident: Recording, capsys: pytest.CaptureFixture[str]
) -> None:
    tables = {"dependencies": incident.dependencies, "traces": incident.traces}
    with LogAnalyticsServer(tables) as server:
        if where == "otlp":
            argv = ["--source", str(incident.otlp_dir)]
        else:
            argv = ["--app-insights", RESOURCE, "--logs-endpoint", server.endpoint, "--since", "1d"]
        code, out, err = cli(
            capsys, "check", *argv, *THRESHOLDS, "--as-of", later(), "--json", credential=FakeCredential()
        )
        assert code == 1, err
        assert {(f["kind"], f["subject"]) for f in json.loads(out)["findings"]} == expected_findings(incident)
        if where == "app-insights":
            assert len(server.queries) == 4  # one day in six-hour slices
            assert "reading" in err and "time slices" in err


def test_telemetry_without_message_events_falls_back_to_later_listings(incident: Recording) -> None:
    """Recorded before message/step events existed: a list of the thread after completion counts."""
    spans = [
        Span(s.name, s.start_ns, s.end_ns, s.status, s.attributes, s.trace_id, s.span_id, s.parent_id,
             tuple(e for e in s.events if e.name not in (sc.EVENT_MESSAGE, sc.EVENT_RUN_STEP, sc.EVENT_REPLY)))
        for s in FileSource([str(incident.jsonl)]).scan()
    ]  # fmt: skip
    findings = Checker(Limits(max_messages=1000)).add_all(spans).findings()
    assert [(f.kind, f.subject) for f in findings if f.kind == "completed_without_message"] == [
        ("completed_without_message", incident.ids["silent_run"])
    ]


# ------------------------------------------------------------------------------ scale

# The big files are the incident's lines replicated with every id rewritten, so each copy is a
# different set of threads, runs and requests (a busy service), not the same spans again.
_HEX = re.compile(rb"(?<![0-9a-f])[0-9a-f]{16,32}(?![0-9a-f])")
_APP_IDS = re.compile(rb'"(app-req-|idem-)')


def replicate(source: Path, target: Path, size: int, every_s: float = 2.0) -> int:
    """Copies of ``source`` with fresh ids, each ``every_s`` later, until ``target`` holds ``size`` bytes."""
    lines = source.read_bytes().splitlines(keepends=True)
    copies = 0
    with open(target, "wb") as out:
        while out.tell() < size:
            tag, shift = b"%08x" % copies, int(copies * every_s * 1e9)

            def fresh(match: re.Match[bytes], tag: bytes = tag, shift: int = shift) -> bytes:
                value = match.group(0)
                if value.isdigit():  # a timestamp (ns): later
                    return b"%d" % (int(value) + shift)
                return tag + value[8:]

            for line in lines:
                out.write(
                    _APP_IDS.sub(lambda m, tag=tag: b'"' + m.group(1) + tag + b"-", _HEX.sub(fresh, line))
                )
            copies += 1
    return copies


# VmHWM is the peak resident memory of the process's own address space since exec (ru_maxrss
# would also count the pytest process it was forked from).
_MEASURED = """
import sys
from assistant_telemetry.cli import main
code = main(sys.argv[1:])
peak = next(line for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(int(peak.split()[1]) / 1024, file=sys.stderr)
"""


def peak_rss_mb(*argv: str) -> tuple[float, str]:
    """Peak resident memory of one command run in its own process (MB), and its stdout."""
    done = subprocess.run(
        [sys.executable, "-c", _MEASURED, *argv, "--quiet"], capture_output=True, text=True, timeout=600
    )
    assert done.returncode in (0, 1), done.stderr[-2000:]
    return float(done.stderr.strip().splitlines()[-1]), done.stdout


@pytest.mark.slow
def test_memory_stays_bounded_as_the_input_grows(clean: Recording, tmp_path: Path) -> None:
    """25 MB and 100 MB (about 1,300 and 5,200 threads): the peak barely moves.

    1 GB takes minutes here, so the claim is made by comparison: 75 MB more input (and 3,900
    more threads) may cost check a few MB of per-thread counters and timeline nothing; a reader
    that held the input would need a few hundred MB more (benchmarks/cli.py measures 1 GB).
    """
    small, large = tmp_path / "25mb.jsonl", tmp_path / "100mb.jsonl"
    copies_small = replicate(clean.jsonl, small, 25 << 20)
    copies_large = replicate(clean.jsonl, large, 100 << 20)
    thread_id = clean.ids["thread_a"]
    needle = "thread_00000000" + thread_id[len("thread_") + 8 :]  # thread A of the first copy
    rss: dict[str, dict[str, float]] = {"check": {}, "timeline": {}}
    for path in (small, large):
        rss["check"][path.name], out = peak_rss_mb("check", "--file", str(path))
        assert out.startswith("check: nothing found")
        rss["timeline"][path.name], out = peak_rss_mb("timeline", needle, "--file", str(path), "--json")
        assert len(json.loads(out)["threads"][0]["calls"]) == len(clean.of_thread(thread_id))
    threads_added = 2 * (copies_large - copies_small)
    check_growth = rss["check"][large.name] - rss["check"][small.name]
    timeline_growth = rss["timeline"][large.name] - rss["timeline"][small.name]
    print(f"peak RSS MB {rss}; check grew {check_growth:.1f} MB for {threads_added} more threads")
    assert timeline_growth < 10, rss
    assert check_growth < 40, rss
    assert check_growth * (1 << 20) / threads_added < 2048  # under 2 KB a thread: 100,000 threads < 200 MB
