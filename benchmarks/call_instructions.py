"""Per call, in instructions: our own code against what the SDK alone asks, counted by callgrind.

    .venv/bin/python benchmarks/call_instructions.py                      # every call, about 2 minutes
    .venv/bin/python benchmarks/call_instructions.py --calls chat.completions.create
    benchmarks/.peers-venv/bin/python benchmarks/call_instructions.py     # openai 2.x

Issue 18's own-code target (our own code at most 0.3x what the SDK alone costs for the telemetry
we emit) is judged in overhead.py and peers.py in CPU time, as the difference of two paired
medians of a few hundred microseconds each: on the 2-core machine its interval is tens of
microseconds wide, wider than most cuts. This counts the same calls' instructions instead, which
repeat to within a fraction of a percent whatever else the machine runs.

The calls are overhead.py's (the real openai client on the in-process mock), its variants the
same switches in one instrumented process: plain (wrappers off), ours recording and sampled out,
and the SDK alone (overhead.py's replay of the SDK operations captured from our call, around the
plain call), recording and sampled out. Each call is counted alone (benchmarks/callgrind.py);
every variant's figure is its count minus the plain call's of the same repeat, the median over
repeats. Our own code = ours minus the SDK alone. The SDK's threads are kept out of the count:
spans are exported as they end (to nothing) and metrics wait for a reader that is never asked,
so the SDK alone here is the work a call does on its own thread (the batch processor's export,
the periodic reader's collection are not in it, for either side).
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
PLAIN, RECORDING, SAMPLED_OUT = "plain", "recording", "sampled out"
SDK_ALONE, SDK_ALONE_OFF = "SDK alone", "SDK alone, sampled out"  # overhead.py's variant names
VARIANTS = (PLAIN, RECORDING, SAMPLED_OUT, SDK_ALONE, SDK_ALONE_OFF)
OWN_CODE = ((RECORDING, SDK_ALONE), (SAMPLED_OUT, SDK_ALONE_OFF))  # ours, and the SDK's share of it


# --- the process under callgrind ----------------------------------------------------------------


def counted_calls(helper: Path, names: list[str], repeats: int) -> None:
    """Each variant's calls, each counted alone and dumped as "<variant>|<call>|<repeat>"
    (``main`` has put benchmarks/ and tests/ on the path)."""
    import overhead

    import assistant_telemetry

    from measure import Pipeline, warm
    from mock_api import MockApi

    ready = overhead.setup(MockApi(), Pipeline(threads=False))
    workloads = tuple(w for w in overhead.WORKLOADS if w.name in names)
    overhead.capture(ready, workloads)
    overhead.spans_per_call(ready, workloads)  # self-checks: plain exports none, the replay as ours
    variants = [ready.variant(name) for name in VARIANTS]
    calls = {v.name: v.calls(workloads) for v in variants}
    for variant in variants:
        variant.enter()
        for fn in calls[variant.name].values():
            warm(fn)  # first calls, lazy imports, specialized bytecode
    counter = callgrind.Counter(helper)
    counter.start()
    for variant in variants:  # each call's first count after the start is a few percent high: these
        variant.enter()
        for fn in calls[variant.name].values():
            counter.count("warm-up", fn)
    for repeat in range(repeats):
        for variant in variants:
            variant.enter()
            for name, fn in calls[variant.name].items():
                counter.count(f"{variant.name}|{name}|{repeat}", fn)
    assistant_telemetry.uninstrument()


# --- the parent: run it, read the dumps --------------------------------------------------------


def by_call(dumps: callgrind.Dumps) -> dict[str, dict[str, list[int]]]:
    """Instructions (the first event) by call, then variant, repeats in order."""
    counts: dict[str, dict[str, list[int]]] = {}
    for label, values in dumps:
        found = re.fullmatch(r"(.+)\|(.+)\|(\d+)", label)
        if found:
            counts.setdefault(found.group(2), {}).setdefault(found.group(1), []).append(values[0])
    return counts


def report(counts: dict[str, dict[str, list[int]]]) -> dict[str, dict[str, Any]]:
    """Per call: the plain call's instructions; what each other variant adds to it (paired by
    repeat, median); our own code (ours minus the SDK alone, paired) and its ratio to the SDK
    alone's; and the largest spread of any variant's count over the repeats."""
    result: dict[str, dict[str, Any]] = {}
    for call, variants in counts.items():
        plain = variants[PLAIN]

        def added(variant: str, minus: list[int] = plain, variants: dict[str, list[int]] = variants) -> float:
            return statistics.median(v - p for v, p in zip(variants[variant], minus, strict=True))

        row: dict[str, Any] = {
            "plain": statistics.median(plain),
            "added": {v: added(v) for v in VARIANTS[1:]},
            "spread": max(max(v) - min(v) for v in variants.values()),
        }
        for ours, sdk in OWN_CODE:
            own = added(ours, minus=variants[sdk])
            row["own code" if ours == RECORDING else "own code, sampled out"] = own
            row[f"own / SDK alone ({ours})"] = own / row["added"][sdk]
        result[call] = row
    return result


def measure(names: list[str], repeats: int, python: str = sys.executable) -> dict[str, Any]:
    child = [python, __file__, "--calls", *names, "--repeats", str(repeats)]
    _, dumps = callgrind.run(child, cache=False)
    import openai

    return {"openai": openai.__version__, "repeats": repeats, "calls": report(by_call(dumps))}


def render(measured: dict[str, Any]) -> str:
    header = [
        "call", "plain", "ours", "SDK alone", "own code", "own / SDK", "ours sampled out",
        "SDK alone sampled out", "own code sampled out", "own / SDK sampled out", "spread",
    ]  # fmt: skip
    rows = [header]
    for call, row in measured["calls"].items():
        added = row["added"]
        rows.append(
            [
                call,
                f"{row['plain']:,.0f}",
                *(f"{added[v]:+,.0f}" for v in (RECORDING, SDK_ALONE)),
                f"{row['own code']:+,.0f}",
                f"{row[f'own / SDK alone ({RECORDING})']:.2f}",
                *(f"{added[v]:+,.0f}" for v in (SAMPLED_OUT, SDK_ALONE_OFF)),
                f"{row['own code, sampled out']:+,.0f}",
                f"{row[f'own / SDK alone ({SAMPLED_OUT})']:.2f}",
                f"{row['spread']:,.0f}",
            ]
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = [
        f"callgrind, openai {measured['openai']}, instructions per call, {measured['repeats']} repeats "
        "(median of the paired differences; spread = the largest max - min of a variant's count)"
    ]
    for r in rows:
        cells = [c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))]
        lines.append("  ".join(cells))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    sys.path[:0] = [str(ROOT / "benchmarks"), str(ROOT / "tests")]
    import overhead

    every = [w.name for w in overhead.WORKLOADS]
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", nargs="+", default=every, choices=every, metavar="CALL", help=str(every))
    parser.add_argument("--repeats", type=int, default=3, help="each call counted this many times")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)  # the run under callgrind
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    if args.child:
        counted_calls(args.child, args.calls, args.repeats)
        return 0
    measured = measure(args.calls, args.repeats)
    print(json.dumps(measured) if args.json else render(measured))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
