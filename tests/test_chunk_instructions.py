"""benchmarks/chunk_instructions.py counts instructions per stream chunk under callgrind, repeatably.

The suite runs it at a tiny size: no count is judged against a budget, only what must hold of
any correct count (the SDK parses each chunk; recording adds more than sampled out; the repeats
agree). ``make valgrind`` (part of ``make test``) installs valgrind.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import callgrind  # noqa: E402
import chunk_instructions  # noqa: E402

SHORT, LONG = 4, 24


def counted() -> dict[str, Any]:
    report: dict[str, Any] = callgrind.json_report(
        "chunk_instructions.py", "--chunks", str(SHORT), str(LONG), "--repeats", "3"
    )
    return report


@pytest.mark.slow(minutes=1)  # collected first (tests/conftest.py): not the suite's tail
@pytest.mark.timeout(450)
def test_a_run_counts_every_variant_repeatably() -> None:
    """One test, not a module fixture: xdist would run the callgrind run once per worker."""
    report = counted()
    assert report["events"] == ["Ir"]
    assert report["chunks"] == [SHORT, LONG]
    plain = report["plain"]
    # The SDK decodes and parses each chunk: tens of thousands of instructions at least.
    assert plain["per_chunk"][0] > 20_000
    assert plain["per_stream"][0] > SHORT * plain["per_chunk"][0]
    recording, sampled_out = report["recording"], report["sampled out"]
    # A recording span reads each chunk; a sampled-out one lets them pass by.
    assert recording["added_per_chunk"][0] > 0
    assert sampled_out["added_per_chunk"][0] < recording["added_per_chunk"][0]
    # Per stream both pay the span's start and end, and the metric records.
    assert recording["added_per_stream"][0] > sampled_out["added_per_stream"][0] > 0
    # The point of counting: the same stream again gives (nearly) the same count.
    for variant in chunk_instructions.VARIANTS:
        assert report[variant]["per_chunk_spread"] < 0.01 * plain["per_chunk"][0], variant


def test_per_chunk_is_the_slope_ours_minus_plain(tmp_path: Path) -> None:
    """The dumps' arithmetic, on files shaped as callgrind writes them."""
    out = tmp_path / "callgrind.out"
    counts = {"plain": (1000, 5000), "recording": (1300, 5900), "sampled out": (1100, 5120)}
    part = 0
    for variant, (short, long) in counts.items():
        for chunks, total in ((10, short), (50, long)):
            part += 1
            body = f"desc: Trigger: Client Request: {variant} {chunks} 0\nevents: Ir\nsummary: {total}\n"
            (tmp_path / f"callgrind.out.{part}").write_text(body)
    (tmp_path / "callgrind.out.0").write_text("events: Ir\nsummary: 7\n")  # a dump with no label
    events, read = chunk_instructions.read_counts(out)
    assert events == ["Ir"]
    result = chunk_instructions.per_chunk(read, (10, 50))
    assert result["plain"]["per_chunk"] == [100.0]
    assert result["recording"]["per_chunk"] == [115.0]
    assert result["sampled out"]["per_stream"] == [1100]
    assert result["recording"]["added_per_chunk"] == [15.0]
    assert result["recording"]["added_per_stream"] == [300]
    assert result["sampled out"]["added_per_chunk"] == [0.5]
