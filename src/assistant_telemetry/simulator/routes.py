"""Route table: maps (method, path after the /v1 or /openai prefix) to handlers over the store and runs."""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from .chat import FILTER_PROFILES, chat_chunks, chat_completion
from .errors import ApiError, Json
from .runs import Runs
from .store import Store, paginate, snapshot
from .streaming import Event, run_events


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    body: Json
    azure: bool
    params: dict[str, str] = field(default_factory=dict)
    project: str = ""  # the Foundry project the URL names (its agents are its own), else ""


@dataclass
class Reply:
    """A JSON body, or server-sent events when the client asked for ``stream: true``."""

    body: Json | None = None
    events: list[Event] | None = None
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[["App", Request], Reply]


class Routes:
    """(method, path template) -> handler; ``@table("GET", "/threads/{thread_id}")`` registers one."""

    def __init__(self) -> None:
        self._table: list[tuple[str, re.Pattern[str], Handler]] = []

    def __call__(self, method: str, template: str) -> Callable[[Handler], Handler]:
        pattern = re.compile(re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template))

        def register(handler: Handler) -> Handler:
            self._table.append((method, pattern, handler))
            return handler

        return register

    def find(self, request: Request) -> Handler | None:
        """The handler for ``request``, its path parameters put on it; None when no route matches."""
        for method, pattern, handler in self._table:
            match = pattern.fullmatch(request.path)
            if match and method == request.method:
                request.params = match.groupdict()
                return handler
        return None


route = Routes()  # the OpenAI routes (Assistants, chat, Responses, Conversations)


class App:
    def __init__(self) -> None:
        self.store = Store()
        self.runs = Runs(self.store)
        self.chat_filters: deque[str] = deque()  # Azure content filter profiles, FIFO (chat.py)
        self.deployments: dict[str, str] = {}  # Azure deployment -> the model it serves

    def queue_chat_filters(self, *profiles: str) -> None:
        unknown = [name for name in profiles if name not in FILTER_PROFILES]
        if unknown:
            expected = sorted(FILTER_PROFILES)
            raise ValueError(f"unknown content filter profile(s) {unknown}; expected one of {expected}")
        self.chat_filters.extend(profiles)

    def dispatch(self, request: Request) -> Reply:
        handler = route.find(request)
        if handler is None:
            raise ApiError(404, f"Invalid URL ({request.method} {request.path})")
        with self.store.lock:
            reply = handler(self, request)
            # Copy while locked: the stored objects keep changing under later requests.
            if reply.body is None:
                return reply
            return Reply(snapshot(reply.body), reply.events, reply.headers)


def _streaming(request: Request) -> bool:
    return request.body.get("stream") is True


# assistants


@route("POST", "/assistants")
def create_assistant(app: App, req: Request) -> Reply:
    return Reply(app.store.create_assistant(req.body))


@route("GET", "/assistants")
def list_assistants(app: App, req: Request) -> Reply:
    return Reply(paginate(app.store.assistants.values(), req.query))


@route("GET", "/assistants/{assistant_id}")
def get_assistant(app: App, req: Request) -> Reply:
    return Reply(app.store.get_assistant(req.params["assistant_id"]))


@route("POST", "/assistants/{assistant_id}")
def update_assistant(app: App, req: Request) -> Reply:
    return Reply(app.store.update_assistant(req.params["assistant_id"], req.body))


@route("DELETE", "/assistants/{assistant_id}")
def delete_assistant(app: App, req: Request) -> Reply:
    return Reply(app.store.delete_assistant(req.params["assistant_id"]))


# threads (``/threads/runs`` first, or ``runs`` would be taken for a thread id)


@route("POST", "/threads/runs")
def create_thread_and_run(app: App, req: Request) -> Reply:
    app.runs.assistant_for(req.body)  # validate before creating a thread, as the service does
    thread = app.store.create_thread(req.body.get("thread") or {})
    state = app.runs.create(thread["id"], req.body)
    if _streaming(req):
        return Reply(events=run_events(app.runs, state, thread=thread))
    return Reply(state.run)


@route("POST", "/threads")
def create_thread(app: App, req: Request) -> Reply:
    return Reply(app.store.create_thread(req.body))


@route("GET", "/threads/{thread_id}")
def get_thread(app: App, req: Request) -> Reply:
    return Reply(app.store.get_thread(req.params["thread_id"]))


@route("POST", "/threads/{thread_id}")
def update_thread(app: App, req: Request) -> Reply:
    return Reply(app.store.update_thread(req.params["thread_id"], req.body))


@route("DELETE", "/threads/{thread_id}")
def delete_thread(app: App, req: Request) -> Reply:
    return Reply(app.store.delete_thread(req.params["thread_id"]))


