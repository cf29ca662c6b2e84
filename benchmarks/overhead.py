"""What the instrumentation costs per call, next to the floor, in one process and one run.

    .venv/bin/python benchmarks/overhead.py            # ~1 minute: the table in docs/performance.md
    .venv/bin/python benchmarks/overhead.py --quick    # a few seconds: proves it runs (CI smoke)
    .venv/bin/python benchmarks/overhead.py --peers    # also peers on chat.completions (own venv)
    .venv/bin/python benchmarks/overhead.py --profile runs.create_and_poll

Every call goes through the real openai client and an in-process mock transport (no socket,
no simulator; tests/mock_api.py). Each is timed uninstrumented, instrumented, and instrumented
with the span sampled out, in interleaved blocks (benchmarks/measure.py). The floor is one span
with 15 attributes started and ended through a BatchSpanProcessor to a discarding exporter.
Targets: overhead <= 2x the floor per call; sampled out <= 0.25x the floor.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import assistant_telemetry

from measure import Estimate, Pipeline, Results, Toggle, Variant, Workload, interleave, render
from mock_api import MockApi

warnings.filterwarnings("ignore", category=DeprecationWarning)

TARGET_RECORDING = 2.0
TARGET_SAMPLED_OUT = 0.25
IN_SITU = "floor in situ"  # the floor's span around the plain call: a variant, measured like ours
USER = [{"role": "user", "content": "What is the weather like?"}]

WORKLOADS = (
    Workload(
        "messages.create",
        lambda c: lambda: c.beta.threads.messages.create("thread_1", role="user", content="hi"),
    ),
    Workload("messages.list", lambda c: lambda: c.beta.threads.messages.list("thread_1")),
    Workload("runs.retrieve", lambda c: lambda: c.beta.threads.runs.retrieve("run_1", thread_id="thread_1")),
    Workload(
        "runs.create_and_poll (3 polls)",
        lambda c: lambda: c.beta.threads.runs.create_and_poll(thread_id="thread_1", assistant_id="asst_1"),
    ),
    Workload("responses.create", lambda c: lambda: c.responses.create(model="gpt-4o", input="hi")),
    Workload(
        "chat.completions.create", lambda c: lambda: c.chat.completions.create(model="gpt-4o", messages=USER)
    ),
)


@dataclass
class Setup:
    """The instrumented process and the switches that make it look uninstrumented or sampled out."""

    pipeline: Pipeline
    toggle: Toggle
    variants: list[Variant]
    floor: Variant


def setup(api: MockApi) -> Setup:
    """Instrument once; variants flip the wrappers (plain) or the sampler (sampled out) per block."""
    pipeline = Pipeline()
    assistant_telemetry.instrument(
        tracer_provider=pipeline.tracer_provider, meter_provider=pipeline.meter_provider
    )
    toggle = Toggle("openai")

    def state(wrapped: bool, recording: bool) -> Callable[[], None]:
        def enter() -> None:
            toggle.set(wrapped)
            pipeline.sampler.recording = recording

        return enter

    return Setup(
        pipeline,
        toggle,
        [
            Variant("plain", state(False, True), api.client),
            Variant("recording", state(True, True), api.client),
            Variant("sampled out", state(True, False), api.client),
            Variant(IN_SITU, state(False, True), api.client, pipeline.floor_around()),
        ],
        Variant("floor", state(False, True), pipeline.floor),
    )


def spans_per_call(
    ready: Setup, workloads: tuple[Workload, ...], calls: int = 4
) -> dict[str, dict[str, float]]:
    """Spans exported per call, per variant: plain must make none; 0 when recording = not instrumented."""
    found: dict[str, dict[str, float]] = {}
    for variant in ready.variants:
        fns = variant.calls(workloads)
        variant.enter()
        found[variant.name] = {}
        for workload in workloads:
            before = ready.pipeline.exported()
            for _ in range(calls):
                fns[workload.name]()
            found[variant.name][workload.name] = (ready.pipeline.exported() - before) / calls
    if any(found["plain"].values()):
        raise RuntimeError(f"spans while uninstrumented: {found['plain']}")
    return found


def table(results: Results, workloads: tuple[Workload, ...] = WORKLOADS, markdown: bool = False) -> str:
    floor = results.floor_s()
    rows = [
        (
            "call",
            "spans",
            "plain us",
            "overhead us (95% CI)",
            "x floor",
            "x floor in situ",
            "sampled out us (95% CI)",
            "x floor",
            "x floor in situ",
            "floor in situ us",
        )
    ]
    for workload in workloads:
        name = workload.name
        rec, off = results.overhead("recording", name), results.overhead("sampled out", name)
        in_situ = results.overhead(IN_SITU, name).median
        spans = results.spans_per_call.get(name)
        rows.append(
            (
                name,
                "?" if spans is None else f"{spans:g}",
                f"{results.plain(name) * 1e6:.0f}",
                _interval(rec),
                _verdict(rec.median / floor, TARGET_RECORDING),
                f"{rec.median / in_situ:.2f}",
                _interval(off),
                _verdict(off.median / floor, TARGET_SAMPLED_OUT),
                f"{off.median / in_situ:.2f}",
                f"{in_situ * 1e6:.1f}",
            )
        )
    every = results.every_span
    extra = (
        ""
        if every is None
        else f"\nspan processors instrument() adds to the app's provider: {every.median * 1e6:+.1f} us"
        f" ({every.low * 1e6:.1f} to {every.high * 1e6:.1f}) on every span the app makes, ours or not"
    )
    head = (
        "floor: one span with 15 attributes, BatchSpanProcessor -> discarding exporter:"
        f" {floor * 1e6:.1f} us CPU per span\nfloor in situ: the same span around the uninstrumented"
        " call (what one span costs in that call's conditions)\n"
        f"{results.rounds} interleaved rounds;"
        f" targets: overhead <= {TARGET_RECORDING} x floor, sampled out <= {TARGET_SAMPLED_OUT} x floor;"
        " spans = spans exported per call"
    )
    return head + extra + "\n\n" + render(rows, markdown)


def _interval(estimate: Estimate) -> str:
    return f"{estimate.median * 1e6:.1f} ({estimate.low * 1e6:.1f} to {estimate.high * 1e6:.1f})"


def _verdict(ratio: float, target: float) -> str:
    return f"{ratio:.2f} {'ok' if ratio <= target else 'OVER'}"


def within_target(results: Results, workloads: tuple[Workload, ...] = WORKLOADS) -> bool:
    floor = results.floor_s()
    return all(
        results.overhead("recording", w.name).median <= TARGET_RECORDING * floor
        and results.overhead("sampled out", w.name).median <= TARGET_SAMPLED_OUT * floor
        for w in workloads
    )


def profile(name: str, seconds: float, sampled_out: bool) -> str:
    """Where one instrumented call's overhead goes, by line of src/ (benchmarks/attribution.py)."""
    from attribution import sample

    workload = next(w for w in WORKLOADS if w.name.startswith(name))
    ready = setup(MockApi())
    ready.pipeline.sampler.recording = not sampled_out
    call = workload.make(MockApi().client())
    try:
        found, per_call_us = sample(call, seconds)
    finally:
        assistant_telemetry.uninstrument()
    return f"{workload.name}{' (sampled out)' if sampled_out else ''}\n" + found.report(per_call_us)


