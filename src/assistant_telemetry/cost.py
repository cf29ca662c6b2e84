"""Estimated cost of one span's own tokens, from the price table the user gave (no built-in prices).

Prices change and differ per deployment and contract, so only the user's table prices anything
(config.load_prices). The cost goes on the span that carries the execution's or call's usage
(usage once: calls.Call.settle), as Microsoft's Agents workbook reads it:
``microsoft.gen_ai.cost.input`` / ``.output``, doubles in the table's currency (the workbook shows
them as USD). A name the table does not list prices nothing: no cost attribute, a debug log once.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from . import semconv as sc
from .config import Price, PriceTable

logger = logging.getLogger("assistant_telemetry")

PER_TOKENS = 1_000_000  # the table's prices are per million tokens
# Which of the span's names the table is looked up by, first match wins: the Azure deployment (what
# a contract prices), then the model that answered, then the model asked for.
PRICE_KEYS = (sc.AZURE_DEPLOYMENT, sc.RESPONSE_MODEL, sc.REQUEST_MODEL)
UNPRICED_LOGGED_CAP = 256  # names logged as unpriced (once each)


def find_price(attrs: Mapping[str, Any], table: PriceTable) -> Price | None:
    """The first of the span's deployment / response model / request model the table lists."""
    prices = table.prices
    for key in PRICE_KEYS:
        name = attrs.get(key)
        if isinstance(name, str):
            price = prices.get(name)
            if price is not None:
                return price
    return None


def span_costs(attrs: Mapping[str, Any], table: PriceTable) -> dict[str, float]:
    """``{cost.input, cost.output}`` from the span's own token counts, or {} (no usage, no price).

    Both are set whenever one is: the workbook sums ``input + output`` per row, and a missing one
    (an output count of 0 is not recorded) would make the row's sum null. Cached input tokens are
    part of the input tokens; ``cached_input`` prices them when the table gives it.
    """
    input_tokens = attrs.get(sc.USAGE_INPUT_TOKENS)
    output_tokens = attrs.get(sc.USAGE_OUTPUT_TOKENS)
    if input_tokens is None and output_tokens is None:
        return {}
    price = find_price(attrs, table)
    if price is None:
        _unpriced(attrs, table)
        return {}
    inputs = input_tokens or 0
    cached = 0
    if price.cached_input is not None:
        cached = min(max(attrs.get(sc.USAGE_CACHE_READ_INPUT_TOKENS) or 0, 0), inputs)
    input_cost = (inputs - cached) * price.input + cached * (price.cached_input or 0.0)
    return {
        sc.COST_INPUT: input_cost / PER_TOKENS,
        sc.COST_OUTPUT: (output_tokens or 0) * price.output / PER_TOKENS,
    }


def _unpriced(attrs: Mapping[str, Any], table: PriceTable) -> None:
    """Say once per name that the table has no price for it (a misspelt key is the usual cause)."""
    seen = table.unpriced
    name = next((attrs[key] for key in PRICE_KEYS if isinstance(attrs.get(key), str)), "")
    if name not in seen and len(seen) < UNPRICED_LOGGED_CAP:
        seen.add(name)
        logger.debug("assistant_telemetry: no price for %r (keys tried: %s)", name, ", ".join(PRICE_KEYS))
