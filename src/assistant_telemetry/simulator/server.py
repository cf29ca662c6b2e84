"""HTTP plumbing: the ``Simulator`` facade, /v1 and Azure's /openai prefixes, headers, faults, SSE."""

from __future__ import annotations

import json
import logging
import re
import socket
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import NamedTuple
from urllib.parse import parse_qs, urlsplit

from . import agents, foundry, responses  # responses registers its routes on import
from .errors import ApiError, Json
from .faults import Fault, Faults, oversized, oversized_headers
from .routes import App, Request
from .streaming import DONE, Event, encode

log = logging.getLogger(__name__)

# prefix -> is Azure; Azure's /openai/v1 API needs no api-version; agents projects: agents.py.
PREFIXES = {"/v1": False, "/openai/v1": True, "/openai": True}
VERSIONLESS = frozenset({"/openai/v1"})
RATE_LIMIT_REQUESTS, RATE_LIMIT_TOKENS = 10_000, 2_000_000
DROP_AFTER_EVENTS = 2
_DEPLOYMENT = re.compile(r"^/deployments/([^/]+)/")


class RecordedRequest(NamedTuple):
    method: str
    path: str  # as received, prefix included, query string excluded
    headers: dict[str, str]  # lower-cased names


@dataclass
class Response:
    status: int
    body: Json | None = None
    events: list[Event] | None = None
    drop_after: int | None = None  # close the connection mid-stream after this many events
    pace: tuple[float, float] = (0.0, 0.0)  # (seconds before a JSON body, seconds between events)
    headers: dict[str, str] = field(default_factory=dict)


