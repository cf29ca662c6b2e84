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

"SDK alone" answers whether the OpenTelemetry SDK work our telemetry needs already exceeds the
targets: one instrumented call is captured (every tracer, span and metric instrument operation,
in order, recording and sampled out), then replayed with its attributes precomputed through the
same providers around the plain call, in the same rounds; our own code is the rest.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import wrapt
from opentelemetry import context, trace
from opentelemetry.metrics import Instrument

import assistant_telemetry
from assistant_telemetry import runtime

from measure import Estimate, Pipeline, Results, Toggle, Variant, Workload, interleave, render
from mock_api import MockApi

warnings.filterwarnings("ignore", category=DeprecationWarning)

TARGET_RECORDING = 2.0
TARGET_SAMPLED_OUT = 0.25
IN_SITU = "floor in situ"  # the floor's span around the plain call: a variant, measured like ours
SDK_ALONE = "SDK alone"  # our call's SDK operations replayed around the plain call (recording)
SDK_ALONE_OFF = "SDK alone, sampled out"  # the same, sampled out
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


# --- SDK alone: one instrumented call's SDK operations, captured, then replayed -------------------


@dataclass(frozen=True)
class SdkCall:
    """One operation the instrumentation asked of the OpenTelemetry SDK, its arguments copied."""

    target: str  # "tracer", "span", or the Runtime field holding a metric instrument ("duration" ...)
    method: str  # start_span; add_event, set_attributes, set_status, end ...; record, add
    args: tuple[Any, ...]
    kwargs: dict[str, Any] = field(default_factory=dict)
    instrument: str = ""  # a metric record's instrument name (gen_ai.client.operation.duration ...)
    with_context: bool = False  # a metric record was given a context (else: the current one)
    span_current: bool = False  # a metric record was made while the call's span was the current span

    @property
    def attributes(self) -> dict[str, Any]:
        """start_span's attributes, an event's, set_attributes', a metric record's."""
        found = self.kwargs.get("attributes")
        if found is None:
            found = next((a for a in self.args if isinstance(a, dict)), None)
        return found or {}


@dataclass
class Capture:
    """The log of one call: every SDK operation in order; ``unsupported`` ones fail the check."""

    calls: list[SdkCall] = field(default_factory=list)
    spans: list[Any] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)

    def metric(self, target: str, instrument: Any, method: str, amount: Any, attrs: Any, ctx: Any) -> None:
        current = trace.get_current_span()
        self.calls.append(
            SdkCall(
                target,
                method,
                (amount, _copied(attrs)),
                instrument=str(getattr(instrument, "name", target)),
                with_context=ctx is not None,
                span_current=any(current is span for span in self.spans),
            )
        )


def _copied(value: Any) -> Any:
    """What the instrumentation passed, as it was then (it goes on updating its own dicts)."""
    if isinstance(value, dict):
        return {key: _copied(item) for key, item in value.items()}
    if isinstance(value, list):
        return list(value)
    return value


class _CapturingTracer(wrapt.ObjectProxy):
    """The real tracer; ``start_span`` is logged and returns the real span behind a logging proxy."""

    def __init__(self, tracer: Any, log: Capture) -> None:
        super().__init__(tracer)
        self._self_log = log

    def start_span(self, name: str, *args: Any, **kwargs: Any) -> Any:
        extra = sorted(set(kwargs) - {"kind", "attributes"})
        if args or extra:
            self._self_log.unsupported.append(f"start_span({name!r}) with {args or ''} {extra or ''}")
        self._self_log.calls.append(SdkCall("tracer", "start_span", (name,), _copied(kwargs)))
        span = _CapturingSpan(self.__wrapped__.start_span(name, *args, **kwargs), self._self_log)
        self._self_log.spans.append(span)
        return span

    def start_as_current_span(self, name: str, *args: Any, **kwargs: Any) -> Any:
        self._self_log.unsupported.append(f"start_as_current_span({name!r})")
        return self.__wrapped__.start_as_current_span(name, *args, **kwargs)


def _logged(method: str) -> Callable[..., Any]:
    def forward(self: _CapturingSpan, *args: Any, **kwargs: Any) -> Any:
        self._self_log.calls.append(SdkCall("span", method, _copied(args), _copied(kwargs)))
        return getattr(self.__wrapped__, method)(*args, **kwargs)

    forward.__name__ = method
    return forward


