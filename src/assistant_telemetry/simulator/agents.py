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

from . import foundry
from .errors import ApiError
from .routes import App, Reply, Request, Routes
from .store import paginate

PROJECT_PREFIX = re.compile(r"^/api/projects/[^/]+(?=/|$)")
API_VERSIONS = frozenset({"v1", "2025-05-15-preview"})

_route = Routes()


def project_prefix(path: str) -> str | None:
    """``/api/projects/<name>`` when ``path`` is under an agents project endpoint."""
    match = PROJECT_PREFIX.match(path)
    return match.group(0) if match else None


def dispatch(app: App, request: Request) -> Reply:
    """Agent Service routes first, then the Assistants routes they share (Foundry agents v2: foundry.py)."""
    if foundry.serves(request.path):
        return foundry.dispatch(app, request)
    version = request.query.get("api-version")
    if version not in API_VERSIONS:
        message = f"Unsupported api-version {version!r}; supported: {sorted(API_VERSIONS)}."
        raise ApiError(400, message, code="BadRequest", type="invalid_request_error")
    handler = _route.find(request)
    if handler is not None:
        with app.store.lock:
            return handler(app, request)
    return app.dispatch(request)


@_route("GET", "/threads")
def list_threads(app: App, req: Request) -> Reply:
    return Reply(paginate(app.store.threads.values(), req.query))
