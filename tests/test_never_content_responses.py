"""The promise on the Responses and Conversations surface: no content reaches any exported signal.

Canaries go through every content-bearing field the new calls take (``input`` text and items,
``instructions``, conversation items, function call outputs, prompt variables, metadata values),
come back in outputs, streams and item listings, and are echoed by server error messages.
"""

from __future__ import annotations

from typing import Any

import openai
import pytest

from assistant_telemetry.simulator.chat import CITATION_URL, FILTER_PROFILES
from assistant_telemetry.simulator.responses import REPLY_TEXT
from test_never_content import assert_no_canary, exported_text

from scenarios import CANARY_CONTENT as CANARIES
from scenarios import every_responses_call, run


@pytest.fixture(params=["sync", "async", "azure"])
def any_client(request: pytest.FixtureRequest, client: Any, async_client: Any, azure_client: Any) -> Any:
    return {"sync": client, "async": async_client, "azure": azure_client}[request.param]


def test_no_canary_in_any_exported_signal(telemetry: Any, sim: Any, any_client: Any) -> None:
    run(every_responses_call(any_client, sim, CANARIES))
    text = exported_text(telemetry)
    for operation in ("create_conversation_items", "list_conversation_items", "chat", "get_response"):
        assert operation in text  # the telemetry is there
    assert "pmpt_weather" in text and "weather-agent" in text  # ids are, their variables are not
    assert_no_canary(text)


@pytest.mark.parametrize("path", ["/responses", "/conversations/*/items"])
def test_error_messages_that_echo_input_are_not_recorded(
    telemetry: Any, sim: Any, client: Any, path: str
) -> None:
    conversation = client.conversations.create()
    sim.add_fault(kind="echo_error", method="POST", path=path, times=1)
    with pytest.raises(openai.BadRequestError) as raised:
        if path == "/responses":
            client.responses.create(
                model="gpt-4o", input=CANARIES.message, instructions=CANARIES.instructions
            )
        else:
            client.conversations.items.create(
                conversation.id, items=[{"role": "user", "content": CANARIES.message}]
            )
    assert CANARIES.message in str(raised.value)  # the service did echo it
    failed = [s for s in telemetry.spans if s.status.status_code.name == "ERROR"]
    assert len(failed) == 1 and failed[0].attributes["assistant_telemetry.failure_class"] == "bad_request"
    assert_no_canary(exported_text(telemetry))


def test_azure_content_filter_results_carry_no_content(telemetry: Any, sim: Any, azure_client: Any) -> None:
    said = {"input": [{"role": "user", "content": CANARIES.message}], "instructions": CANARIES.instructions}
    for profile in FILTER_PROFILES:
        for how in ("plain", "stream", "background"):
            sim.next_content_filter(profile)
            try:
                if how == "stream":
                    for _ in azure_client.responses.create(model="gpt-4o", stream=True, **said):
                        pass
                    continue
                created = azure_client.responses.create(
                    model="gpt-4o", background=how == "background", **said
                )
            except (
                openai.BadRequestError
            ) as error:  # blocked_prompt: the 400 echoes the policy, not the input
                assert profile == "blocked_prompt" and error.code == "content_filter"
                continue
            for _ in range(2 if how == "background" else 1):
                azure_client.responses.retrieve(created.id)
    text = exported_text(telemetry)
    for recorded in ("blocked_output", "blocked_prompt", "protected_material_code", "content_filter.error"):
        assert recorded in text  # the telemetry is there
    assert_no_canary(text)
    leaked = [served for served in (CITATION_URL, REPLY_TEXT, "content management policy") if served in text]
    assert not leaked, f"the service's content leaked into telemetry: {leaked}"
