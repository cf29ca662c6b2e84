"""Cost from a user-given price table: microsoft.gen_ai.cost.input / .output on the spans that count usage.

- The table: ``instrument(prices=...)`` or ASSISTANT_TELEMETRY_PRICES (inline JSON or a file); a bad
  one raises at ``instrument()`` before anything is wrapped; none means no cost attribute anywhere.
- Spans: the real openai SDK against the simulator; every span that carries usage carries its cost,
  tokens x prices computed here; reads of finished executions carry neither; an unknown model no cost.
- Exporters: the real OTLP exporter delivers doubles; the Agents workbook's cost panels (the real
  Azure Monitor exporter, duckdb-kql) show the scenario's costs, and its cost data check passes.
- Frameworks: Agent Framework's own chat spans (ours are guests on them) get the cost too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

import assistant_telemetry
from assistant_telemetry import runtime
from assistant_telemetry import semconv as sc
from assistant_telemetry.config import Price, PriceTable, PriceTableError, load_prices
from assistant_telemetry.cost import span_costs
from assistant_telemetry.simulator import Simulator
from test_agents_workbook import DEPLOYMENT, MODEL, Exported, export_scenario

from conftest import Telemetry
from receivers import OtlpReceiver

M = 1_000_000
# Prices per million tokens. MODEL (what the deployment serves) is listed at another price: Azure rows
# must be priced by their deployment, which comes first.
PRICES: dict[str, dict[str, float]] = {
    DEPLOYMENT: {"input": 2.5, "output": 10.0},
    MODEL: {"input": 100.0, "output": 100.0},
    "gpt-4o": {"input": 5.0, "output": 15.0, "cached_input": 1.25},
}


def expected(model: str, input_tokens: int, output_tokens: int, cached: int = 0) -> tuple[float, float]:
    """The costs as the table says, computed here (not by the code under test)."""
    price = PRICES[model]
    cached_price = price.get("cached_input", price["input"])
    return (
        ((input_tokens - cached) * price["input"] + cached * cached_price) / M,
        output_tokens * price["output"] / M,
    )


# --- the table: parsing and its errors -------------------------------------------------------------


def test_a_mapping_inline_json_and_a_file_give_the_same_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ASSISTANT_TELEMETRY_PRICES", raising=False)
    want = {DEPLOYMENT: Price(2.5, 10.0), MODEL: Price(100.0, 100.0), "gpt-4o": Price(5.0, 15.0, 1.25)}
    path = tmp_path / "prices.json"
    path.write_text(json.dumps(PRICES), encoding="utf-8")
    for given in (PRICES, json.dumps(PRICES), str(path), path):
        table = load_prices(given)
        assert table is not None and dict(table.prices) == want
    monkeypatch.setenv("ASSISTANT_TELEMETRY_PRICES", str(path))
    assert load_prices(None) == load_prices(PRICES)
    monkeypatch.setenv("ASSISTANT_TELEMETRY_PRICES", f"  {json.dumps({'m': {'input': 1, 'output': 2}})} ")
    assert load_prices(None) == PriceTable({"m": Price(1.0, 2.0)})
    assert load_prices({"m": {"input": 3, "output": 4}}) == PriceTable(
        {"m": Price(3.0, 4.0)}
    )  # argument wins
    monkeypatch.delenv("ASSISTANT_TELEMETRY_PRICES")
    assert load_prices(None) is None and load_prices({}) is None


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("{not json", "not valid JSON"),
        ("/no/such/prices.json", "cannot be read"),
        ("[1, 2]", "expected an object"),
        ({"m": 2.5}, "must be an object"),
        ({"": {"input": 1, "output": 1}}, "every key must be"),
        ({"m": {"input": -1, "output": 1}}, ">= 0"),
        ({"m": {"input": "2.5", "output": 1}}, "must be a number"),
        ({"m": {"input": True, "output": 1}}, "must be a number"),
        ('{"m": {"input": NaN, "output": 1}}', "finite"),
        ({"m": {"input": 1, "output": 1, "currency": "EUR"}}, "unknown field"),
        ({"m": {"input": 1}}, "lacks ['output']"),
    ],
)
def test_a_bad_table_raises_at_instrument(given: Any, message: str) -> None:
    with pytest.raises(PriceTableError, match=re.escape(message)):
        assistant_telemetry.instrument(tracer_provider=TracerProvider(), prices=given)
    assert runtime.ACTIVE is None  # nothing was wrapped
    assistant_telemetry.uninstrument()


@pytest.mark.timeout(30)
def test_a_bad_environment_table_raises_at_instrument(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSISTANT_TELEMETRY_PRICES", '{"gpt-4o": {"input": 1, "output": -2}}')
    with pytest.raises(ValueError, match=r"ASSISTANT_TELEMETRY_PRICES.*'gpt-4o' output"):
        assistant_telemetry.instrument(tracer_provider=TracerProvider())
    assert runtime.ACTIVE is None
    assistant_telemetry.uninstrument()


def test_costs_key_order_cached_input_and_misses() -> None:
    table = load_prices(PRICES)
    assert table is not None
    usage = {sc.USAGE_INPUT_TOKENS: 1000, sc.USAGE_OUTPUT_TOKENS: 200, sc.USAGE_CACHE_READ_INPUT_TOKENS: 400}
    azure = {**usage, sc.AZURE_DEPLOYMENT: DEPLOYMENT, sc.RESPONSE_MODEL: MODEL, sc.REQUEST_MODEL: "gpt-4o"}
    assert span_costs(azure, table) == pytest.approx(
        dict(zip((sc.COST_INPUT, sc.COST_OUTPUT), expected(DEPLOYMENT, 1000, 200), strict=True))
    )
    # no deployment: the response model, then the request model; cached input at its own price
    answered = {**usage, sc.RESPONSE_MODEL: "gpt-4o", sc.REQUEST_MODEL: MODEL}
    assert span_costs(answered, table) == pytest.approx(
        dict(zip((sc.COST_INPUT, sc.COST_OUTPUT), expected("gpt-4o", 1000, 200, 400), strict=True))
    )
    asked = {**usage, sc.RESPONSE_MODEL: "gpt-4o-2024-08-06", sc.REQUEST_MODEL: "gpt-4o"}
    assert span_costs(asked, table) == span_costs(answered, table)
    # an output count of 0 is not recorded: cost.output is still set (the workbook sums both per row)
    assert span_costs({sc.USAGE_INPUT_TOKENS: 10, sc.REQUEST_MODEL: DEPLOYMENT}, table) == {
        sc.COST_INPUT: 10 * 2.5 / M,
        sc.COST_OUTPUT: 0.0,
    }
    assert span_costs({**usage, sc.REQUEST_MODEL: "unknown-model"}, table) == {}
    assert span_costs({sc.REQUEST_MODEL: DEPLOYMENT}, table) == {}  # no usage, no cost
    assert "unknown-model" in table.unpriced  # logged once


# --- spans: the real SDK against the simulator ------------------------------------------------------


@pytest.fixture
def priced(strict_guard: None) -> Iterator[Telemetry]:
    t = Telemetry()
    assistant_telemetry.instrument(
        tracer_provider=t.tracer_provider, meter_provider=t.meter_provider, prices=PRICES
    )
    yield t
    assistant_telemetry.uninstrument()


def _costs(span: Any) -> tuple[float, float] | None:
    attrs = span.attributes
    if sc.COST_INPUT not in attrs and sc.COST_OUTPUT not in attrs:
        return None
    return attrs[sc.COST_INPUT], attrs[sc.COST_OUTPUT]


@pytest.mark.timeout(120)
def test_every_span_that_counts_usage_carries_its_cost(
    priced: Telemetry, sim: Simulator, client: Any
) -> None:
    truth: list[tuple[float, float]] = []
    response = client.responses.create(model="gpt-4o", input="hi")
    usage = response.usage
    cached = usage.input_tokens_details.cached_tokens
    assert cached > 0  # the cached price is exercised
    truth.append(expected("gpt-4o", usage.input_tokens, usage.output_tokens, cached))
    client.responses.retrieve(response.id)  # a read of a finished response: no usage, no cost
    assistant = client.beta.assistants.create(model="gpt-4o", name="helper")
    thread = client.beta.threads.create()
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.usage is not None
    truth.append(expected("gpt-4o", run.usage.prompt_tokens, run.usage.completion_tokens))
    client.beta.threads.runs.retrieve(run.id, thread_id=thread.id)  # a read of a finished run
    chat = client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    truth.append(expected("gpt-4o", chat.usage.prompt_tokens, chat.usage.completion_tokens))
    unknown = client.chat.completions.create(model="o9-mini", messages=[{"role": "user", "content": "hi"}])
    assert unknown.usage is not None

    spans = priced.spans
    with_usage = [s for s in spans if sc.USAGE_INPUT_TOKENS in s.attributes]
    costs = [_costs(s) for s in with_usage if s.attributes.get(sc.REQUEST_MODEL) != "o9-mini"]
    assert None not in costs
    flat = [value for pair in sorted(c for c in costs if c) for value in pair]
    assert flat == pytest.approx([value for pair in sorted(truth) for value in pair])  # tokens x prices
    assert all(isinstance(value, float) for value in flat)
    reads = [s for s in spans if s.attributes.get(sc.USAGE_REPORTED_ELSEWHERE)]
    assert len(reads) == 2 and all(_costs(s) is None for s in reads)
    unpriced = [s for s in with_usage if s.attributes.get(sc.REQUEST_MODEL) == "o9-mini"]
    assert len(unpriced) == 1 and _costs(unpriced[0]) is None  # silent: no cost, no error
    assert len([s for s in spans if _costs(s) is not None]) == len(truth)


@pytest.mark.timeout(60)
def test_without_a_table_no_span_carries_a_cost(telemetry: Telemetry, client: Any) -> None:
    client.responses.create(model="gpt-4o", input="hi")
    client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    assert [s for s in telemetry.spans if sc.USAGE_INPUT_TOKENS in s.attributes]
    assert all(_costs(s) is None for s in telemetry.spans)


@pytest.mark.timeout(60)
def test_costs_arrive_as_doubles_over_otlp(strict_guard: None, sim: Simulator) -> None:
    with OtlpReceiver() as receiver:
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(f"{receiver.endpoint}/v1/traces")))
        assistant_telemetry.instrument(tracer_provider=provider, prices=PRICES)
        try:
            client = openai.OpenAI(base_url=sim.base_url, api_key="sk-test", max_retries=0)
            chat = client.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": "hi"}]
            )
        finally:
            assistant_telemetry.uninstrument()
        assert provider.force_flush(10_000)
        provider.shutdown()
        spans = receiver.wait_for(lambda: receiver.spans or None)
    assert chat.usage is not None
    attrs = next(s["attributes"] for s in spans if sc.USAGE_INPUT_TOKENS in s["attributes"])
    want = expected("gpt-4o", chat.usage.prompt_tokens, chat.usage.completion_tokens)
    got = (attrs[sc.COST_INPUT], attrs[sc.COST_OUTPUT])
    assert all(type(value) is float for value in got)  # double_value, not a string
    assert got == pytest.approx(want)


# --- the Agents workbook's cost tab, on rows the real Azure Monitor exporter wrote ------------------


@pytest.fixture(scope="module")
def exported_priced(sim: Simulator) -> Iterator[Exported]:
    with export_scenario(sim, prices=PRICES) as result:
        yield result


@pytest.mark.timeout(120)
def test_cost_tab_data_check_passes_and_every_token_row_is_priced(exported_priced: Exported) -> None:
    assert not exported_priced.leaked  # prices are not content; the scenario's canaries stay out
    rows = [r["customDimensions"] for r in exported_priced.dependencies]
    with_tokens = [d for d in rows if sc.USAGE_INPUT_TOKENS in d]
    checks = exported_priced.run("data_checks")[0]
    assert checks["PricedRows"] == len(with_tokens) > 0  # the workbook shows its cost tab
    assert not [d for d in rows if sc.COST_INPUT in d and sc.USAGE_INPUT_TOKENS not in d]  # no read priced
    # The whole scenario's cost: the app's own usage x the table, model by model (Azure by deployment).
    truth = exported_priced.truth
    want = [expected(model, *counts) for model, counts in truth.usage.items()]
    total = sum(float(d[sc.COST_INPUT]) + float(d[sc.COST_OUTPUT]) for d in with_tokens)
    assert total == pytest.approx(sum(i + o for i, o in want))
    assert set(truth.usage) == {DEPLOYMENT, "gpt-4o"}  # every model of the scenario is in the table


@pytest.mark.timeout(120)
def test_cost_panels_show_the_scenarios_costs(exported_priced: Exported) -> None:
    ids = exported_priced.truth.ids
    input_tokens, output_tokens = ids["concierge_usage"]
    cost = sum(expected(DEPLOYMENT, input_tokens, output_tokens))
    overview = {row["AgentName"]: row for row in exported_priced.run("cost_overview")}
    assert set(overview) == {"Concierge"}  # only chats 1+ hops below an agent span weigh (dashboards.md)
    assert overview["Concierge"]["EstimatedCost"] == pytest.approx(cost)
    assert overview["Concierge"]["TotalTokens"] == input_tokens + output_tokens
    by_model = {row["Model"]: row for row in exported_priced.run("cost_by_model")}
    assert set(by_model) == {DEPLOYMENT} and by_model[DEPLOYMENT]["TotalCost"] == pytest.approx(cost)
    traces = exported_priced.run("cost_per_trace")
    assert len(traces) == 1 and traces[0]["TotalCost"] == pytest.approx(cost)
    assert (traces[0]["InputTokens"], traces[0]["OutputTokens"]) == (input_tokens, output_tokens)


# --- agent frameworks -------------------------------------------------------------------------------


@pytest.mark.timeout(150)
@pytest.mark.parametrize("mode", ["on", "off"])
def test_agent_framework_chats_carry_the_cost(mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Observability on: its chat spans (ours are guests) get the cost; off: ours do. No invoke_agent
    span is priced: the run's cost is its chats', as the workbook sums them (1+ hops below the agent)."""
    import test_agent_framework as app

    monkeypatch.setenv("ASSISTANT_TELEMETRY_PRICES", json.dumps(PRICES))  # the subprocess app reads it
    result = app._run(mode)
    assert result["errors"] == [] and result["canary"] is False
    spans = result["spans"]
    chats = [s["attributes"] for s in spans if s["attributes"].get(sc.OPERATION_NAME) == "chat"]
    assert len(chats) == 4
    for attrs in chats:
        want = expected(
            "gpt-4o",
            attrs[sc.USAGE_INPUT_TOKENS],
            attrs.get(sc.USAGE_OUTPUT_TOKENS, 0),
            attrs.get(sc.USAGE_CACHE_READ_INPUT_TOKENS, 0),
        )
        assert (attrs[sc.COST_INPUT], attrs[sc.COST_OUTPUT]) == pytest.approx(want)
    agents = [s["attributes"] for s in spans if s["attributes"].get(sc.OPERATION_NAME) == "invoke_agent"]
    assert len(agents) == 2 and not [a for a in agents if sc.COST_INPUT in a]
    if mode == "off":  # ours: no usage (its chats carry it); theirs (on) sums its chats' usage, unpriced
        assert not [a for a in agents if sc.USAGE_INPUT_TOKENS in a]
