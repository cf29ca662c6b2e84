"""``assistant-telemetry``: the command line (``demo``; more commands build on ``spans``)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``assistant-telemetry`` command."""
    parser = argparse.ArgumentParser(prog="assistant-telemetry", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="run a short conversation against the local simulator")
    demo.add_argument(
        "--file",
        help="JSON-lines file to write (default: $ASSISTANT_TELEMETRY_FILE or ./assistant-telemetry.jsonl)",
    )
    args = parser.parse_args(argv)
    if args.command == "demo":
        from .demo import run_demo

        return run_demo(args.file)
    return 2  # argparse already refused unknown commands


if __name__ == "__main__":
    sys.exit(main())
