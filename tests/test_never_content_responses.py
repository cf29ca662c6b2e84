"""The promise on the Responses and Conversations surface: no content reaches any exported signal.

Canaries go through every content-bearing field the new calls take (``input`` text and items,
``instructions``, conversation items, function call outputs, prompt variables, metadata values),
come back in outputs, streams and item listings, and are echoed by server error messages.
"""

from __future__ import annotations

from typing import Any

import openai
import pytest

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
