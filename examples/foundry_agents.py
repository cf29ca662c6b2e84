"""Foundry agents v2 (azure-ai-projects 2.x): a versioned agent, a conversation, a response by it.

Run against the local simulator:  python examples/foundry_agents.py
(needs ``pip install assistant-telemetry[foundry]``). Against a real project, pass its endpoint
and ``DefaultAzureCredential()`` instead, drop the two stand-ins, and set
``FOUNDRY_PROJECT_ARM_ID`` to the project's resource id for the Foundry portal.
"""

from __future__ import annotations

import time
from typing import Any

from azure.ai.projects import AIProjectClient
from azure.ai.projects.models import PromptAgentDefinition
from azure.core.credentials import AccessToken
from azure.core.pipeline.policies import SansIOHTTPPolicy

import assistant_telemetry
from assistant_telemetry.simulator import Simulator


class LocalToken:
    """Stand-in credential: the simulator takes any bearer token."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken("local", int(time.time()) + 3600)


class AllowHttp(SansIOHTTPPolicy):
    """Stand-in: the simulator is plain http://127.0.0.1 (azure-core's ``enforce_https`` option)."""

    def on_request(self, request: Any) -> None:
        request.context["enforce_https"] = False


session = assistant_telemetry.instrument(exporter="console")

with Simulator() as sim:
    project = AIProjectClient(
        sim.agents_endpoint("demo-project"), LocalToken(), per_call_policies=[AllowHttp()]
    )
    agent = project.agents.create_version(
        "weather-helper", definition=PromptAgentDefinition(model="gpt-4o", instructions="Answer briefly.")
    )
    openai = project.get_openai_client()
    conversation = openai.conversations.create()
    response = openai.responses.create(
        input="Will it rain today?",
        conversation=conversation.id,
        extra_body={
            "agent_reference": {"name": agent.name, "version": agent.version, "type": "agent_reference"}
        },
    )
    print("agent", agent.id, "response", response.id, response.status)
    project.agents.delete_version(agent.name, agent.version)

session.flush()
