"""The Responses and Conversations APIs: responses (plain, streamed, background), conversations, items.

One outcome queue and one timing setting drive runs and responses alike
(``Simulator.next_run_outcome``, ``Simulator.run_timing``), so the same conversation can be
played through the Assistants API and through its successors and compared. Outcomes map to
what a response can end as: ``completed``, ``failed`` (error ``server_error``), ``incomplete``
(``max_output_tokens``), ``content_filter`` (incomplete, reason ``content_filter``),
``cancelled``, ``requires_action`` (completed with function calls to run, the Responses way
of asking for tools: the first function tool the request declares, else two fixed ones);
``expired`` has no Responses equivalent and fails like ``failed``.

A plain response is answered in its final status. A ``background`` one is created ``queued``
and moves one status per retrieve (``in_progress``, then its outcome), as runs do under
polling, or every ``Simulator.background_polls(n)`` retrieves; ``cancel`` stops it.
``stream: true`` (on create, or on retrieve to resume) sends the events of driving the
response to its end. Input items join the response's conversation
when it is created, output items when it finishes. Objects are kept in their wire shapes
(checked against OpenAI's OpenAPI description in tests/test_responses_simulator.py).

On Azure (the /openai prefixes) a response also carries Azure's ``content_filters``: a
``prompt`` entry from creation, a ``completion`` entry once it has output, each
``{blocked, source_type, content_filter_results}`` with the results of the chat filter profile
queued by ``Simulator.next_content_filter`` (chat.FILTER_PROFILES, one per Azure chat call or
response; ``safe`` when none is queued). ``blocked_output`` ends the response ``incomplete``
(reason ``content_filter``, the completion entry ``blocked``), as the ``content_filter``
outcome does on Azure; ``blocked_prompt`` refuses the create with chat's 400.
"""

from __future__ import annotations

import json
import re
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from . import foundry
from .chat import content_filter_error, filter_profile
from .errors import Json, bad_request, not_found
from .routes import App, Reply, Request, route
from .store import check_metadata, new_id, now, paginate, snapshot

REPLY_TEXT = "The simulated model has finished this response."
FUNCTION_CALLS = (
    ("get_weather", '{"location": "Stockholm", "unit": "celsius"}'),
    ("lookup_order", '{"order_id": "ORD-1234"}'),
)
# The same counts as a simulated run's reply step, so both surfaces report equal usage.
INPUT_TOKENS, OUTPUT_TOKENS, CACHED_TOKENS, REASONING_TOKENS = 120, 11, 64, 4
INCOMPLETE_WORDS = 3
TERMINAL = frozenset({"completed", "failed", "incomplete", "cancelled"})
FINAL_EVENTS = {
    "completed": "response.completed",
    "incomplete": "response.incomplete",
    "failed": "response.failed",
}
# outcome -> (final status, incomplete reason, error code)
OUTCOMES: dict[str, tuple[str, str | None, str | None]] = {
    "completed": ("completed", None, None),
    "requires_action": ("completed", None, None),
    "failed": ("failed", None, "server_error"),
    "expired": ("failed", None, "server_error"),
    "incomplete": ("incomplete", "max_output_tokens", None),
    "content_filter": ("incomplete", "content_filter", None),
    "cancelled": ("cancelled", None, None),
}

Event = tuple[str, Json]


@dataclass
class Entry:
    response: Json
    outcome: str
    inputs: list[Json]
    pending: list[str] = field(default_factory=list)
    log: list[Event] = field(default_factory=list)  # every event so far: a resumed stream replays them
    completion_filter: Json | None = None  # Azure: the completion's filter results, served at the end
    held: int = 0  # retrieves answered in the current status so far (State.polls_per_status)


@dataclass
class State:
    responses: dict[str, Entry] = field(default_factory=dict)
    conversations: dict[str, Json] = field(default_factory=dict)
    items: dict[str, dict[str, Json]] = field(default_factory=dict)  # conversation id -> items in order
    polls_per_status: int = 1  # retrieves a background response answers queued, then in_progress


_STATES: weakref.WeakKeyDictionary[App, State] = weakref.WeakKeyDictionary()


def state(app: App) -> State:
    """This simulator's responses and conversations (created with the app's first such request)."""
    found = _STATES.get(app)
    if found is None:
        found = _STATES[app] = State()
    return found


def _streaming(req: Request) -> bool:
    return req.body.get("stream") is True or req.query.get("stream") == "true"


