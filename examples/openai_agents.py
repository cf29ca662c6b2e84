"""OpenAI Agents SDK (openai-agents): an agent with a function tool, run plainly and streamed.

Run against the local simulator:  python examples/openai_agents.py
(needs ``pip install assistant-telemetry[openai-agents]``). Each run is one trace: ``invoke_agent
weather-helper`` parenting the model calls (``chat``) and ``execute_tool get_weather``. Against the
real service, drop the simulator and the explicit client. The SDK's own tracing (export to OpenAI)
is untouched; here it is off for the run, so nothing leaves this machine.
"""

from __future__ import annotations

import asyncio

from agents import Agent, OpenAIResponsesModel, RunConfig, Runner, function_tool
from openai import AsyncOpenAI

import assistant_telemetry
from assistant_telemetry.simulator import Simulator


@function_tool
def get_weather(city: str) -> str:
    """Tell the weather of a city."""
    return f"Sunny in {city}."


async def main(sim: Simulator) -> None:
    client = AsyncOpenAI(base_url=sim.base_url, api_key="sk-local")
    agent = Agent(
        name="weather-helper",
        instructions="Answer briefly.",
        tools=[get_weather],
        model=OpenAIResponsesModel(model="gpt-4o", openai_client=client),
    )
    local_only = RunConfig(tracing_disabled=True)
    sim.next_run_outcome("requires_action")  # the simulated model calls get_weather first
    result = await Runner.run(agent, "Will it rain in Stockholm?", run_config=local_only)
    print("run:", result.final_output)
    sim.next_run_outcome("requires_action")
    streamed = Runner.run_streamed(agent, "And tomorrow?", run_config=local_only)
    async for _event in streamed.stream_events():
        pass
    print("streamed:", streamed.final_output)


session = assistant_telemetry.instrument(exporter="console")
with Simulator() as sim:
    asyncio.run(main(sim))
session.flush()
