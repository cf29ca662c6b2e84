"""In-memory state for assistants, threads and messages, plus the list pagination they share.

Objects are kept as JSON-ready dicts in the exact wire shape, so handlers return them unchanged
(deep-copied, so later mutations never leak into an already-serialised answer).
"""

from __future__ import annotations

import copy
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from .errors import Json, bad_request, not_found

ASSISTANT_FIELDS = (
    "model",
    "name",
    "description",
    "instructions",
    "tools",
    "tool_resources",
    "metadata",
    "temperature",
    "top_p",
    "response_format",
)


def new_id(prefix: str) -> str:
    """Ids look like the real ones: a prefix and 24 random hex characters."""
    return f"{prefix}_{uuid.uuid4().hex[:24]}"


def now() -> int:
    return int(time.time())


def snapshot(obj: Json) -> Json:
    return copy.deepcopy(obj)


def check_metadata(metadata: Any) -> Json:
    """Apply the service's metadata limits so invalid input fails here as it would for real."""
    if metadata is None:
        return {}
    if not isinstance(metadata, dict) or len(metadata) > 16:
        raise bad_request("Invalid 'metadata': expected an object with at most 16 keys.", "metadata")
    for key, value in metadata.items():
        if len(key) > 64 or not isinstance(value, str) or len(value) > 512:
            raise bad_request(f"Invalid 'metadata' entry for key '{key[:64]}'.", "metadata")
    return dict(metadata)


def text_content(value: str) -> Json:
    return {"type": "text", "text": {"value": value, "annotations": []}}


def normalize_content(content: Any) -> list[Json]:
    """Turn request content (a string or a list of parts) into the response's content blocks."""
    if isinstance(content, str):
        return [text_content(content)]
    if not isinstance(content, list) or not content:
        raise bad_request("Invalid 'content': expected a string or a non-empty array.", "content")
    blocks = []
    for part in content:
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text":
            blocks.append(text_content(str(part.get("text", ""))))
        elif kind in ("image_file", "image_url"):
            blocks.append({"type": kind, kind: dict(part.get(kind) or {})})
        else:
            raise bad_request(f"Invalid content part type: {kind!r}.", "content")
    return blocks


def paginate(items: Iterable[Json], query: Mapping[str, str]) -> Json:
    """Cursor pagination as the Assistants API does it: order, limit, after, before."""
    order = query.get("order", "desc")
    if order not in ("asc", "desc"):
        raise bad_request("Invalid 'order': expected 'asc' or 'desc'.", "order")
    try:
        limit = int(query.get("limit", "20"))
    except ValueError:
        raise bad_request("Invalid 'limit': expected an integer.", "limit") from None
    if not 1 <= limit <= 100:
        raise bad_request("Invalid 'limit': must be between 1 and 100.", "limit")
    ordered = list(items) if order == "asc" else list(items)[::-1]
    ids = [item["id"] for item in ordered]
    for param, keep_before in (("after", False), ("before", True)):
        cursor = query.get(param)
        if cursor is None:
            continue
        if cursor not in ids:
            raise bad_request(f"Invalid '{param}': no object with id '{cursor}'.", param)
        cut = ids.index(cursor)
        ordered, ids = (ordered[:cut], ids[:cut]) if keep_before else (ordered[cut + 1 :], ids[cut + 1 :])
    # "before" pages back towards the cursor, so it keeps the items closest to it.
    page = ordered[-limit:] if "before" in query and "after" not in query else ordered[:limit]
    data = [snapshot(item) for item in page]
    return {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": len(ordered) > limit,
    }