class _CapturingSpan(wrapt.ObjectProxy):
    """The real span (``is_recording``, span context, context keys all its own); writes are logged.

    A wrapt proxy, not a copy: ``trace.set_span_in_context`` stores it, the exemplar filter reads
    the real span context through it, the span processors get the real span from the SDK.
    """

    def __init__(self, span: Any, log: Capture) -> None:
        super().__init__(span)
        self._self_log = log

    add_event = _logged("add_event")
    set_attributes = _logged("set_attributes")
    set_attribute = _logged("set_attribute")
    set_status = _logged("set_status")
    record_exception = _logged("record_exception")
    update_name = _logged("update_name")
    add_link = _logged("add_link")
    end = _logged("end")


class _CapturingInstrument(wrapt.ObjectProxy):
    """A real metric instrument whose ``record`` / ``add`` are logged (with the context question)."""

    def __init__(self, instrument: Any, target: str, log: Capture) -> None:
        super().__init__(instrument)
        self._self_target = target
        self._self_log = log

    def record(self, amount: Any, attributes: Any = None, context: Any = None) -> None:
        self._self_log.metric(self._self_target, self.__wrapped__, "record", amount, attributes, context)
        self.__wrapped__.record(amount, attributes, context)

    def add(self, amount: Any, attributes: Any = None, context: Any = None) -> None:
        self._self_log.metric(self._self_target, self.__wrapped__, "add", amount, attributes, context)
        self.__wrapped__.add(amount, attributes, context)


@contextmanager
def capturing() -> Iterator[Capture]:
    """``runtime.ACTIVE`` with its tracer and every metric instrument behind logging proxies."""
    active = runtime.ACTIVE
    if active is None:
        raise RuntimeError("capture: not instrumented (assistant_telemetry.runtime.ACTIVE is None)")
    log = Capture()
    instruments: dict[str, Any] = {  # Any: proxies stand in for the Runtime's typed fields
        f.name: _CapturingInstrument(getattr(active, f.name), f.name, log)
        for f in dataclasses.fields(active)
        if isinstance(getattr(active, f.name), Instrument)
    }
    if not instruments:
        raise RuntimeError("capture: the Runtime holds no metric instruments")
    tracer: Any = _CapturingTracer(active.tracer, log)
    runtime.ACTIVE = dataclasses.replace(active, tracer=tracer, **instruments)
    try:
        yield log
    finally:
        runtime.ACTIVE = active


Captures = dict[str, dict[bool, list[SdkCall]]]  # workload -> recording? -> the call's SDK operations


def capture(
    ready: Setup, workloads: Sequence[Workload] = WORKLOADS, warm: int = 3, variant: str = "recording"
) -> Captures:
    """Each workload's SDK operations, recording and sampled out, on the instrumented client.

    In steady state, as the timed blocks see it: after ``warm`` calls (a run's first retrieve
    claims its outcome, later ones do not), and two calls in a row must ask the same of the SDK.
    ``variant``: the name of ``ready``'s instrumented, recording variant.
    """
    calls = ready.variant(variant).calls(workloads)
    for workload in workloads:
        fn = calls[workload.name]
        ready.captures[workload.name] = {}
        for recording in (True, False):
            ready.toggle.set(True)
            ready.pipeline.sampler.recording = recording
            where = f"{workload.name} ({'recording' if recording else 'sampled out'})"
            for _ in range(warm):
                fn()
            logs = []
            for _ in range(2):
                with capturing() as log:
                    fn()
                logs.append(log)
            _check(logs[-1], where)
            if _shape(logs[0].calls) != _shape(logs[1].calls):
                raise RuntimeError(
                    f"capture of {where}: two calls in a row asked different things of the SDK,"
                    f" a replay of one would not stand for the timed calls:\n{logs[0].calls}\n{logs[1].calls}"
                )
            ready.captures[workload.name][recording] = logs[-1].calls
    return ready.captures


def _check(log: Capture, where: str) -> None:
    starts = [c for c in log.calls if c.method == "start_span"]
    ends = [c for c in log.calls if c.target == "span" and c.method == "end"]
    records = [c for c in log.calls if c.instrument]
    if len(starts) != 1 or len(ends) != 1 or not records:
        raise RuntimeError(
            f"capture of {where}: expected exactly one start_span, one end and at least one metric"
            f" record, got {len(starts)}, {len(ends)} and {len(records)}:"
            f" {[f'{c.target}.{c.method}' for c in log.calls]}"
        )
    if log.unsupported:
        raise RuntimeError(f"capture of {where}: operations the replay does not make: {log.unsupported}")
    if log.calls[0] is not starts[0]:
        raise RuntimeError(f"capture of {where}: SDK operations before start_span: {log.calls}")


def _shape(calls: Sequence[SdkCall]) -> list[tuple[Any, ...]]:
    return [(c.target, c.method, tuple(c.attributes), c.with_context, c.span_current) for c in calls]


