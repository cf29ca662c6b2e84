"""Azure's fields survive the real Azure Monitor exporter: Application Insights rows, on loopback.

The exporter drops ``server.*``, ``error.type``, ``http.*`` ... from customDimensions; what
an incident reviewer needs from an Azure call (deployment, region, the request ids Microsoft
support asks for, the content filter's outcome and categories, the failure class) must
arrive in ``dependencies.customDimensions`` and, for the metric labels, ``customMetrics``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

import assistant_telemetry
from assistant_telemetry import semconv as sc
from assistant_telemetry.simulator.chat import CHAT_REPLY, CITATION_URL

from azure_clients import agents_client
from receivers import AZURE_TEST_ENV, AzureIngestionReceiver, azure_metric_exporter, azure_trace_exporter

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
DEPLOYMENT, MODEL = "prod-chat", "gpt-4o-2024-11-20"
PREFIX = sc.CONTENT_FILTER_PREFIX


@pytest.fixture
def rows(strict_guard: None, sim: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """Drive Azure OpenAI chat and Azure AI Agents calls; yield the rows the exporter sent."""
    for name, value in AZURE_TEST_ENV.items():
        monkeypatch.setenv(name, value)
    with AzureIngestionReceiver() as receiver:
        tracer_provider = TracerProvider()
        tracer_provider.add_span_processor(
            SimpleSpanProcessor(azure_trace_exporter(receiver, tracer_provider=tracer_provider))
        )
        reader = PeriodicExportingMetricReader(azure_metric_exporter(receiver), export_interval_millis=60_000)
        meter_provider = MeterProvider(metric_readers=[reader])
        assistant_telemetry.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
        try:
            drive(sim)
        finally:
            assistant_telemetry.uninstrument()
        assert tracer_provider.force_flush(5_000) and meter_provider.force_flush(5_000)
        yield {
            "dependencies": receiver.dependencies(),
            "metrics": receiver.custom_metrics(),
            "leaked": [text for text in (CHAT_REPLY, CITATION_URL) if receiver.body_contains(text)],
        }
        tracer_provider.shutdown()
        meter_provider.shutdown()


def drive(sim: Any) -> None:
    sim.deploy(DEPLOYMENT, MODEL)
    azure = openai.AzureOpenAI(
        azure_endpoint=sim.azure_endpoint, api_key="k", api_version="2024-10-21", max_retries=0
    )
    sim.next_content_filter("annotated", "blocked_output", "blocked_prompt")
    messages = [{"role": "user", "content": "hi"}]
    headers = {"x-ms-client-request-id": "support-case-42"}
    for _ in range(2):
        azure.chat.completions.create(model=DEPLOYMENT, messages=messages, extra_headers=headers)
    with pytest.raises(openai.BadRequestError):
        azure.chat.completions.create(model=DEPLOYMENT, messages=messages)
    with agents_client(sim) as client:
        agent = client.create_agent(model="agents-gpt4o")
        thread = client.threads.create(messages=[{"role": "user", "content": "hi"}])
        sim.next_run_outcome("content_filter")
        client.runs.create_and_process(thread.id, agent_id=agent.id, polling_interval=0)


def test_chat_rows_keep_deployment_region_ids_and_filter_results(rows: dict[str, Any]) -> None:
    chats = [r for r in rows["dependencies"] if r["name"] == "chat"]
    assert len(chats) == 3 and {r["type"] for r in chats} == {"GenAI | az.ai.openai"}
    annotated, blocked_output, blocked_prompt = (r["customDimensions"] for r in chats)
    for dims in (annotated, blocked_output, blocked_prompt):
        assert dims[sc.PROVIDER_NAME] == "azure.ai.openai"
        assert dims[sc.AZURE_DEPLOYMENT] == DEPLOYMENT
        assert dims[sc.AZURE_REGION] == "Sweden Central"
        assert dims[sc.AZURE_API_VERSION] == "2024-10-21"
        assert UUID.fullmatch(dims[sc.AZURE_SERVICE_REQUEST_ID])
        assert dims[sc.REQUEST_ID].startswith("req_")
        assert dims[sc.SERVER_HOST] == "127.0.0.1" and sc.SERVER_ADDRESS not in dims
    assert annotated[sc.CLIENT_REQUEST_ID] == "support-case-42"
    assert annotated[sc.RESPONSE_MODEL] == MODEL and annotated[sc.REQUEST_MODEL] == DEPLOYMENT
    assert annotated[sc.RESPONSE_FINISH_REASONS] == "('stop',)"  # sequences arrive as tuple text
    assert annotated[sc.CONTENT_FILTER_OUTCOME] == "annotated"
    assert annotated[f"{PREFIX}completion.violence.severity"] == "medium"
    assert annotated[f"{PREFIX}prompt.jailbreak.detected"] == "True"
    assert annotated[f"{PREFIX}completion.protected_material_code.detected"] == "True"

    assert blocked_output[sc.CONTENT_FILTER_OUTCOME] == "blocked_output"
    assert blocked_output[f"{PREFIX}completion.violence.filtered"] == "True"
    assert blocked_output[sc.CONTENT_FILTER_BLOCKLIST_IDS] == "('contoso-blocked-terms',)"

    assert blocked_prompt[sc.CONTENT_FILTER_OUTCOME] == "blocked_prompt"
    assert blocked_prompt[sc.FAILURE_CLASS] == "content_filter"  # error.type's surviving twin
    assert blocked_prompt[sc.ERROR_CODE] == "content_filter"
    assert blocked_prompt[sc.HTTP_STATUS_CODE] == "400"
    assert blocked_prompt[f"{PREFIX}prompt.hate.severity"] == "high"
    assert sc.ERROR_TYPE not in blocked_prompt
    assert [r["success"] for r in chats] == [True, True, False]
    assert rows["leaked"] == []  # the reply and the protected-material citation never left


def test_agents_rows(rows: dict[str, Any]) -> None:
    agents = [r for r in rows["dependencies"] if r["type"] == "GenAI | az.ai.agents"]
    assert [r["name"].split(" ")[0] for r in agents] == ["create_agent", "create_thread", "invoke_agent"]
    assert agents[-1]["name"] == "invoke_agent " + agents[-1]["customDimensions"][sc.AGENT_ID]  # no name
    for row in agents:
        dims = row["customDimensions"]
        assert dims[sc.PROVIDER_NAME] == "azure.ai.agents" and row["target"] == "az.ai.agents"
        assert dims[sc.AZURE_API_VERSION] == "v1" and dims[sc.AZURE_REGION] == "Sweden Central"
        assert UUID.fullmatch(dims[sc.AZURE_SERVICE_REQUEST_ID]) and UUID.fullmatch(
            dims[sc.CLIENT_REQUEST_ID]
        )
        assert dims[sc.SERVER_HOST] == "127.0.0.1"
    helper = agents[-1]["customDimensions"]
    assert helper[sc.AZURE_DEPLOYMENT] == "agents-gpt4o"
    assert helper[sc.RUN_INCOMPLETE_REASON] == "content_filter"
    assert helper[sc.CONTENT_FILTER_OUTCOME] == "blocked_output"
    assert helper[sc.THREAD_ID].startswith("thread_") and helper[sc.RUN_ID].startswith("run_")


def test_metric_rows_carry_deployment_and_failure_class(rows: dict[str, Any]) -> None:
    durations = [r for r in rows["metrics"] if r["name"] == sc.METRIC_OPERATION_DURATION]
    chat_dims = [
        r["customDimensions"] for r in durations if r["customDimensions"].get(sc.OPERATION_NAME) == "chat"
    ]
    assert {d[sc.AZURE_DEPLOYMENT] for d in chat_dims} == {DEPLOYMENT}
    assert {d.get(sc.FAILURE_CLASS) for d in chat_dims} == {None, "content_filter"}
    agents = {
        d[sc.OPERATION_NAME]
        for r in durations
        if (d := r["customDimensions"]).get(sc.PROVIDER_NAME) == "azure.ai.agents"
    }
    assert agents == {"create_agent", "create_thread", sc.OP_INVOKE_AGENT}
    for row in durations:  # never ids in metric dimensions
        assert not any(
            key in row["customDimensions"] for key in (sc.RESPONSE_ID, sc.THREAD_ID, sc.REQUEST_ID)
        )
