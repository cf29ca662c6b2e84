"""Foundry agents v2 (azure-ai-projects 2.x) objects and project endpoints -> attributes.

Read: an agent's name, version and id, metadata keys, the page's size and ids, and what a project
endpoint's URL names (project, resource). Never read: a version's ``definition`` (instructions,
tools, model settings), its ``description``, metadata values (unless allowlisted, as everywhere).

Agent ids: the service gives a version the id ``{name}:{version}``; that is the ``gen_ai.agent.id``
Microsoft's agent tracing and the Foundry portal match on, so an agent (``AgentDetails``, whose own
``id`` is its name) is reported by its latest version's id, and a Responses call naming an
``agent_reference`` by ``{name}:{version}`` (extract/responses.py).
"""

from __future__ import annotations

import ipaddress
import os
from typing import Any

from .. import semconv as sc
from ..config import Settings
from .assistants import metadata_attributes, page_attributes
from .fields import Attributes, field, put, text


def agent_id(name: Any, version: Any) -> str | None:
    """``{name}:{version}`` as the service names an agent version; the name alone without one."""
    name, version = text(name), text(version)
    if name is None:
        return None
    return f"{name}:{version}" if version is not None else name


def _version_attributes(obj: Any, attrs: Attributes, settings: Settings) -> None:
    name, version = text(field(obj, "name")), text(field(obj, "version"))
    put(attrs, sc.AGENT_NAME, name)
    put(attrs, sc.AGENT_VERSION, version)
    put(attrs, sc.AGENT_ID, text(field(obj, "id")) or agent_id(name, version))
    metadata_attributes(field(obj, "metadata"), attrs, settings)


def _agent_attributes(obj: Any, attrs: Attributes, settings: Settings) -> None:
    latest = field(field(obj, "versions"), "latest")
    if latest is not None:
        _version_attributes(latest, attrs, settings)
    put(attrs, sc.AGENT_NAME, text(field(obj, "name")))
    if sc.AGENT_ID not in attrs:
        put(attrs, sc.AGENT_ID, text(field(obj, "id")))


def _deleted_attributes(obj: Any, attrs: Attributes, settings: Settings) -> None:
    name, version = text(field(obj, "name")), text(field(obj, "version"))
    put(attrs, sc.AGENT_NAME, name)
    put(attrs, sc.AGENT_VERSION, version)
    put(attrs, sc.AGENT_ID, agent_id(name, version))
    deleted = field(obj, "deleted")
    if isinstance(deleted, bool):
        attrs[sc.DELETED] = deleted


_BY_KIND = {
    "agent.version": _version_attributes,
    "agent": _agent_attributes,
    "agent.deleted": _deleted_attributes,
    "agent.version.deleted": _deleted_attributes,
    "list": page_attributes,
}


def result_attributes(result: Any, attrs: Attributes, settings: Settings) -> Any:
    """An agent, an agent version, a deletion, a first page; None (and nothing read) otherwise."""
    kind = field(result, "object")
    read = _BY_KIND.get(kind) if isinstance(kind, str) else None
    if read is None:
        return None
    read(result, attrs, settings)
    return None  # nothing in these objects is a message or step to observe


def _resource_name(host: str) -> str | None:
    """``{resource}.services.ai.azure.com`` (any dotted host name): its first label; not an IP."""
    try:
        ipaddress.ip_address(host)
        return None
    except ValueError:
        pass
    label = host.split(".", 1)[0]
    return label if label and "." in host else None


def project_attributes(host: Any, path: Any) -> dict[str, Any]:
    """A Foundry project endpoint (``.../api/projects/{project}...``): provider, project, resource,
    and the project's ARM id when ``FOUNDRY_PROJECT_ARM_ID`` names this project. Empty otherwise."""
    attrs = project_keys(host, path)
    if attrs:
        attrs[sc.PROVIDER_NAME] = sc.PROVIDER_MICROSOFT_FOUNDRY
        attrs[sc.AZURE_RESOURCE_PROVIDER_NAMESPACE] = sc.AZURE_NAMESPACE_COGNITIVE_SERVICES
    return attrs


def project_keys(host: Any, path: Any) -> dict[str, Any]:
    """What identifies the Foundry project an endpoint belongs to (its name, its resource's, its ARM
    id), without a provider: an Agent Service client on a project endpoint keeps its own."""
    if not isinstance(path, str) or sc.FOUNDRY_PROJECT_PATH not in path:
        return {}
    project = path.split(sc.FOUNDRY_PROJECT_PATH, 1)[1].split("/", 1)[0]
    if not project:
        return {}
    attrs: dict[str, Any] = {sc.FOUNDRY_PROJECT_NAME: project}
    resource = _resource_name(host) if isinstance(host, str) and host else None
    put(attrs, sc.FOUNDRY_RESOURCE_NAME, resource)
    # Only an id naming this project: an app may talk to several, one id must not label them all.
    put(attrs, sc.FOUNDRY_PROJECT_ID, _arm_id(project, resource if _AZURE_HOST in str(host) else None))
    return attrs


_AZURE_HOST = ".azure.com"  # {resource}.services.ai.azure.com: the first label is the ARM account


def _arm_id(project: str, account: str | None) -> str | None:
    """The ``FOUNDRY_PROJECT_ARM_ID`` entry (several may be listed) ending in ``projects/{project}``
    and, when the host names its resource, under ``accounts/{account}``."""
    for arm_id in os.environ.get(sc.FOUNDRY_PROJECT_ARM_ID_ENV, "").replace(",", " ").split():
        segments = arm_id.rstrip("/").lower().split("/")
        if segments[-1] != project.lower():
            continue
        if account and "accounts" in segments[:-1]:
            named = segments[segments.index("accounts") + 1]
            if named != account.lower():
                continue
        return arm_id.rstrip("/")
    return None