class Simulator:
    """A local OpenAI Assistants (and Azure OpenAI) service in a daemon thread, bound to 127.0.0.1."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._address = (host, port)
        self._app = App()
        self._faults = Faults()
        self._requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._served = 0
        self._pace = (0.0, 0.0)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # lifecycle

    def start(self) -> Simulator:
        if self._server is None:
            self._server = _Server(self._address, self)
            self._thread = threading.Thread(
                target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # addresses

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("Simulator is not running; call start() or use it as a context manager")
        return int(self._server.server_address[1])

    @property
    def azure_endpoint(self) -> str:
        return f"http://{self._address[0]}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.azure_endpoint}/v1"

    # test controls

    def next_run_outcome(self, *outcomes: str) -> None:
        """Queue outcomes (FIFO) for the next runs created or resumed by tool outputs; default completed."""
        with self._app.store.lock:
            self._app.runs.queue_outcomes(*outcomes)

    def run_timing(self, queue_s: int = 0, execution_s: int = 0) -> None:
        """Runs from now on report having waited ``queue_s`` queued and worked ``execution_s``.

        Only the server's timestamps move (started_at, completed_at ...): nothing sleeps.
        """
        with self._app.store.lock:
            self._app.runs.timing = (queue_s, execution_s)

    def pace(self, body_s: float = 0.0, event_s: float = 0.0) -> None:
        """Answers from now on take real time after their headers: ``body_s`` before a JSON body,
        ``event_s`` between a stream's events (what a model's tokens take); (0, 0) turns it off."""
        with self._lock:
            self._pace = (body_s, event_s)

    def background_polls(self, per_status: int = 1) -> None:
        """Background responses from now on answer ``per_status`` retrieves queued, as many
        in_progress, then their outcome (1: one status per retrieve)."""
        with self._app.store.lock:
            responses.state(self._app).polls_per_status = max(1, per_status)

    def next_content_filter(self, *profiles: str) -> None:
        """Queue Azure content filter profiles (chat.FILTER_PROFILES) for the next Azure chat calls
        and response creates (FIFO, one each)."""
        with self._app.store.lock:
            self._app.queue_chat_filters(*profiles)

    def deploy(self, deployment: str, model: str) -> None:
        """An Azure deployment serving ``model``: its chat completions answer with that model name."""
        with self._app.store.lock:
            self._app.deployments[deployment] = model

    def agents_endpoint(self, project: str = "demo-project") -> str:
        """The endpoint an azure-ai-agents ``AgentsClient`` takes (a Foundry project's)."""
        return f"{self.azure_endpoint}/api/projects/{project}"

    def clear_run_outcomes(self) -> None:
        """Forget queued outcomes (runs' and chat content filter profiles) and run timing, e.g.
        between tests sharing one simulator."""
        with self._app.store.lock:
            self._app.runs.outcomes.clear()
            self._app.runs.timing = (0, 0)
            self._app.chat_filters.clear()
            responses.state(self._app).polls_per_status = 1
        with self._lock:
            self._pace = (0.0, 0.0)

    def add_fault(
        self,
        status: int | None = None,
        *,
        kind: str | None = None,
        method: str = "*",
        path: str = "*",
        times: int | None = 1,
        retry_after: float | None = 0,
    ) -> Fault:
        """Fail matching requests (fnmatch on the path after /v1 or /openai); ``times=None`` = forever."""
        return self._faults.add(
            status, kind=kind, method=method, path=path, times=times, retry_after=retry_after
        )

    def clear_faults(self) -> None:
        self._faults.clear()

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    # request processing (called from the handler threads)

    def _process(self, method: str, target: str, raw: bytes, headers: dict[str, str]) -> Response:
        started = time.monotonic()
        url = urlsplit(target)
        with self._lock:
            self._requests.append(RecordedRequest(method, url.path, headers))
            self._served += 1
            served = self._served
        prefix = next((p for p in PREFIXES if url.path == p or url.path.startswith(p + "/")), None)
        rules = prefix  # the PREFIXES key whose rules apply (a project's /openai/v1 is Azure's)
        if prefix is None:
            prefix, rules = foundry.split_prefix(url.path)
        path = url.path[len(prefix) :] if prefix else url.path
        azure = bool(prefix and PREFIXES.get(rules or "", True))
        project = agents.project_prefix(url.path) or ""
        response = self._answer(method, path, rules, url.query, raw, project)
        response.headers = {
            **self._headers(response, served, started, azure, path, headers),
            **response.headers,
        }
        with self._lock:
            response.pace = self._pace
        return response

    def _answer(
        self, method: str, path: str, prefix: str | None, query_string: str, raw: bytes, project: str
    ) -> Response:
        query = {key: values[-1] for key, values in parse_qs(query_string, keep_blank_values=True).items()}
        try:
            if prefix is None:
                raise ApiError(404, f"Invalid URL ({method} {path})")
            if PREFIXES.get(prefix) and prefix not in VERSIONLESS and "api-version" not in query:
                message = "The api-version query parameter (?api-version=) is required for all requests."
                raise ApiError(
                    400, message, body={"error": {"code": "MissingApiVersionParameter", "message": message}}
                )
            body = _parse_body(raw)
            fault = self._faults.take(method, path)
            if fault is not None and not fault.kind.startswith("oversize"):
                raise fault.error(body)
            request = Request(method, path, query, body, azure=PREFIXES.get(prefix, True), project=project)
            reply = self._app.dispatch(request) if prefix in PREFIXES else agents.dispatch(self._app, request)
        except ApiError as err:
            return Response(err.status, err.body, headers=err.headers)
        except Exception:
            log.exception("simulator failed on %s %s", method, path)
            return Response(500, ApiError(500, "Simulator bug.", type="server_error").body)
        if fault is not None and reply.events is None:  # oversize: the answer, with huge ids and headers
            with self._lock:
                served = self._served
            headers = {**reply.headers, **oversized_headers(fault.kind, served)}
            return Response(200, oversized(reply.body), headers=headers)
        if reply.events is None:
            return Response(200, reply.body, headers=reply.headers)
        dropped = self._faults.take(method, path, streaming=True)
        drop_after = DROP_AFTER_EVENTS if dropped else None
        return Response(200, events=reply.events, drop_after=drop_after, headers=reply.headers)

    def _headers(
        self, response: Response, served: int, started: float, azure: bool, path: str, request: dict[str, str]
    ) -> dict[str, str]:
        remaining = 0 if response.status == 429 else RATE_LIMIT_REQUESTS - served % RATE_LIMIT_REQUESTS
        headers = {
            "x-request-id": f"req_{uuid.uuid4().hex}",
            "openai-version": "2020-10-01",
            "openai-processing-ms": str(max(1, round((time.monotonic() - started) * 1000))),
            "x-ratelimit-limit-requests": str(RATE_LIMIT_REQUESTS),
            "x-ratelimit-limit-tokens": str(RATE_LIMIT_TOKENS),
            "x-ratelimit-remaining-requests": str(remaining),
            "x-ratelimit-remaining-tokens": str(RATE_LIMIT_TOKENS - 150 * (served % 1000)),
            "x-ratelimit-reset-requests": "1s",
            "x-ratelimit-reset-tokens": "6ms",
        }
        if "/runs" in path:
            # The SDK's poll helpers sleep for this long between retrieves (1 s without it).
            headers["openai-poll-after-ms"] = "1"
        if azure:
            headers.update({"apim-request-id": str(uuid.uuid4()), "x-ms-region": "Sweden Central"})
            if "x-ms-client-request-id" in request:
                headers["x-ms-client-request-id"] = request["x-ms-client-request-id"]
            deployment = _DEPLOYMENT.match(path)
            if deployment:
                headers["x-ms-deployment-name"] = deployment.group(1)
        return headers


def _parse_body(raw: bytes) -> Json:
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise ApiError(400, "We could not parse the JSON body of your request.")
    return body


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], simulator: Simulator) -> None:
        super().__init__(address, _Handler)
        self.simulator = simulator

    def handle_error(self, request: object, client_address: object) -> None:
        # Clients resetting idle keep-alive connections is routine; anything else is worth a traceback.
        if isinstance(sys.exc_info()[1], ConnectionError):
            log.debug("client %s went away", client_address)
        else:
            log.exception("simulator connection from %s failed", client_address)


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.1 keeps connections alive and lets streams use chunked encoding, which a drop can break.
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without this Nagle + delayed ACK add ~40 ms each.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def log_message(self, format: str, *args: object) -> None:
        log.debug("%s - %s", self.address_string(), format % args)

    def _handle(self) -> None:
        raw = self.rfile.read(int(self.headers.get("content-length") or 0))
        headers = {name.lower(): value for name, value in self.headers.items()}
        response = self.server.simulator._process(self.command, self.path, raw, headers)
        try:
            if response.events is None:
                self._send_json(response)
            else:
                self._send_events(response)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client went away; nothing left to tell it

    def _send_head(self, response: Response, content_type: str, extra: dict[str, str]) -> None:
        self.send_response(response.status)
        for name, value in {**response.headers, "content-type": content_type, **extra}.items():
            self.send_header(name, value)
        self.end_headers()

    def _send_json(self, response: Response) -> None:
        payload = json.dumps(response.body).encode()
        self._send_head(response, "application/json", {"content-length": str(len(payload))})
        if response.pace[0]:
            self.wfile.flush()  # the headers arrive now, the body later
            time.sleep(response.pace[0])
        self.wfile.write(payload)

    def _send_events(self, response: Response) -> None:
        self._send_head(response, "text/event-stream; charset=utf-8", {"transfer-encoding": "chunked"})
        for index, event in enumerate(response.events or []):
            if index and response.pace[1]:
                time.sleep(response.pace[1])
            if index == response.drop_after:
                # Leave the chunked body unterminated so the client sees a broken, not a finished, stream.
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            # Chat streams name no events: an unnamed one is sent as a bare ``data:`` line.
            self._write_chunk(encode(event) if event[0] else b"data: %s\n\n" % json.dumps(event[1]).encode())
        self._write_chunk(DONE)
        self.wfile.write(b"0\r\n\r\n")

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()
