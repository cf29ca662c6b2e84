"""Foundry agents v2 as azure-ai-projects 2.x calls them: versioned agents under a project endpoint.

``AIProjectClient(endpoint="http://127.0.0.1:PORT/api/projects/<name>")`` sends
``/agents``, ``/agents/{name}``, ``/agents/{name}/versions[/{version}]`` with ``?api-version=v1``;
``project.get_openai_client()`` is a plain openai client on ``{endpoint}/openai/v1/``, served by
the Responses and Conversations routes (``split_prefix`` routes it there).

Shapes follow azure-ai-projects' models: ``AgentVersionDetails`` (``object: agent.version``, ``id``
is ``{name}:{version}`` as the service answers), ``AgentDetails`` (``object: agent``,
``versions.latest``), ``DeleteAgentResponse`` / ``DeleteAgentVersionResponse``, and pages of
``{"data", "first_id", "last_id", "has_more"}`` (the SDK follows ``last_id``, so it is null on the
last page).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from . import agents
from .errors import ApiError, Json
from .routes import App, Reply, Request, Routes

API_VERSIONS = frozenset({"v1", "2025-11-15-preview", "2025-05-15-preview"})
OPENAI_PREFIX = "/openai/v1"

_route = Routes()


def split_prefix(path: str) -> tuple[str | None, str | None]:
    """(prefix to strip, the PREFIXES key whose rules apply): a project's ``/openai/v1`` routes are
    the Azure OpenAI v1 routes; the rest of a project (agents) is the project's own."""
    project = agents.project_prefix(path)
    if project is None:
        return None, None
    rest = path[len(project) :]
    if rest == OPENAI_PREFIX or rest.startswith(OPENAI_PREFIX + "/"):
        return project + OPENAI_PREFIX, OPENAI_PREFIX
    return project, project


def serves(path: str) -> bool:
    return path == "/agents" or path.startswith("/agents/")


def dispatch(app: App, request: Request) -> Reply:
    """The agents routes; every answer, errors too, carries the data plane's ``x-ms-request-id``."""
    try:
        reply = _dispatch(app, request)
    except ApiError as error:
        error.headers.setdefault("x-ms-request-id", str(uuid.uuid4()))
        raise
    reply.headers.setdefault("x-ms-request-id", str(uuid.uuid4()))
    return reply


def _dispatch(app: App, request: Request) -> Reply:
    version = request.query.get("api-version")
    if version not in API_VERSIONS:
        message = f"Unsupported api-version {version!r}; supported: {sorted(API_VERSIONS)}."
        raise ApiError(400, message, code="BadRequest", type="invalid_request_error")
    handler = _route.find(request)
    if handler is not None:
        with app.store.lock:
            return handler(app, request)
    raise ApiError(404, f"Invalid URL ({request.method} {request.path})")


def _agents(app: App, project: str) -> dict[str, list[Json]]:
    """name -> its versions, oldest first, in the request's project (as in Foundry, each project
    has its own agents; kept on the app, beside its store)."""
    projects: dict[str, dict[str, list[Json]]] | None = getattr(app, "foundry_agents", None)
    if projects is None:
        projects = {}
        app.foundry_agents = projects  # type: ignore[attr-defined]
    return projects.setdefault(project, {})


def _not_found(what: str) -> ApiError:
    return ApiError(404, f"{what} not found.", code="not_found", type="invalid_request_error")


def _versions(app: App, req: Request, name: str) -> list[Json]:
    versions = _agents(app, req.project).get(name)
    if not versions:
        raise _not_found(f"Agent '{name}'")
    return versions


def _details(name: str, versions: list[Json]) -> Json:
    return {
        "object": "agent",
        "id": name,
        "name": name,
        "state": "enabled",
        "configuration_state": "enabled",
        "versions": {"latest": versions[-1]},
    }


def _page(data: list[Json], key: str) -> Json:
    return {
        "object": "list",
        "data": data,
        "first_id": data[0][key] if data else None,
        "last_id": None,  # one page: the SDK follows last_id as its continuation
        "has_more": False,
    }


@_route("POST", "/agents/{name}/versions")
def create_version(app: App, req: Request) -> Reply:
    name = req.params["name"]
    definition = req.body.get("definition")
    if not isinstance(definition, dict) or not definition.get("kind"):
        raise ApiError(400, "'definition' with a 'kind' is required.", param="definition")
    versions = _agents(app, req.project).setdefault(name, [])
    version = str(len(versions) + 1)
    created: Json = {
        "object": "agent.version",
        "id": f"{name}:{version}",
        "name": name,
        "version": version,
        "description": req.body.get("description"),
        "metadata": dict(req.body.get("metadata") or {}),
        "created_at": int(time.time()),
        "definition": definition,
        "status": "active",
    }
    versions.append(created)
    return Reply(created)


@_route("GET", "/agents")
def list_agents(app: App, req: Request) -> Reply:
    agents = [_details(name, versions) for name, versions in _agents(app, req.project).items() if versions]
    return Reply(_page(agents, "id"))


@_route("GET", "/agents/{name}")
def get_agent(app: App, req: Request) -> Reply:
    name = req.params["name"]
    return Reply(_details(name, _versions(app, req, name)))


@_route("DELETE", "/agents/{name}")
def delete_agent(app: App, req: Request) -> Reply:
    name = req.params["name"]
    _versions(app, req, name)
    del _agents(app, req.project)[name]
    return Reply({"object": "agent.deleted", "name": name, "deleted": True})


@_route("GET", "/agents/{name}/versions")
def list_versions(app: App, req: Request) -> Reply:
    return Reply(_page(list(_versions(app, req, req.params["name"])), "id"))


def _version(app: App, req: Request) -> tuple[list[Json], Json]:
    versions = _versions(app, req, req.params["name"])
    for found in versions:
        if found["version"] == req.params["version"]:
            return versions, found
    raise _not_found(f"Agent version '{req.params['name']}:{req.params['version']}'")


@_route("GET", "/agents/{name}/versions/{version}")
def get_version(app: App, req: Request) -> Reply:
    return Reply(_version(app, req)[1])


@_route("DELETE", "/agents/{name}/versions/{version}")
def delete_version(app: App, req: Request) -> Reply:
    versions, found = _version(app, req)
    versions.remove(found)
    return Reply(
        {
            "object": "agent.version.deleted",
            "name": found["name"],
            "version": found["version"],
            "deleted": True,
        }
    )


def agent_reference(body: Any) -> Json | None:
    """The agent a Responses request names (``agent_reference``, or the pre-2.0 ``agent`` key)."""
    for key in ("agent_reference", "agent"):
        value = body.get(key) if isinstance(body, dict) else None
        if isinstance(value, dict):
            return value
    return None


def agent_model(app: App, body: Any, project: str) -> str | None:
    """The model of the agent version a Responses request references (its definition's)."""
    reference = agent_reference(body)
    versions = _agents(app, project).get(str(reference.get("name"))) if reference else None
    if not reference or not versions:
        return None
    wanted = reference.get("version")
    found = next((v for v in versions if v["version"] == wanted), None) if wanted else versions[-1]
    model = (found or {}).get("definition", {}).get("model")
    return model if isinstance(model, str) else None