def replayed(ready: Setup, recording: bool) -> Callable[[str, Callable[[], Any]], Callable[[], Any]]:
    """A ``Variant.around``: the workload's captured SDK operations around the plain call.

    Through the real tracer and instruments (``runtime.ACTIVE`` once the capture is over), in
    the captured order: start the span and make it current, the call, events, attributes,
    status, end and the metric records made while the span was current (as ``Call.end`` makes
    them, before ``detach``), then detach and any record made after. The span's writes come
    after the call, where ours are made once (events during a poll loop come after it here).
    A record given a context gets ``set_span_in_context(span)``, as a streamed call's does.
    """

    def around(workload: str, call: Callable[[], Any]) -> Callable[[], Any]:
        active = runtime.ACTIVE
        if active is None:
            raise RuntimeError("replay: not instrumented (assistant_telemetry.runtime.ACTIVE is None)")
        try:
            calls = ready.captures[workload][recording]
        except KeyError:
            raise RuntimeError(f"replay: no capture of {workload!r}: run capture(ready) first") from None
        tracer = active.tracer
        name, start = calls[0].args[0], calls[0].kwargs
        inside: list[Callable[[Any], Any]] = []
        after: list[Callable[[Any], Any]] = []
        for sdk_call in calls[1:]:
            op = _operation(sdk_call, active)
            (after if sdk_call.instrument and not sdk_call.span_current else inside).append(op)

        def replay() -> Any:
            span = tracer.start_span(name, **start)
            token = context.attach(trace.set_span_in_context(span))
            try:
                result = call()
                for op in inside:
                    op(span)
            finally:
                context.detach(token)
            for op in after:
                op(span)
            return result

        return replay

    return around


def _operation(sdk_call: SdkCall, active: runtime.Runtime) -> Callable[[Any], Any]:
    method, args, kwargs = sdk_call.method, sdk_call.args, sdk_call.kwargs
    if sdk_call.target == "span":
        return lambda span: getattr(span, method)(*args, **kwargs)
    write = getattr(getattr(active, sdk_call.target), method)
    amount, attributes = args
    if sdk_call.with_context:
        return lambda span: write(amount, attributes, trace.set_span_in_context(span))
    return lambda span: write(amount, attributes, None)


def sdk_work(calls: Sequence[SdkCall]) -> str:
    """What a capture asks of the SDK: span attributes / events / metric records."""
    attributes = set(calls[0].attributes)
    for c in calls:
        if c.target == "span" and c.method in ("set_attributes", "set_attribute"):
            attributes.update(c.attributes if c.method == "set_attributes" else (c.args[0],))
    events = sum(c.method == "add_event" for c in calls)
    return f"{len(attributes)}/{events}/{sum(bool(c.instrument) for c in calls)}"


# --- the process under test --------------------------------------------------------------------


@dataclass
class Setup:
    """The instrumented process and the switches that make it look uninstrumented or sampled out."""

    pipeline: Pipeline
    toggle: Toggle
    variants: list[Variant]
    floor: Variant
    captures: Captures = field(default_factory=dict)  # for the SDK alone variants: capture() fills it

    def variant(self, name: str) -> Variant:
        return next(v for v in self.variants if v.name == name)


