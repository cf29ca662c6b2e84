"""Conversations driven through the real openai clients; shared by surface, privacy and e2e tests.

One async body serves the sync and async clients: ``resolve`` awaits what the async client
returns and passes the sync client's results through.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

Resolve = Callable[[Any], Awaitable[Any]]


async def sync_resolve(value: Any) -> Any:
    return value


async def async_resolve(value: Any) -> Any:
    return await value


def resolver(client: Any) -> Resolve:
    return async_resolve if type(client).__name__.startswith("Async") else sync_resolve


@dataclass
class Content:
    """The content-bearing inputs of a conversation; the privacy test fills them with canaries."""

    message: str = "What is the weather in Stockholm?"
    instructions: str = "You are a helpful assistant."
    metadata_value: str = "customer-42"
    tool_output: str = '{"temperature": 21}'
    assistant_description: str = "Answers weather questions"


CANARY_CONTENT = Content(
    message="CANARY-MESSAGE-7f3a",
    instructions="CANARY-INSTRUCTIONS-91bc",
    metadata_value="CANARY-METADATA-22de",
    tool_output="CANARY-TOOL-OUTPUT-5e1f",
    assistant_description="CANARY-DESCRIPTION-c0aa",
)
CANARY_STRINGS = tuple(vars(CANARY_CONTENT).values())


@dataclass
class Ids:
    values: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, key: str) -> str:
        return self.values[key]


async def until(resolve: Resolve, fetch: Callable[[], Any], statuses: set[str], limit: int = 10) -> Any:
    """The app's own polling loop over runs.retrieve."""
    for _ in range(limit):
        run = await resolve(fetch())
        if run.status in statuses:
            return run
    raise AssertionError(f"run stuck in {run.status}")


