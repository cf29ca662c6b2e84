"""HTTP response headers, request URL and client settings -> attributes.

Headers are read in one pass over the response's header list (a dict lookup per
header) rather than a ``headers.get`` per name, which rescans the list each time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .. import semconv as sc
from ..config import Settings
from .azure_ai_projects import project_attributes
from .fields import Attributes, capped, text


def _number(value: str) -> float | int | None:
    if len(value) > 32:  # no real count or duration is this long: not parsed, not recorded
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    if number != number or number in (float("inf"), float("-inf")):
        return None
    return int(number) if number.is_integer() else number


HEADERS: Mapping[str, tuple[str, Callable[[str], Any]]] = {
    # header -> (attribute, how its value is read); an empty or unreadable value is not recorded
    "x-request-id": (sc.REQUEST_ID, capped),
    "apim-request-id": (sc.AZURE_SERVICE_REQUEST_ID, capped),
    "x-ms-client-request-id": (sc.CLIENT_REQUEST_ID, capped),
    "x-ms-region": (sc.AZURE_REGION, capped),
    "x-ms-deployment-name": (sc.AZURE_DEPLOYMENT, capped),
    "openai-processing-ms": (sc.PROCESSING_MS, _number),
    "x-ratelimit-remaining-requests": (sc.RATELIMIT_REMAINING_REQUESTS, _number),
    "x-ratelimit-remaining-tokens": (sc.RATELIMIT_REMAINING_TOKENS, _number),
    "x-ratelimit-reset-requests": (sc.RATELIMIT_RESET_REQUESTS, capped),
    "x-ratelimit-reset-tokens": (sc.RATELIMIT_RESET_TOKENS, capped),
    "retry-after": (sc.RETRY_AFTER_S, _number),
    "x-ms-request-id": (sc.AZURE_MS_REQUEST_ID, capped),
}


# The same table keyed by the header's lowercased bytes. httpx (and httpx2) keep every header as
# (raw name, lowercased name, value) bytes in ``Headers._list``: matching there skips the copy that
# ``.raw`` makes, a ``lower()`` per header and the decode of every header not read (most of them).
# Without that list (another version, another client) the public ``multi_items()`` serves.
_RAW_HEADERS = {name.encode("ascii"): read for name, read in HEADERS.items()}
_RETRY_COUNT, _CLIENT_REQUEST_ID = b"x-stainless-retry-count", b"x-ms-client-request-id"


def _lowered(headers: Any) -> list[tuple[bytes, bytes, bytes]] | None:
    triples = getattr(headers, "_list", None)
    return triples if type(triples) is list else None


def response_attributes(response: Any, attrs: Attributes) -> None:
    """Status, provider/Azure request ids, region, rate limits and retries of one HTTP exchange."""
    status = getattr(response, "status_code", None)
    if isinstance(status, int):
        attrs[sc.HTTP_STATUS_CODE] = status
    headers: Any = getattr(response, "headers", None)
    lowered = _lowered(headers)
    if lowered is not None:
        for _, key, raw in lowered:
            read = _RAW_HEADERS.get(key)
            if read is not None:
                value = read[1](raw.decode("latin-1"))
                if value is not None and value != "":
                    attrs[read[0]] = value
    else:
        pairs = headers.multi_items() if hasattr(headers, "multi_items") else _pairs(headers)
        for name, text_value in pairs:
            read = HEADERS.get(name.lower())
            if read is not None:
                value = read[1](text_value)
                if value is not None and value != "":
                    attrs[read[0]] = value
    request_attributes(getattr(response, "request", None), attrs)


def request_attributes(request: Any, attrs: Attributes) -> None:
    """What the client itself sent: retry count, client request id, deployment path, api-version."""
    if request is None:
        return
    headers = getattr(request, "headers", None)
    lowered = _lowered(headers)
    if lowered is not None:
        retries = client_request_id = None
        for _, key, value in lowered:
            if key == _RETRY_COUNT:
                retries = value.decode("latin-1")
            elif key == _CLIENT_REQUEST_ID:
                client_request_id = value.decode("latin-1")
    elif headers is not None:
        retries = headers.get("x-stainless-retry-count")
        client_request_id = headers.get("x-ms-client-request-id")
    else:
        retries = client_request_id = None
    if retries and retries != "0":
        count = _number(retries)
        if count:
            attrs[sc.RETRIES] = count
    if client_request_id and sc.CLIENT_REQUEST_ID not in attrs:
        attrs[sc.CLIENT_REQUEST_ID] = capped(client_request_id)
    url_attributes(getattr(request, "url", None), attrs)


def url_attributes(url: Any, attrs: Attributes) -> None:
    """Azure puts the deployment in the path and the api-version in the query."""
    if isinstance(url, str):  # azure-core requests carry their URL as a string
        url = _SplitUrl(url)
    path = getattr(url, "path", None)
    if isinstance(path, str) and "/deployments/" in path:
        deployment = path.split("/deployments/", 1)[1].split("/", 1)[0]
        if deployment and sc.AZURE_DEPLOYMENT not in attrs:
            attrs[sc.AZURE_DEPLOYMENT] = capped(deployment)
    if getattr(url, "query", True) == b"":  # no query string: skip parsing one into params
        return
    params = getattr(url, "params", None)
    if params is not None:
        version = params.get("api-version")
        if version:
            attrs[sc.AZURE_API_VERSION] = capped(str(version))


# Client attributes by base URL object: a client's settings rarely change, its calls are many.
# Keyed by id() with the URL object kept in the entry (so the id cannot be reused while cached).
_CLIENTS: dict[int, tuple[Any, Any, Any, Settings, dict[str, Any]]] = {}


def client_attributes(client: Any, settings: Settings) -> dict[str, Any]:
    """Provider, server and Azure settings of an openai client (read with getattr: httpx or httpx2).

    A fresh dict each call (the caller adds to it), built once per client configuration.
    """
    url = _base_url(client)
    version = getattr(client, "_api_version", None)
    deployment = getattr(client, "_azure_deployment", None)
    known = _CLIENTS.get(id(url))
    if known is not None and known[0] is url and known[3] is settings and known[1:3] == (version, deployment):
        return dict(known[4])
    attrs = _client_attributes(url, version, deployment, settings)
    if len(_CLIENTS) >= sc.CLIENT_ATTRIBUTES_CAP:
        _CLIENTS.clear()
    _CLIENTS[id(url)] = (url, version, deployment, settings, attrs)
    return dict(attrs)


def _base_url(client: Any) -> Any:
    """The client's base URL. openai 3.x returns it through properties (``_base_url`` -> ``base_url``
    -> a helper imported per call, ~1 us) that return ``_configured_base_url``: for a class seen doing
    exactly that, the instance's dict is read; any other class goes through the properties."""
    own = getattr(client, "__dict__", None)
    configured = own.get(_CONFIGURED) if own else None
    if configured is not None:
        direct = _DIRECT_URL.get(type(client))
        if direct is None:
            if len(_DIRECT_URL) > 64:
                _DIRECT_URL.clear()
            direct = _DIRECT_URL[type(client)] = getattr(client, "_base_url", None) is configured
        if direct:
            return configured
    return getattr(client, "_base_url", None) or getattr(client, "base_url", None)


