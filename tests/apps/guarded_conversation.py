"""An app that runs other GenAI instrumentations beside ours, set up with one ``instrument()`` call.

The destination comes from the environment (OTLP or Azure Monitor), and so does the guard
(``ASSISTANT_TELEMETRY_CONTENT_GUARD=1``). An OTLP app sets up its own logs pipeline first
(the Azure Monitor distro brings one). OpenInference, OpenLLMetry and Azure's
AIAgentsInstrumentor use the global providers. Prints what was set up as JSON on its last line.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import openai
from opentelemetry._logs import get_logger_provider, set_logger_provider
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor

import assistant_telemetry
from apps.genai_peers import (
    CANARIES,
    assistants_flow,
    azure_agents_flow,
    azure_agents_tracing,
    chat_request,
    peers,
    semconv_events,
)
from assistant_telemetry.simulator import Simulator

from scenarios import CANARY_CONTENT, every_call

# Keep the Azure distro on loopback: no live metrics, no offline retry files.
AZURE_OPTIONS = {"enable_live_metrics": False, "disable_offline_storage": True}


def otlp_logs_pipeline() -> None:
    if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter

        provider = LoggerProvider()
        provider.add_log_record_processor(BatchLogRecordProcessor(OTLPLogExporter()))
        set_logger_provider(provider)


def main() -> None:
    otlp_logs_pipeline()
    session = assistant_telemetry.instrument(azure_monitor_options=AZURE_OPTIONS)
    logger_provider = get_logger_provider()
    with Simulator() as sim:
        client = openai.OpenAI(base_url=sim.base_url, api_key="sk-test", max_retries=0)
        with peers():
            client.chat.completions.create(**chat_request())
            sim.add_fault(kind="echo_error", method="POST", path="/chat/completions")
            with contextlib.suppress(openai.BadRequestError):  # the service quotes the input back
                client.chat.completions.create(
                    model="gpt-4o", messages=[{"role": "user", "content": CANARIES["echo"]}]
                )
            assistants_flow(client, CANARY_CONTENT)
        asyncio.run(every_call(client, sim, CANARY_CONTENT))
        with peers(events=True):
            client.chat.completions.create(**chat_request())
        with azure_agents_tracing():
            azure_agents_flow(sim)
        semconv_events(logger_provider)
    session.flush()
    logger_provider.force_flush()  # type: ignore[attr-defined]
    guard = session.content_guard
    print(json.dumps({"exporter": session.exporter, "guarded": guard.guarded if guard else None}))


if __name__ == "__main__":
    main()
