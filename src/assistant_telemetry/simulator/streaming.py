"""Assistants server-sent events: a run is driven to where it stops and each transition becomes events.

The events are built up front (under the store lock) from the same transitions polling produces, so a
streamed run and a polled run leave identical state behind; the server only writes them out.
"""

from __future__ import annotations

import json
import re

from .errors import Json
from .runs import Runs, RunState, Transition
from .store import snapshot

Event = tuple[str, Json]
DONE = b"event: done\ndata: [DONE]\n\n"


def encode(event: Event) -> bytes:
    name, data = event
    return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()


def run_events(
    runs: Runs, state: RunState, *, thread: Json | None = None, finished_step: Json | None = None
) -> list[Event]:
    """Events for a freshly created run (optionally with its new thread) or one resumed by tool outputs."""
    events: list[Event] = []
    if thread is not None:
        events.append(("thread.created", snapshot(thread)))
    if finished_step is not None:
        events.append(("thread.run.step.completed", finished_step))
    else:
        events.append(("thread.run.created", snapshot(state.run)))
    events.append(("thread.run.queued", snapshot(state.run)))
    while (transition := runs.advance(state)) is not None:
        events.extend(transition_events(transition))
    return events


def transition_events(transition: Transition) -> list[Event]:
    run_event = (f"thread.run.{transition.status}", transition.run)
    step, message = transition.step, transition.message
    if step is None:
        return [run_event]
    events = [
        ("thread.run.step.created", _unfinished_step(step)),
        ("thread.run.step.in_progress", _unfinished_step(step)),
    ]
    if message is None:
        # requires_action: the tool calls arrive as deltas, one per call, as the real service sends them.
        events.extend(("thread.run.step.delta", delta) for delta in _tool_call_deltas(step))
        return [*events, run_event]
    events += _message_events(message)
    return [*events, ("thread.run.step.completed", step), run_event]


def _unfinished_step(step: Json) -> Json:
    pending = snapshot(step)
    pending.update(status="in_progress", completed_at=None, usage=None)
    if pending["type"] == "tool_calls":
        pending["step_details"]["tool_calls"] = []
    return pending


def _tool_call_deltas(step: Json) -> list[Json]:
    return [
        {
            "id": step["id"],
            "object": "thread.run.step.delta",
            "delta": {"step_details": {"type": "tool_calls", "tool_calls": [{"index": index, **call}]}},
        }
        for index, call in enumerate(step["step_details"]["tool_calls"])
    ]


def _message_events(message: Json) -> list[Event]:
    """created (empty) -> in_progress -> one text delta per word -> completed/incomplete."""
    pending = snapshot(message)
    pending.update(
        status="in_progress", content=[], completed_at=None, incomplete_at=None, incomplete_details=None
    )
    text = message["content"][0]["text"]["value"]
    deltas = [
        {
            "id": message["id"],
            "object": "thread.message.delta",
            "delta": {"content": [{"index": 0, "type": "text", "text": {"value": chunk, "annotations": []}}]},
        }
        for chunk in re.findall(r"\S+\s*", text)
    ]
    return [
        ("thread.message.created", pending),
        ("thread.message.in_progress", pending),
        *(("thread.message.delta", delta) for delta in deltas),
        (f"thread.message.{message['status']}", message),
    ]
