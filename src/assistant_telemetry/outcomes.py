"""What a result means beyond its own attributes: run timings, replies, items seen in pages.

A poll loop sees a finished run many times, every page of messages repeats old ones, and a
stream repeats what the next retrieve shows. Measurements are therefore made by the first
span that sees them and remembered (bounded, oldest forgotten first) so each counts once:
- an execution's outcome (a run's or a response's timings, tokens, status) once per execution id
  (``gen_ai.response.id``: the run id or the response id);
- a reply (the user's message -> the first assistant message after it) once per user message;
- a step or message in a page or stream becomes a span event once per (id, status).
The timestamps are the server's (whole seconds), so the app's clock and polling cadence
do not distort them, and apps with their own polling loops get the same numbers. A response
has no server-side start timestamp: for a background response, the time it spent queued is
what this process observed (first seen ``queued`` -> first seen past it, so the polling
interval bounds its precision), and its active time is the rest of its server-timed total.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from typing import Any

from . import semconv as sc
from .extract.assistants import TERMINAL_ITEM_STATUSES, TERMINAL_RUN_STATUSES
from .extract.fields import field, field_reader, text, timestamp

RUN_TIMINGS = (sc.RUN_QUEUE_TIME, sc.RUN_EXECUTION_TIME, sc.RUN_TOTAL_TIME)
EXECUTION_TIMINGS = (sc.EXECUTION_QUEUE_TIME, sc.EXECUTION_ACTIVE_TIME, sc.EXECUTION_TOTAL_TIME)
TERMINAL_EXECUTION_STATUSES = TERMINAL_RUN_STATUSES  # a response's final statuses are a subset


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
        # background response id -> [first seen queued, first seen past queued] (monotonic seconds)
        self._queues: OrderedDict[str, list[float | None]] = OrderedDict()
        self.statuses = Remembered(sc.EXECUTION_STATUSES_CAP)  # background (response id, status) seen
        self._agent_names: OrderedDict[str, str] = OrderedDict()  # agent id -> name (runs carry only ids)
        self._lock = threading.Lock()

    def remember_agent(self, agent_id: Any, name: Any) -> None:
        """An agent seen with its name (created, read, listed): its runs get the name too."""
        agent_id, name = text(agent_id), text(name)
        if agent_id is None or name is None:
            return
        with self._lock:
            self._agent_names[agent_id] = name
            self._agent_names.move_to_end(agent_id)
            if len(self._agent_names) > sc.AGENT_NAMES_CAP:
                self._agent_names.popitem(last=False)

    def agent_name(self, agent_id: Any) -> str | None:
        with self._lock:
            return self._agent_names.get(agent_id) if isinstance(agent_id, str) else None

    def settle(self, attrs: dict[str, Any], creating: bool = False) -> bool:
        """An execution (run or response) seen in a status: True for the first span to see it finished.

        ``creating``: seen by the call that created it (the only moment its queue is known to start).
        """
        status = attrs.get(sc.EXECUTION_STATUS)
        if attrs.get(sc.RESPONSE_BACKGROUND) is True:
            self._watch_queue(attrs, status, creating)
        return status in TERMINAL_EXECUTION_STATUSES and self.claim_run(attrs)

    def transition(self, attrs: dict[str, Any]) -> bool:
        """A background response seen in a status for the first time: the span that sees it gets the
        transition, once per (response, status) whatever the polling (each poll sees it again)."""
        response_id = attrs.get(sc.RESPONSE_ID)
        status = attrs.get(sc.EXECUTION_STATUS)
        if attrs.get(sc.RESPONSE_BACKGROUND) is not True or not isinstance(response_id, str):
            return False
        return isinstance(status, str) and self.statuses.first((response_id, status))

    def claim_run(self, attrs: dict[str, Any]) -> bool:
        """True for the first span to see this execution finished; others lose its timings."""
        if self.finished_runs.first(attrs.get(sc.RESPONSE_ID) or attrs.get(sc.RUN_ID)):
            return True
        for key in (*RUN_TIMINGS, *EXECUTION_TIMINGS):
            attrs.pop(key, None)
        return False

    def _watch_queue(self, attrs: dict[str, Any], status: Any, creating: bool) -> None:
        """A background response's time in the queue, as observed (it has no started_at).

        Watched from its create call's answer (``queued``) to the first answer past the queue. A
        response this process did not create is not timed: a resumed stream replays old events.
        """
        response_id = attrs.get(sc.RESPONSE_ID)
        if not isinstance(response_id, str):
            return
        seen = time.monotonic()
        with self._lock:
            watched = self._queues.get(response_id)
            if status == "queued":
                if watched is None and creating:
                    self._queues[response_id] = [seen, None]
                    if len(self._queues) > sc.WATCHED_QUEUES_CAP:
                        self._queues.popitem(last=False)
                return
            if watched is not None and watched[1] is None:
                watched[1] = seen
            if status not in TERMINAL_EXECUTION_STATUSES or watched is None:
                return
            del self._queues[response_id]
        queued, started = watched
        if started is None or started >= seen:
            return  # first seen past the queue when already finished: the split is unknown
        queue = max(0.0, started - (queued or started))
        attrs[sc.EXECUTION_QUEUE_TIME] = queue
        total = attrs.get(sc.EXECUTION_TOTAL_TIME)
        if isinstance(total, float):
            attrs[sc.EXECUTION_ACTIVE_TIME] = max(0.0, total - queue)

    def new_item(self, obj: Any) -> bool:
        """Whether this step or message, in this status, is news (reported once as an event)."""
        get = field_reader(obj)
        return self.seen_items.first((text(get("id")), text(get("status"))))

    def replies(self, messages: Sequence[Any], newest_first: bool = True) -> list[dict[str, Any]]:
        """Reply events for the messages of a page: user messages open, answers close.

        Read oldest first. Timestamps are whole seconds, so messages of the same second keep
        the page's own order, which lists newest first unless the app asked for ``asc``.
        """
        if len(messages) > 1:
            messages = sorted(messages[::-1] if newest_first else messages, key=_created)
        found = []
        for message in messages:
            reply = self._reply(message)
            if reply is not None:
                found.append(reply)
        return found

    def _reply(self, message: Any) -> dict[str, Any] | None:
        get = field_reader(message)
        thread_id = text(get("thread_id"))
        message_id = text(get("id"))
        created = timestamp(get("created_at"))
        if thread_id is None or message_id is None or created is None:
            return None
        role = get("role")
        if role == "user":
            self._remember_user(thread_id, created, message_id)
            return None
        status = text(get("status"))
        if role != "assistant" or status not in TERMINAL_ITEM_STATUSES:
            return None
        with self._lock:
            asked = self._last_user.get(thread_id)
        if asked is None or asked[0] > created or not self.answered.first(asked[1]):
            return None
        answered_at = timestamp(get("completed_at")) or timestamp(get("incomplete_at"))
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


def _created(message: Any) -> float:
    return timestamp(field(message, "created_at")) or 0.0
