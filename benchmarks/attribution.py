"""Where the instrumentation's time goes, by line of src/, without a profiler's distortion.

    .venv/bin/python benchmarks/overhead.py --profile messages.create [--sampled-out]

A sampling profiler in pure Python: a thread reads the calling thread's stack about every
millisecond (``sys._current_frames``; the GIL switch interval is lowered so it gets the chance)
while one instrumented call repeats. cProfile's per-function cost inflates small functions
several times over; sampling does not, so the shares printed here add up to the overhead the
table measures.

A sample counts as *ours* when, walking the stack from the outermost frame in, the innermost
frame of assistant_telemetry, wrapt or the OpenTelemetry SDK is entered before the SDK call it
wraps (a wrapper frame on a ``wrapped(...)`` line hands the time back to the SDK, and so does
``.parse()`` of a raw response: the SDK caches it, so its own parse right after costs nothing). Each of ours
is attributed to the deepest assistant_telemetry line on its stack, so time spent inside the
OpenTelemetry SDK (``span.end()``, ``histogram.record()``) is charged to the line that called it.
"""

from __future__ import annotations

import collections
import linecache
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

OURS = ("/assistant_telemetry/", "/opentelemetry/", "/wrapt/")
Frame = tuple[str, int, str]  # file, line, function


@dataclass
class Profile:
    samples: int = 0
    ours: int = 0
    in_sdk: int = 0  # of ours: the innermost frame is the OpenTelemetry SDK's (what we asked it to do)
    by_line: collections.Counter[Frame] = field(default_factory=collections.Counter)
    own_by_line: collections.Counter[Frame] = field(default_factory=collections.Counter)  # SDK time out
    by_function: collections.Counter[tuple[str, str]] = field(default_factory=collections.Counter)

    def report(self, per_call_us: float, top: int = 25) -> str:
        def us(samples: int) -> float:
            return samples / max(self.samples, 1) * per_call_us

        share = self.ours / max(self.samples, 1)
        lines = [
            f"{self.samples} samples in the loop; instrumentation in {share:.1%} of them"
            f" = {share * per_call_us:.0f} us of {per_call_us:.0f} us per call (CPU, unprofiled)",
            f"of which inside the OpenTelemetry SDK (spans, attributes, events, metric records):"
            f" {us(self.in_sdk):.0f} us; our own code: {us(self.ours - self.in_sdk):.0f} us",
            "",
            "by line of assistant_telemetry: us with the SDK work it calls (own code only)",
        ]
        for (path, line, func), n in self.by_line.most_common(top):
            source = linecache.getline(path, line).strip()[:64]
            own = us(self.own_by_line[(path, line, func)])
            lines.append(f"{us(n):7.1f} ({own:5.1f}) us  {_short(path)}:{line} {func}  | {source}")
        lines += ["", "by function, inclusive:"]
        for (path, func), n in self.by_function.most_common(top):
            lines.append(f"{n / self.samples * per_call_us:7.1f} us  {_short(path)} {func}")
        return "\n".join(lines)


def _short(path: str) -> str:
    return path.split("/src/", 1)[-1]


def _calls_through(path: str, line: int) -> bool:
    """A frame of ours on a line whose callee's time is the SDK's own.

    The wrapped method itself; and ``.parse()`` of a raw response, which the SDK caches: when we
    parse first, the SDK's own parse right after is free, so that time is not overhead.
    """
    if "/assistant_telemetry/" not in path:
        return False
    source = linecache.getline(path, line)
    return any(mark in source for mark in ("wrapped(", "await make()", "__wrapped__", ".parse()"))


def _stack(frame: FrameType | None) -> list[Frame]:
    stack = []
    while frame is not None:
        stack.append((frame.f_code.co_filename, frame.f_lineno or 0, frame.f_code.co_name))
        frame = frame.f_back
    stack.reverse()
    return stack


def attribute(stack: list[Frame], loop_file: str, profile: Profile) -> None:
    if not any(path == loop_file for path, _, _ in stack):
        return  # not inside the timed loop (set-up)
    profile.samples += 1
    state_ours = False
    deepest: Frame | None = None
    functions: set[tuple[str, str]] = set()
    for path, line, func in stack:
        if any(part in path for part in OURS) and "/simulator/" not in path:
            state_ours = True
            if "/assistant_telemetry/" in path:
                deepest = (path, line, func)
                functions.add((path, func))
            if _calls_through(path, line):
                state_ours = False
        elif not state_ours:
            continue
    if state_ours and deepest is not None:
        profile.ours += 1
        if "/opentelemetry/" in stack[-1][0]:
            profile.in_sdk += 1
        else:
            profile.own_by_line[deepest] += 1
        profile.by_line[deepest] += 1
        for key in functions:
            profile.by_function[key] += 1


def sample(call: Callable[[], Any], seconds: float, interval: float = 0.001) -> tuple[Profile, float]:
    """Repeat ``call`` for ``seconds`` while sampling; also its CPU time per call, unsampled."""
    for _ in range(20):
        call()
    calls, start = 0, time.process_time()
    deadline = time.monotonic() + min(seconds / 4, 5.0)
    while time.monotonic() < deadline:
        call()
        calls += 1
    per_call_us = (time.process_time() - start) / calls * 1e6
    for name, module in list(sys.modules.items()):  # the source as imported, not as edited since
        if name.startswith("assistant_telemetry") and getattr(module, "__file__", None):
            linecache.getlines(module.__file__)
    target = threading.get_ident()
    loop_file = sample.__code__.co_filename
    profile = Profile()
    stop = threading.Event()
    stacks: list[list[Frame]] = []

    def sampler() -> None:
        while not stop.wait(interval):
            frame = sys._current_frames().get(target)
            stacks.append(_stack(frame))

    previous = sys.getswitchinterval()
    sys.setswitchinterval(interval / 4)
    thread = threading.Thread(target=sampler, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            call()  # the timed loop: samples outside this frame are ignored
    finally:
        stop.set()
        thread.join()
        sys.setswitchinterval(previous)
    for stack in stacks:
        attribute(stack, loop_file, profile)
    return profile, per_call_us
