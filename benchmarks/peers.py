"""Peers on every call both instrument, in one run: cost recording and sampled out, what each writes.

    .venv/bin/python benchmarks/peers.py --seconds 60            # the table in docs/performance.md
    .venv/bin/python benchmarks/peers.py --seconds 60 --write-docs   # ... and put it there
    .venv/bin/python benchmarks/peers.py --envs main --seconds 1     # no second venv (smoke test)
    .venv/bin/python benchmarks/peers.py --envs main --peers us --ops "chat stream" --seconds 60
        # per stream chunk, ours only: three variants a round (plain, recording, sampled out)

Every peer is applied to the same process and switched on alone between single calls
(benchmarks/peer_setup.py), so all of them, and we, are timed in the same interleaved rounds
with the paired, Latin-square method of overhead.py (benchmarks/measure.py): one process per
environment, and two environments, because the peers cannot share one:

- ``main`` (this interpreter, openai 3.x): us, OpenTelemetry's genai-openai (on util-genai 1.x),
  OpenInference, OpenLLMetry, azure-ai-projects' AIProjectInstrumentor, Agent Framework's own
  observability (on its agent run only);
- ``openai2`` (benchmarks/.peers-venv, openai 2.x, installed from requirements/peers.txt): us and
  OpenTelemetry's openai-v2 2.4b0, which imports ``httpx`` (openai 3.x uses ``httpx2``) and a
  module of util-genai 0.x that 1.x removed.

Besides the openai calls, one OpenAI Agents SDK ``Runner.run_sync`` and one Agent Framework
``Agent.run``, each of an agent with one function tool (two model calls, one tool call), on the
same mock. The Agents SDK's own tracing (its export to OpenAI) is off for every run: no peer here
is about it.

Content capture is off for every peer; the request text (and the agents' instructions, input and
tool output) is a canary that must not reach any attribute or event. A peer that writes no
span on a call does not instrument it ("-"). Per call, each row also counts span attributes,
span events and metric records, and the bytes the OTLP exporters (protobuf) and the Azure
Monitor exporter (envelope JSON) would send for them, serialized by those exporters' own
encoders, never sent. Ratios compare our row with the peers'
rows of the same process.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import importlib.util
import json
import logging
import os
import platform
import subprocess
import sys
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "benchmarks"), str(ROOT / "tests")]

from peer_setup import Azure, Patches, PeerPipeline, PeerToggle, written  # noqa: E402

from measure import Estimate, Pipeline, Results, Variant, Workload, interleave  # noqa: E402
from mock_api import REPLY  # noqa: E402

VENV = ROOT / "benchmarks" / ".peers-venv"
REQUIREMENTS = ROOT / "requirements" / "peers.txt"
DOCS = ROOT / "docs" / "performance.md"
US = "assistant-telemetry (us)"
CANARY = "canary-0c4f9 the user's words"
USER = [{"role": "user", "content": CANARY}]
CHAT, RESP, RESP_STREAM = "chat.completions.create", "responses.create", "responses.create stream"
POLL, LIST = "runs.create_and_poll (3 polls)", "messages.list"
# One agent run each: the model asks for the function tool, the tool runs, the model answers.
AGENTS_RUN, AF_RUN = "Agents SDK Runner.run_sync, 1 tool call", "Agent Framework Agent.run, 1 tool call"
AF_OWN = "Agent Framework observability"
CHUNKS = (50, 500)  # content chunks of the two chat streams: the per-chunk cost is the slope


def stream_name(chunks: int) -> str:
    return f"chat stream, {chunks} chunks"


TARGET_RECORDING, TARGET_CHUNK_US, TARGET_SAMPLED_OUT, TARGET_OWN = 0.6, 1.5, 0.3, 0.3


def _drain(stream: Any) -> None:
    for _ in stream:
        pass


def _chat_stream(chunks: int) -> Workload:
    def make(c: Any) -> Callable[[], None]:
        return lambda: _drain(
            c.chat.completions.create(model="gpt-4o", messages=USER, stream=True, max_tokens=chunks)
        )

    return Workload(stream_name(chunks), make)


def _loop() -> asyncio.AbstractEventLoop:
    """The thread's default loop, the one ``Runner.run_sync`` runs on: the Agent Framework run is
    driven on it too, so both reuse one loop (and their async clients stay bound to it)."""
    policy = asyncio.get_event_loop_policy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            loop = policy.get_event_loop()
        except RuntimeError:
            loop = policy.new_event_loop()
            policy.set_event_loop(loop)
    return loop


def _agents_run(api: Any) -> Callable[[], None]:
    """OpenAI Agents SDK: ``Runner.run_sync`` of an agent with one function tool over the Responses
    API. Tool and agent are made here, in the variant's state, like its client."""
    from agents import Agent, OpenAIResponsesModel, Runner, function_tool

    @function_tool
    def get_weather(city: str) -> str:
        """Tell the weather of a city."""
        return f"{CANARY}: sunny in {city}"

    model = OpenAIResponsesModel(model="gpt-4o", openai_client=api.async_client(max_retries=0))
    agent = Agent(name="helper", instructions=CANARY, model=model, tools=[get_weather])
    return lambda: _check_answer(Runner.run_sync(agent, CANARY).final_output)