def every_span_cost(ready: Setup, seconds: float, block_s: float) -> Estimate:
    """What the span processors ``instrument()`` adds to the app's provider cost on *every* span."""
    span = Workload("span", lambda floor: floor)
    clean, app = ready.pipeline.floor(), ready.pipeline.floor(own_provider=False)
    both = [
        Variant("own provider", lambda: None, lambda: clean),
        Variant("app provider", lambda: None, lambda: app),
    ]
    results = interleave(both, [span], Variant("floor", lambda: None, lambda: clean), seconds, block_s)
    return results.overhead("app provider", "span")


def measure(seconds: float, block_ms: float, workloads: tuple[Workload, ...] = WORKLOADS) -> Results:
    ready = setup(MockApi())
    try:
        results_every_span = every_span_cost(ready, max(2.0, seconds / 10), block_ms / 1000)
        spans = spans_per_call(ready, workloads)
        results = interleave(
            ready.variants,
            workloads,
            ready.floor,
            seconds,
            block_ms / 1000,
            progress=lambda n, left: print(
                f"\rround {n}, {max(left, 0):.0f} s left ", end="", file=sys.stderr, flush=True
            ),
        )
        print(file=sys.stderr)
    finally:
        ready.toggle.set(True)
        assistant_telemetry.uninstrument()
    results.spans_per_call = spans["recording"]
    results.every_span = results_every_span
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a few seconds: proves it runs, measures little")
    parser.add_argument("--seconds", type=float, default=None, help="measuring time (default 45)")
    parser.add_argument("--block-ms", type=float, default=2.0, help="CPU ms per timed block (default 2)")
    parser.add_argument("--markdown", action="store_true", help="print the table as markdown")
    parser.add_argument("--json", metavar="PATH", help="also write every block's timing to PATH")
    parser.add_argument("--check", action="store_true", help="exit 1 when a ratio is over its target")
    parser.add_argument("--peers", action="store_true", help="also measure peer instrumentations (own venv)")
    parser.add_argument("--profile", metavar="CALL", help="where one call's overhead goes, by line of src/")
    parser.add_argument("--sampled-out", action="store_true", help="with --profile: the span sampled out")
    args = parser.parse_args(argv)
    logging.getLogger("opentelemetry").setLevel(logging.ERROR)
    if args.profile:
        print(profile(args.profile, 5.0 if args.quick else 30.0, args.sampled_out))
        return 0
    seconds = args.seconds if args.seconds is not None else (2.0 if args.quick else 45.0)
    results = measure(seconds, args.block_ms)
    print(table(results, markdown=args.markdown))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump({"floor": results.floor, "blocks": results.blocks}, out)
    if args.peers:
        from peers import compare

        print()
        print(compare(seconds=seconds, markdown=args.markdown))
    ok = within_target(results)
    if not ok:
        print("\nsome ratios are over target", file=sys.stderr)
    return 1 if args.check and not ok else 0


if __name__ == "__main__":
    sys.exit(main())
