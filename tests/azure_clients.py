"""Real azure-ai-agents clients pointed at the simulator.

Only what cannot run here is stood in for: the credential (no Entra ID on loopback) returns
a static token, and a pipeline policy sets azure-core's supported per-request option
``enforce_https=False`` (``BearerTokenCredentialPolicy`` refuses to send a token over http
otherwise; the simulator is ``http://127.0.0.1``). Everything else is the SDK as shipped.
"""

from __future__ import annotations

import inspect
import time
from typing import Any

from azure.core.credentials import AccessToken
from azure.core.pipeline import PipelineRequest
from azure.core.pipeline.policies import SansIOHTTPPolicy

TOKEN = "static-test-token"


class StaticToken:
    """A ``TokenCredential`` that never expires within a test run."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(TOKEN, int(time.time()) + 3600)


class AsyncStaticToken:
    """The ``AsyncTokenCredential`` twin."""

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(TOKEN, int(time.time()) + 3600)

    async def close(self) -> None:
        pass

    async def __aenter__(self) -> AsyncStaticToken:
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        pass


class AllowHttpBearer(SansIOHTTPPolicy):
    """Lets the bearer policy run over http://127.0.0.1 (its documented ``enforce_https`` option)."""

    def on_request(self, request: PipelineRequest[Any]) -> None:
        request.context["enforce_https"] = False


def agents_client(sim: Any, **kwargs: Any) -> Any:
    from azure.ai.agents import AgentsClient

    kwargs.setdefault("retry_total", 0)
    return AgentsClient(sim.agents_endpoint(), StaticToken(), per_call_policies=[AllowHttpBearer()], **kwargs)


def async_agents_client(sim: Any, **kwargs: Any) -> Any:
    from azure.ai.agents.aio import AgentsClient

    kwargs.setdefault("retry_total", 0)
    return AgentsClient(
        sim.agents_endpoint(), AsyncStaticToken(), per_call_policies=[AllowHttpBearer()], **kwargs
    )


# --- one conversation through every wrapped AgentsClient method (sync or aio) ------------------


async def resolve(value: Any) -> Any:
    """The aio client's coroutines awaited, the sync client's results passed through."""
    return await value if inspect.isawaitable(value) else value


async def _collect(paged: Any) -> list[Any]:
    if hasattr(paged, "__aiter__"):
        return [item async for item in paged]
    return list(paged)


async def _until(resolve: Any, fetch: Any, statuses: set[str], limit: int = 10) -> Any:
    for _ in range(limit):
        run = await resolve(fetch())
        if run.status in statuses:
            return run
    raise AssertionError(f"run stuck in {run.status}")


def tool_functions(output: str) -> set[Any]:
    """The functions the simulator's runs ask for; they answer ``output`` (content: never recorded)."""

    def get_weather(location: str, unit: str = "celsius") -> str:
        return output

    def lookup_order(order_id: str) -> str:
        return output

    return {get_weather, lookup_order}


