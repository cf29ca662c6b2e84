"""Memory under load: N calls across N/10 short-lived threads, instrumented; RSS, blocks, caches.

    .venv/bin/python benchmarks/memory.py                 # 1,000,000 calls, 100,000 threads
    .venv/bin/python benchmarks/memory.py --calls 100000  # a tenth of it
    .venv/bin/python benchmarks/memory.py --calls 25000 --warmup 5000 --id-caps 300  # the test's run

Each thread makes 10 calls through the real openai client and the in-process mock API
(tests/mock_api.py), with ids that never repeat (so every per-id memory the instrumentation
keeps would grow without a bound), at most ``--parallel`` threads alive at once. Telemetry goes
through a BatchSpanProcessor to a discarding exporter and a MeterProvider with a periodic
reader, as in production. After a warm-up and at four checkpoints it reads RSS
(/proc/self/statm) and Python's allocated blocks (flushed and collected first). Prints one JSON
object: RSS (MB) and blocks at each checkpoint, growth since warm-up, and the largest
containers reachable from the instrumentation's modules (which must stay at their caps).
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import os
import sys
import threading
import time
import warnings
from collections.abc import Callable
from types import ModuleType
from typing import Any

import assistant_telemetry

from measure import Pipeline
from mock_api import MockApi

warnings.filterwarnings("ignore", category=DeprecationWarning)

CALLS_PER_THREAD = 10
PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_mb() -> float:
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * PAGE / 2**20


def settled_blocks(pipeline: Pipeline) -> int:
    """Python's allocated memory blocks once the span queue is flushed and garbage collected.

    Unlike RSS, a count of live objects does not move with the allocator's arenas, so a
    leak of one small object per call shows as one block per call."""
    pipeline.tracer_provider.force_flush()
    gc.collect()
    return sys.getallocatedblocks()


def thread_calls(client: Any, azure: Any) -> list[Callable[[str], Any]]:
    """Ten calls over the instrumented surfaces, each about ids it has never seen before."""
    beta = client.beta
    return [
        lambda n: beta.threads.create(metadata={"n": n}),
        lambda n: beta.threads.messages.create(f"thread_{n}", role="user", content="Hello?"),
        lambda n: beta.threads.messages.list(f"thread_{n}"),
        lambda n: beta.threads.runs.create(thread_id=f"thread_{n}", assistant_id="asst_1"),
        lambda n: beta.threads.runs.retrieve(f"run_{n}", thread_id=f"thread_{n}"),
        lambda n: beta.threads.runs.steps.list(f"run_{n}", thread_id=f"thread_{n}"),
        lambda n: beta.threads.messages.retrieve(f"msg_{n}", thread_id=f"thread_{n}"),
        lambda n: client.responses.create(model="gpt-4o", input="Hello?"),
        lambda n: azure.chat.completions.create(
            model="deployment-1", messages=[{"role": "user", "content": "?"}]
        ),
        lambda n: beta.threads.runs.retrieve(f"run_{n}b", thread_id=f"thread_{n}"),
    ]


def largest_containers(limit: int = 8) -> list[tuple[str, int]]:
    """Sizes of the containers reachable from assistant_telemetry's modules (3 levels deep)."""
    found: dict[str, int] = {}
    seen: set[int] = set()

    def visit(value: Any, path: str, depth: int) -> None:
        if id(value) in seen or depth > 3:
            return
        seen.add(id(value))
        if isinstance(value, (dict, list, set, frozenset, tuple)) and not isinstance(value, str):
            found[path] = len(value)
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in itertools.islice(items, 50):
                visit(item, f"{path}[{key!r}]"[:120], depth + 1)
            return
        if isinstance(value, (ModuleType, type)) or callable(value):
            return
        slots = [s for cls in type(value).__mro__ for s in getattr(cls, "__slots__", ())]
        attributes = {**getattr(value, "__dict__", {}), **{s: getattr(value, s, None) for s in slots}}
        for name, item in attributes.items():
            visit(item, f"{path}.{name}", depth + 1)

    for name, module in list(sys.modules.items()):
        if name.startswith("assistant_telemetry") and not name.startswith("assistant_telemetry.simulator"):
            for attr, value in list(vars(module).items()):
                if not attr.startswith("__"):
                    visit(value, f"{name}.{attr}", 0)
    return sorted(found.items(), key=lambda item: -item[1])[:limit]


