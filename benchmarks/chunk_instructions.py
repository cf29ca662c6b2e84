"""Per stream chunk, in instructions: what we add to each chat chunk, counted by callgrind.

    .venv/bin/python benchmarks/chunk_instructions.py                  # openai 3.x (main venv)
    benchmarks/.peers-venv/bin/python benchmarks/chunk_instructions.py # openai 2.x
    .venv/bin/python benchmarks/chunk_instructions.py --cache          # and simulated cache misses

A chunk costs us a few microseconds between two of the SDK's parses of about 150 us each, and on
a 2-core machine the paired wall-time noise per chunk is about 2 us (docs/performance.md): a cut
of a microsecond cannot be shown in seconds. Instructions can: callgrind counts the same for the
same code and input whatever else the machine runs.

This file runs itself again under callgrind (benchmarks/callgrind.py: instrumentation off through
the imports and warm-up, collection switched on from Python around each counted piece). Each
measured stream, a ``chat.completions.create(stream=True)`` on peers.py's mock (its ``max_tokens``
content chunks), is counted alone: collection is on around its ``for`` loop and the count dumped
with its label. Per chunk is the slope between a short and a long stream, ours minus plain: the
per-call work (span start and end, metrics) cancels out of it.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
from pathlib import Path
from typing import Any

import callgrind

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = ("plain", "recording", "sampled out")


# --- the process under callgrind ----------------------------------------------------------------


def counted_streams(helper: Path, chunks: tuple[int, int], repeats: int) -> None:
    """Each variant's streams, each counted alone and dumped as "<variant> <chunks> <repeat>"."""
    sys.path[:0] = [str(ROOT / "benchmarks"), str(ROOT / "tests")]
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    import assistant_telemetry

    from measure import DiscardSpans, SwitchSampler, Toggle
    from peers import USER, ChunkedApi

    counter = callgrind.Counter(helper)
    api = ChunkedApi()
    # No thread of the SDK's may run while a stream is counted (collection counts every thread, and
    # a batch processor's timer fires often at callgrind's pace): spans are exported as they end,
    # to nothing, and metrics wait for a reader that is never asked.
    sampler = SwitchSampler()
    tracer_provider = TracerProvider(sampler=sampler)
    tracer_provider.add_span_processor(SimpleSpanProcessor(DiscardSpans()))
    meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    assistant_telemetry.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    wrappers = Toggle()

    def drain(client: Any, n: int) -> None:
        for _ in client.chat.completions.create(model="gpt-4o", messages=USER, stream=True, max_tokens=n):
            pass

    def enter(variant: str) -> None:
        wrappers.set(variant != "plain")
        sampler.recording = variant == "recording"

    clients = {}
    for variant in VARIANTS:  # each client built in its state (the SDK caches bound methods)
        enter(variant)
        clients[variant] = api.client()
        for n in chunks:
            drain(clients[variant], n)  # warm: first calls, lazy imports, specialized bytecode

    def count(variant: str, n: int, label: str) -> None:
        """One stream of ``n`` chunks counted alone, its count dumped under ``label``."""
        counter.count(label, lambda: drain(clients[variant], n))

    counter.start()
    # Each variant's first stream counted after the start counts 1-3% more than its later ones: these.
    for variant in VARIANTS:
        enter(variant)
        count(variant, chunks[0], "warm-up")
    for repeat in range(repeats):
        for variant in VARIANTS:
            enter(variant)
            for n in chunks:
                drain(clients[variant], 2)  # the same state before every counted stream
                count(variant, n, f"{variant} {n} {repeat}")
    assistant_telemetry.uninstrument()


# --- the parent: run it, read the dumps --------------------------------------------------------


def read_counts(out: Path) -> tuple[list[str], dict[tuple[str, int], list[list[int]]]]:
    """Each dump's events (Ir, and the cache events with --cache) by (variant, chunks)."""
    events, dumps = callgrind.labelled_dumps(out)
    return events, by_stream(dumps)