# --- items ------------------------------------------------------------------------------------


def input_items(value: Any) -> list[Json]:
    """Request ``input`` / ``items`` (a string or a list of items) as stored items with ids."""
    if isinstance(value, str):
        value = [{"role": "user", "content": value}]
    if not isinstance(value, list):
        raise bad_request("Invalid 'input': expected a string or an array of input items.", "input")
    return [_input_item(item) for item in value]


def _input_item(item: Any) -> Json:
    if not isinstance(item, dict):
        raise bad_request("Invalid input item: expected an object.", "input")
    kind = item.get("type") or ("message" if "role" in item else None)
    if kind == "message":
        role = item.get("role")
        if role not in ("user", "assistant", "system", "developer"):
            raise bad_request(f"Invalid 'role': {role!r}.", "input")
        return {
            "id": new_id("msg"),
            "type": "message",
            "role": role,
            "status": "completed",
            "content": _content(item.get("content"), "output_text" if role == "assistant" else "input_text"),
        }
    if kind == "function_call":  # a call an earlier response made, sent back beside its output
        return {
            "id": str(item.get("id") or new_id("fc")),
            "type": "function_call",
            "call_id": str(item.get("call_id") or ""),
            "name": str(item.get("name") or ""),
            "arguments": str(item.get("arguments") or ""),
            "status": "completed",
        }
    if kind == "function_call_output":
        return {
            "id": new_id("fco"),
            "type": "function_call_output",
            "call_id": str(item.get("call_id") or ""),
            "output": str(item.get("output") or ""),
            "status": "completed",
        }
    raise bad_request(f"Invalid input item type: {kind!r}.", "input")


def _content(content: Any, text_type: str) -> list[Json]:
    if isinstance(content, str):
        content = [{"type": text_type, "text": content}]
    if not isinstance(content, list):
        raise bad_request("Invalid 'content': expected a string or an array.", "content")
    parts = []
    for part in content:
        kind = part.get("type") if isinstance(part, dict) else None
        if kind in ("input_text", "output_text", "text"):
            text = str(part.get("text", ""))
            parts.append(
                _text_part(text) if text_type == "output_text" else {"type": "input_text", "text": text}
            )
        else:
            raise bad_request(f"Invalid content part type: {kind!r}.", "content")
    return parts


def _text_part(text: str) -> Json:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def _add_to_conversation(st: State, conversation_id: str | None, items: Iterable[Json]) -> None:
    if conversation_id is not None:
        st.items[conversation_id].update((item["id"], snapshot(item)) for item in items)


def _conversation(st: State, conversation_id: str) -> Json:
    if conversation_id not in st.conversations:
        raise not_found("conversation", conversation_id)
    return st.conversations[conversation_id]


# --- responses --------------------------------------------------------------------------------