async def every_call(client: Any, sim: Any, content: Content | None = None) -> Ids:
    """Call every wrapped Assistants method once (and a few twice); returns the ids created."""
    content = content or Content()
    resolve = resolver(client)
    beta = client.beta
    runs = beta.threads.runs
    meta = {"customer": content.metadata_value}
    asst = await resolve(
        beta.assistants.create(
            model="gpt-4o",
            name="weather-helper",
            description=content.assistant_description,
            instructions=content.instructions,
            tools=[{"type": "code_interpreter"}, {"type": "function", "function": {"name": "get_weather"}}],
            metadata=meta,
        )
    )
    await resolve(beta.assistants.retrieve(asst.id))
    await resolve(beta.assistants.update(asst.id, instructions=content.instructions, metadata=meta))
    await resolve(beta.assistants.list(limit=5))
    thread = await resolve(beta.threads.create(metadata=meta))
    await resolve(beta.threads.retrieve(thread.id))
    await resolve(beta.threads.update(thread.id, metadata=meta))
    message = await resolve(
        beta.threads.messages.create(thread.id, role="user", content=content.message, metadata=meta)
    )
    await resolve(beta.threads.messages.retrieve(message.id, thread_id=thread.id))
    await resolve(beta.threads.messages.update(message.id, thread_id=thread.id, metadata=meta))
    run = await resolve(
        runs.create(
            thread.id, assistant_id=asst.id, additional_instructions=content.instructions, metadata=meta
        )
    )
    run = await until(resolve, lambda: runs.retrieve(run.id, thread_id=thread.id), {"completed"})
    await resolve(runs.update(run.id, thread_id=thread.id, metadata=meta))
    await resolve(runs.list(thread.id))
    steps = await resolve(runs.steps.list(run.id, thread_id=thread.id))
    step = steps.data[0]
    await resolve(runs.steps.retrieve(step.id, thread_id=thread.id, run_id=run.id))
    page = await resolve(beta.threads.messages.list(thread.id))
    reply = next(m for m in page.data if m.role == "assistant")

    sim.next_run_outcome("requires_action", "completed")
    tool_run = await resolve(runs.create(thread.id, assistant_id=asst.id))
    tool_run = await until(
        resolve, lambda: runs.retrieve(tool_run.id, thread_id=thread.id), {"requires_action"}
    )
    calls = tool_run.required_action.submit_tool_outputs.tool_calls
    outputs = [{"tool_call_id": c.id, "output": content.tool_output} for c in calls]
    await resolve(runs.submit_tool_outputs(tool_run.id, thread_id=thread.id, tool_outputs=outputs))
    await until(resolve, lambda: runs.retrieve(tool_run.id, thread_id=thread.id), {"completed"})

    sim.next_run_outcome("requires_action", "completed")  # the same loop through the poll helpers
    waiting = await resolve(
        runs.create_and_poll(
            thread_id=thread.id, assistant_id=asst.id, additional_instructions=content.instructions
        )
    )
    outputs = [
        {"tool_call_id": c.id, "output": content.tool_output}
        for c in waiting.required_action.submit_tool_outputs.tool_calls
    ]
    await resolve(
        runs.submit_tool_outputs_and_poll(run_id=waiting.id, thread_id=thread.id, tool_outputs=outputs)
    )

    # The same loop through the stream helpers, content in every field they take.
    sim.next_run_outcome("requires_action", "completed")
    extra = [{"role": "user", "content": content.message}]
    streamed = await consume(
        client,
        runs.stream(
            thread_id=thread.id,
            assistant_id=asst.id,
            additional_instructions=content.instructions,
            additional_messages=extra,
            metadata=meta,
        ),
    )
    outputs = [
        {"tool_call_id": c.id, "output": content.tool_output}
        for c in streamed.required_action.submit_tool_outputs.tool_calls
    ]
    await consume(
        client, runs.submit_tool_outputs_stream(run_id=streamed.id, thread_id=thread.id, tool_outputs=outputs)
    )
    raw = await resolve(
        runs.create(thread.id, assistant_id=asst.id, instructions=content.instructions, stream=True)
    )
    await drain(raw)
    streamed_thread = await consume(
        client,
        beta.threads.create_and_run_stream(
            assistant_id=asst.id,
            instructions=content.instructions,
            thread={"messages": extra, "metadata": meta},
        ),
    )
    await resolve(beta.threads.delete(streamed_thread.thread_id))

    cancelled = await resolve(runs.create(thread.id, assistant_id=asst.id))
    await resolve(runs.cancel(cancelled.id, thread_id=thread.id))
    both = await resolve(
        beta.threads.create_and_run(
            assistant_id=asst.id,
            instructions=content.instructions,
            thread={"messages": [{"role": "user", "content": content.message}], "metadata": meta},
        )
    )
    await resolve(beta.threads.messages.delete(message.id, thread_id=thread.id))
    await resolve(beta.threads.delete(both.thread_id))
    await resolve(beta.threads.delete(thread.id))
    await resolve(beta.assistants.delete(asst.id))
    return Ids(
        {
            "assistant": asst.id,
            "thread": thread.id,
            "message": message.id,
            "run": run.id,
            "step": step.id,
            "reply": reply.id,
            "tool_run": tool_run.id,
            "cancelled_run": cancelled.id,
            "created_and_run": both.id,
            "created_thread": both.thread_id,
        }
    )


async def consume(client: Any, manager: Any) -> Any:
    """Run a stream helper to its end, as an app would (``with`` or ``async with``); the final run."""
    if resolver(client) is async_resolve:
        async with manager as stream:
            await stream.until_done()
            return stream.current_run
    with manager as stream:
        stream.until_done()
        return stream.current_run


async def drain(stream: Any) -> list[Any]:
    """Iterate a ``stream=True`` result to its end."""
    if hasattr(stream, "__anext__"):
        return [event async for event in stream]
    return list(stream)


def run(coro: Awaitable[Any]) -> Any:
    return asyncio.run(coro)  # type: ignore[arg-type]


# --- Responses and Conversations ------------------------------------------------------------------

