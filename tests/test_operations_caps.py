"""Length caps: 10 KB ids and long header values from the service are cut; memory stays bounded.

The simulator's ``oversize`` fault pads every id to 10 KB and sends a long x-request-id (12 KB:
httpx refuses a header block over 16 KB); ``oversize_headers`` sends 60 KB values to the
azure-core client. A few thousand such calls in a fresh process must not grow RSS beyond a bound.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from assistant_telemetry import semconv as sc
from assistant_telemetry.simulator import Simulator

from conftest import Telemetry

SRC = str(Path(__file__).resolve().parents[1] / "src")


def longest(span: Any) -> int:
    sizes = [0]
    for value in span.attributes.values():
        values = value if isinstance(value, tuple) else (value,)
        sizes += [len(v) for v in values if isinstance(v, str)]
    for event in span.events:
        sizes += [len(v) for v in event.attributes.values() if isinstance(v, str)]
    return max(sizes)


@pytest.mark.timeout(60)
def test_oversize_ids_and_headers_are_capped(telemetry: Telemetry, client: Any, sim: Simulator) -> None:
    thread = client.beta.threads.create()
    sim.add_fault(kind="oversize", method="POST", path="/threads/*/messages", times=None)
    message = client.beta.threads.messages.create(thread.id, role="user", content="hi")
    assert len(message.id) == 10 * 1024 and len(message._request_id) == 12 * 1024  # they did arrive
    span = telemetry.one("create_message")
    assert longest(span) == sc.SERVICE_VALUE_CAP
    assert span.attributes[sc.MESSAGE_ID] == message.id[: sc.SERVICE_VALUE_CAP]
    assert span.attributes[sc.REQUEST_ID] == message._request_id[: sc.SERVICE_VALUE_CAP]


@pytest.mark.timeout(60)
def test_sixty_kilobyte_headers_through_azure_core(
    telemetry: Telemetry, agents_client: Any, sim: Simulator
) -> None:
    sim.add_fault(kind="oversize_headers", method="POST", path="*threads", times=1)
    agents_client.threads.create()
    (span,) = telemetry.spans
    assert longest(span) <= sc.SERVICE_VALUE_CAP
    assert len(span.attributes[sc.AZURE_SERVICE_REQUEST_ID]) == sc.SERVICE_VALUE_CAP


RSS_APP = """
import json, sys, psutil, warnings
warnings.simplefilter("ignore")
import assistant_telemetry, openai
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.metrics import MeterProvider
from assistant_telemetry.simulator import Simulator
assistant_telemetry.instrument(tracer_provider=TracerProvider(), meter_provider=MeterProvider())
with Simulator() as sim:
    client = openai.OpenAI(base_url=sim.base_url, api_key="k", max_retries=0)
    thread = client.beta.threads.create()
    sim.add_fault(kind="oversize", method="*", path="/threads/*/messages*", times=None)
    def rss():
        return psutil.Process().memory_info().rss / 2**20
    for number in range(int(sys.argv[1])):
        client.beta.threads.messages.create(thread.id, role="user", content="hi")
        if number == 299:
            warm = rss()
    print(json.dumps({"growth_mb": rss() - warm}))
"""


@pytest.mark.timeout(300)
def test_rss_stays_bounded_over_thousands_of_oversize_calls(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(RSS_APP)
    done = subprocess.run(
        [sys.executable, "app.py", "3000"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": SRC},
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    # 2,700 calls after warm-up, each remembering a (message id, status) and a thread's last user
    # message: 10 KB ids uncapped would keep ~55 MB; capped at 256 characters, a few MB.
    assert report["growth_mb"] < 15, report


@pytest.mark.timeout(60)
def test_providers_we_create_honour_the_attribute_length_limit(tmp_path: Path) -> None:
    code = (
        "import json, openai, assistant_telemetry\n"
        "from assistant_telemetry.simulator import Simulator\n"
        "s = assistant_telemetry.instrument(exporter='file', file_path='out.jsonl')\n"
        "with Simulator() as sim:\n"
        "    openai.OpenAI(base_url=sim.base_url, api_key='k').beta.threads.create()\n"
        "assert s.flush(5000)\n"
    )
    (tmp_path / "app.py").write_text(code)
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    done = subprocess.run(
        [sys.executable, "app.py"],
        cwd=tmp_path,
        env={**clean, "PYTHONPATH": SRC, "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT": "8"},
        capture_output=True,
        text=True,
        timeout=50,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    with open(tmp_path / "out.jsonl", encoding="utf-8") as lines:
        (span,) = [r for r in map(json.loads, lines) if r["signal"] == "span"]
    assert len(span["attributes"][sc.THREAD_ID]) == 8  # a simulator thread id is longer