def _conversation_id(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("id")
    if value is not None and not isinstance(value, str):
        raise bad_request(
            "Invalid 'conversation': expected a string or an object with an id.", "conversation"
        )
    return value


def _filter_entry(source: str, results: Json, blocked: bool) -> Json:
    """One entry of Azure's ``content_filters``."""
    return {"blocked": blocked, "source_type": source, "content_filter_results": results}


def create_response(app: App, body: Json, azure: bool = False, project: str = "") -> Entry:
    st = state(app)
    model = body.get("model") or foundry.agent_model(app, body, project)  # a Foundry agent names its model
    if not isinstance(model, str) or not model:
        raise bad_request("Missing required parameter: 'model'.", "model")
    conversation_id = _conversation_id(body.get("conversation"))
    previous = body.get("previous_response_id")
    if conversation_id is not None and previous is not None:
        raise bad_request(
            "'previous_response_id' cannot be used together with 'conversation'.", "conversation"
        )
    if conversation_id is not None:
        _conversation(st, conversation_id)
    if previous is not None and previous not in st.responses:
        raise not_found("response", str(previous))
    inputs = input_items(body["input"]) if "input" in body else []
    background = body.get("background") is True
    response: Json = {
        "id": new_id("resp"),
        "object": "response",
        "created_at": now(),
        "status": "queued" if background else "in_progress",
        "background": background,
        "completed_at": None,
        "conversation": {"id": conversation_id} if conversation_id else None,
        "error": None,
        "incomplete_details": None,
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "metadata": check_metadata(body.get("metadata")),
        "model": app.deployments.get(model, model),  # Azure answers with the deployment's model
        "output": [],
        "parallel_tool_calls": body.get("parallel_tool_calls", True),
        "previous_response_id": previous,
        "service_tier": "default",
        "store": body.get("store", True),
        "temperature": 1.0,
        "text": {"format": {"type": "text"}},
        "tool_choice": body.get("tool_choice") or "auto",
        "tools": list(body.get("tools") or []),
        "top_p": 1.0,
        "truncation": "disabled",
    }
    for extra in ("prompt", "agent", "agent_reference"):  # a reusable prompt; a Foundry agent reference
        if isinstance(body.get(extra), dict):
            response[extra] = body[extra]
    profile = (app.chat_filters.popleft() if app.chat_filters else "safe") if azure else None
    if profile == "blocked_prompt":
        raise content_filter_error(filter_profile(profile)[0])
    outcome = app.runs.outcomes.popleft() if app.runs.outcomes else "completed"
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}")
    if profile == "blocked_output":
        outcome = "content_filter"
    elif profile == "safe" and outcome == "content_filter":
        profile = "blocked_output"  # Azure names what it blocked
    entry = Entry(response, outcome, inputs, pending=["in_progress", OUTCOMES[outcome][0]])
    if profile is not None:
        prompt_results, entry.completion_filter, _ = filter_profile(profile)
        response["content_filters"] = [_filter_entry("prompt", prompt_results, False)]
    entry.log.append(("response.created", snapshot(response)))
    if background:
        entry.log.append(("response.queued", snapshot(response)))
    st.responses[response["id"]] = entry
    _add_to_conversation(st, conversation_id, inputs)
    return entry


def get_entry(app: App, response_id: str) -> Entry:
    entry = state(app).responses.get(response_id)
    if entry is None:
        raise not_found("response", response_id)
    return entry


def advance(app: App, entry: Entry) -> None:
    """Move one status along, logging the events that transition produced (streams send them)."""
    if not entry.pending:
        return
    status = entry.pending.pop(0)
    response = entry.response
    response["status"] = status
    if status == "in_progress":
        entry.log.append(("response.in_progress", snapshot(response)))
        return
    entry.log.extend(_finish(app, entry, status))
    final = FINAL_EVENTS.get(status)  # a cancelled response's stream just ends
    if final:
        entry.log.append((final, snapshot(response)))


def _finish(app: App, entry: Entry, status: str) -> list[Event]:
    """Reach a final status: output items, usage, timestamps; the output items' stream events."""
    response = entry.response
    _, reason, error_code = OUTCOMES[entry.outcome]
    queue_s, execution_s = app.runs.timing
    ends = max(now(), response["created_at"] + queue_s + execution_s)
    if status == "cancelled" or error_code is not None:
        if error_code is not None:
            response["error"] = {"code": error_code, "message": "Sorry, something went wrong."}
        return []
    if entry.outcome == "requires_action":
        items = [_function_call(name, arguments) for name, arguments in _calls_for(response["tools"])]
    else:
        text = REPLY_TEXT if status == "completed" else " ".join(REPLY_TEXT.split()[:INCOMPLETE_WORDS])
        items = [_message(text, "completed" if status == "completed" else "incomplete")]
    response["output"] = items
    output_tokens = OUTPUT_TOKENS if status == "completed" else INCOMPLETE_WORDS
    response["usage"] = {
        "input_tokens": INPUT_TOKENS,
        "input_tokens_details": {"cached_tokens": CACHED_TOKENS, "cache_write_tokens": 0},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": REASONING_TOKENS},
        "total_tokens": INPUT_TOKENS + output_tokens,
    }
    if status == "completed":
        response["completed_at"] = ends
    else:
        response["incomplete_details"] = {"reason": reason}
    if entry.completion_filter is not None:
        blocked = status == "incomplete" and reason == "content_filter"
        response["content_filters"].append(_filter_entry("completion", entry.completion_filter, blocked))
    conversation = response["conversation"]
    _add_to_conversation(state(app), conversation and conversation["id"], items)
    return [event for index, item in enumerate(items) for event in _item_events(index, item)]


def _message(text: str, status: str) -> Json:
    return {
        "id": new_id("msg"),
        "type": "message",
        "role": "assistant",
        "status": status,
        "content": [_text_part(text)],
    }


