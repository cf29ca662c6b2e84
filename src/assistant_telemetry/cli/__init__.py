"""``assistant-telemetry``: the command line (``demo``, ``timeline``, ``check``; built on ``spans``)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any


def main(argv: Sequence[str] | None = None, *, credential: Any = None) -> int:
    """Entry point of the ``assistant-telemetry`` command (``credential``: for --app-insights)."""
    parser = argparse.ArgumentParser(prog="assistant-telemetry", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="run a short conversation against the local simulator")
    demo.add_argument(
        "--file",
        help="JSON-lines file to write (default: $ASSISTANT_TELEMETRY_FILE or ./assistant-telemetry.jsonl)",
    )
    from . import check, timeline

    timeline.add_arguments(
        commands.add_parser("timeline", help="one thread's story from any of its ids (text, --json, --html)")
    )
    check.add_arguments(
        commands.add_parser("check", help="find anomalies: silent runs, duplicates, stuck runs, long threads")
    )
    args = parser.parse_args(argv)
    if args.command == "demo":
        from .demo import run_demo

        return run_demo(args.file)
    if args.command == "timeline":
        return timeline.run_timeline(args, credential)
    if args.command == "check":
        return check.run_check(args, credential)
    return 2  # argparse already refused unknown commands


if __name__ == "__main__":
    sys.exit(main())
