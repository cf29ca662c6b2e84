"""A canned OpenAI / Azure OpenAI API behind the SDK's own in-process mock transport.

No socket, no thread: ``MockApi().client()`` is a real ``openai.OpenAI`` whose HTTP client is
``httpx2.MockTransport(api.handler)`` (``httpx`` for openai 1.x/2.x). Bodies are shaped like
the real service's (as the simulator produces them, checked against the OpenAPI schemas in
tests/test_guarantees_bad_input.py): Assistants objects, Responses, and chat completions
with Azure content-filter annotations on Azure paths.

Deterministic: ids and request ids come from counters, so two ``MockApi()`` instances given
the same calls answer byte for byte the same. Created objects get fresh ids; retrieves echo
the id in the path. A run created (or given tool outputs) reports ``in_progress`` to its
first ``polls - 1`` retrieves and ``completed`` from the ``polls``-th on.

Used by the benchmarks (benchmarks/overhead.py) and the guarantee tests.
"""

from __future__ import annotations

import importlib
import itertools
import json
import re
import threading
from collections.abc import Callable
from typing import Any

CREATED_AT = 1_795_000_000
REPLY = "Hello from the mock."  # a response's text (chat completions and Responses)
Rewrite = Callable[[str, dict[str, Any]], Any]

_RESOURCE = re.compile(r"/(assistants|threads|responses|conversations|chat/completions)(?=/|$)")
_FILTER_SAFE = {"filtered": False, "severity": "safe"}
_FILTER_NOT_DETECTED = {"filtered": False, "detected": False}


def http_module() -> Any:
    """``httpx2`` for openai 3.x, ``httpx`` for 1.x/2.x: whichever the installed SDK's client is."""
    import openai

    return importlib.import_module(openai.DefaultHttpxClient.__mro__[1].__module__.split(".")[0])


def api_error(status: int, code: str | None = None, kind: str = "invalid_request_error") -> dict[str, Any]:
    return {"error": {"message": f"mock error {status}", "type": kind, "param": None, "code": code}}


def content_filter_error() -> dict[str, Any]:
    """Azure's 400 for a blocked prompt (no message text is needed to classify it)."""
    body = api_error(400, "content_filter")
    body["error"]["innererror"] = {
        "code": "ResponsibleAIPolicyViolation",
        "content_filter_result": {
            "hate": {"filtered": False, "severity": "safe"},
            "jailbreak": {"filtered": True, "detected": True},
            "self_harm": _FILTER_SAFE,
            "sexual": _FILTER_SAFE,
            "violence": {"filtered": True, "severity": "medium"},
        },
    }
    return body


PENDING_RUNS = 256  # runs in progress the mock remembers; memory.py starts one per thread