def _calls_for(tools: list[Any]) -> tuple[tuple[str, str], ...]:
    """The function the model calls: the first one the request declares (with arguments its schema
    accepts), as an agent framework expects; the two fixed calls when it declares none."""
    for tool in tools:
        if isinstance(tool, dict) and tool.get("type") == "function" and tool.get("name"):
            return ((str(tool["name"]), json.dumps(_arguments(tool.get("parameters")))),)
    return FUNCTION_CALLS


_SAMPLE_VALUES: dict[str, Any] = {"string": "Stockholm", "integer": 1, "number": 1.5, "boolean": True}


def _arguments(schema: Any) -> Json:
    """A value for every required property of a JSON schema object (strings say "Stockholm")."""
    if not isinstance(schema, dict):
        return {}
    properties = schema.get("properties") or {}
    arguments: Json = {}
    for name in schema.get("required") or []:
        spec = properties.get(name) if isinstance(properties, dict) else None
        kind = spec.get("type") if isinstance(spec, dict) else "string"
        if isinstance(spec, dict) and spec.get("enum"):
            arguments[name] = spec["enum"][0]
        else:
            arguments[name] = _SAMPLE_VALUES.get(kind if isinstance(kind, str) else "string", "Stockholm")
    return arguments


def _function_call(name: str, arguments: str) -> Json:
    return {
        "id": new_id("fc"),
        "type": "function_call",
        "call_id": new_id("call"),
        "name": name,
        "arguments": arguments,
        "status": "completed",
    }


def _item_events(index: int, item: Json) -> list[Event]:
    """added (empty) -> content part -> one text delta per word -> done, as the service streams (a
    function call: added -> its arguments -> done)."""
    if item["type"] != "message":  # a function call: its arguments stream as one delta
        pending = {**snapshot(item), "arguments": "", "status": "in_progress"}
        where = {"item_id": item["id"], "output_index": index}
        return [
            ("response.output_item.added", {"output_index": index, "item": pending}),
            ("response.function_call_arguments.delta", {**where, "delta": item["arguments"]}),
            (
                "response.function_call_arguments.done",
                {**where, "name": item["name"], "arguments": item["arguments"]},
            ),
            ("response.output_item.done", {"output_index": index, "item": snapshot(item)}),
        ]
    text = item["content"][0]["text"]
    where = {"item_id": item["id"], "output_index": index, "content_index": 0}
    deltas = [
        ("response.output_text.delta", {**where, "delta": chunk, "logprobs": []})
        for chunk in re.findall(r"\S+\s*", text)
    ]
    return [
        (
            "response.output_item.added",
            {"output_index": index, "item": {**snapshot(item), "content": [], "status": "in_progress"}},
        ),
        ("response.content_part.added", {**where, "part": _text_part("")}),
        *deltas,
        ("response.output_text.done", {**where, "text": text, "logprobs": []}),
        ("response.content_part.done", {**where, "part": _text_part(text)}),
        ("response.output_item.done", {"output_index": index, "item": snapshot(item)}),
    ]


def stream_events(app: App, entry: Entry) -> list[Json]:
    """Drive a response to its end; all its events from the first, numbered (the SDK skips those a
    resumed stream had seen, by ``sequence_number``)."""
    while entry.pending:
        advance(app, entry)
    numbered = []
    for number, (name, data) in enumerate(entry.log):
        payload = {"response": data} if name.startswith("response.") and "object" in data else data
        numbered.append({"type": name, **payload, "sequence_number": number})
    return numbered


def _reply(events: list[Json]) -> Reply:
    return Reply(events=[(event["type"], event) for event in events])


@route("POST", "/responses")
def post_response(app: App, req: Request) -> Reply:
    entry = create_response(app, req.body, azure=req.azure, project=req.project)
    if _streaming(req):
        return _reply(stream_events(app, entry))
    if not entry.response["background"]:
        while entry.pending:
            advance(app, entry)
    return Reply(entry.response)


@route("GET", "/responses/{response_id}")
def get_response(app: App, req: Request) -> Reply:
    entry = get_entry(app, req.params["response_id"])
    if _streaming(req):
        return _reply(stream_events(app, entry))
    poll(app, entry)
    return Reply(entry.response)


def poll(app: App, entry: Entry) -> None:
    """Polling is the clock, as for runs: a background response answers ``polls_per_status``
    retrieves queued, as many in_progress, then its outcome (a real one takes seconds in each)."""
    hold = state(app).polls_per_status
    if entry.pending and entry.response["background"] and entry.held + 1 < hold:
        entry.held += 1
        return
    entry.held = 0
    advance(app, entry)