class Store:
    """Assistants, threads and messages; one re-entrant lock guards everything, runs included."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.assistants: dict[str, Json] = {}
        self.threads: dict[str, Json] = {}
        self.messages: dict[str, dict[str, Json]] = {}

    # assistants

    def create_assistant(self, body: Json) -> Json:
        if not isinstance(body.get("model"), str):
            raise bad_request("Missing required parameter: 'model'.", "model")
        assistant: Json = {"id": new_id("asst"), "object": "assistant", "created_at": now()}
        assistant.update({field: None for field in ASSISTANT_FIELDS})
        assistant.update(tools=[], metadata={}, temperature=1.0, top_p=1.0, response_format="auto")
        self._update_assistant(assistant, body)
        self.assistants[assistant["id"]] = assistant
        return assistant

    def get_assistant(self, assistant_id: str) -> Json:
        if assistant_id not in self.assistants:
            raise not_found("assistant", assistant_id)
        return self.assistants[assistant_id]

    def update_assistant(self, assistant_id: str, body: Json) -> Json:
        assistant = self.get_assistant(assistant_id)
        self._update_assistant(assistant, body)
        return assistant

    def _update_assistant(self, assistant: Json, body: Json) -> None:
        for field in ASSISTANT_FIELDS:
            if field in body:
                assistant[field] = body[field]
        assistant["metadata"] = check_metadata(assistant["metadata"])
        assistant["tools"] = list(assistant["tools"] or [])

    def delete_assistant(self, assistant_id: str) -> Json:
        self.get_assistant(assistant_id)
        del self.assistants[assistant_id]
        return {"id": assistant_id, "object": "assistant.deleted", "deleted": True}

    # threads

    def create_thread(self, body: Json) -> Json:
        thread: Json = {
            "id": new_id("thread"),
            "object": "thread",
            "created_at": now(),
            "metadata": check_metadata(body.get("metadata")),
            "tool_resources": body.get("tool_resources") or {},
        }
        self.threads[thread["id"]] = thread
        self.messages[thread["id"]] = {}
        for message in body.get("messages") or []:
            self.add_message(thread["id"], message)
        return thread

    def get_thread(self, thread_id: str) -> Json:
        if thread_id not in self.threads:
            raise not_found("thread", thread_id)
        return self.threads[thread_id]

    def update_thread(self, thread_id: str, body: Json) -> Json:
        thread = self.get_thread(thread_id)
        if "metadata" in body:
            thread["metadata"] = check_metadata(body["metadata"])
        if "tool_resources" in body:
            thread["tool_resources"] = body["tool_resources"] or {}
        return thread

    def delete_thread(self, thread_id: str) -> Json:
        self.get_thread(thread_id)
        del self.threads[thread_id]
        del self.messages[thread_id]
        return {"id": thread_id, "object": "thread.deleted", "deleted": True}

    # messages

    def add_message(
        self,
        thread_id: str,
        body: Json,
        *,
        assistant_id: str | None = None,
        run_id: str | None = None,
    ) -> Json:
        """Create a message; user messages come from requests, assistant ones from finished runs."""
        self.get_thread(thread_id)
        role = body.get("role")
        if role not in ("user", "assistant"):
            raise bad_request("Invalid 'role': expected 'user' or 'assistant'.", "role")
        message: Json = {
            "id": new_id("msg"),
            "object": "thread.message",
            "created_at": now(),
            "assistant_id": assistant_id,
            "thread_id": thread_id,
            "run_id": run_id,
            "role": role,
            "content": normalize_content(body.get("content")),
            "status": "completed",
            "incomplete_details": None,
            "completed_at": None,
            "incomplete_at": None,
            "attachments": list(body.get("attachments") or []),
            "metadata": check_metadata(body.get("metadata")),
        }
        self.messages[thread_id][message["id"]] = message
        return message

    def get_message(self, thread_id: str, message_id: str) -> Json:
        self.get_thread(thread_id)
        if message_id not in self.messages[thread_id]:
            raise not_found("message", message_id)
        return self.messages[thread_id][message_id]

    def list_messages(self, thread_id: str, query: Mapping[str, str]) -> Json:
        self.get_thread(thread_id)
        run_id = query.get("run_id")
        items = [m for m in self.messages[thread_id].values() if run_id is None or m["run_id"] == run_id]
        return paginate(items, query)

    def update_message(self, thread_id: str, message_id: str, body: Json) -> Json:
        message = self.get_message(thread_id, message_id)
        if "metadata" in body:
            message["metadata"] = check_metadata(body["metadata"])
        return message

    def delete_message(self, thread_id: str, message_id: str) -> Json:
        self.get_message(thread_id, message_id)
        del self.messages[thread_id][message_id]
        return {"id": message_id, "object": "thread.message.deleted", "deleted": True}