def cap_id_memories(cap: int) -> dict[str, int]:
    """Every id-keyed memory's cap (semconv's ``*_CAP`` above ``cap``) lowered to ``cap``, before
    ``instrument()`` reads them: a short run then passes each cap many times over, as a long run
    passes the real ones. Returns the caps it lowered, with their real values."""
    from assistant_telemetry import semconv

    lowered = {}
    for name, value in vars(semconv).items():
        if name.endswith("_CAP") and isinstance(value, int) and value > cap:
            lowered[name] = value
            setattr(semconv, name, cap)
    return lowered


def run(calls: int, parallel: int, warmup: int, id_caps: int | None = None) -> dict[str, Any]:
    lowered = cap_id_memories(id_caps) if id_caps else {}
    pipeline = Pipeline()
    assistant_telemetry.instrument(
        tracer_provider=pipeline.tracer_provider, meter_provider=pipeline.meter_provider
    )
    api = MockApi()
    client, azure = api.client(max_retries=0), api.azure_client(max_retries=0)
    todo = thread_calls(client, azure)
    numbers = itertools.count()
    slots = threading.BoundedSemaphore(parallel)
    failures: list[BaseException] = []

    def work() -> None:
        try:
            base = next(numbers) * CALLS_PER_THREAD
            for offset, call in enumerate(todo):
                call(str(base + offset))
        except BaseException as error:  # counted and reported, never silently lost
            failures.append(error)
        finally:
            slots.release()

    def threads(count: int) -> None:
        started = []
        for _ in range(count):
            slots.acquire()
            thread = threading.Thread(target=work, daemon=True)
            thread.start()
            started.append(thread)
            if len(started) >= 4 * parallel:
                for done in started:
                    done.join()
                started.clear()
        for done in started:
            done.join()

    report: dict[str, Any] = {"calls": calls, "threads": calls // CALLS_PER_THREAD, "parallel": parallel}
    report["lowered_caps"] = lowered  # name -> its real value, each now id_caps
    begin = time.monotonic()
    threads(warmup // CALLS_PER_THREAD)
    blocks_after_warmup = settled_blocks(pipeline)
    report["rss_after_warmup_mb"] = warm = rss_mb()
    checkpoints, blocks = [], []
    remaining = (calls - warmup) // CALLS_PER_THREAD
    step = max(1, remaining // 4)
    while remaining > 0:
        threads(min(step, remaining))
        remaining -= min(step, remaining)
        blocks.append(settled_blocks(pipeline) - blocks_after_warmup)
        checkpoints.append(round(rss_mb(), 1))
    report["rss_checkpoints_mb"] = checkpoints
    report["blocks_growth_checkpoints"] = blocks
    report["blocks_growth_per_call"] = round(blocks[-1] / max(1, calls - warmup), 4) if blocks else 0.0
    report["rss_growth_mb"] = round(checkpoints[-1] - warm, 1) if checkpoints else 0.0
    report["seconds"] = round(time.monotonic() - begin, 1)
    report["failures"] = [repr(error) for error in failures[:5]]
    report["spans_exported"] = pipeline.exported()
    report["largest_containers"] = largest_containers()
    assistant_telemetry.uninstrument()
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--parallel", type=int, default=8, help="threads alive at once")
    parser.add_argument(
        "--warmup", type=int, default=None, help="calls before the first reading (default 5%%)"
    )
    parser.add_argument(
        "--id-caps", type=int, default=None, help="lower every id-keyed cap above this to it (a short run)"
    )
    args = parser.parse_args(argv)
    warmup = args.warmup if args.warmup is not None else max(CALLS_PER_THREAD, args.calls // 20)
    print(json.dumps(run(args.calls, args.parallel, warmup, args.id_caps)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
