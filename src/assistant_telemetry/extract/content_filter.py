"""Azure content filter results -> attributes: booleans, severities and blocklist ids, never content.

Azure reports what its content filter did in five places, all read here:
- ``content_filter_results`` objects: per prompt in ``prompt_filter_results`` (or the older
  ``prompt_annotations``), per choice of a chat completion, per streamed annotation chunk;
- a Responses API response's ``content_filters``: one ``{blocked, source_type,
  content_filter_results}`` entry per source (``prompt``, ``completion``), on every response
  object (create, retrieve, and the response a stream's ``response.*`` events carry);
- the 400 that blocks a prompt: ``error.innererror.content_filter_result``;
- a blocked output: ``finish_reason == "content_filter"`` (chat), or
  ``incomplete_details.reason == "content_filter"`` (Assistants and Agents messages and runs,
  responses), or a ``content_filters`` entry with ``blocked: true`` (responses; a blocked
  ``prompt`` entry blocks the prompt).

Each category becomes ``assistant_telemetry.content_filter.<source>.<category>.<field>`` with
source ``prompt`` or ``completion``. Several prompts, choices or chunks merge into the most
severe result per source and category: the highest severity, and ``filtered`` / ``detected``
if any said so. Only the named booleans, the severity word and blocklist ids are read: never
a matched text, a citation (``protected_material_code`` carries URLs and licenses) or an
error message.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .. import semconv as sc
from .fields import Attributes, code, field, items

PROMPT, COMPLETION = sc.CONTENT_FILTER_SOURCES
SAFE, ANNOTATED, BLOCKED_OUTPUT, BLOCKED_PROMPT = "safe", "annotated", "blocked_output", "blocked_prompt"
_OUTCOME_RANK = {SAFE: 0, ANNOTATED: 1, BLOCKED_OUTPUT: 2, BLOCKED_PROMPT: 3}
_SEVERITY_RANK = {severity: rank for rank, severity in enumerate(sc.CONTENT_FILTER_SEVERITIES)}
_BLOCKED = {PROMPT: BLOCKED_PROMPT, COMPLETION: BLOCKED_OUTPUT}
CONTENT_FILTER = "content_filter"  # the finish / incomplete reason and the API error code
# A category Azure reports for a blocked call without saying which category blocked it.
UNSPECIFIED, FILTER_ERROR = "unspecified", "filter_error"

_CATEGORIES = (
    *sc.CONTENT_FILTER_HARM_CATEGORIES,
    *sc.CONTENT_FILTER_DETECTION_CATEGORIES,
    sc.CONTENT_FILTER_BLOCKLIST_CATEGORY,
)
# Spellings seen in Microsoft's samples besides the documented one.
_ALIASES = {"self_harm": ("self-harm", "selfharm")}


def _names(source: str, category: str) -> tuple[str, str, str]:
    base = f"{sc.CONTENT_FILTER_PREFIX}{source}.{category}."
    return base + "filtered", base + "severity", base + "detected"


# (source, category) -> its (filtered, severity, detected) attribute names, built once.
NAMES: dict[tuple[str, str], tuple[str, str, str]] = {
    (source, category): _names(source, category)
    for source in sc.CONTENT_FILTER_SOURCES
    for category in _CATEGORIES
}


def results_attributes(results: Any, source: str, attrs: Attributes) -> None:
    """One ``content_filter_results`` object (dict or SDK model), merged into ``attrs``."""
    if results is None:
        return
    if field(results, "error") is not None:
        attrs[sc.CONTENT_FILTER_ERROR] = True  # the filter did not run; its message is not read
    for category in _CATEGORIES:
        result = field(results, category)
        for alias in _ALIASES.get(category, ()):
            if result is not None:
                break
            result = field(results, alias)
        if result is None:
            continue
        if category == sc.CONTENT_FILTER_BLOCKLIST_CATEGORY:
            _blocklists(result, source, attrs)
        else:
            _merge(
                attrs,
                source,
                category,
                field(result, "filtered"),
                field(result, "severity"),
                field(result, "detected"),
            )


def _merge(
    attrs: Attributes, source: str, category: str, filtered: Any, severity: Any, detected: Any
) -> None:
    """Record a category only when it was flagged: severity above safe, detected, or filtered.

    A safe category adds nothing but the ``safe`` outcome: a span stays small, and an absent
    category reads as "not flagged" wherever the outcome is present.
    """
    word = code(severity)
    word = word.lower() if word is not None else None
    if word not in _SEVERITY_RANK:
        word = None
    if filtered is not True and detected is not True and word in (None, SAFE):
        raise_outcome(attrs, SAFE)
        return
    filtered_key, severity_key, detected_key = NAMES[source, category]
    if isinstance(filtered, bool):
        attrs[filtered_key] = filtered or attrs.get(filtered_key) is True
    if word is not None and _SEVERITY_RANK[word] >= _SEVERITY_RANK.get(attrs.get(severity_key), -1):  # type: ignore[arg-type]
        attrs[severity_key] = word
    if isinstance(detected, bool):
        attrs[detected_key] = detected or attrs.get(detected_key) is True
    raise_outcome(attrs, _BLOCKED[source] if filtered is True else ANNOTATED)


def _blocklists(result: Any, source: str, attrs: Attributes) -> None:
    """``{filtered, details: [{filtered, id}]}`` (current) or ``[{filtered, id}]`` (older versions)."""
    entries = items(result) or items(field(result, "details"))
    filtered = field(result, "filtered") if not isinstance(result, (list, tuple)) else None
    if not isinstance(filtered, bool):
        filtered = any(field(entry, "filtered") is True for entry in entries)
    _merge(attrs, source, sc.CONTENT_FILTER_BLOCKLIST_CATEGORY, filtered, None, bool(entries))
    ids = [found for found in (code(field(entry, "id")) for entry in entries) if found is not None]
    if ids:
        known = list(attrs.get(sc.CONTENT_FILTER_BLOCKLIST_IDS) or ())
        merged = known + [i for i in ids if i not in known]
        attrs[sc.CONTENT_FILTER_BLOCKLIST_IDS] = merged[: sc.CONTENT_FILTER_BLOCKLIST_IDS_CAP]


def raise_outcome(attrs: Attributes, outcome: str) -> None:
    """Keep the most severe outcome seen: safe < annotated < blocked_output < blocked_prompt."""
    if _OUTCOME_RANK[outcome] > _OUTCOME_RANK.get(attrs.get(sc.CONTENT_FILTER_OUTCOME), -1):  # type: ignore[arg-type]
        attrs[sc.CONTENT_FILTER_OUTCOME] = outcome


def blocked(attrs: Attributes, source: str) -> None:
    """The filter blocked the prompt (source ``prompt``) or the output (``completion``)."""
    raise_outcome(attrs, _BLOCKED[source])


def prompt_results_attributes(prompts: Any, attrs: Attributes) -> None:
    """``prompt_filter_results`` (or the older ``prompt_annotations``): one entry per prompt index."""
    for prompt in items(prompts):
        results_attributes(field(prompt, "content_filter_results"), PROMPT, attrs)


def response_filters_attributes(filters: Any, attrs: Attributes) -> None:
    """A response's ``content_filters`` (Azure): ``[{blocked, source_type, content_filter_results}]``.

    ``source_type`` is the source (``prompt`` or ``completion``; other sources are skipped, as
    unknown categories are); ``blocked: true`` blocks that source, whichever categories say so.
    """
    for entry in items(filters):
        source = code(field(entry, "source_type"))
        source = source.lower() if source is not None else None
        if source not in _BLOCKED:
            continue
        results_attributes(field(entry, "content_filter_results"), source, attrs)
        if field(entry, "blocked") is True:
            blocked(attrs, source)


def error_body_attributes(body: Any, attrs: Attributes) -> None:
    """The 400 that blocks a prompt: ``innererror.content_filter_result`` (body or its ``error``)."""
    error = field(body, "error") or body
    inner = field(error, "innererror")
    results = field(inner, "content_filter_result") or field(inner, "content_filter_results")
    results_attributes(results, PROMPT, attrs)
    blocked(attrs, PROMPT)


def incomplete_reason_attributes(attrs: Attributes) -> None:
    """An Assistants / Agents message or run cut short by the filter (read from its attributes)."""
    if CONTENT_FILTER in (attrs.get(sc.MESSAGE_INCOMPLETE_REASON), attrs.get(sc.RUN_INCOMPLETE_REASON)):
        blocked(attrs, COMPLETION)


# --- the counter: one measurement per notable result ------------------------------------------

_METRIC_CONTEXT_KEYS = (sc.PROVIDER_NAME, sc.AZURE_DEPLOYMENT)


def metric_points(attrs: Attributes, run_claimed: bool = True) -> list[dict[str, Any]]:
    """The ``assistant_telemetry.content_filter.results`` measurements a finished call makes.

    One per source and category that the filter flagged (severity above safe, detected, or
    filtered); a block without a flagged category counts as category ``unspecified``; a filter
    that did not run as ``filter_error``. Results read from an Assistants run or message, or
    from a response (they repeat on every retrieve) count only where the execution's end is
    counted (``run_claimed``); a 400 that blocks a prompt is an attempt of its own and counts.
    """
    if not _counts(attrs, run_claimed):
        return []
    outcome = attrs.get(sc.CONTENT_FILTER_OUTCOME)
    failed = attrs.get(sc.CONTENT_FILTER_ERROR) is True
    context = {key: attrs[key] for key in _METRIC_CONTEXT_KEYS if key in attrs}
    points: list[dict[str, Any]] = []
    filtered_sources: set[str] = set()
    for source, category, filtered, severity, detected in _flagged(attrs):
        point = {**context, sc.CONTENT_FILTER_SOURCE: source, sc.CONTENT_FILTER_CATEGORY: category}
        point[sc.CONTENT_FILTER_FILTERED] = filtered
        if severity is not None:
            point[sc.CONTENT_FILTER_SEVERITY] = severity
        if detected is not None:
            point[sc.CONTENT_FILTER_DETECTED] = detected is True
        points.append(point)
        if filtered:
            filtered_sources.add(source)
    for source in sc.CONTENT_FILTER_SOURCES:
        if outcome == _BLOCKED[source] and source not in filtered_sources:
            points.append(
                {
                    **context,
                    sc.CONTENT_FILTER_SOURCE: source,
                    sc.CONTENT_FILTER_CATEGORY: UNSPECIFIED,
                    sc.CONTENT_FILTER_FILTERED: True,
                }
            )
    if failed:
        points.append(
            {**context, sc.CONTENT_FILTER_CATEGORY: FILTER_ERROR, sc.CONTENT_FILTER_FILTERED: False}
        )
    return points


def _counts(attrs: Attributes, run_claimed: bool) -> bool:
    """Whether this span reports the filter's results: it has some, and (for results read from an
    Assistants run or message, or a response, which repeat on every retrieve) it is where the
    execution's end is counted; a 400 that blocks a prompt is an attempt of its own and counts."""
    outcome = attrs.get(sc.CONTENT_FILTER_OUTCOME)
    if outcome is None and attrs.get(sc.CONTENT_FILTER_ERROR) is not True:
        return False
    from_response = attrs.get(sc.EXECUTION_KIND) == sc.EXECUTION_KIND_RESPONSE
    from_run = from_response or sc.RUN_ID in attrs or sc.MESSAGE_ID in attrs
    return not (from_run and not run_claimed and (from_response or outcome != BLOCKED_PROMPT))


