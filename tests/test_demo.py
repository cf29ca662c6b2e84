"""The README's first command: the demo runs end to end and prints linked ids."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path


def test_demo_prints_a_linked_thread_story(tmp_path: Path) -> None:
    command = Path(sys.executable).parent / "assistant-telemetry"
    done = subprocess.run([str(command), "demo"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    thread_id = re.search(r"^thread (thread_\w+)", out, re.M).group(1)  # type: ignore[union-attr]
    run_ids = re.findall(r"^  run (run_\w+)  agent asst_\w+", out, re.M)
    assert len(run_ids) == 2
    assert len(re.findall(r"req_[0-9a-f]{32}", out)) >= 10  # every call shows its provider request id
    assert "after 1 retry(ies)" in out  # the 429 the demo provokes
    produced = re.search(rf"run ({run_ids[1]}) produced message (msg_\w+)", out)
    assert produced, out
    listed = re.search(r"list_messages .* message\(s\): (.*)$", out, re.M).group(1)  # type: ignore[union-attr]
    assert produced.group(2) in listed  # the run's message is the one the app listed
    records = [json.loads(line) for line in (tmp_path / "assistant-telemetry.jsonl").read_text().splitlines()]
    assert any(r.get("attributes", {}).get("gen_ai.thread.id") == thread_id for r in records)