RESPONSE_DONE = frozenset({"completed", "failed", "cancelled", "incomplete"})


async def consume_response(client: Any, manager: Any) -> Any:
    """Run ``responses.stream(...)`` to its end, as an app would; the final response."""
    if resolver(client) is async_resolve:
        async with manager as stream:
            return await stream.get_final_response()
    with manager as stream:
        return stream.get_final_response()


async def poll_response(resolve: Resolve, client: Any, response_id: str, limit: int = 10) -> Any:
    """The app's own polling loop over responses.retrieve (a background response)."""
    for _ in range(limit):
        response = await resolve(client.responses.retrieve(response_id))
        if response.status in RESPONSE_DONE:
            return response
    raise AssertionError(f"response stuck in {response.status}")


async def every_responses_call(client: Any, sim: Any, content: Content | None = None) -> Ids:
    """Call every wrapped Responses and Conversations method once, content in every field they take."""
    content = content or Content()
    resolve = resolver(client)
    conversations, responses = client.conversations, client.responses
    meta = {"customer": content.metadata_value}
    said = [{"role": "user", "content": content.message}]
    prompt = {"id": "pmpt_weather", "version": "2", "variables": {"city": content.assistant_description}}
    conversation = await resolve(conversations.create(items=said, metadata=meta))
    await resolve(conversations.retrieve(conversation.id))
    await resolve(conversations.update(conversation.id, metadata=meta))
    added = await resolve(conversations.items.create(conversation.id, items=said))
    item_id = added.data[0].id
    await resolve(conversations.items.retrieve(item_id, conversation_id=conversation.id))
    first = await resolve(
        responses.create(
            model="gpt-4o",
            input=content.message,
            instructions=content.instructions,
            conversation=conversation.id,
            metadata=meta,
            prompt=prompt,
        )
    )
    await resolve(responses.retrieve(first.id))
    await resolve(responses.input_items.list(first.id))
    await resolve(conversations.items.list(conversation.id))

    sim.next_run_outcome("requires_action")  # the tool loop: function calls, then their outputs
    asked = await resolve(
        responses.create(
            model="gpt-4o", input=said, instructions=content.instructions, previous_response_id=first.id
        )
    )
    outputs = [
        {"type": "function_call_output", "call_id": item.call_id, "output": content.tool_output}
        for item in asked.output
    ]
    await resolve(responses.create(model="gpt-4o", input=outputs, previous_response_id=asked.id))
    await resolve(responses.parse(model="gpt-4o", input=content.message, instructions=content.instructions))
    streamed = await resolve(
        responses.create(
            model="gpt-4o", input=content.message, instructions=content.instructions, stream=True
        )
    )
    await drain(streamed)
    helper = responses.stream(model="gpt-4o", input=said, instructions=content.instructions, metadata=meta)
    await consume_response(client, helper)

    background = await resolve(
        responses.create(
            model="gpt-4o", input=content.message, instructions=content.instructions, background=True
        )
    )
    await poll_response(resolve, client, background.id)
    await consume_response(client, responses.stream(response_id=background.id))  # resumed
    stopped = await resolve(responses.create(model="gpt-4o", input=content.message, background=True))
    await resolve(responses.cancel(stopped.id))
    raw = await resolve(responses.with_raw_response.create(model="gpt-4o", input=content.message))
    agent = {"type": "agent_reference", "name": "weather-agent", "version": "3"}
    foundry = await resolve(
        responses.create(model="gpt-4o", input=content.message, extra_body={"agent": agent})
    )

    await resolve(conversations.items.delete(item_id, conversation_id=conversation.id))
    await resolve(responses.delete(first.id))
    await resolve(conversations.delete(conversation.id))
    return Ids(
        {
            "conversation": conversation.id,
            "item": item_id,
            "response": first.id,
            "asked": asked.id,
            "background": background.id,
            "cancelled": stopped.id,
            "raw": raw.parse().id,
            "foundry": foundry.id,
        }
    )
