"""Azure AI Agents (the Foundry Agent Service) as the azure-ai-agents ``AgentsClient`` calls it.

The client's endpoint is a project: ``http://127.0.0.1:PORT/api/projects/<name>``; every
request goes to ``{endpoint}/assistants``, ``/threads``, ``/threads/{id}/messages``,
``/threads/{id}/runs`` ... with ``?api-version=v1``. The objects have the Assistants API's
wire shapes (the SDK renames ``assistant_id`` to ``agent_id`` only on its Python side), so
these routes are the Assistants routes over the same store and run engine, plus what only
the Agent Service has (listing threads).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from . import foundry
from .errors import ApiError
from .routes import App, Reply, Request
from .store import paginate

PROJECT_PREFIX = re.compile(r"^/api/projects/[^/]+(?=/|$)")
API_VERSIONS = frozenset({"v1", "2025-05-15-preview"})

Handler = Callable[[App, Request], Reply]
_ROUTES: list[tuple[str, re.Pattern[str], Handler]] = []


def project_prefix(path: str) -> str | None:
    """``/api/projects/<name>`` when ``path`` is under an agents project endpoint."""
    match = PROJECT_PREFIX.match(path)
    return match.group(0) if match else None


def _route(method: str, template: str) -> Callable[[Handler], Handler]:
    pattern = re.compile(re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template))

    def register(handler: Handler) -> Handler:
        _ROUTES.append((method, pattern, handler))
        return handler

    return register


def dispatch(app: App, request: Request) -> Reply:
    """Agent Service routes first, then the Assistants routes they share (Foundry agents v2: foundry.py)."""
    if foundry.serves(request.path):
        return foundry.dispatch(app, request)
    version = request.query.get("api-version")
    if version not in API_VERSIONS:
        message = f"Unsupported api-version {version!r}; supported: {sorted(API_VERSIONS)}."
        raise ApiError(400, message, code="BadRequest", type="invalid_request_error")
    for method, pattern, handler in _ROUTES:
        match = pattern.fullmatch(request.path)
        if match and method == request.method:
            request.params = match.groupdict()
            with app.store.lock:
                return handler(app, request)
    return app.dispatch(request)


@_route("GET", "/threads")
def list_threads(app: App, req: Request) -> Reply:
    return Reply(paginate(app.store.threads.values(), req.query))