class MockApi:
    """The handler behind ``MockTransport``; ``client()`` / ``async_client()`` / ``azure_client()`` build SDK clients.

    polls: retrieves until a new run completes (``create_and_poll`` makes exactly that many).
    rewrite: ``(kind, body) -> body`` applied to every success body before it is encoded
    (kinds: assistant, thread, message, run, step, list, deleted, response, conversation, item,
    chat.completion).
    """

    def __init__(self, *, polls: int = 3, rewrite: Rewrite | None = None) -> None:
        self.polls = polls
        self.rewrite = rewrite
        self._ids = itertools.count(1)
        self._requests = itertools.count(1)
        self._pending: dict[str, int] = {}  # run id -> retrieves left, oldest first
        self._faults: list[list[Any]] = []
        self._lock = threading.Lock()
        self.http = http_module()

    # --- clients -------------------------------------------------------------------------------

    def client(self, **options: Any) -> Any:
        import openai

        http_client = self.http.Client(transport=self.http.MockTransport(self.handler))
        return openai.OpenAI(
            base_url="http://api.mock/v1", api_key="sk-mock", http_client=http_client, **options
        )

    def async_client(self, **options: Any) -> Any:
        import openai

        http_client = self.http.AsyncClient(transport=self.http.MockTransport(self.handler))
        return openai.AsyncOpenAI(
            base_url="http://api.mock/v1", api_key="sk-mock", http_client=http_client, **options
        )

    def azure_client(self, **options: Any) -> Any:
        import openai

        http_client = self.http.Client(transport=self.http.MockTransport(self.handler))
        return openai.AzureOpenAI(
            azure_endpoint="https://mock.openai.azure.com",
            api_key="sk-mock",
            api_version="2024-05-01-preview",
            http_client=http_client,
            **options,
        )

    # --- faults --------------------------------------------------------------------------------

    def fail(
        self, status: int, body: Any = None, *, method: str = "", path: str = "", times: int | None = None
    ) -> None:
        """Answer requests whose method equals ``method`` (any if "") and path matches ``path`` with an error."""
        with self._lock:
            self._faults.append([method.upper(), re.compile(path), status, body, times])

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def _fault(self, method: str, path: str) -> tuple[int, Any] | None:
        with self._lock:
            for fault in self._faults:
                wanted, pattern, status, body, times = fault
                if (wanted in ("", method)) and pattern.search(path) and times != 0:
                    if times is not None:
                        fault[4] = times - 1
                    return status, body if body is not None else api_error(status)
        return None

    # --- the transport ---------------------------------------------------------------------------

    def handler(self, request: Any) -> Any:
        status, body, headers = self.answer(request.method, request.url.path, _json(request))
        return self.http.Response(status, content=body, headers=headers)

    def answer(self, method: str, path: str, payload: Any) -> tuple[int, bytes, dict[str, str]]:
        """Status, encoded body and headers for one request (no HTTP objects involved)."""
        number = next(self._requests)
        azure = "/openai/" in path
        headers = _headers(number, azure)
        fault = self._fault(method, path)
        if fault is not None:
            status, body = fault
            if status == 429:
                headers["retry-after"] = "0"
            return status, json.dumps(body).encode(), headers
        found = _RESOURCE.search(path)
        parts = path[found.start() + 1 :].split("/") if found else []
        kind, body = self._route(method, parts, payload if isinstance(payload, dict) else {}, azure)
        if kind == "":
            return 404, json.dumps(api_error(404, "not_found")).encode(), headers
        if self.rewrite is not None:
            body = self.rewrite(kind, body)
        if isinstance(payload, dict) and payload.get("stream") is True:
            headers["content-type"] = "text/event-stream"
            return 200, self._events(kind, body), headers
        return 200, json.dumps(body).encode(), headers

    def _events(self, kind: str, body: Any) -> bytes:
        """``stream: true``: the same object as server-sent events, the way each API streams it."""
        if kind == "chat.completion":
            return (
                b"".join(f"data: {json.dumps(c)}\n\n".encode() for c in chat_chunks(body))
                + b"data: [DONE]\n\n"
            )
        if kind == "response":
            events = response_events(body)
        elif kind == "run":
            events = self._run_events(body)
        else:
            events = [(kind, body)]
        encoded = (f"event: {name}\ndata: {json.dumps(data)}\n\n".encode() for name, data in events)
        return b"".join(encoded) + (b"event: done\ndata: [DONE]\n\n" if kind == "run" else b"")

    def _run_events(self, queued: dict[str, Any]) -> list[tuple[str, Any]]:
        """A streamed run goes queued -> in_progress -> a reply message and a step -> completed."""
        with self._lock:
            self._pending.pop(queued["id"], None)
        run_id, thread_id = queued["id"], queued["thread_id"]
        done = run(run_id, thread_id, "completed", {"assistant_id": queued["assistant_id"]})
        working = {**done, "status": "in_progress", "completed_at": None, "usage": None}
        reply = message(self._new_id("msg"), thread_id, {"role": "assistant", "content": "Hello there."})
        reply.update(assistant_id=queued["assistant_id"], run_id=run_id)
        pending = {**reply, "status": "in_progress", "content": []}
        step = run_step(self._new_id("step"), run_id, thread_id)
        step["step_details"]["message_creation"]["message_id"] = reply["id"]
        delta = {
            "id": reply["id"],
            "object": "thread.message.delta",
            "delta": {"content": [{"index": 0, "type": "text", "text": {"value": "Hello there."}}]},
        }
        return [
            ("thread.run.created", queued),
            ("thread.run.queued", queued),
            ("thread.run.in_progress", working),
            ("thread.run.step.created", {**step, "status": "in_progress", "usage": None}),
            ("thread.message.created", pending),
            ("thread.message.delta", delta),
            ("thread.message.completed", reply),
            ("thread.run.step.completed", step),
            ("thread.run.completed", done),
        ]

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids):024x}"

    def _route(self, method: str, parts: list[str], payload: dict[str, Any], azure: bool) -> tuple[str, Any]:
        head, rest = parts[:1], parts[1:]
        if head == ["assistants"]:
            return self._assistants(method, rest, payload)
        if head == ["threads"]:
            return self._threads(method, rest, payload)
        if head == ["responses"]:
            if method == "DELETE" and rest:
                return "deleted", {"id": rest[0], "object": "response.deleted", "deleted": True}
            if rest[1:] == ["input_items"]:
                return "list", page([conversation_item(self._new_id("msg"))])
            return "response", response(rest[0] if rest else self._new_id("resp"), payload)
        if head == ["conversations"]:
            return self._conversations(method, rest, payload)
        if parts[:2] == ["chat", "completions"] and method == "POST":
            return "chat.completion", chat_completion(self._new_id("chatcmpl"), payload, azure)
        return "", None

    def _assistants(self, method: str, rest: list[str], payload: dict[str, Any]) -> tuple[str, Any]:
        if not rest:
            if method == "GET":
                return "list", page([assistant(self._new_id("asst"), {})])
            return "assistant", assistant(self._new_id("asst"), payload)
        if method == "DELETE":
            return "deleted", {"id": rest[0], "object": "assistant.deleted", "deleted": True}
        return "assistant", assistant(rest[0], payload)

    def _conversations(self, method: str, rest: list[str], payload: dict[str, Any]) -> tuple[str, Any]:
        if rest[1:2] == ["items"]:
            if len(rest) > 2:
                return "item", conversation_item(rest[2])
            return "list", page([conversation_item(self._new_id("msg"))])
        conversation_id = rest[0] if rest else self._new_id("conv")
        if method == "DELETE":
            return "deleted", {"id": conversation_id, "object": "conversation.deleted", "deleted": True}
        body = {"id": conversation_id, "object": "conversation", "created_at": CREATED_AT}
        return "conversation", {**body, "metadata": payload.get("metadata", {})}

    def _threads(self, method: str, rest: list[str], payload: dict[str, Any]) -> tuple[str, Any]:
        if not rest:
            return "thread", thread(self._new_id("thread"), payload)
        if rest == ["runs"]:  # create_and_run
            return "run", self._start_run(self._new_id("thread"), payload)
        thread_id, sub = rest[0], rest[1:]
        if not sub:
            if method == "DELETE":
                return "deleted", {"id": thread_id, "object": "thread.deleted", "deleted": True}
            return "thread", thread(thread_id, payload)
        if sub[0] == "messages":
            return self._messages(method, thread_id, sub[1:], payload)
        if sub[0] == "runs":
            return self._runs(method, thread_id, sub[1:], payload)
        return "", None

    def _messages(
        self, method: str, thread_id: str, rest: list[str], payload: dict[str, Any]
    ) -> tuple[str, Any]:
        if not rest:
            if method == "GET":
                ids = [self._new_id("msg"), self._new_id("msg")]
                return "list", page([message(i, thread_id, {}) for i in ids])
            return "message", message(self._new_id("msg"), thread_id, payload)
        if method == "DELETE":
            return "deleted", {"id": rest[0], "object": "thread.message.deleted", "deleted": True}
        return "message", message(rest[0], thread_id, payload)

    def _runs(self, method: str, thread_id: str, rest: list[str], payload: dict[str, Any]) -> tuple[str, Any]:
        if not rest:
            if method == "GET":
                return "list", page([run(self._new_id("run"), thread_id, "completed", {})])
            return "run", self._start_run(thread_id, payload)
        run_id, sub = rest[0], rest[1:]
        if sub == ["cancel"]:
            return "run", run(run_id, thread_id, "cancelling", payload)
        if sub == ["submit_tool_outputs"]:
            return "run", self._start_run(thread_id, payload, run_id)
        if sub[:1] == ["steps"]:
            step_id = sub[1] if len(sub) > 1 else self._new_id("step")
            one = run_step(step_id, run_id, thread_id)
            return ("step", one) if len(sub) > 1 else ("list", page([one]))
        with self._lock:
            left = self._pending.get(run_id)
            if left is not None:
                left -= 1
                if left > 0:
                    self._pending[run_id] = left
                else:
                    del self._pending[run_id]
        status = "in_progress" if left is not None and left > 0 else "completed"
        return "run", run(run_id, thread_id, status, payload)

    def _start_run(
        self, thread_id: str, payload: dict[str, Any], run_id: str | None = None
    ) -> dict[str, Any]:
        run_id = run_id or self._new_id("run")
        with self._lock:
            self._pending[run_id] = self.polls
            if len(self._pending) > PENDING_RUNS:  # runs never polled must not grow the mock's heap
                del self._pending[next(iter(self._pending))]
        return run(run_id, thread_id, "queued", payload)


