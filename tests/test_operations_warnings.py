"""The openai SDK's DeprecationWarning for the app's own call names the app's file, instrumented or not."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SRC = str(Path(__file__).resolve().parents[1] / "src")
APP = """
import asyncio, json, sys, warnings
if sys.argv[1] == "on":
    import assistant_telemetry
    assistant_telemetry.instrument(exporter="file", file_path="out.jsonl")
import openai
from assistant_telemetry.simulator import Simulator
with Simulator() as sim, warnings.catch_warnings(record=True) as seen:
    warnings.simplefilter("default")  # what -W default shows: warnings attributed to __main__
    client = openai.OpenAI(base_url=sim.base_url, api_key="k")
    thread = client.beta.threads.create()
    client.beta.threads.messages.list(thread.id)
    async def main():
        await openai.AsyncOpenAI(base_url=sim.base_url, api_key="k").beta.threads.create()
    asyncio.run(main())
print(json.dumps([(w.filename, w.lineno) for w in seen if w.category is DeprecationWarning]))
"""


@pytest.mark.timeout(120)
def test_deprecation_warnings_keep_the_apps_frame(tmp_path: Path) -> None:
    script = tmp_path / "app.py"
    script.write_text(APP)
    found = {}
    for mode in ("off", "on"):
        done = subprocess.run(
            [sys.executable, "-W", "default", str(script), mode],
            cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": SRC},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        found[mode] = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(found["off"]) == 3
    assert found["on"] == found["off"]
    assert {filename for filename, _ in found["on"]} == {str(script)}
