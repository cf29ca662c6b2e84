"""Run lifecycle: deterministic, poll-driven scripts of statuses and the side effects of reaching them.

A run is created ``queued`` and follows the script of its outcome one status per retrieve (or all at
once when streamed). Reaching a status sets its timestamp and creates what the real service would
have produced by then: tool calls and their run step, the assistant reply and its run step.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field

from .errors import Json, bad_request, not_found
from .store import Store, check_metadata, new_id, now, paginate, snapshot

# Statuses each outcome walks through after ``queued``; the last one is where it stops.
SCRIPTS: dict[str, tuple[str, ...]] = {
    "completed": ("in_progress", "completed"),
    "requires_action": ("in_progress", "requires_action"),
    "failed": ("in_progress", "failed"),
    "incomplete": ("in_progress", "incomplete"),
    "content_filter": ("in_progress", "incomplete"),
    "expired": ("in_progress", "expired"),
    "cancelled": ("in_progress", "cancelling", "cancelled"),
}
ACTIVE = frozenset({"queued", "in_progress", "requires_action", "cancelling"})
REPLY_TEXT = "The simulated assistant has finished this run."
TOOL_CALLS = (
    ("get_weather", {"location": "Stockholm", "unit": "celsius"}),
    ("lookup_order", {"order_id": "ORD-1234"}),
)
TOOL_STEP_USAGE = (85, 24)
REPLY_STEP_USAGE = (120, 11)
INCOMPLETE_WORDS = 3
EXPIRY_SECONDS = 600


def usage(prompt: int, completion: int) -> Json:
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _given(body: Json, key: str, default: object) -> object:
    """Request value unless absent or null; ``or`` would wrongly drop a temperature of 0."""
    value = body.get(key)
    return default if value is None else value


@dataclass
class RunState:
    run: Json
    outcome: str
    pending: list[str]
    tool_step_id: str | None = None
    steps: dict[str, Json] = field(default_factory=dict)


@dataclass
class Transition:
    """What reaching one status produced; streaming turns it into server-sent events."""

    status: str
    run: Json
    step: Json | None = None
    message: Json | None = None


class Runs:
    """Runs and run steps of every thread, sharing the store's lock."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.by_thread: dict[str, dict[str, RunState]] = {}
        self.outcomes: deque[str] = deque()
        # Simulated seconds a run waits queued and then works: timestamps move, nobody waits.
        self.timing: tuple[int, int] = (0, 0)

    def queue_outcomes(self, *outcomes: str) -> None:
        unknown = [name for name in outcomes if name not in SCRIPTS]
        if unknown:
            raise ValueError(f"unknown run outcome(s) {unknown}; expected one of {sorted(SCRIPTS)}")
        self.outcomes.extend(outcomes)

    def _next_outcome(self) -> str:
        return self.outcomes.popleft() if self.outcomes else "completed"

    # lookups

    def get(self, thread_id: str, run_id: str) -> RunState:
        self.store.get_thread(thread_id)
        state = self.by_thread.get(thread_id, {}).get(run_id)
        if state is None:
            raise not_found("run", run_id)
        return state

    def list(self, thread_id: str, query: Mapping[str, str]) -> Json:
        self.store.get_thread(thread_id)
        return paginate((s.run for s in self.by_thread.get(thread_id, {}).values()), query)

    def get_step(self, thread_id: str, run_id: str, step_id: str) -> Json:
        steps = self.get(thread_id, run_id).steps
        if step_id not in steps:
            raise not_found("run step", step_id)
        return steps[step_id]

    def list_steps(self, thread_id: str, run_id: str, query: Mapping[str, str]) -> Json:
        return paginate(self.get(thread_id, run_id).steps.values(), query)

    def ensure_idle(self, thread_id: str, adding_message: bool = False) -> None:
        """The real service refuses new runs and messages while a run is active on the thread."""
        for state in self.by_thread.get(thread_id, {}).values():
            if state.run["status"] in ACTIVE:
                run_id = state.run["id"]
                if adding_message:
                    raise bad_request(f"Can't add messages to {thread_id} while a run {run_id} is active.")
                raise bad_request(f"Thread {thread_id} already has an active run {run_id}.")

    # commands

    def assistant_for(self, body: Json) -> Json:
        if not isinstance(body.get("assistant_id"), str):
            raise bad_request("Missing required parameter: 'assistant_id'.", "assistant_id")
        return self.store.get_assistant(body["assistant_id"])

    def create(self, thread_id: str, body: Json) -> RunState:
        self.store.get_thread(thread_id)
        assistant = self.assistant_for(body)
        self.ensure_idle(thread_id)
        for message in body.get("additional_messages") or []:
            self.store.add_message(thread_id, message)
        instructions = body.get("instructions") or assistant["instructions"] or ""
        if body.get("additional_instructions"):
            instructions = f"{instructions}\n{body['additional_instructions']}".strip()
        run: Json = {
            "id": new_id("run"),
            "object": "thread.run",
            "created_at": now(),
            "assistant_id": assistant["id"],
            "thread_id": thread_id,
            "status": "queued",
            "started_at": None,
            "expires_at": now() + EXPIRY_SECONDS,
            "cancelled_at": None,
            "failed_at": None,
            "completed_at": None,
            "required_action": None,
            "last_error": None,
            "model": body.get("model") or assistant["model"],
            "instructions": instructions,
            "tools": list(body.get("tools") or assistant["tools"]),
            "metadata": check_metadata(body.get("metadata")),
            "incomplete_details": None,
            "usage": None,
            "temperature": _given(body, "temperature", assistant["temperature"]),
            "top_p": _given(body, "top_p", assistant["top_p"]),
            "max_prompt_tokens": body.get("max_prompt_tokens"),
            "max_completion_tokens": body.get("max_completion_tokens"),
            "truncation_strategy": body.get("truncation_strategy") or {"type": "auto", "last_messages": None},
            "response_format": body.get("response_format") or assistant["response_format"] or "auto",
            "tool_choice": body.get("tool_choice") or "auto",
            "parallel_tool_calls": body.get("parallel_tool_calls", True),
        }
        outcome = self._next_outcome()
        state = RunState(run=run, outcome=outcome, pending=list(SCRIPTS[outcome]))
        self.by_thread.setdefault(thread_id, {})[run["id"]] = state
        return state

    def update(self, thread_id: str, run_id: str, body: Json) -> Json:
        run = self.get(thread_id, run_id).run
        if "metadata" in body:
            run["metadata"] = check_metadata(body["metadata"])
        return run

    def cancel(self, thread_id: str, run_id: str) -> RunState:
        state = self.get(thread_id, run_id)
        status = state.run["status"]
        if status not in ACTIVE or status == "cancelling":
            raise bad_request(f"Cannot cancel run with status '{status}'.")
        state.run.update(status="cancelling", required_action=None)
        state.pending = ["cancelled"]
        return state

    def submit_tool_outputs(self, thread_id: str, run_id: str, body: Json) -> tuple[RunState, Json]:
        """Record the outputs on the tool step, then re-queue the run with the next queued outcome."""
        state = self.get(thread_id, run_id)
        run = state.run
        if run["status"] != "requires_action" or state.tool_step_id is None:
            raise bad_request(f'Runs in status "{run["status"]}" do not accept tool outputs.')
        outputs = {o.get("tool_call_id"): o.get("output") for o in body.get("tool_outputs") or []}
        step = state.steps[state.tool_step_id]
        expected = [call["id"] for call in step["step_details"]["tool_calls"]]
        if sorted(outputs) != sorted(expected):
            raise bad_request(
                f"Expected tool outputs for call_ids {expected}, got {list(outputs)}.", "tool_outputs"
            )
        for call in step["step_details"]["tool_calls"]:
            call["function"]["output"] = outputs[call["id"]]
        self._finish_step(step, "completed", TOOL_STEP_USAGE)
        state.tool_step_id = None
        state.outcome = self._next_outcome()
        state.pending = list(SCRIPTS[state.outcome])
        run.update(status="queued", required_action=None)
        return state, snapshot(step)

    def advance(self, state: RunState) -> Transition | None:
        """Move one status along the script; ``None`` once the run has stopped."""
        if not state.pending:
            return None
        status = state.pending.pop(0)
        state.run["status"] = status
        step, message = self._enter(state, status)
        return Transition(status, snapshot(state.run), step, message)

    # side effects of reaching a status

    def _enter(self, state: RunState, status: str) -> tuple[Json | None, Json | None]:
        run = state.run
        queue_s, execution_s = self.timing
        ts = max(now(), run["created_at"] + queue_s + (0 if status == "in_progress" else execution_s))
        if status == "in_progress":
            run["started_at"] = run["started_at"] or ts
        elif status == "requires_action":
            return self._request_tools(state), None
        elif status in ("completed", "incomplete"):
            return self._reply(state, ts)
        elif status == "failed":
            run.update(failed_at=ts, expires_at=None)
            run["last_error"] = {"code": "server_error", "message": "Sorry, something went wrong."}
            self._close_open_steps(state, "failed")
        elif status == "expired":
            run.update(expires_at=ts, required_action=None)
            self._close_open_steps(state, "expired")
        elif status == "cancelled":
            run.update(cancelled_at=ts, expires_at=None, required_action=None)
            self._close_open_steps(state, "cancelled")
        return None, None

    def _request_tools(self, state: RunState) -> Json:
        calls: list[Json] = [
            {
                "id": new_id("call"),
                "type": "function",
                "function": {"name": name, "arguments": json.dumps(args)},
            }
            for name, args in TOOL_CALLS
        ]
        state.run["required_action"] = {
            "type": "submit_tool_outputs",
            "submit_tool_outputs": {"tool_calls": calls},
        }
        step_calls = [{**call, "function": {**call["function"], "output": None}} for call in calls]
        step = self._new_step(state, {"type": "tool_calls", "tool_calls": step_calls})
        state.tool_step_id = step["id"]
        return snapshot(step)

    def _reply(self, state: RunState, ts: int) -> tuple[Json, Json]:
        run = state.run
        complete = state.outcome == "completed"
        words = REPLY_TEXT.split()
        text = REPLY_TEXT if complete else " ".join(words[:INCOMPLETE_WORDS])
        message = self.store.add_message(
            run["thread_id"],
            {"role": "assistant", "content": text},
            assistant_id=run["assistant_id"],
            run_id=run["id"],
        )
        if complete:
            message["completed_at"] = ts
        else:
            reason = "content_filter" if state.outcome == "content_filter" else "max_tokens"
            message.update(status="incomplete", incomplete_at=ts, incomplete_details={"reason": reason})
            run_reason = "content_filter" if state.outcome == "content_filter" else "max_completion_tokens"
            run["incomplete_details"] = {"reason": run_reason}
        details = {"type": "message_creation", "message_creation": {"message_id": message["id"]}}
        step = self._new_step(state, details)
        prompt, completion = REPLY_STEP_USAGE
        self._finish_step(step, "completed", (prompt, completion if complete else INCOMPLETE_WORDS))
        run.update(completed_at=ts, expires_at=None)
        totals = [s["usage"] for s in state.steps.values() if s["usage"]]
        run["usage"] = usage(
            sum(u["prompt_tokens"] for u in totals), sum(u["completion_tokens"] for u in totals)
        )
        return snapshot(step), snapshot(message)

    def _new_step(self, state: RunState, details: Json) -> Json:
        run = state.run
        step: Json = {
            "id": new_id("step"),
            "object": "thread.run.step",
            "created_at": now(),
            "run_id": run["id"],
            "assistant_id": run["assistant_id"],
            "thread_id": run["thread_id"],
            "type": details["type"],
            "status": "in_progress",
            "cancelled_at": None,
            "completed_at": None,
            "expired_at": None,
            "failed_at": None,
            "last_error": None,
            "step_details": details,
            "usage": None,
            "metadata": {},
        }
        state.steps[step["id"]] = step
        return step

    @staticmethod
    def _finish_step(step: Json, status: str, tokens: tuple[int, int] | None = None) -> None:
        step.update(status=status, usage=usage(*tokens) if tokens else None)
        step[f"{status}_at"] = now()

    def _close_open_steps(self, state: RunState, status: str) -> None:
        for step in state.steps.values():
            if step["status"] == "in_progress":
                self._finish_step(step, status)
                if status == "failed":
                    step["last_error"] = dict(state.run["last_error"])
        state.tool_step_id = None