def _agent_framework_run(api: Any) -> Callable[[], None]:
    """Agent Framework: ``Agent.run`` over ``OpenAIChatClient`` (the Responses API) with one function
    tool, on ``_loop()``. Made in the variant's state: its telemetry layers take their histograms
    from the meter of the moment when the client and the tool are made."""
    from agent_framework import Agent, tool
    from agent_framework.openai import OpenAIChatClient

    @tool
    def get_weather(city: str) -> str:
        """Tell the weather of a city."""
        return f"{CANARY}: sunny in {city}"

    client = OpenAIChatClient(async_client=api.async_client(max_retries=0), model="gpt-4o")
    agent = Agent(client, instructions=CANARY, name="helper", tools=[get_weather])
    loop = _loop()
    return lambda: _check_answer(loop.run_until_complete(agent.run(CANARY)).text)


def _check_answer(text: Any) -> None:
    if text != REPLY:  # the run stopped short of the model's second call
        raise RuntimeError(f"agent run ended without the model's answer: {str(text)[:40]!r}")


def has_agents() -> bool:
    """Both agent frameworks installed: the main environment (the openai2 one has openai alone)."""
    return all(importlib.util.find_spec(name) for name in ("agents", "agent_framework"))


def workloads(chunks: tuple[int, int] = CHUNKS, api: Any = None, agents: bool = True) -> tuple[Workload, ...]:
    """Every call measured, the two chat streams with ``chunks`` content chunks; with ``agents`` the
    two agent runs, which make async clients of ``api`` (a ``ChunkedApi``: the one whose sync
    clients the variants use)."""
    runs = (
        Workload(AGENTS_RUN, lambda c: _agents_run(api)),
        Workload(AF_RUN, lambda c: _agent_framework_run(api)),
    )
    return (
        Workload(CHAT, lambda c: lambda: c.chat.completions.create(model="gpt-4o", messages=USER)),
        *(_chat_stream(n) for n in chunks),
        Workload(RESP, lambda c: lambda: c.responses.create(model="gpt-4o", input=CANARY)),
        Workload(
            RESP_STREAM,
            lambda c: lambda: _drain(c.responses.create(model="gpt-4o", input=CANARY, stream=True)),
        ),
        Workload(
            POLL,
            lambda c: (
                lambda: c.beta.threads.runs.create_and_poll(thread_id="thread_1", assistant_id="asst_1")
            ),
        ),
        Workload(LIST, lambda c: lambda: c.beta.threads.messages.list("thread_1")),
        *(runs if agents else ()),
    )


# --- the peers ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Peer:
    name: str
    distribution: str
    env: str  # "main" or "openai2" (see the module docstring)
    claims: frozenset[str]  # calls it must write a span for (a self-check)
    apply: Callable[[PeerPipeline], None]


