"""The overhead benchmark runs and prints its table (a smoke test: no number is judged here)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CALLS = (
    "messages.create",
    "messages.list",
    "runs.retrieve",
    "runs.create_and_poll (3 polls)",
    "responses.create",
    "chat.completions.create",
)
NUMBER = r"-?\d+(?:\.\d+)?"


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
    for call in CALLS:
        row = next((line for line in lines if line.startswith(call + " ")), None)
        assert row is not None, f"no row for {call}:\n{done.stdout}"
        ratios = re.findall(rf"({NUMBER}) (?:ok|OVER)", row)
        assert len(ratios) == 2, row  # recording and sampled out, each against its target
        spans = row[len(call) :].split()[0]
        assert spans in {"0", "1"}, row  # spans per call: 1 instrumented, 0 not (yet)
