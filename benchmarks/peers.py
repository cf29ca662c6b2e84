"""Peers on the same calls: OpenTelemetry's openai-v2, OpenInference, OpenLLMetry, and us.

    .venv/bin/python benchmarks/overhead.py --peers     # the main table, then this one
    .venv/bin/python benchmarks/peers.py                # this one only

The peers live in their own virtual environment, benchmarks/.peers-venv (created on first use,
gitignored), never in .venv. Each instrumentation is measured in its own process, on
``chat.completions.create`` (the call every peer instruments) through the same mock API, with
the same method as overhead.py (benchmarks/measure.py): interleaved plain / recording / sampled
out blocks, and the floor measured in that same process. Each peer runs with its defaults
(OpenInference and OpenLLMetry record message content by default; openai-v2 and we do not).

The venv gets the newest openai the peers work with: ``PEERS_OPENAI`` below (they import
``httpx`` and patch for openai 1.x/2.x; openai 3.x moved to ``httpx2``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / "benchmarks" / ".peers-venv"
PYTHON = VENV / "bin" / "python"
PEERS_OPENAI = "openai==2.54.0"
PACKAGES = (
    PEERS_OPENAI,
    "opentelemetry-sdk",
    "opentelemetry-instrumentation-openai-v2",
    # openai-v2 2.4b0 asks for util-genai>=0.4b0 but imports a module 1.x removed (instruments)
    "opentelemetry-util-genai==0.4b0",
    "openinference-instrumentation-openai",
    "opentelemetry-instrumentation-openai",
)
# name -> (distribution, how to instrument)
PEERS = {
    "assistant-telemetry (us)": "assistant-telemetry",
    "OpenTelemetry openai-v2": "opentelemetry-instrumentation-openai-v2",
    "OpenInference": "openinference-instrumentation-openai",
    "OpenLLMetry": "opentelemetry-instrumentation-openai",
}
USER = [{"role": "user", "content": "What is the weather like?"}]


def ensure_venv() -> None:
    """Create benchmarks/.peers-venv with the peers, the project and a peer-compatible openai."""
    stamp = VENV / ".installed"
    wanted = "\n".join(PACKAGES)
    if stamp.exists() and stamp.read_text() == wanted:
        return
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    pip = [str(PYTHON), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "--pre", *PACKAGES, "-e", str(ROOT)], check=True)
    stamp.write_text(wanted)


def instrument(peer: str, tracer_provider: Any, meter_provider: Any) -> None:
    if peer == "assistant-telemetry (us)":
        import assistant_telemetry

        assistant_telemetry.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    elif peer == "OpenTelemetry openai-v2":
        from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor

        OpenAIInstrumentor().instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    elif peer == "OpenInference":
        from openinference.instrumentation.openai import OpenAIInstrumentor as OpenInference

        OpenInference().instrument(tracer_provider=tracer_provider)
    elif peer == "OpenLLMetry":
        from opentelemetry.instrumentation.openai import OpenAIInstrumentor as OpenLLMetry

        OpenLLMetry().instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    else:
        raise ValueError(peer)


def measure_peer(peer: str, seconds: float) -> dict[str, Any]:
    """Inside the peers venv: one peer's overhead on chat.completions.create, with its own floor."""
    from importlib.metadata import version

    from measure import Pipeline, Toggle, Variant, Workload, interleave
    from mock_api import MockApi

    warnings.filterwarnings("ignore")
    api = MockApi()  # imports openai first: instrumentations that defer to its import apply now
    pipeline = Pipeline()
    instrument(peer, pipeline.tracer_provider, pipeline.meter_provider)
    toggle = Toggle("openai")

    def state(wrapped: bool, recording: bool) -> Callable[[], None]:
        def enter() -> None:
            toggle.set(wrapped)
            pipeline.sampler.recording = recording

        return enter

    chat = Workload("chat", lambda c: lambda: c.chat.completions.create(model="gpt-4o", messages=USER))
    variants = [
        Variant("plain", state(False, True), api.client),
        Variant("recording", state(True, True), api.client),
        Variant("sampled out", state(True, False), api.client),
    ]
    results = interleave(
        variants, [chat], Variant("floor", state(False, True), pipeline.floor), seconds, 0.002
    )
    rec, off = results.overhead("recording", "chat"), results.overhead("sampled out", "chat")
    return {
        "peer": peer,
        "version": version(PEERS[peer]),
        "openai": version("openai"),
        "floor_us": results.floor_s() * 1e6,
        "plain_us": results.plain("chat") * 1e6,
        "recording_us": [rec.median * 1e6, rec.low * 1e6, rec.high * 1e6],
        "sampled_out_us": [off.median * 1e6, off.low * 1e6, off.high * 1e6],
        "rounds": results.rounds,
    }


def compare(seconds: float = 20.0, markdown: bool = False) -> str:
    """Every peer in its own process in the peers venv; one table."""
    from measure import render

    ensure_venv()
    rows = [
        (
            "instrumentation",
            "version",
            "plain us",
            "overhead us (95% CI)",
            "x floor",
            "sampled out us",
            "x floor",
        )
    ]
    floors = []
    openai_version = "?"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "benchmarks"), str(ROOT / "tests")])}
    for peer in PEERS:
        done = subprocess.run(
            [str(PYTHON), __file__, "--run", peer, "--seconds", str(seconds)],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        if done.returncode != 0:
            rows.append((peer, "failed", "", done.stderr.strip().splitlines()[-1][:60], "", "", ""))
            continue
        found = json.loads(done.stdout.strip().splitlines()[-1])
        floor, rec, off = found["floor_us"], found["recording_us"], found["sampled_out_us"]
        floors.append(floor)
        openai_version = found["openai"]
        rows.append(
            (
                peer,
                found["version"],
                f"{found['plain_us']:.0f}",
                f"{rec[0]:.1f} ({rec[1]:.1f} to {rec[2]:.1f})",
                f"{rec[0] / floor:.2f}",
                f"{off[0]:.1f}",
                f"{off[0] / floor:.2f}",
            )
        )
    head = (
        f"peers on chat.completions.create, openai {openai_version}, each in its own process;"
        f" floor there: {', '.join(f'{f:.1f}' for f in floors)} us"
    )
    return head + "\n\n" + render(rows, markdown, left=2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=20.0, help="measuring time per peer")
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--run", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.run:
        print(json.dumps(measure_peer(args.run, args.seconds)))
        return 0
    print(compare(args.seconds, args.markdown))
    return 0


if __name__ == "__main__":
    sys.exit(main())