def _us(p: PeerPipeline) -> None:
    import assistant_telemetry

    assistant_telemetry.instrument(tracer_provider=p.tracer_provider, meter_provider=p.meter_provider)


def _genai_openai(p: PeerPipeline) -> None:
    from opentelemetry.instrumentation.genai.openai import OpenAIInstrumentor

    OpenAIInstrumentor().instrument(tracer_provider=p.tracer_provider, meter_provider=p.meter_provider)


def _openai_v2(p: PeerPipeline) -> None:
    from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor

    OpenAIInstrumentor().instrument(tracer_provider=p.tracer_provider, meter_provider=p.meter_provider)


def _openinference(p: PeerPipeline) -> None:
    from openinference.instrumentation import TraceConfig
    from openinference.instrumentation.openai import OpenAIInstrumentor

    hidden = TraceConfig(hide_inputs=True, hide_outputs=True)
    OpenAIInstrumentor().instrument(tracer_provider=p.tracer_provider, config=hidden)


def _openllmetry(p: PeerPipeline) -> None:
    from opentelemetry.instrumentation.openai import OpenAIInstrumentor

    os.environ["TRACELOOP_TRACE_CONTENT"] = "false"
    OpenAIInstrumentor().instrument(tracer_provider=p.tracer_provider, meter_provider=p.meter_provider)


def _ai_projects(p: PeerPipeline) -> None:
    """azure-ai-projects traces through azure-core's tracing and the global providers."""
    from azure.ai.projects.telemetry import AIProjectInstrumentor
    from azure.core.settings import settings
    from opentelemetry import metrics, trace

    os.environ["AZURE_EXPERIMENTAL_ENABLE_GENAI_TRACING"] = "true"
    settings.tracing_implementation = "opentelemetry"
    trace.set_tracer_provider(p.tracer_provider)
    metrics.set_meter_provider(p.meter_provider)
    AIProjectInstrumentor().instrument(enable_content_recording=False)


def _agent_framework(p: PeerPipeline) -> None:
    """Agent Framework's own observability, content off: ``enable_instrumentation`` on settings of
    its own, and its tracer and meter from this pipeline's providers (the framework asks
    ``trace.get_tracer()`` / ``metrics.get_meter()`` for them at each use: the global ones, which a
    process can set once, and azure-ai-projects has). Both are module attributes, so they are this
    peer's patch set, on only while it is; the framework's settings stay disabled otherwise."""
    from agent_framework import _tools, observability
    from opentelemetry.metrics import Meter
    from opentelemetry.trace import Tracer

    af_version = observability.version_info

    # the framework's own signatures, callers pass none of the arguments
    def get_tracer(
        instrumenting_module_name: str = "agent_framework",
        instrumenting_library_version: str = af_version,
        schema_url: str | None = None,
        attributes: dict[str, Any] | None = None,
    ) -> Tracer:
        return p.tracer_provider.get_tracer(
            instrumenting_module_name, instrumenting_library_version, schema_url, attributes
        )

    def get_meter(
        name: str = "agent_framework",
        version: str = af_version,
        schema_url: str | None = None,
        attributes: dict[str, Any] | None = None,
    ) -> Meter:
        return p.meter_provider.get_meter(name, version, schema_url, attributes)

    observability.OBSERVABILITY_SETTINGS = observability.ObservabilitySettings()
    observability.enable_instrumentation(enable_sensitive_data=False)
    observability.get_tracer = get_tracer
    observability.get_meter = _tools.get_meter = get_meter


def _agents_setup() -> None:
    """Before any peer is recorded: the agent frameworks' modules that get patched are imported
    (the patch sets are found by comparing them), the Agents SDK's own tracing, which exports to
    OpenAI's backend, is off (no peer here is about it: every run is timed without it), and Agent
    Framework's observability is off but for its peer's variants (on, it would stand in for ours)."""
    import agent_framework._agents
    import agent_framework._tools
    import agent_framework.openai  # noqa: F401
    import agents.run
    import agents.run_internal.tool_execution  # noqa: F401
    from agent_framework.observability import disable_instrumentation
    from agents import set_tracing_disabled

    set_tracing_disabled(True)
    disable_instrumentation()


