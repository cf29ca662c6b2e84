"""Counting instructions with callgrind: what chunk_instructions.py and call_instructions.py share.

A benchmark script runs itself again under ``valgrind --tool=callgrind`` with instrumentation off
(``--instr-atstart=no``) through the imports and warm-up. The child switches collection on around
each measured piece of work and dumps the count with a label, through a four-line C helper built
here with ``cc`` and valgrind's ``callgrind.h`` and called through ctypes (``Counter``). The parent
reads the labelled dumps (``labelled_dumps``). Callgrind counts the same for the same code and
input whatever else the machine runs: a steadier measure than wall time for cuts of microseconds.
"""

from __future__ import annotations

import ctypes
import gc
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

HELPER = """#include <valgrind/callgrind.h>
void start(void) { CALLGRIND_START_INSTRUMENTATION; }
void toggle(void) { CALLGRIND_TOGGLE_COLLECT; }
void dump(const char *label) { CALLGRIND_DUMP_STATS_AT(label); }
"""


def build_helper(where: Path) -> Path:
    """The C helper whose calls switch callgrind on and off from Python (ctypes)."""
    source, library = where / "callgrind_helper.c", where / "callgrind_helper.so"
    source.write_text(HELPER)
    subprocess.run(["cc", "-O2", "-shared", "-fPIC", "-o", str(library), str(source)], check=True, timeout=60)
    return library


class Counter:
    """The child's side: ``start()`` once after the warm-up, then ``count(label, work)`` per piece."""

    def __init__(self, helper: Path) -> None:
        self._callgrind = ctypes.CDLL(str(helper))

    def start(self) -> None:
        # What the imports and the warm-up made, out of the collector's reach: a gc.collect() before
        # each counted piece then walks only the objects made since (the whole heap takes seconds
        # under callgrind).
        gc.collect()
        gc.freeze()
        self._callgrind.start()

    def count(self, label: str, work: Callable[[], Any]) -> None:
        """``work()`` counted alone, its count dumped under ``label``."""
        gc.collect()  # the collector's counts at zero: its passes fall at the same places each time
        self._callgrind.toggle()
        work()
        self._callgrind.toggle()
        self._callgrind.dump(label.encode())


Dumps = list[tuple[str, list[int]]]  # (label, the events' totals), in dump order


def labelled_dumps(out: Path) -> tuple[list[str], Dumps]:
    """The events counted (Ir, and the cache events with --cache) and each labelled dump's totals,
    in dump order; dumps without a label (the one at exit) are left out."""
    events: list[str] = []
    found: Dumps = []
    for dump in sorted(out.parent.glob(out.name + ".*"), key=lambda p: int(p.suffix[1:])):
        text = dump.read_text()
        label = re.search(r"^desc: Trigger: Client Request: (.+)$", text, re.M)
        summary = re.search(r"^summary: ([\d ]+)$", text, re.M)
        events = re.search(r"^events: (.+)$", text, re.M).group(1).split()  # type: ignore[union-attr]
        if label and summary:
            found.append((label.group(1), [int(v) for v in summary.group(1).split()]))
    return events, found


def run(child: list[str], cache: bool, timeout: float = 1800) -> tuple[list[str], Dumps]:
    """Run ``child`` (a command ending in its arguments; ``--child HELPER`` is appended) under
    callgrind and return its labelled dumps."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise SystemExit("valgrind is not installed (make valgrind)")
    with tempfile.TemporaryDirectory(prefix="callgrind-") as tmp:
        helper = build_helper(Path(tmp))
        out = Path(tmp) / "callgrind.out"
        command = [
            valgrind, "--tool=callgrind", "--instr-atstart=no", "--collect-atstart=no",
            f"--cache-sim={'yes' if cache else 'no'}", f"--callgrind-out-file={out}",
            *child, "--child", str(helper),
        ]  # fmt: skip
        # A fixed hash seed: the same dict and set layouts in every run, so the same count.
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        done = subprocess.run(
            command, env=env, timeout=timeout, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        if done.returncode != 0:
            raise SystemExit(f"the run under callgrind failed ({done.returncode}):\n{done.stderr[-3000:]}")
        return labelled_dumps(out)


def json_report(script: str, *args: str, timeout: float = 400) -> Any:
    """``benchmarks/<script> --json ARGS`` run as a user runs it (its own process): the report."""
    command = [sys.executable, str(Path(__file__).with_name(script)), "--json", *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise AssertionError(f"{script} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout)