def _json(request: Any) -> Any:
    content = request.content
    if not content:
        return None
    try:
        return json.loads(content)
    except ValueError:
        return None


def _headers(number: int, azure: bool) -> dict[str, str]:
    headers = {
        "content-type": "application/json",
        "x-request-id": f"req_{number:032x}",
        "openai-processing-ms": "12",
        "openai-poll-after-ms": "0",
        "x-ratelimit-remaining-requests": "9999",
        "x-ratelimit-remaining-tokens": "1999850",
        "x-ratelimit-reset-requests": "6ms",
        "x-ratelimit-reset-tokens": "4ms",
    }
    if azure:
        headers["apim-request-id"] = f"{number:08x}-0000-4000-8000-000000000000"
        headers["x-ms-region"] = "Sweden Central"
    return headers


# --- bodies, shaped like the service's ---------------------------------------------------------


def assistant(assistant_id: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": assistant_id,
        "object": "assistant",
        "created_at": CREATED_AT,
        "model": payload.get("model", "gpt-4o"),
        "name": payload.get("name"),
        "description": None,
        "instructions": None,
        "tools": payload.get("tools", []),
        "tool_resources": None,
        "metadata": payload.get("metadata", {}),
        "temperature": 1.0,
        "top_p": 1.0,
        "response_format": "auto",
    }