CHATS, RESPONSES = frozenset({CHAT, "chat stream"}), frozenset({RESP, RESP_STREAM})
AGENT_RUNS = frozenset({AGENTS_RUN, AF_RUN})
ALL = CHATS | RESPONSES | {POLL, LIST} | AGENT_RUNS
PEERS = (
    Peer(US, "assistant-telemetry", "main", ALL, _us),
    # The openai peers write a span for each model call inside both agent runs (not for the run or
    # the tool): they claim the runs for those spans.
    Peer(
        "OpenTelemetry genai-openai",
        "opentelemetry-instrumentation-genai-openai",
        "main",
        CHATS | RESPONSES | AGENT_RUNS,
        _genai_openai,
    ),
    Peer("OpenInference", "openinference-instrumentation-openai", "main", ALL, _openinference),
    Peer(
        "OpenLLMetry",
        "opentelemetry-instrumentation-openai",
        "main",
        CHATS | RESPONSES | AGENT_RUNS,
        _openllmetry,
    ),
    Peer("azure-ai-projects", "azure-ai-projects", "main", RESPONSES | AGENT_RUNS, _ai_projects),
    Peer(AF_OWN, "agent-framework-core", "main", frozenset({AF_RUN}), _agent_framework),
    Peer(US, "assistant-telemetry", "openai2", ALL, _us),
    Peer("OpenTelemetry openai-v2", "opentelemetry-instrumentation-openai-v2", "openai2", CHATS, _openai_v2),
)
ENVS = ("main", "openai2")


class ChunkedApi:
    """tests/mock_api.MockApi whose chat streams carry ``max_tokens`` content chunks."""

    def __new__(cls) -> Any:
        from mock_api import MockApi, chat_chunks

        class Chunked(MockApi):
            chunks: int | None = None

            def answer(self, method: str, path: str, payload: Any) -> Any:
                self.chunks = payload.get("max_tokens") if isinstance(payload, dict) else None
                return super().answer(method, path, payload)

            def _events(self, kind: str, body: Any) -> bytes:
                if kind != "chat.completion" or not self.chunks:
                    return super()._events(kind, body)
                chunks = chat_chunks(body)
                at = next(
                    i
                    for i, c in enumerate(chunks)
                    if c["choices"] and c["choices"][0]["delta"].get("content")
                )
                token = {
                    **chunks[at],
                    "choices": [{"index": 0, "delta": {"content": "tok "}, "finish_reason": None}],
                }
                chunks[at : at + 1] = [token] * self.chunks
                return b"".join(f"data: {json.dumps(c)}\n\n".encode() for c in chunks) + b"data: [DONE]\n\n"

        return Chunked()


# --- one environment's process ------------------------------------------------------------------


def _estimate(e: Estimate) -> list[float]:
    return [e.median * 1e6, e.low * 1e6, e.high * 1e6]


def _per_chunk(results: Results, variants: list[Variant], chunks: tuple[int, int]) -> dict[str, list[float]]:
    """Recording, per stream chunk: each round's slope of the paired overheads, then its median.

    Paired within the round (both streams, the variant and plain, timed in it), the round's load
    cancels out of the slope, which the difference of two medians over all rounds keeps."""
    few, many = (stream_name(n) for n in chunks)
    plain, out = results.blocks[results.baseline], {}
    for variant in variants:
        name, _, mode = variant.name.partition("|")
        blocks = results.blocks.get(variant.name, {})
        if mode != "recording" or few not in blocks or many not in blocks or {few, many} & variant.skip:
            continue
        slopes = [
            ((v_many - p_many) - (v_few - p_few)) / (chunks[1] - chunks[0])
            for v_many, p_many, v_few, p_few in zip(
                blocks[many], plain[many], blocks[few], plain[few], strict=True
            )
        ]
        out[name] = _estimate(Estimate.of(slopes))
    return out


def selected(name: str, wanted: str | None) -> bool:
    """``--peers`` / ``--ops``: comma-separated, case-insensitive parts of names ("us" is ours)."""
    if not wanted:
        return True
    name = name.lower()
    return any(
        part and (part in name or (part == "us" and name == US.lower())) for part in wanted.lower().split(",")
    )


