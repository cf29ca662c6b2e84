"""Microsoft Agent Framework: an agent with a function tool over the Responses API, plain and streamed.

Run against the local simulator:  python examples/agent_framework_agent.py
(needs ``pip install assistant-telemetry[agent-framework]``). With the framework's observability
off (as here) each run is one trace of ours: ``invoke_agent weather-helper`` parenting the model
calls (``chat``) and ``execute_tool get_weather``. With it on (its default, once the app sets a
global tracer provider) the framework's own spans are the ones, and ours add their ids to its
``chat`` spans instead of making a second span and a second duration point.
(Not named agent_framework.py: run as a script, that name would shadow the package it imports.)
"""

from __future__ import annotations

import asyncio

from agent_framework import Agent, tool
from agent_framework.observability import disable_instrumentation
from agent_framework.openai import OpenAIChatClient
from openai import AsyncOpenAI

import assistant_telemetry
from assistant_telemetry.simulator import Simulator


@tool
def get_weather(city: str) -> str:
    """Tell the weather of a city."""
    return f"Sunny in {city}."


async def main(sim: Simulator) -> None:
    client = AsyncOpenAI(base_url=sim.base_url, api_key="sk-local")
    agent = Agent(
        OpenAIChatClient(async_client=client, model="gpt-4o"),
        instructions="Answer briefly.",
        name="weather-helper",
        tools=[get_weather],
    )
    sim.next_run_outcome("requires_action")  # the simulated model calls get_weather first
    print("run:", (await agent.run("Will it rain in Stockholm?")).text)
    sim.next_run_outcome("requires_action")
    stream = agent.run("And tomorrow?", stream=True)
    updates = [update async for update in stream]
    print("streamed:", len(updates), "updates;", (await stream.get_final_response()).text)


disable_instrumentation()  # the framework's own spans off: ours stand for the agent and its tools
session = assistant_telemetry.instrument(exporter="console")
with Simulator() as sim:
    asyncio.run(main(sim))
session.flush()
