"""The day of operations the dashboards are tested on: an instrumented support bot on Azure OpenAI.

Run in a subprocess by tests/dashboard_data.py, exactly as an application runs: one
``assistant_telemetry.instrument()`` call, then plain openai code (an ``AzureOpenAI``
client) against the simulator. The destination comes from the environment
(``APPLICATIONINSIGHTS_CONNECTION_STRING``: the real Azure Monitor distro), or, with
``--prometheus FILE``, from an SDK ``MeterProvider`` with the real
``opentelemetry-exporter-prometheus`` reader, whose text exposition is written to FILE.

What happens (the numbers the dashboard tests assert are in ``EXPECTED`` below):

- T1 ``happy``: two turns, each create_message -> create_and_poll (completed) -> messages.list,
  and the first run's steps listed;
- T2 ``failing``: a runs.list throttled three times (429, retries exhausted), then a run that fails;
- T3 ``blocked-prompt``: the message is refused by the content filter (400 content_filter);
- T4 ``blocked-output``: the run ends incomplete because the filter cut the answer;
- T5 ``duplicate``: a message throttled once (the SDK retries it), then submitted again by the
  app under the same idempotency key (a duplicate submission), one completed run;
- T6 ``stuck``: a run created and never seen again (stuck in ``queued``);
- T7 ``silent``: a run that completes (slowly) whose messages the app never reads;
- T8 ``long``: twelve user messages, one completed run;
- two chat completions outside any thread: one annotated by the filter, one whose output is blocked.

Each turn runs inside an application request span (SERVER: an App Insights ``requests`` row)
and ``correlate(request_id=...)``. Prints the ids it created as JSON on its last line.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from collections.abc import Iterator
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import openai
from opentelemetry import trace

import assistant_telemetry
from assistant_telemetry import correlate
from assistant_telemetry.simulator import Simulator

AZURE_OPTIONS = {"enable_live_metrics": False, "disable_offline_storage": True}
SERVICE = "support-bot"
PROD, MINI = "gpt-4o-prod", "gpt-4o-mini-eu"
API_VERSION = "2024-05-01-preview"
FINGERPRINT_KEY = "dashboard-test-fingerprint-key"
QUEUE_S, EXECUTION_S = 2, 9  # every run's simulated server timing, except the slow one
SLOW_QUEUE_S, SLOW_EXECUTION_S = 5, 40
LONG_THREAD_MESSAGES = 12
DUPLICATE_KEY = "submit-T5-1"

# What the scenario implies; the dashboard tests assert their queries find exactly this.
EXPECTED: dict[str, Any] = {
    "service": SERVICE,
    "threads": 8,
    "deployments": [MINI, PROD],
    "runs_by_status": {"completed": 5, "failed": 1, "incomplete": 1},  # finished runs, each once
    "stuck_runs": 1,
    # the blocked prompt (400) and throttled listing; T4's and the failed run's invoke_agent spans
    "failed_calls_by_class": {"content_filter": 2, "rate_limited": 1, "server_error": 1},
    "throttled_calls": 1,  # calls whose final HTTP status was 429
    "retried_calls": 2,  # calls the SDK retried (x-stainless-retry-count > 0)
    "retries": 3,  # 1 (T5's message) + 2 (T2's exhausted list)
    "blocked_prompts": 1,
    "blocked_outputs": 2,  # T4's run and one chat completion
    "annotated_calls": 1,
    "replies_by_status": {"completed": 4, "incomplete": 1},  # T1 x2, T5, T8; T4 (cut by the filter)
    "duplicate_keys": [DUPLICATE_KEY],
    "long_threads": 1,
    "completed_without_reply": 1,  # T7
    "run_timing": {"queue_s": QUEUE_S, "execution_s": EXECUTION_S},
    "slow_run_timing": {"queue_s": SLOW_QUEUE_S, "execution_s": SLOW_EXECUTION_S},
}


@contextlib.contextmanager
def app_request(name: str, request_id: str, **ids: Any) -> Iterator[None]:
    """What the web framework and the app do per request: a SERVER span and the app's ids."""
    tracer = trace.get_tracer("support-bot.web")
    with (
        tracer.start_as_current_span(name, kind=trace.SpanKind.SERVER),
        correlate(request_id=request_id, **ids),
    ):
        yield