def measure_env(
    env: str,
    seconds: float,
    block_ms: float = 2.0,
    chunks: tuple[int, int] = CHUNKS,
    peers: str | None = None,
    ops: str | None = None,
) -> dict[str, Any]:
    """Inside one environment: every peer of ``env`` and we, interleaved in the same rounds.

    ``peers`` and ``ops`` narrow the run (``selected``): fewer variants a round churn the caches
    less, so a narrow run measures one path (a stream's chunks) with less noise."""
    from importlib.metadata import version

    warnings.filterwarnings("ignore")
    logging.getLogger("opentelemetry").setLevel(logging.ERROR)
    api = ChunkedApi()  # imports openai first: instrumentations that wait for its import apply now
    agents = has_agents()
    work = tuple(w for w in workloads(chunks, api, agents) if selected(w.name, ops))
    agents = agents and any(w.name in AGENT_RUNS for w in work)
    if agents:
        _agents_setup()
    patches, pipelines, failed = Patches(), {}, {}
    for peer in (p for p in PEERS if p.env == env and selected(p.name, peers)):
        pipeline = PeerPipeline()
        try:
            if not patches.record(peer.name, functools.partial(peer.apply, pipeline)):
                raise RuntimeError("patched nothing under openai")
        except Exception as error:
            failed[peer.name] = f"{type(error).__name__}: {str(error)[:80]}"
            continue
        pipelines[peer.name] = pipeline
    patches.activate(None)

    def state(peer: str | None, recording: bool = True) -> Callable[[], None]:
        def enter() -> None:
            patches.activate(peer)
            if peer is not None:
                pipelines[peer].sampler.recording = recording

        return enter

    plain = Variant("plain", state(None), api.client)
    variants = [plain]
    for name in pipelines:
        variants += [
            Variant(f"{name}|recording", state(name), api.client),
            Variant(f"{name}|sampled out", state(name, False), api.client),
        ]
    checks, ops = _count(variants, pipelines, env, work)
    for variant in variants[1:]:
        name, mode = variant.name.split("|")
        failing = "error" if mode == "recording" else "error_sampled_out"
        variant.skip = frozenset(w for w, r in ops[name].items() if not r.get("spans") or failing in r)
    if US in pipelines:
        variants += _sdk_alone(variants, pipelines[US], patches, ops, work)
    floor = Variant("floor", state(None), Pipeline().floor)
    results = interleave(
        variants,
        work,
        floor,
        seconds,
        block_ms / 1000,
        progress=lambda n, left: print(
            f"\r{env}: round {n}, {max(left, 0):.0f} s left ", end="", file=sys.stderr, flush=True
        ),
    )
    print(file=sys.stderr)
    return {
        "env": env,
        "openai": version("openai"),
        "python": platform.python_version(),
        "rounds": results.rounds,
        "floor_us": results.floor_s() * 1e6,
        "workloads": [w.name for w in work],
        "chunks": list(chunks),
        "plain_us": {w.name: results.plain(w.name) * 1e6 for w in work},
        "versions": {p.name: version(p.distribution) for p in PEERS if p.env == env and p.name in pipelines},
        "failed": failed,
        "checks": checks,
        "ops": {name: _timed(results, name, found, variants) for name, found in ops.items()},
        "sdk_alone": _sdk_alone_results(results, variants, work),
        "per_chunk_us": _per_chunk(results, variants, chunks),
    }