def thread(thread_id: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": thread_id,
        "object": "thread",
        "created_at": CREATED_AT,
        "metadata": payload.get("metadata", {}),
        "tool_resources": None,
    }


def message(message_id: str, thread_id: str, payload: dict[str, Any]) -> dict[str, Any]:
    text = payload.get("content") if isinstance(payload.get("content"), str) else "hello"
    return {
        "id": message_id,
        "object": "thread.message",
        "created_at": CREATED_AT,
        "assistant_id": None,
        "thread_id": thread_id,
        "run_id": None,
        "role": payload.get("role", "user"),
        "content": [{"type": "text", "text": {"value": text, "annotations": []}}],
        "status": "completed",
        "incomplete_details": None,
        "completed_at": None,
        "incomplete_at": None,
        "attachments": [],
        "metadata": payload.get("metadata", {}),
    }


def run(run_id: str, thread_id: str, status: str, payload: dict[str, Any]) -> dict[str, Any]:
    done = status == "completed"
    return {
        "id": run_id,
        "object": "thread.run",
        "created_at": CREATED_AT,
        "assistant_id": payload.get("assistant_id", "asst_mock"),
        "thread_id": thread_id,
        "status": status,
        "started_at": None if status == "queued" else CREATED_AT + 1,
        "expires_at": None if done else CREATED_AT + 600,
        "cancelled_at": None,
        "failed_at": None,
        "completed_at": CREATED_AT + 3 if done else None,
        "required_action": None,
        "last_error": None,
        "model": payload.get("model", "gpt-4o"),
        "instructions": "",
        "tools": [],
        "metadata": payload.get("metadata", {}),
        "incomplete_details": None,
        "usage": {"prompt_tokens": 120, "completion_tokens": 11, "total_tokens": 131} if done else None,
        "temperature": 1.0,
        "top_p": 1.0,
        "max_prompt_tokens": None,
        "max_completion_tokens": None,
        "truncation_strategy": {"type": "auto", "last_messages": None},
        "response_format": "auto",
        "tool_choice": "auto",
        "parallel_tool_calls": True,
    }