async def every_agents_call(client: Any, sim: Any, content: Any) -> dict[str, str]:
    """Call every wrapped AgentsClient method once; returns the ids created.

    ``content`` is a ``scenarios.Content``: the canary test fills it with canary strings.
    """
    threads, messages, runs, steps = client.threads, client.messages, client.runs, client.run_steps
    meta = {"customer": content.metadata_value}
    client.enable_auto_function_calls(tool_functions(content.tool_output))
    tools = [
        {"type": "code_interpreter"},
        {
            "type": "function",
            "function": {"name": "get_weather", "description": content.assistant_description},
        },
    ]
    agent = await resolve(
        client.create_agent(
            model="gpt-4o",
            name="weather-helper",
            description=content.assistant_description,
            instructions=content.instructions,
            tools=tools,
            metadata=meta,
        )
    )
    await resolve(client.get_agent(agent.id))
    await resolve(client.update_agent(agent.id, instructions=content.instructions, metadata=meta))
    await _collect(client.list_agents(limit=5))
    thread = await resolve(threads.create(metadata=meta))
    await resolve(threads.get(thread.id))
    await resolve(threads.update(thread.id, metadata=meta))
    await _collect(threads.list(limit=5))
    message = await resolve(messages.create(thread.id, role="user", content=content.message, metadata=meta))
    await resolve(messages.get(thread.id, message.id))
    await resolve(messages.update(thread.id, message.id, metadata=meta))
    run = await resolve(
        runs.create(thread.id, agent_id=agent.id, additional_instructions=content.instructions, metadata=meta)
    )
    run = await _until(resolve, lambda: runs.get(thread.id, run.id), {"completed"})
    await resolve(runs.update(thread.id, run.id, metadata=meta))
    await _collect(runs.list(thread.id))
    step = (await _collect(steps.list(thread.id, run.id)))[0]
    await resolve(steps.get(thread.id, run.id, step.id))
    reply = next(m for m in await _collect(messages.list(thread.id)) if m.role == "assistant")

    sim.next_run_outcome("requires_action", "completed")
    tool_run = await resolve(runs.create(thread.id, agent_id=agent.id))
    tool_run = await _until(resolve, lambda: runs.get(thread.id, tool_run.id), {"requires_action"})
    calls = tool_run.required_action.submit_tool_outputs.tool_calls
    outputs = [{"tool_call_id": call.id, "output": content.tool_output} for call in calls]
    await resolve(runs.submit_tool_outputs(thread.id, tool_run.id, tool_outputs=outputs))
    await _until(resolve, lambda: runs.get(thread.id, tool_run.id), {"completed"})

    sim.next_run_outcome("requires_action", "completed")  # the same loop, the SDK calling the tools
    processed = await resolve(
        runs.create_and_process(
            thread.id, agent_id=agent.id, additional_instructions=content.instructions, polling_interval=0
        )
    )
    cancelled = await resolve(runs.create(thread.id, agent_id=agent.id))
    await resolve(runs.cancel(thread.id, cancelled.id))
    await _until(resolve, lambda: runs.get(thread.id, cancelled.id), {"cancelled"})

    sim.next_run_outcome("requires_action", "completed")  # streamed: tool outputs go in a second stream
    manager = await resolve(
        runs.stream(thread.id, agent_id=agent.id, additional_instructions=content.instructions)
    )
    events = await _stream_events(manager)

    both = await resolve(
        client.create_thread_and_run(
            agent_id=agent.id,
            instructions=content.instructions,
            thread={"messages": [{"role": "user", "content": content.message}], "metadata": meta},
        )
    )
    both = await _until(resolve, lambda: runs.get(both.thread_id, both.id), {"completed"})
    processed_both = await resolve(
        client.create_thread_and_process_run(
            agent_id=agent.id,
            thread={"messages": [{"role": "user", "content": content.message}]},
            polling_interval=0,
        )
    )
    for thread_id in (both.thread_id, processed_both.thread_id, thread.id):
        await resolve(threads.delete(thread_id))
    await resolve(client.delete_agent(agent.id))
    return {
        "agent": agent.id,
        "thread": thread.id,
        "message": message.id,
        "run": run.id,
        "step": step.id,
        "reply": reply.id,
        "tool_run": tool_run.id,
        "processed": processed.id,
        "cancelled": cancelled.id,
        "both": both.id,
        "both_thread": both.thread_id,
        "processed_both": processed_both.id,
        "stream_events": ",".join(events),
    }


async def _stream_events(manager: Any) -> list[str]:
    if hasattr(manager, "__aenter__"):
        async with manager as stream:
            return [event[0] async for event in stream]
    with manager as stream:
        return [event[0] for event in stream]


async def read_stream(stream: Any, on_event: Any = None, limit: int | None = None) -> list[str]:
    """Enter a run stream as an app does (``with`` / ``async with``) and iterate the handler it gives.

    ``on_event(handler, data)`` sees each event's data (awaited when it returns an awaitable);
    ``limit`` leaves the block after that many events. Returns the event names read.
    """
    names: list[str] = []
    if hasattr(stream, "__aenter__"):
        async with stream as handler:
            async for event_type, data, _ in handler:
                names.append(event_type)
                if on_event is not None:
                    await resolve(on_event(handler, data))
                if len(names) == limit:
                    break
        return names
    with stream as handler:
        for event_type, data, _ in handler:
            names.append(event_type)
            if on_event is not None:
                await resolve(on_event(handler, data))
            if len(names) == limit:
                break
    return names
