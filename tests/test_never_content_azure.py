"""The promise, for the Azure surfaces: no content in any exported span, event, status or metric.

Canary strings go through every content-bearing field of chat.completions (system and user
messages, an assistant tool call's arguments, a tool result, tool definitions, metadata) and
of every wrapped AgentsClient method; the simulator adds its own content (the reply text, a
protected-material citation URL) under every content filter profile, streamed and not, and
error messages that echo the request. None of it may be exported.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import openai
import pytest
from azure.ai.agents.models import ThreadRun

from assistant_telemetry.extract.chat import chunk_attributes
from assistant_telemetry.file_exporter import metric_records, span_record
from assistant_telemetry.simulator.chat import CHAT_REPLY, CITATION_URL, FILTER_PROFILES
from assistant_telemetry.simulator.runs import REPLY_TEXT

from azure_clients import agents_client, async_agents_client, every_agents_call, read_stream, resolve
from scenarios import CANARY_CONTENT as CANARIES
from scenarios import CANARY_STRINGS

SERVER_CONTENT = (CHAT_REPLY, CITATION_URL, REPLY_TEXT, "content management policy")
DEPLOYMENT = "canary-deployment"


def exported_text(telemetry: Any) -> str:
    spans = telemetry.exporter.get_finished_spans()
    parts = [json.dumps(span_record(s), default=str) for s in spans]
    parts += [s.status.description or "" for s in spans]
    data = telemetry.reader.get_metrics_data()
    parts += [json.dumps(r, default=str) for r in metric_records(data)] if data else []
    return "\n".join(parts)


def assert_clean(text: str) -> None:
    leaked = [c for c in (*CANARY_STRINGS, *SERVER_CONTENT) if c in text]
    assert not leaked, f"content leaked into telemetry: {leaked}"


def chat_kwargs() -> dict[str, Any]:
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": CANARIES.tool_output},
    }
    return {
        "model": DEPLOYMENT,
        "messages": [
            {"role": "system", "content": CANARIES.instructions},
            {"role": "user", "content": [{"type": "text", "text": CANARIES.message}]},
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "call_1", "content": CANARIES.tool_output},
        ],
        "tools": [
            {
                "type": "function",
                "function": {"name": "get_weather", "description": CANARIES.assistant_description},
            }
        ],
        "metadata": {"customer": CANARIES.metadata_value},
        "user": CANARIES.metadata_value,
    }


def every_chat_call(client: Any, sim: Any) -> dict[str, Any]:
    """Each filter profile, plain and streamed, and an error that echoes the request."""
    chunk_attrs: dict[str, Any] = {}
    for profile in FILTER_PROFILES:
        for stream in (False, True):
            sim.next_content_filter(profile)
            try:
                result = client.chat.completions.create(**chat_kwargs(), stream=stream)
            except openai.BadRequestError:
                continue
            for chunk in result if stream else ():
                chunk_attributes(chunk, chunk_attrs)
    sim.add_fault(kind="echo_error", method="POST", path="*/chat/completions")
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(**chat_kwargs())
    assert CANARIES.message in str(raised.value)  # the service did echo it
    return chunk_attrs


def test_chat_completions_export_no_content(telemetry: Any, sim: Any, azure_client: Any) -> None:
    chunk_attrs = every_chat_call(azure_client, sim)
    text = exported_text(telemetry)
    assert "blocked_prompt" in text and "protected_material_code" in text  # the telemetry is there
    assert_clean(text)
    assert_clean(json.dumps(chunk_attrs))  # what the stream reader would add to the span


def test_async_and_plain_openai_chat_export_no_content(telemetry: Any, sim: Any) -> None:
    async def main() -> None:
        async with openai.AsyncAzureOpenAI(
            azure_endpoint=sim.azure_endpoint, api_key="k", api_version="2024-10-21", max_retries=0
        ) as client:
            for profile in ("annotated", "blocked_output", "blocked_prompt"):
                sim.next_content_filter(profile)
                try:
                    stream = await client.chat.completions.create(**chat_kwargs(), stream=True)
                except openai.BadRequestError:
                    continue
                async for _ in stream:
                    pass

    asyncio.run(main())
    openai.OpenAI(base_url=sim.base_url, api_key="k").chat.completions.create(**chat_kwargs())
    text = exported_text(telemetry)
    assert text.count('"chat"') >= 4
    assert_clean(text)


def test_agents_client_exports_no_content(telemetry: Any, sim: Any) -> None:
    with agents_client(sim) as client:
        asyncio.run(every_agents_call(client, sim, CANARIES))
        thread = client.threads.create()
        sim.add_fault(kind="echo_error", method="POST", path="/threads/*/messages")
        with pytest.raises(Exception) as raised:
            client.messages.create(thread.id, role="user", content=CANARIES.message)
        assert CANARIES.message in str(raised.value)

    async def aio() -> None:
        async with async_agents_client(sim) as client:
            await every_agents_call(client, sim, CANARIES)

    asyncio.run(aio())
    text = exported_text(telemetry)
    assert '"invoke_agent' in text and "submit_tool_outputs" in text
    assert_clean(text)


async def canary_streams(client: Any, sim: Any) -> list[str]:
    """runs.stream with canaries in every content field, through tool outputs, a filter and a failure."""
    meta = {"customer": CANARIES.metadata_value}
    agent = await resolve(client.create_agent(model=DEPLOYMENT, instructions=CANARIES.instructions))
    thread = await resolve(client.threads.create(metadata=meta))

    def submit(handler: Any, data: Any) -> Any:
        if not (isinstance(data, ThreadRun) and data.status == "requires_action"):
            return None
        calls = data.required_action.submit_tool_outputs.tool_calls
        outputs = [{"tool_call_id": call.id, "output": CANARIES.tool_output} for call in calls]
        return client.runs.submit_tool_outputs_stream(
            thread.id, data.id, tool_outputs=outputs, event_handler=handler
        )

    names: list[str] = []
    sim.next_run_outcome("requires_action", "completed", "content_filter", "failed")
    for _ in range(3):
        await resolve(client.messages.create(thread.id, role="user", content=CANARIES.message))
        stream = await resolve(
            client.runs.stream(
                thread.id,
                agent_id=agent.id,
                additional_instructions=CANARIES.instructions,
                metadata=meta,
            )
        )
        names += await read_stream(stream, submit)
    return names


def test_agents_run_streams_export_no_content(telemetry: Any, sim: Any) -> None:
    with agents_client(sim) as client:
        names = asyncio.run(canary_streams(client, sim))

    async def aio() -> list[str]:
        async with async_agents_client(sim) as client:
            return await canary_streams(client, sim)

    names += asyncio.run(aio())
    assert names.count("thread.message.delta") >= 4 and names.count("thread.run.failed") == 2
    text = exported_text(telemetry)
    # The streams were read: outcomes, a filtered run and a failure's code are there.
    assert text.count('"assistant_telemetry.stream.outcome"') == 8
    assert "blocked_output" in text and '"server_error"' in text
    assert_clean(text)
    assert "Sorry, something went wrong." not in text  # the failed run's last_error.message