def run_step(step_id: str, run_id: str, thread_id: str) -> dict[str, Any]:
    return {
        "id": step_id,
        "object": "thread.run.step",
        "created_at": CREATED_AT,
        "assistant_id": "asst_mock",
        "thread_id": thread_id,
        "run_id": run_id,
        "type": "message_creation",
        "status": "completed",
        "step_details": {"type": "message_creation", "message_creation": {"message_id": "msg_reply"}},
        "last_error": None,
        "expired_at": None,
        "cancelled_at": None,
        "failed_at": None,
        "completed_at": CREATED_AT + 2,
        "metadata": {},
        "usage": {"prompt_tokens": 120, "completion_tokens": 11, "total_tokens": 131},
    }


def page(data: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": False,
    }


def _tool_to_call(payload: dict[str, Any]) -> dict[str, Any] | None:
    """The first function tool a request declares, unless its input already carries a tool's output:
    an agent's first model call asks for the tool, the next one (with the output) gets the answer."""
    items = payload.get("input")
    if isinstance(items, list) and any(
        isinstance(i, dict) and i.get("type") == "function_call_output" for i in items
    ):
        return None
    tools = payload.get("tools")
    functions = [t for t in tools or [] if isinstance(t, dict) and t.get("type") == "function"]
    return functions[0] if functions else None


def _function_call(response_id: str, tool: dict[str, Any]) -> dict[str, Any]:
    """A call of ``tool`` with a string for each required parameter; ids derived from the response's."""
    parameters = tool.get("parameters") or {}
    arguments = {name: "Stockholm" for name in parameters.get("required") or []}
    return {
        "type": "function_call",
        "id": "fc_" + response_id[5:],
        "call_id": "call_" + response_id[5:],
        "name": tool.get("name", "tool"),
        "arguments": json.dumps(arguments),
        "status": "completed",
    }


def response(response_id: str, payload: dict[str, Any]) -> dict[str, Any]:
    """A completed response: a text message, or, when the request declares a function tool and its
    input holds no tool output yet, a call of that tool (see ``_tool_to_call``)."""
    tool = _tool_to_call(payload)
    text = {
        "type": "message",
        "id": "msg_" + response_id[5:],
        "status": "completed",
        "role": "assistant",
        "content": [{"type": "output_text", "text": REPLY, "annotations": []}],
    }
    return {
        "id": response_id,
        "object": "response",
        "created_at": CREATED_AT,
        "status": "completed",
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "max_output_tokens": None,
        "model": "gpt-4o-2024-08-06",
        "output": [text if tool is None else _function_call(response_id, tool)],
        "parallel_tool_calls": True,
        "previous_response_id": payload.get("previous_response_id"),
        "conversation": {"id": payload["conversation"]}
        if isinstance(payload.get("conversation"), str)
        else None,
        "background": payload.get("background", False),
        "reasoning": {"effort": None, "summary": None},
        "store": True,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}},
        "tool_choice": "auto",
        "tools": [],
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": {
            "input_tokens": 36,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": 87,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": 123,
        },
        "user": None,
        "metadata": payload.get("metadata", {}),
    }


def conversation_item(item_id: str) -> dict[str, Any]:
    return {
        "type": "message",
        "id": item_id,
        "status": "completed",
        "role": "user",
        "content": [{"type": "input_text", "text": "Hello?"}],
    }