def _count(
    variants: list[Variant], pipelines: dict[str, PeerPipeline], env: str, work: tuple[Workload, ...]
) -> tuple[list[str], dict[str, dict[str, dict[str, Any]]]]:
    """What one call writes under each peer (recording), and the self-checks."""
    azure = Azure.available()
    checks: list[str] = []
    ops: dict[str, dict[str, dict[str, Any]]] = {}
    for variant in variants[1:]:
        name, mode = variant.name.split("|")
        pipeline = pipelines[name]
        calls = variant.calls(work)
        for workload in work:
            call = calls[workload.name]
            try:
                call(), call()  # steady state: first-call caches filled
                found = written(pipeline, call, CANARY, azure)
            except Exception as error:
                key = "error" if mode == "recording" else "error_sampled_out"
                ops.setdefault(name, {}).setdefault(workload.name, {})[key] = (
                    f"{type(error).__name__}: {error}"[:90]
                )
                checks.append(f"{name}, {mode}: {workload.name} raised into the app: {type(error).__name__}")
                continue
            row = ops.setdefault(name, {}).setdefault(workload.name, {})
            if mode == "recording":
                row.update(asdict(found))
            else:
                row["records_sampled_out"] = found.records
                row["spans_sampled_out"] = found.spans
    peers = {p.name: p for p in PEERS if p.env == env}
    for name, by_op in ops.items():
        for op, row in by_op.items():
            if _claims(peers[name], op) and not row.get("spans") and "error" not in row:
                checks.append(f"{name}: no span on {op}, which it instruments")
            if row.get("content"):
                checks.append(f"{name}: the request text reached its telemetry on {op} (content capture on?)")
    before = sum(p.spans.exported for p in pipelines.values())
    for call in variants[0].calls(work).values():
        call()
    for p in pipelines.values():
        p.tracer_provider.force_flush()
    if sum(p.spans.exported for p in pipelines.values()) != before:
        checks.append("plain calls made spans: the switch between peers failed")
    return checks, ops


def _sdk_alone(
    variants: list[Variant],
    ours: PeerPipeline,
    patches: Patches,
    ops: dict[str, Any],
    work: tuple[Workload, ...],
) -> list[Variant]:
    """overhead.py's SDK-alone replay of our calls: what the SDK alone costs for our telemetry."""
    from overhead import Setup, capture, replayed

    ready = Setup(ours, PeerToggle(patches, US), variants, variants[0])  # type: ignore[arg-type]
    for workload in work:
        try:
            capture(ready, [workload], variant=f"{US}|recording")
        except RuntimeError as error:
            ready.captures.pop(workload.name, None)
            ops[US][workload.name]["sdk_alone"] = str(error).splitlines()[0][:80]
    skip = frozenset(w.name for w in work if w.name not in ready.captures)

    def replay_state(recording: bool) -> Callable[[], None]:
        def enter() -> None:
            patches.activate(None)
            ours.sampler.recording = recording

        return enter

    def replay(recording: bool) -> Callable[[str, Callable[[], Any]], Callable[[], Any]]:
        around = replayed(ready, recording=recording)  # a call not captured is skipped, never timed
        return lambda name, call: call if name in skip else around(name, call)

    client = variants[0].client
    return [
        Variant("SDK alone", replay_state(True), client, replay(True), skip=skip),
        Variant("SDK alone, sampled out", replay_state(False), client, replay(False), skip=skip),
    ]


def _claims(peer: Peer, op: str) -> bool:
    return op in peer.claims or (op.startswith("chat stream") and "chat stream" in peer.claims)


def _timed(
    results: Results, name: str, found: dict[str, dict[str, Any]], variants: list[Variant]
) -> dict[str, Any]:
    skips = {v.name: v.skip for v in variants}
    out = {}
    for op, row in found.items():
        row = dict(row)
        for mode, key in (("recording", "recording_us"), ("sampled out", "sampled_out_us")):
            if op not in skips[f"{name}|{mode}"]:
                row[key] = _estimate(results.overhead(f"{name}|{mode}", op))
        out[op] = row
    return out


def _sdk_alone_results(
    results: Results, variants: list[Variant], work: tuple[Workload, ...]
) -> dict[str, Any]:
    replay = next((v for v in variants if v.name == "SDK alone"), None)
    if replay is None:
        return {}
    out = {}
    for w in work:
        if w.name in replay.skip:
            continue
        out[w.name] = {
            "sdk_us": _estimate(results.overhead("SDK alone", w.name)),
            "own_us": _estimate(results.difference(f"{US}|recording", "SDK alone", w.name)),
            "sdk_sampled_out_us": _estimate(results.overhead("SDK alone, sampled out", w.name)),
            "own_sampled_out_us": _estimate(
                results.difference(f"{US}|sampled out", "SDK alone, sampled out", w.name)
            ),
        }
    return out