def conversation(client: openai.AzureOpenAI, sim: Simulator) -> dict[str, Any]:
    beta = client.beta
    runs = beta.threads.runs
    prod = beta.assistants.create(model=PROD, name="support-prod", tools=[{"type": "code_interpreter"}])
    mini = beta.assistants.create(model=MINI, name="support-mini")
    ids: dict[str, Any] = {"assistants": [prod.id, mini.id], "threads": {}, "runs": {}, "requests": {}}

    def turn(thread_id: str, text: str, assistant_id: str, read: bool = True) -> Any:
        beta.threads.messages.create(thread_id, role="user", content=text)
        run = runs.create_and_poll(thread_id=thread_id, assistant_id=assistant_id, poll_interval_ms=1)
        if read:
            beta.threads.messages.list(thread_id)
        return run

    def new_thread(label: str) -> str:
        thread = beta.threads.create()
        ids["threads"][label] = thread.id
        return str(thread.id)

    with app_request("POST /chat", "web-1"):
        t1 = new_thread("happy")
        ids["runs"]["happy_1"] = turn(t1, "Where is my order?", prod.id).id
        steps = runs.steps.list(run_id=ids["runs"]["happy_1"], thread_id=t1)
        ids["steps"] = [step.id for step in steps.data]
    # The user's second message comes a (server) second later than the first turn: the plugin
    # pairs a reply with the last user message before it, and messages created within the same
    # whole second are ordered only by role, so both turns in one second would pair wrongly.
    time.sleep(1.02 - time.time() % 1)
    with app_request("POST /chat", "web-2"):
        ids["runs"]["happy_2"] = turn(t1, "Can you change the address?", prod.id).id

    with app_request("POST /chat", "web-3"):
        t2 = new_thread("failing")
        sim.add_fault(429, method="GET", path=f"/threads/{t2}/runs", times=3)
        with contextlib.suppress(openai.RateLimitError):
            runs.list(thread_id=t2)
        sim.next_run_outcome("failed")
        ids["runs"]["failed"] = turn(t2, "Refund me twice", prod.id).id

    with app_request("POST /chat", "web-4"):
        t3 = new_thread("blocked_prompt")
        sim.add_fault(kind="content_filter", method="POST", path=f"/threads/{t3}/messages", times=1)
        with contextlib.suppress(openai.BadRequestError):
            beta.threads.messages.create(t3, role="user", content="something the filter blocks")

    with app_request("POST /chat", "web-5"):
        t4 = new_thread("blocked_output")
        sim.next_run_outcome("content_filter")
        ids["runs"]["blocked_output"] = turn(t4, "Tell me a story", prod.id).id

    with app_request("POST /chat", "web-6", idempotency_key=DUPLICATE_KEY):
        t5 = new_thread("duplicate")
        sim.add_fault(429, method="POST", path=f"/threads/{t5}/messages", times=1)
        beta.threads.messages.create(t5, role="user", content="Cancel my subscription")
    with app_request("POST /chat", "web-7", idempotency_key=DUPLICATE_KEY):  # the app's own retry
        ids["runs"]["duplicate"] = turn(t5, "Cancel my subscription", prod.id).id

    with app_request("POST /chat", "web-8"):
        t6 = new_thread("stuck")
        beta.threads.messages.create(t6, role="user", content="Hello?")
        ids["runs"]["stuck"] = runs.create(thread_id=t6, assistant_id=prod.id).id

    with app_request("POST /chat", "web-9"):
        t7 = new_thread("silent")
        sim.run_timing(queue_s=SLOW_QUEUE_S, execution_s=SLOW_EXECUTION_S)
        ids["runs"]["silent"] = turn(t7, "Summarise my account", mini.id, read=False).id
        sim.run_timing(queue_s=QUEUE_S, execution_s=EXECUTION_S)

    with app_request("POST /chat", "web-10"):
        t8 = new_thread("long")
        for n in range(LONG_THREAD_MESSAGES - 1):
            beta.threads.messages.create(t8, role="user", content=f"Detail number {n}")
        ids["runs"]["long"] = turn(t8, "That is all", mini.id).id

    with app_request("POST /classify", "web-11"):
        sim.next_content_filter("annotated", "blocked_output")
        messages: Any = [{"role": "user", "content": "Classify this ticket"}]
        client.chat.completions.create(model=PROD, messages=messages)
        client.chat.completions.create(model=PROD, messages=messages)
    return ids


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--prometheus", help="write the Prometheus text exposition of the metrics here")
    args = parser.parse_args()
    reader: Any = None
    if args.prometheus:
        from opentelemetry.exporter.prometheus import PrometheusMetricReader
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider

        resource = Resource.create({"service.name": SERVICE})
        reader = PrometheusMetricReader()
        provider = TracerProvider(resource=resource)
        trace.set_tracer_provider(provider)
        session = assistant_telemetry.instrument(
            tracer_provider=provider,
            meter_provider=MeterProvider(resource=resource, metric_readers=[reader]),
            message_fingerprint_key=FINGERPRINT_KEY,
        )
    else:
        session = assistant_telemetry.instrument(
            azure_monitor_options=AZURE_OPTIONS, message_fingerprint_key=FINGERPRINT_KEY
        )
    with Simulator() as sim:
        sim.deploy(PROD, "gpt-4o")
        sim.deploy(MINI, "gpt-4o-mini")
        sim.run_timing(queue_s=QUEUE_S, execution_s=EXECUTION_S)
        client = openai.AzureOpenAI(
            azure_endpoint=sim.azure_endpoint, api_key="test-key", api_version=API_VERSION, max_retries=2
        )
        ids = conversation(client, sim)
    if args.prometheus:  # a scrape; flush() would collect too, and the reader hands out each collection once
        from prometheus_client import REGISTRY, generate_latest

        with open(args.prometheus, "wb") as out:
            out.write(generate_latest(REGISTRY))
    session.flush()
    print(json.dumps({"exporter": session.exporter, **ids}))


if __name__ == "__main__":
    main()
