"""What a result means beyond its own attributes: run timings, replies, items seen in pages.

A poll loop sees a finished run many times, every page of messages repeats old ones, and a
stream repeats what the next retrieve shows. Measurements are therefore made by the first
span that sees them and remembered (bounded, oldest forgotten first) so each counts once:
- a run's outcome (timings from its own timestamps, tokens, status) once per run id;
- a reply (the user's message -> the first assistant message after it) once per user message;
- a step or message in a page or stream becomes a span event once per (id, status).
The timestamps are the server's (whole seconds), so the app's clock and polling cadence
do not distort them, and apps with their own polling loops get the same numbers.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterable
from typing import Any

from . import semconv as sc
from .extract.assistants import TERMINAL_ITEM_STATUSES
from .extract.fields import field, number, text

RUN_TIMINGS = (sc.RUN_QUEUE_TIME, sc.RUN_EXECUTION_TIME, sc.RUN_TOTAL_TIME)


class Remembered:
    """A bounded set: ``first(key)`` is true once per key; the oldest keys are forgotten first."""

    __slots__ = ("_cap", "_keys", "_lock")

    def __init__(self, cap: int):
        self._cap = cap
        self._keys: OrderedDict[Hashable, None] = OrderedDict()
        self._lock = threading.Lock()

    def first(self, key: Hashable) -> bool:
        with self._lock:
            if key in self._keys:
                return False
            self._keys[key] = None
            if len(self._keys) > self._cap:
                self._keys.popitem(last=False)
            return True

    def __len__(self) -> int:
        return len(self._keys)


class Outcomes:
    """Per-process memory of what has been measured already (every structure is bounded)."""

    def __init__(self) -> None:
        self.finished_runs = Remembered(sc.RUN_OUTCOMES_DEDUP_CAP)
        self.seen_items = Remembered(sc.SEEN_ITEMS_CAP)
        self.answered = Remembered(sc.REPLY_THREADS_CAP)
        self._last_user: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self._lock = threading.Lock()

    def claim_run(self, attrs: dict[str, Any]) -> bool:
        """True for the first span to see this run finished; others lose the run's timings."""
        if self.finished_runs.first(attrs.get(sc.RUN_ID)):
            return True
        for key in RUN_TIMINGS:
            attrs.pop(key, None)
        return False

    def new_item(self, obj: Any) -> bool:
        """Whether this step or message, in this status, is news (reported once as an event)."""
        return self.seen_items.first((text(field(obj, "id")), text(field(obj, "status"))))

    def replies(self, messages: Iterable[Any]) -> list[dict[str, Any]]:
        """Reply events for the messages given (any order): user messages open, answers close."""
        found = []
        for message in sorted(messages, key=_chronological):
            reply = self._reply(message)
            if reply is not None:
                found.append(reply)
        return found

    def _reply(self, message: Any) -> dict[str, Any] | None:
        thread_id = text(field(message, "thread_id"))
        message_id = text(field(message, "id"))
        created = number(field(message, "created_at"))
        if thread_id is None or message_id is None or created is None:
            return None
        role = field(message, "role")
        if role == "user":
            self._remember_user(thread_id, created, message_id)
            return None
        status = text(field(message, "status"))
        if role != "assistant" or status not in TERMINAL_ITEM_STATUSES:
            return None
        with self._lock:
            asked = self._last_user.get(thread_id)
        if asked is None or asked[0] > created or not self.answered.first(asked[1]):
            return None
        answered_at = number(field(message, "completed_at")) or number(field(message, "incomplete_at"))
        return {
            sc.MESSAGE_ID: message_id,
            sc.REPLY_TO_MESSAGE_ID: asked[1],
            sc.REPLY_TIME: max(0.0, float((answered_at or created) - asked[0])),
            sc.THREAD_ID: thread_id,
            sc.MESSAGE_STATUS: status,
        }

    def _remember_user(self, thread_id: str, created: float, message_id: str) -> None:
        with self._lock:
            known = self._last_user.get(thread_id)
            if known is not None and known[0] > created:
                return  # an older message seen late (a page) does not reopen the question
            self._last_user[thread_id] = (created, message_id)
            self._last_user.move_to_end(thread_id)
            if len(self._last_user) > sc.REPLY_THREADS_CAP:
                self._last_user.popitem(last=False)


def _chronological(message: Any) -> tuple[float, int]:
    # Timestamps are whole seconds: within one second the user's message comes first.
    return (number(field(message, "created_at")) or 0.0, 0 if field(message, "role") == "user" else 1)
