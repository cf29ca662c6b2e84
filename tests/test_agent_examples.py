"""examples/openai_agents.py and examples/agent_framework_agent.py run against the simulator: each run
is an invoke_agent span with a chat span per model call and an execute_tool span; no content."""

from __future__ import annotations

import pytest

from example_runs import run_example


@pytest.mark.timeout(150)
@pytest.mark.parametrize("example", ["openai_agents.py", "agent_framework_agent.py"])
def test_example_runs_against_the_simulator(example: str) -> None:
    out = run_example(example)
    assert out.count('"name": "invoke_agent weather-helper"') == 2  # the plain run and the streamed one
    assert out.count('"name": "execute_tool get_weather"') == 2
    assert out.count('"name": "chat"') == 4  # two model calls per run
    assert '"gen_ai.tool.call.id": "call_' in out
    exported = _telemetry(out)
    for content in (
        "Answer briefly",
        "Will it rain",
        "And tomorrow",
        "Sunny in",
    ):  # instructions, input, tool output
        assert content not in exported


def _telemetry(out: str) -> str:
    """The exported JSON only (the example also prints the model's answers)."""
    return "\n".join(line for line in out.splitlines() if not line.startswith(("run:", "streamed:")))