def _flagged(attrs: Attributes) -> Iterator[tuple[str, str, bool, Any, Any]]:
    """(source, category, filtered, severity, detected) of each category the filter flagged."""
    for (source, category), (filtered_key, severity_key, detected_key) in NAMES.items():
        filtered = attrs.get(filtered_key) is True
        severity = attrs.get(severity_key)
        detected = attrs.get(detected_key)
        if filtered or detected is True or (severity is not None and severity != SAFE):
            yield source, category, filtered, severity, detected


# --- gen_ai.guardrail.result events: the same results in the conventions' vocabulary ---------------

_INCOMPLETE_KEYS = (sc.RUN_INCOMPLETE_REASON, sc.MESSAGE_INCOMPLETE_REASON, sc.EXECUTION_INCOMPLETE_REASON)


def guardrail_events(attrs: Attributes, run_claimed: bool = True) -> list[dict[str, Any]]:
    """``gen_ai.guardrail.result`` event attributes: one per flagged (source, category), with
    Azure's own words (source ``prompt``/``completion``, category ``self_harm``, severity
    ``medium``); a block no category explains, by the field that reported it; a filter that did
    not run. The conventions forbid inferring allow/deny from a severity: that verdict stays in
    ``assistant_telemetry.content_filter.outcome``. Counted where the metric is (``run_claimed``).
    """
    if not _counts(attrs, run_claimed):
        return []
    base: dict[str, Any] = {sc.GUARDRAIL_COMPONENT_NAME: sc.GUARDRAIL_COMPONENT_AZURE_CONTENT_SAFETY}
    if sc.PROVIDER_NAME in attrs:
        base[sc.PROVIDER_NAME] = attrs[sc.PROVIDER_NAME]
    events: list[dict[str, Any]] = []
    explained: set[str] = set()
    for source, category, filtered, severity, detected in _flagged(attrs):
        if severity is not None:
            result = ("severity", str(severity))
        else:
            result = ("detected", "true" if detected is True else "false")
        event = {**base, sc.GUARDRAIL_SOURCE: source, sc.GUARDRAIL_RISK_CATEGORY: category}
        event[sc.GUARDRAIL_RESULT_TYPE], event[sc.GUARDRAIL_RESULT_VALUE] = result
        event[sc.CONTENT_FILTER_FILTERED] = filtered
        events.append(event)
        if filtered:
            explained.add(source)
    outcome = attrs.get(sc.CONTENT_FILTER_OUTCOME)
    for source in sc.CONTENT_FILTER_SOURCES:
        if outcome == _BLOCKED[source] and source not in explained:
            event = {**base, sc.GUARDRAIL_SOURCE: source, sc.CONTENT_FILTER_FILTERED: True}
            event[sc.GUARDRAIL_RESULT_TYPE], event[sc.GUARDRAIL_RESULT_VALUE] = _block_field(attrs)
            events.append(event)
    if attrs.get(sc.CONTENT_FILTER_ERROR) is True:
        events.append(
            {**base, sc.GUARDRAIL_RESULT_TYPE: "error", sc.GUARDRAIL_RESULT_VALUE: "content_filter_error"}
        )
    return events[: sc.GUARDRAIL_EVENTS_CAP]


def _block_field(attrs: Attributes) -> tuple[str, str]:
    """The provider field that reported a block without naming a category, and its value."""
    if attrs.get(sc.ERROR_CODE) == CONTENT_FILTER:
        return "error.code", CONTENT_FILTER
    if CONTENT_FILTER in (attrs.get(sc.RESPONSE_FINISH_REASONS) or ()):
        return "finish_reason", CONTENT_FILTER
    if any(attrs.get(key) == CONTENT_FILTER for key in _INCOMPLETE_KEYS):
        return "incomplete_details.reason", CONTENT_FILTER
    return "blocked", "true"  # a Responses content_filters entry said blocked: true