_CONFIGURED = "_configured_base_url"
_DIRECT_URL: dict[type, bool] = {}  # client class -> its _base_url is the instance's _configured_base_url?


def _client_attributes(url: Any, version: Any, deployment: Any, settings: Settings) -> dict[str, Any]:
    host = getattr(url, "host", None)
    attrs: dict[str, Any] = {}
    if isinstance(host, str) and host:
        attrs[sc.SERVER_ADDRESS] = attrs[sc.SERVER_HOST] = host
        port = getattr(url, "port", None)
        scheme = getattr(url, "scheme", "https")
        attrs[sc.SERVER_PORT] = port if isinstance(port, int) else (443 if scheme == "https" else 80)
    azure = version is not None or (isinstance(host, str) and settings.is_azure_host(host.lower()))
    foundry = project_attributes(host, _path(url))
    if foundry:  # a Foundry project's /openai/v1 (project.get_openai_client()): its provider and project
        attrs.update(foundry)
        attrs[sc.SYSTEM] = sc.SYSTEM_AZURE_OPENAI
    elif azure:
        attrs[sc.PROVIDER_NAME] = sc.PROVIDER_AZURE_OPENAI
        attrs[sc.SYSTEM] = sc.SYSTEM_AZURE_OPENAI
        attrs[sc.AZURE_RESOURCE_PROVIDER_NAMESPACE] = sc.AZURE_NAMESPACE_COGNITIVE_SERVICES
        if text(version) is not None:
            attrs[sc.AZURE_API_VERSION] = text(version)
        if text(deployment) is not None:
            attrs[sc.AZURE_DEPLOYMENT] = text(deployment)
    else:
        attrs[sc.PROVIDER_NAME] = sc.PROVIDER_OPENAI
        attrs[sc.SYSTEM] = sc.SYSTEM_OPENAI
    return attrs


def _path(url: Any) -> str | None:
    """The base URL's path (httpx gives ``path``; ``raw_path`` bytes elsewhere)."""
    path = getattr(url, "path", None)
    return path if isinstance(path, str) else None


class _SplitUrl:
    """A URL string with the ``path`` and ``params`` an httpx URL has (only what is read above)."""

    __slots__ = ("params", "path")

    def __init__(self, url: str):
        parts = urlsplit(url)
        self.path = parts.path
        self.params = {key: values[-1] for key, values in parse_qs(parts.query).items()}


def _pairs(headers: Any) -> list[tuple[str, str]]:
    if isinstance(headers, Mapping):
        return [(str(k), str(v)) for k, v in headers.items()]
    return []
