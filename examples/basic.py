"""The smallest instrumented app: one instrument() call, then unchanged openai code.

Run against the local simulator:  python examples/basic.py
"""

from __future__ import annotations

import openai

import assistant_telemetry
from assistant_telemetry.simulator import Simulator

session = assistant_telemetry.instrument(exporter="console")

with Simulator() as sim:
    client = openai.OpenAI(base_url=sim.base_url, api_key="sk-example")
    assistant = client.beta.assistants.create(model="gpt-4o", name="example")
    thread = client.beta.threads.create()
    client.beta.threads.messages.create(thread.id, role="user", content="Hello!")
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    print("run", run.id, run.status)

session.flush()