@route("DELETE", "/responses/{response_id}")
def delete_response(app: App, req: Request) -> Reply:
    response_id = req.params["response_id"]
    get_entry(app, response_id)
    del state(app).responses[response_id]
    return Reply({"id": response_id, "object": "response.deleted", "deleted": True})


@route("POST", "/responses/{response_id}/cancel")
def cancel_response(app: App, req: Request) -> Reply:
    entry = get_entry(app, req.params["response_id"])
    response = entry.response
    if not response["background"]:
        raise bad_request("Only responses created with background=true can be cancelled.")
    if response["status"] not in TERMINAL:
        response["status"] = "cancelled"
        entry.pending.clear()
    return Reply(response)


@route("GET", "/responses/{response_id}/input_items")
def list_input_items(app: App, req: Request) -> Reply:
    return Reply(paginate(get_entry(app, req.params["response_id"]).inputs, req.query))


# --- conversations ----------------------------------------------------------------------------


@route("POST", "/conversations")
def create_conversation(app: App, req: Request) -> Reply:
    st = state(app)
    conversation_id = new_id("conv")
    conversation: Json = {
        "id": conversation_id,
        "object": "conversation",
        "created_at": now(),
        "metadata": check_metadata(req.body.get("metadata")),
    }
    items = input_items(req.body.get("items") or [])
    st.conversations[conversation_id] = conversation
    st.items[conversation_id] = {}
    _add_to_conversation(st, conversation_id, items)
    return Reply(conversation)


@route("GET", "/conversations/{conversation_id}")
def get_conversation(app: App, req: Request) -> Reply:
    return Reply(_conversation(state(app), req.params["conversation_id"]))


@route("POST", "/conversations/{conversation_id}")
def update_conversation(app: App, req: Request) -> Reply:
    conversation = _conversation(state(app), req.params["conversation_id"])
    if "metadata" not in req.body:
        raise bad_request("Missing required parameter: 'metadata'.", "metadata")
    conversation["metadata"] = check_metadata(req.body["metadata"])
    return Reply(conversation)


@route("DELETE", "/conversations/{conversation_id}")
def delete_conversation(app: App, req: Request) -> Reply:
    st = state(app)
    conversation_id = req.params["conversation_id"]
    _conversation(st, conversation_id)
    del st.conversations[conversation_id], st.items[conversation_id]
    return Reply({"id": conversation_id, "object": "conversation.deleted", "deleted": True})


@route("POST", "/conversations/{conversation_id}/items")
def create_items(app: App, req: Request) -> Reply:
    st = state(app)
    conversation_id = req.params["conversation_id"]
    _conversation(st, conversation_id)
    items = req.body.get("items")
    if not isinstance(items, list) or not 1 <= len(items) <= 20:
        raise bad_request("Invalid 'items': expected an array of 1 to 20 items.", "items")
    created = input_items(items)
    _add_to_conversation(st, conversation_id, created)
    data = [snapshot(item) for item in created]
    return Reply(
        {
            "object": "list",
            "data": data,
            "first_id": data[0]["id"],
            "last_id": data[-1]["id"],
            "has_more": False,
        }
    )


@route("GET", "/conversations/{conversation_id}/items")
def list_items(app: App, req: Request) -> Reply:
    st = state(app)
    conversation_id = req.params["conversation_id"]
    _conversation(st, conversation_id)
    return Reply(paginate(st.items[conversation_id].values(), req.query))


def _item(st: State, conversation_id: str, item_id: str) -> Json:
    _conversation(st, conversation_id)
    found = st.items[conversation_id].get(item_id)
    if found is None:
        raise not_found("item", item_id)
    return found


@route("GET", "/conversations/{conversation_id}/items/{item_id}")
def get_item(app: App, req: Request) -> Reply:
    return Reply(_item(state(app), req.params["conversation_id"], req.params["item_id"]))


@route("DELETE", "/conversations/{conversation_id}/items/{item_id}")
def delete_item(app: App, req: Request) -> Reply:
    st = state(app)
    conversation_id, item_id = req.params["conversation_id"], req.params["item_id"]
    _item(st, conversation_id, item_id)
    del st.items[conversation_id][item_id]
    return Reply(st.conversations[conversation_id])
