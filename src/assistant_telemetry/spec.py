"""The declarative description of one wrapped SDK method."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .config import Settings
from .extract.fields import Attributes

CALL = "call"  # returns the result (or a coroutine of it, on the async class)
LIST = "list"  # returns a page; on the async class a lazy AsyncPaginator
LIFECYCLE = "lifecycle"  # a poll helper: one span from create to terminal status
STREAM = "stream"  # a stream helper: returns a manager whose ``with`` block is the span
POLL = "get_thread_run"  # the operation a poll helper repeats until the run stops


@dataclass(frozen=True)
class Operation:
    """``module.owner.method`` (and its ``Async`` twin) becomes one CLIENT span named ``operation``.

    positional: names of the method's positional parameters, so request extraction can
    read ``create(thread_id, ...)`` like ``create(thread_id=...)``.
    client: the resource instance -> provider/server attributes.
    result: the returned object -> attributes; returns the model it read (or None), so a
        page's items and a message's reply can be observed too.
    stream: for calls that may return an SSE stream (``stream=True``, stream helpers), makes
        the observer that reads its events (see streams.py); None: not streamed.
    agent_operation: the operation's name in the agent names of every mode, when it differs from
        ``semconv.AGENT_OPERATIONS``' answer (the submit helpers resume an execution, not invoke one).
    """

    module: str
    owner: str
    method: str
    operation: str
    client: Callable[[Any, Settings], dict[str, Any]]
    result: Callable[[Any, Attributes, Settings], Any]
    positional: tuple[str, ...] = ()
    kind: str = CALL
    stream: Callable[[Any], Any] | None = None
    async_owner: str | None = ""  # "" means "Async" + owner; None means no async twin
    agent_operation: str | None = None

    @property
    def async_class(self) -> str | None:
        return ("Async" + self.owner) if self.async_owner == "" else self.async_owner