def setup(api: MockApi, pipeline: Pipeline | None = None) -> Setup:
    """Instrument once; variants flip the wrappers (plain) or the sampler (sampled out) per block.

    The SDK alone variants run the plain client (wrappers off: none of our code runs) with the
    sampler as the state they replay was captured in; ``capture(ready)`` must come first.
    ``pipeline``: the application's providers (default: ``Pipeline()``, the SDK's batching).
    """
    pipeline = pipeline or Pipeline()
    assistant_telemetry.instrument(
        tracer_provider=pipeline.tracer_provider, meter_provider=pipeline.meter_provider
    )
    toggle = Toggle("openai")

    def state(wrapped: bool, recording: bool) -> Callable[[], None]:
        def enter() -> None:
            toggle.set(wrapped)
            pipeline.sampler.recording = recording

        return enter

    ready = Setup(pipeline, toggle, [], Variant("floor", state(False, True), pipeline.floor))
    ready.variants = [
        Variant("plain", state(False, True), api.client),
        Variant("recording", state(True, True), api.client),
        Variant("sampled out", state(True, False), api.client),
        Variant(IN_SITU, state(False, True), api.client, pipeline.floor_around()),
        Variant(SDK_ALONE, state(False, True), api.client, replayed(ready, recording=True)),
        Variant(SDK_ALONE_OFF, state(False, False), api.client, replayed(ready, recording=False)),
    ]
    return ready


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
    for ours, replay in (("recording", SDK_ALONE), ("sampled out", SDK_ALONE_OFF)):
        if replay in found and found[replay] != found[ours]:
            raise RuntimeError(f"{replay} exports {found[replay]} spans per call, {ours} {found[ours]}")
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
            "SDK alone us",
            "x floor",
            "own code us (95% CI)",
            "SDK alone sampled out us",
            "x floor",
            "own code sampled out us (95% CI)",
            "SDK attrs/events/records",
        )
    ]
    for workload in workloads:
        name = workload.name
        rec, off = results.overhead("recording", name), results.overhead("sampled out", name)
        in_situ = results.overhead(IN_SITU, name).median
        sdk, sdk_off = results.overhead(SDK_ALONE, name).median, results.overhead(SDK_ALONE_OFF, name).median
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
                f"{sdk * 1e6:.1f}",
                f"{sdk / floor:.2f}",
                _interval(results.difference("recording", SDK_ALONE, name)),
                f"{sdk_off * 1e6:.1f}",
                f"{sdk_off / floor:.2f}",
                _interval(results.difference("sampled out", SDK_ALONE_OFF, name)),
                results.sdk_work.get(name, "?"),
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
        "SDK alone: the same spans, events and metric records, attributes precomputed, replayed through"
        " the same providers around the plain call\n"
        "own code: our overhead minus SDK alone, paired by round (recording; sampled out likewise);"
        " SDK attrs/events/records: what one recording call asks of the SDK\n"
        f"{results.rounds} interleaved rounds;"
        f" targets: overhead <= {TARGET_RECORDING} x floor, sampled out <= {TARGET_SAMPLED_OUT} x floor;"
        " spans = spans exported per call"
    )
    notes = "".join("\n" + note for note in results.notes)
    return head + extra + notes + "\n\n" + render(rows, markdown)


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


def sampled_out_minimum(
    ready: Setup, seconds: float, block_s: float, workload: str = WORKLOADS[0].name
) -> str:
    """The least a sampled-out call can ask of the SDK, in a warm loop next to the floor: the span's
    sampling decision (start and end, sampled out) and the duration record every call owes its
    metric (semconv's ``gen_ai.client.operation.duration``), with the captured call's arguments."""
    active = runtime.ACTIVE
    assert active is not None
    calls = ready.captures[workload][False]
    name, start = calls[0].args[0], calls[0].kwargs
    amount, labels = next(c.args for c in calls if c.target == "duration")
    sampler = ready.pipeline.sampler

    def unsampled() -> None:
        sampler.recording = False

    def operation(fn: Callable[[], Any]) -> Callable[[], Callable[[], Any]]:
        return lambda: fn

    ops = [
        Variant("nothing", unsampled, operation(lambda: None)),
        Variant("span", unsampled, operation(lambda: active.tracer.start_span(name, **start).end())),
        Variant("record", unsampled, operation(lambda: active.duration.record(amount, labels))),
    ]
    floor = ready.pipeline.floor()
    op = Workload("op", lambda fn: fn)
    results = interleave(ops, [op], Variant("floor", lambda: None, lambda: floor), seconds, block_s)
    sampler.recording = True
    per_floor = results.floor_s()
    span, record = results.overhead("span", "op").median, results.overhead("record", "op").median
    return (
        f"sampled out, the SDK's least (warm loop, {workload}'s arguments): sampling decision"
        f" {span * 1e6:.1f} us ({span / per_floor:.2f} x floor) + duration record with {len(labels)} labels"
        f" {record * 1e6:.1f} us ({record / per_floor:.2f} x floor) = {(span + record) / per_floor:.2f}"
        f" x floor; target for the whole call {TARGET_SAMPLED_OUT}"
    )


def measure(seconds: float, block_ms: float, workloads: tuple[Workload, ...] = WORKLOADS) -> Results:
    ready = setup(MockApi())
    try:
        results_every_span = every_span_cost(ready, max(2.0, seconds / 10), block_ms / 1000)
        sdk = {name: sdk_work(calls[True]) for name, calls in capture(ready, workloads).items()}
        minimum = sampled_out_minimum(ready, max(2.0, seconds / 10), block_ms / 1000)
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
    results.sdk_work = sdk
    results.every_span = results_every_span
    results.notes.append(minimum)
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
        from peers import main as peers

        print()
        peers(["--seconds", str(seconds), *(["--markdown"] if args.markdown else [])])
    ok = within_target(results)
    if not ok:
        print("\nsome ratios are over target", file=sys.stderr)
    return 1 if args.check and not ok else 0


if __name__ == "__main__":
    sys.exit(main())