def response_events(done: dict[str, Any]) -> list[tuple[str, Any]]:
    working = {**done, "status": "in_progress", "output": [], "usage": None}
    item = done["output"][0]
    text = item["type"] == "message"  # else a function call: added, then done, no text events
    pending = {**item, "status": "in_progress", **({"content": []} if text else {})}
    text_events: list[tuple[str, Any]] = [
        (
            "response.content_part.added",
            {
                "type": "response.content_part.added",
                "item_id": item["id"],
                "output_index": 0,
                "content_index": 0,
                "part": {"type": "output_text", "text": "", "annotations": []},
            },
        ),
        (
            "response.output_text.delta",
            {
                "type": "response.output_text.delta",
                "item_id": item["id"],
                "output_index": 0,
                "content_index": 0,
                "delta": "Hello",
                "logprobs": [],
            },
        ),
    ]
    events: list[tuple[str, Any]] = [
        ("response.created", {"type": "response.created", "response": working}),
        ("response.in_progress", {"type": "response.in_progress", "response": working}),
        (
            "response.output_item.added",
            {"type": "response.output_item.added", "output_index": 0, "item": pending},
        ),
        *(text_events if text else ()),
        ("response.output_item.done", {"type": "response.output_item.done", "output_index": 0, "item": item}),
        ("response.completed", {"type": "response.completed", "response": done}),
    ]
    return [(name, {**data, "sequence_number": number}) for number, (name, data) in enumerate(events)]


def chat_chunks(done: dict[str, Any]) -> list[dict[str, Any]]:
    """A chat completion as the chunks that stream it (Azure sends its prompt filter results first)."""
    base = {key: done[key] for key in ("id", "created", "model", "system_fingerprint")}
    base["object"] = "chat.completion.chunk"
    chunks: list[dict[str, Any]] = []
    if "prompt_filter_results" in done:
        chunks.append({**base, "choices": [], "prompt_filter_results": done["prompt_filter_results"]})
    choice = done["choices"][0]
    chunks.append({**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]})
    text = {"index": 0, "delta": {"content": choice["message"]["content"]}, "finish_reason": None}
    if "content_filter_results" in choice:
        text["content_filter_results"] = choice["content_filter_results"]
    chunks.append({**base, "choices": [text]})
    chunks.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": choice["finish_reason"]}]})
    chunks.append({**base, "choices": [], "usage": done["usage"]})
    return chunks


def _filter_results() -> dict[str, Any]:
    return {
        "hate": _FILTER_SAFE,
        "self_harm": _FILTER_SAFE,
        "sexual": _FILTER_SAFE,
        "violence": _FILTER_SAFE,
        "protected_material_code": _FILTER_NOT_DETECTED,
        "protected_material_text": _FILTER_NOT_DETECTED,
    }


def chat_completion(completion_id: str, payload: dict[str, Any], azure: bool) -> dict[str, Any]:
    choice: dict[str, Any] = {
        "index": 0,
        "finish_reason": "stop",
        "logprobs": None,
        "message": {
            "role": "assistant",
            "content": REPLY,
            "refusal": None,
            "annotations": [],
        },
    }
    body: dict[str, Any] = {
        "id": completion_id,
        "object": "chat.completion",
        "created": CREATED_AT,
        "model": "gpt-4o-2024-11-20",
        "system_fingerprint": "fp_mock",
        "choices": [choice],
        "usage": {
            "prompt_tokens": 17,
            "completion_tokens": 7,
            "total_tokens": 24,
            "prompt_tokens_details": {"cached_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0},
        },
    }
    if azure:
        choice["content_filter_results"] = {
            **_filter_results(),
            "custom_blocklists": {"filtered": False, "details": [{"filtered": False, "id": "blocklist-1"}]},
        }
        body["prompt_filter_results"] = [
            {
                "prompt_index": 0,
                "content_filter_results": {**_filter_results(), "jailbreak": _FILTER_NOT_DETECTED},
            }
        ]
    return body
