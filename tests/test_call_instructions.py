"""benchmarks/call_instructions.py counts instructions per call under callgrind, repeatably.

The suite runs it on two calls, twice each: no count is judged against a budget (the own-code
target is a benchmark's figure, docs/performance.md), only what must hold of any correct count.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import call_instructions as ci  # noqa: E402
import callgrind  # noqa: E402

CALLS = ("chat.completions.create", "messages.list")


def counted() -> dict[str, Any]:
    report: dict[str, Any] = callgrind.json_report(
        "call_instructions.py", "--calls", *CALLS, "--repeats", "2"
    )
    return report


@pytest.mark.slow(minutes=0.5)  # collected first (tests/conftest.py): not the suite's tail
@pytest.mark.timeout(450)
def test_a_run_counts_each_call_and_its_sdk_share_repeatably() -> None:
    report = counted()
    assert set(report["calls"]) == set(CALLS)
    for call, row in report["calls"].items():
        added = row["added"]
        # The SDK's own call (request, transport, parse) is millions of instructions.
        assert row["plain"] > 1_000_000, call
        # Ours asks the SDK for what the replay asks, and runs our own code besides.
        assert added[ci.RECORDING] > added[ci.SDK_ALONE] > 0, call
        assert added[ci.SAMPLED_OUT] > added[ci.SDK_ALONE_OFF] > 0, call
        assert added[ci.RECORDING] > added[ci.SAMPLED_OUT], call  # a recording span does more
        assert row["own code"] > row["own code, sampled out"] > 0, call
        # The point of counting: the same call again gives (nearly) the same count.
        assert row["spread"] < 0.01 * row["plain"], call
    assert "messages.list" in ci.render(report)


def test_own_code_is_ours_minus_the_sdk_alone_paired_by_repeat() -> None:
    """The report's arithmetic, on dumps labelled as the child labels them."""
    counts = {
        ci.PLAIN: [1000, 1010, 990],
        ci.RECORDING: [1500, 1520, 1480],
        ci.SAMPLED_OUT: [1100, 1115, 1090],
        ci.SDK_ALONE: [1300, 1305, 1290],
        ci.SDK_ALONE_OFF: [1060, 1070, 1050],
    }
    dumps = [("warm-up", [7])]
    dumps += [(f"{v}|x.create|{r}", [n]) for v, ns in counts.items() for r, n in enumerate(ns)]
    row = ci.report(ci.by_call(dumps))["x.create"]
    assert row["plain"] == 1000
    assert row["added"][ci.RECORDING] == 500
    assert row["added"][ci.SDK_ALONE] == 300  # 300, 295, 300
    assert row["own code"] == 200  # 200, 215, 190: paired by repeat, then the median
    assert row["own / SDK alone (recording)"] == pytest.approx(200 / 300)
    assert row["own code, sampled out"] == 40  # 40, 45, 40
    assert row["spread"] == 40  # recording's 1480..1520