# messages


@route("POST", "/threads/{thread_id}/messages")
def create_message(app: App, req: Request) -> Reply:
    thread_id = req.params["thread_id"]
    app.store.get_thread(thread_id)
    app.runs.ensure_idle(thread_id, adding_message=True)
    return Reply(app.store.add_message(thread_id, req.body))


@route("GET", "/threads/{thread_id}/messages")
def list_messages(app: App, req: Request) -> Reply:
    return Reply(app.store.list_messages(req.params["thread_id"], req.query))


@route("GET", "/threads/{thread_id}/messages/{message_id}")
def get_message(app: App, req: Request) -> Reply:
    return Reply(app.store.get_message(req.params["thread_id"], req.params["message_id"]))


@route("POST", "/threads/{thread_id}/messages/{message_id}")
def update_message(app: App, req: Request) -> Reply:
    return Reply(app.store.update_message(req.params["thread_id"], req.params["message_id"], req.body))


@route("DELETE", "/threads/{thread_id}/messages/{message_id}")
def delete_message(app: App, req: Request) -> Reply:
    return Reply(app.store.delete_message(req.params["thread_id"], req.params["message_id"]))


# runs


@route("POST", "/threads/{thread_id}/runs")
def create_run(app: App, req: Request) -> Reply:
    state = app.runs.create(req.params["thread_id"], req.body)
    if _streaming(req):
        return Reply(events=run_events(app.runs, state))
    return Reply(state.run)


@route("GET", "/threads/{thread_id}/runs")
def list_runs(app: App, req: Request) -> Reply:
    return Reply(app.runs.list(req.params["thread_id"], req.query))


@route("GET", "/threads/{thread_id}/runs/{run_id}")
def get_run(app: App, req: Request) -> Reply:
    # Polling is the clock: every retrieve moves the run one status along its script.
    state = app.runs.get(req.params["thread_id"], req.params["run_id"])
    app.runs.advance(state)
    return Reply(state.run)


@route("POST", "/threads/{thread_id}/runs/{run_id}")
def update_run(app: App, req: Request) -> Reply:
    return Reply(app.runs.update(req.params["thread_id"], req.params["run_id"], req.body))


@route("POST", "/threads/{thread_id}/runs/{run_id}/cancel")
def cancel_run(app: App, req: Request) -> Reply:
    return Reply(app.runs.cancel(req.params["thread_id"], req.params["run_id"]).run)


@route("POST", "/threads/{thread_id}/runs/{run_id}/submit_tool_outputs")
def submit_tool_outputs(app: App, req: Request) -> Reply:
    state, step = app.runs.submit_tool_outputs(req.params["thread_id"], req.params["run_id"], req.body)
    if _streaming(req):
        return Reply(events=run_events(app.runs, state, finished_step=step))
    return Reply(state.run)


@route("GET", "/threads/{thread_id}/runs/{run_id}/steps")
def list_run_steps(app: App, req: Request) -> Reply:
    return Reply(app.runs.list_steps(req.params["thread_id"], req.params["run_id"], req.query))


@route("GET", "/threads/{thread_id}/runs/{run_id}/steps/{step_id}")
def get_run_step(app: App, req: Request) -> Reply:
    params = req.params
    return Reply(app.runs.get_step(params["thread_id"], params["run_id"], params["step_id"]))


# chat completions (OpenAI and Azure deployment flavours)


@route("POST", "/chat/completions")
def create_chat_completion(app: App, req: Request) -> Reply:
    return _chat(app, req, deployment=None)


@route("POST", "/deployments/{deployment}/chat/completions")
def create_deployment_chat_completion(app: App, req: Request) -> Reply:
    if not req.azure:
        raise ApiError(404, f"Invalid URL ({req.method} {req.path})")
    return _chat(app, req, deployment=req.params["deployment"])


def _chat(app: App, req: Request, deployment: str | None) -> Reply:
    """Azure (the /openai prefixes) consumes a queued filter profile and names the deployment."""
    profile = (app.chat_filters.popleft() if app.chat_filters else "safe") if req.azure else "safe"
    headers = {}
    name = deployment or req.body.get("model")
    if req.azure and isinstance(name, str):  # the /openai/v1 API names the deployment in "model"
        headers["x-ms-deployment-name"] = name
    make = chat_chunks if _streaming(req) else chat_completion
    answer = make(req.body, deployment=deployment, azure=req.azure, profile=profile, models=app.deployments)
    if isinstance(answer, list):  # SSE without event names, as chat streams are sent
        return Reply(events=[("", chunk) for chunk in answer], headers=headers)
    return Reply(answer, headers=headers)