def by_stream(dumps: callgrind.Dumps) -> dict[tuple[str, int], list[list[int]]]:
    """Labelled dumps ("<variant> <chunks> <repeat>") by (variant, chunks), repeats in order."""
    counts: dict[tuple[str, int], list[list[int]]] = {}
    for label, values in dumps:
        found = re.fullmatch(r"(.+) (\d+) (\d+)", label)
        if found:
            counts.setdefault((found.group(1), int(found.group(2))), []).append(values)
    return counts


def per_chunk(counts: dict[tuple[str, int], list[list[int]]], chunks: tuple[int, int]) -> dict[str, Any]:
    """Per variant: events per short stream and per chunk (the slope), each as the median repeat,
    how far the repeats spread (instructions: 0 when the count is exact), and for ours what each
    adds to plain's."""
    short, long = chunks
    result: dict[str, Any] = {}
    for variant in VARIANTS:
        shorts, longs = counts[(variant, short)], counts[(variant, long)]
        slopes = [
            [(b - a) / (long - short) for a, b in zip(at_short, at_long, strict=True)]
            for at_short, at_long in zip(shorts, longs, strict=True)
        ]
        result[variant] = {
            "per_stream": [statistics.median([s[i] for s in shorts]) for i in range(len(shorts[0]))],
            "per_chunk": [statistics.median([s[i] for s in slopes]) for i in range(len(slopes[0]))],
            "per_chunk_spread": max(s[0] for s in slopes) - min(s[0] for s in slopes),
        }
    plain = result["plain"]
    for variant in VARIANTS[1:]:
        ours = result[variant]
        ours["added_per_chunk"] = [o - p for o, p in zip(ours["per_chunk"], plain["per_chunk"], strict=True)]
        ours["added_per_stream"] = [
            o - p for o, p in zip(ours["per_stream"], plain["per_stream"], strict=True)
        ]
    return result


def measure(
    chunks: tuple[int, int], repeats: int, cache: bool, python: str = sys.executable
) -> dict[str, Any]:
    child = [python, __file__, "--chunks", *map(str, chunks), "--repeats", str(repeats)]
    events, dumps = callgrind.run(child, cache)
    report = per_chunk(by_stream(dumps), chunks)
    import openai

    return {
        "events": events,
        "chunks": list(chunks),
        "repeats": repeats,
        "openai": openai.__version__,
        **report,
    }


def render(report: dict[str, Any]) -> str:
    short, long = report["chunks"]
    events = report["events"]
    lines = [
        f"callgrind, openai {report['openai']}, streams of {short} and {long} content chunks, "
        f"{report['repeats']} repeats (median; the per-chunk spread is max - min over repeats)",
        f"the SDK alone (plain): {report['plain']['per_chunk'][0]:,.0f} instructions a chunk, "
        f"{report['plain']['per_stream'][0]:,.0f} a {short}-chunk stream",
    ]
    for variant in VARIANTS[1:]:
        ours = report[variant]
        added = ", ".join(f"{e} {v:+,.1f}" for e, v in zip(events, ours["added_per_chunk"], strict=True))
        share = ours["added_per_chunk"][0] / report["plain"]["per_chunk"][0]
        lines.append(
            f"ours, {variant}: per chunk {added} ({share:.2%} of the SDK's instructions; spread "
            f"{ours['per_chunk_spread']:,.0f}); per {short}-chunk stream "
            f"Ir {ours['added_per_stream'][0]:+,.0f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chunks", type=int, nargs=2, default=(50, 500), metavar=("SHORT", "LONG"))
    parser.add_argument(
        "--repeats", type=int, default=3, help="each stream counted this many times (the median is reported)"
    )
    parser.add_argument("--cache", action="store_true", help="also simulate the caches (D1, LL misses)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)  # the run under callgrind
    args = parser.parse_args(argv)
    chunks = (min(args.chunks), max(args.chunks))
    if chunks[0] == chunks[1] or args.repeats < 1:
        parser.error("--chunks needs two different sizes and --repeats at least 1")
    if args.child:
        counted_streams(args.child, chunks, args.repeats)
        return 0
    report = measure(chunks, args.repeats, args.cache)
    print(json.dumps(report) if args.json else render(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
