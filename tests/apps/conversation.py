"""A small app as a user writes it: one instrument() call, then plain openai code.

Run in a subprocess by the end-to-end tests so the one-call setup (global providers,
environment-driven exporter choice) is exercised exactly as in production. Prints the
ids it created as JSON on its last line.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import openai

import assistant_telemetry
from assistant_telemetry.simulator import Simulator

from scenarios import CANARY_CONTENT, every_call

# Keep the Azure distro on loopback: no live metrics, no offline retry files.
AZURE_OPTIONS = {"enable_live_metrics": False, "disable_offline_storage": True}


def main() -> None:
    session = assistant_telemetry.instrument(azure_monitor_options=AZURE_OPTIONS)
    with Simulator() as sim:
        client = openai.OpenAI(base_url=sim.base_url, api_key="sk-test", max_retries=0)
        ids = asyncio.run(every_call(client, sim, CANARY_CONTENT))
        sim.add_fault(kind="content_filter", method="POST", path="/threads", times=1)
        with contextlib.suppress(openai.BadRequestError):
            client.beta.threads.create()
    session.flush()
    print(json.dumps({"exporter": session.exporter, "file": session.file_path, **ids.values}))


if __name__ == "__main__":
    main()
