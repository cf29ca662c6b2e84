"""``python -m assistant_telemetry.simulator [--port N]``: run the simulator in the foreground for demos."""

from __future__ import annotations

import argparse
import contextlib
import threading

from .server import Simulator


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m assistant_telemetry.simulator", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any free port)")
    args = parser.parse_args(argv)
    with Simulator(port=args.port) as sim:
        print(f"OpenAI base URL:       {sim.base_url}", flush=True)
        print(f"Azure OpenAI endpoint: {sim.azure_endpoint}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