# --- the run: one process per environment, one report -------------------------------------------


def ensure_venv() -> Path:
    """benchmarks/.peers-venv from requirements/peers.txt (pinned: no resolve), the project editable."""
    python = VENV / "bin" / "python"
    stamp, wanted = VENV / ".installed", REQUIREMENTS.read_text()
    if stamp.exists() and stamp.read_text() == wanted:
        return python
    uv = ROOT / ".venv-uv" / "bin" / "uv"  # `make uv`; pip when it is not there (slower, same set)
    if uv.exists():
        subprocess.run(
            [str(uv), "venv", "-q", "--clear", "--python", sys.executable, str(VENV)], check=True, timeout=300
        )
        pip = [str(uv), "pip", "install", "-q", "--python", str(python)]
    else:
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True, timeout=300)
        pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "-r", str(REQUIREMENTS)], check=True, timeout=1800)
    subprocess.run([*pip, "--no-deps", "-e", str(ROOT)], check=True, timeout=600)
    stamp.write_text(wanted)
    return python


def run_env(
    env: str, seconds: float, block_ms: float, chunks: str = "50,500", narrow: tuple[str, ...] = ()
) -> dict[str, Any]:
    python = Path(sys.executable) if env == "main" else ensure_venv()
    paths = [str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]
    done = subprocess.run(
        [
            str(python),
            __file__,
            "--run",
            env,
            "--seconds",
            str(seconds),
            "--block-ms",
            str(block_ms),
            "--chunks",
            chunks,
            *narrow,
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=seconds * 4 + 900,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)},
    )
    sys.stderr.write(done.stderr[-2000:] if done.returncode else "")
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines() or ["no output"]
        return {"env": env, "error": lines[-1][:120]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    from peers_report import report, write_docs

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--seconds", type=float, default=60.0, help="measuring time per environment (default 60)"
    )
    parser.add_argument("--block-ms", type=float, default=2.0, help="CPU ms per timed block (default 2)")
    parser.add_argument("--envs", default=",".join(ENVS), help=f"which of {', '.join(ENVS)} (default both)")
    parser.add_argument("--markdown", action="store_true", help="print the tables as markdown")
    parser.add_argument("--json", metavar="PATH", help="also write every environment's results to PATH")
    parser.add_argument("--write-docs", action="store_true", help="put the tables into docs/performance.md")
    parser.add_argument(
        "--chunks", default="50,500", help="content chunks of the two chat streams (default 50,500)"
    )
    parser.add_argument("--peers", help='only these peers (comma-separated parts of names; "us": ours)')
    parser.add_argument("--ops", help='only these calls (comma-separated parts of names: "chat stream")')
    parser.add_argument("--run", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.run:
        short, long = (int(n) for n in args.chunks.split(","))
        run = measure_env(args.run, args.seconds, args.block_ms, (short, long), args.peers, args.ops)
        print(json.dumps(run))
        return 0
    if args.write_docs and (args.peers or args.ops):
        parser.error("--write-docs publishes the full table: not with --peers or --ops")
    narrow = [f"--{k}={v}" for k, v in (("peers", args.peers), ("ops", args.ops)) if v]
    envs = [
        run_env(env, args.seconds, args.block_ms, args.chunks, tuple(narrow)) for env in args.envs.split(",")
    ]
    if args.json:
        Path(args.json).write_text(json.dumps(envs, indent=1))
    head = (
        f"{date.today()}, `benchmarks/peers.py --seconds {args.seconds:g}`, {platform.machine()},"
        f" {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}"
    )
    text = report(envs, markdown=args.markdown or args.write_docs, head=head)
    print(text)
    if args.write_docs:
        write_docs(DOCS, text)
    return 1 if any(env.get("error") or env.get("checks") for env in envs) else 0


if __name__ == "__main__":
    sys.exit(main())
