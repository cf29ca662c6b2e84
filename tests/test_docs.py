"""The docs stay in step with the code: every name, operation, cap and bucket, every link.

Names are read from ``assistant_telemetry.semconv`` and the operation table at test time,
so a name or operation added without documentation fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from assistant_telemetry import semconv as sc
from assistant_telemetry.calls import _METRIC_KEYS
from assistant_telemetry.instrumentors.openai import OPERATIONS
from assistant_telemetry.spec import Operation

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
ATTRIBUTES = DOCS / "attributes.md"

# Constants holding attribute *values* (what gen_ai.provider.name, gen_ai.system and
# azure.resource_provider.namespace are set to), not names. PROVIDER_NAME is the name itself.
VALUE_CONSTANT = re.compile(r"^(PROVIDER|SYSTEM|AZURE_NAMESPACE)_(?!NAME$)")
FENCE = re.compile(r"^\s*(```|~~~)")
INLINE_CODE = re.compile(r"`[^`\n]*`")
INLINE_LINK = re.compile(r"!?\[[^\]\n]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_LINK = re.compile(r"^\s{0,3}\[[^\]\n]+\]:\s*<?(\S+?)>?(?:\s+.*)?$")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:|^//")


def string_constants() -> dict[str, str]:
    """Every module-level ``Final`` string of semconv (``_NS`` is private and not annotated)."""
    annotated = getattr(sc, "__annotations__", {})
    return {
        name: value
        for name, value in vars(sc).items()
        if name in annotated and "Final" in str(annotated[name]) and isinstance(value, str)
    }


def documented_names() -> dict[str, str]:
    """Attribute, event and metric names: the string constants minus the value constants."""
    return {name: value for name, value in string_constants().items() if not VALUE_CONSTANT.match(name)}


def value_constants() -> dict[str, str]:
    return {name: value for name, value in string_constants().items() if VALUE_CONSTANT.match(name)}


def prose(text: str) -> str:
    """The markdown without fenced code blocks (links and headings there are not real)."""
    kept, fenced = [], False
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            kept.append(line)
    return "\n".join(kept)


def code_spans(text: str) -> set[str]:
    return {span.strip("`") for span in INLINE_CODE.findall(text)}


def section(text: str, heading: str) -> str:
    """The body of the ``## heading`` section, up to the next level-2 heading."""
    match = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", text, flags=re.M | re.S)
    assert match, f"section {heading!r} missing from {ATTRIBUTES.name}"
    return match.group(1)


def github_anchors(text: str) -> set[str]:
    """Anchors GitHub generates for a document's headings (duplicates get -1, -2 ...)."""
    anchors: set[str] = set()
    seen: dict[str, int] = {}
    for line in prose(text).splitlines():
        match = HEADING.match(line)
        if not match:
            continue
        title = re.sub(r"<[^>]+>", "", match.group(2)).strip().lower()
        slug = re.sub(r"[^\w\- ]", "", title).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        anchors.add(slug if count == 0 else f"{slug}-{count}")
    return anchors


def headings(path: Path) -> set[str]:
    return github_anchors(path.read_text(encoding="utf-8"))


def links(text: str) -> list[str]:
    found: list[str] = []
    for line in prose(text).splitlines():
        reference = REFERENCE_LINK.match(line)
        if reference:
            found.append(reference.group(1))
            continue
        found.extend(INLINE_LINK.findall(INLINE_CODE.sub("", line)))
    return found


@pytest.fixture(scope="module")
def attributes_doc() -> str:
    return ATTRIBUTES.read_text(encoding="utf-8")


def test_names_are_derived_from_semconv() -> None:
    names = documented_names()
    assert {"THREAD_ID", "PROVIDER_NAME", "SYSTEM", "EVENT_RUN_STATUS", "METRIC_TOKEN_USAGE"} <= names.keys()
    assert "METADATA_VALUE_PREFIX" in names
    assert not {"PROVIDER_OPENAI", "SYSTEM_AZURE_OPENAI", "AZURE_NAMESPACE_COGNITIVE_SERVICES"} & names.keys()
    assert "_NS" not in names and "LIST_IDS_CAP" not in names  # private prefix; int settings


@pytest.mark.parametrize("constant", sorted(documented_names()))
def test_every_semconv_name_is_documented(constant: str, attributes_doc: str) -> None:
    name = documented_names()[constant]
    spans = code_spans(attributes_doc)
    if name.endswith("."):  # a prefix: documented as `prefix<key>`
        assert any(span.startswith(name + "<") for span in spans), f"`{name}<key>` missing ({constant})"
    else:
        assert name in spans, f"`{name}` ({constant}) is not documented in {ATTRIBUTES.name}"


@pytest.mark.parametrize("constant", sorted(value_constants()))
def test_every_emitted_value_constant_is_documented(constant: str, attributes_doc: str) -> None:
    assert value_constants()[constant] in code_spans(attributes_doc)


def test_attribute_tables_name_only_real_attributes(attributes_doc: str) -> None:
    """The reverse: a renamed or removed attribute does not linger in the reference tables."""
    names = set(documented_names().values())
    prefixes = tuple(name for name in names if name.endswith("."))
    stale = []
    for line in section(attributes_doc, "3. Attributes").splitlines():
        first = re.match(r"^\|\s*`([^`]+)`", line)
        if first:
            name = first.group(1)
            if name not in names and not (name.startswith(prefixes) and name.endswith(">")):
                stale.append(name)
    assert not stale, f"documented but not defined in semconv.py: {stale}"


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: f"{op.owner}.{op.method}")
def test_every_operation_is_documented(operation: Operation, attributes_doc: str) -> None:
    owner, method = operation.owner, operation.method
    # The name every mode emits (the default's too): the agent names of semconv.AGENT_OPERATIONS.
    name = sc.Names().operation(operation.operation, operation.agent_operation)
    rows = [line for line in attributes_doc.splitlines() if line.startswith("|")]
    row = [line for line in rows if f"`{owner}.{method}`" in line]
    assert row, f"`{owner}.{method}` missing from the operations table"
    assert f"`{name}`" in row[0], f"`{owner}.{method}` should map to `{name}` in the operations table"


@pytest.mark.parametrize(
    "cap",
    [
        "LIST_IDS_CAP",
        "REQUEST_IDS_CAP",
        "RUN_OUTCOMES_DEDUP_CAP",
        "SEEN_ITEMS_CAP",
        "REPLY_THREADS_CAP",
        "RUN_CREATED_IDS_CAP",
    ],
)
def test_caps_match_the_code(cap: str, attributes_doc: str) -> None:
    stated = re.findall(rf"`{cap}` = (\d+)", attributes_doc)
    assert stated, f"{cap} is not stated in {ATTRIBUTES.name}"
    assert {int(value) for value in stated} == {getattr(sc, cap)}


@pytest.mark.parametrize(
    ("metric", "buckets"),
    [
        (sc.METRIC_OPERATION_DURATION, sc.DURATION_BUCKETS),
        (sc.METRIC_INVOKE_AGENT_DURATION, sc.INVOKE_AGENT_BUCKETS),
        (sc.METRIC_EXECUTE_TOOL_DURATION, sc.DURATION_BUCKETS),
        (sc.METRIC_TOKEN_USAGE, sc.TOKEN_BUCKETS),
        (sc.METRIC_EXECUTION_DURATION, sc.RUN_DURATION_BUCKETS),
        (sc.METRIC_EXECUTION_QUEUE_TIME, sc.RUN_DURATION_BUCKETS),
        (sc.METRIC_EXECUTION_ACTIVE_TIME, sc.RUN_DURATION_BUCKETS),
        (sc.METRIC_REPLY_TIME, sc.RUN_DURATION_BUCKETS),
        (sc.METRIC_RUN_POLLS, sc.POLL_BUCKETS),
    ],
)
def test_bucket_boundaries_match_the_code(
    metric: str, buckets: tuple[float, ...], attributes_doc: str
) -> None:
    row = next(line for line in attributes_doc.splitlines() if line.startswith(f"| `{metric}` |"))
    stated = [float(n) for n in re.findall(r"\d+(?:\.\d+)?", row.split("boundaries:", 1)[1])]
    assert stated == [float(b) for b in buckets]


def test_metric_attributes_match_the_code(attributes_doc: str) -> None:
    paragraph = next(
        p for p in section(attributes_doc, "5. Metrics").split("\n\n") if "**Metric attributes**" in p
    )
    listed = code_spans(paragraph) & set(documented_names().values())
    assert listed == {*_METRIC_KEYS, sc.TOKEN_TYPE}


def markdown_files() -> list[Path]:
    files = sorted(DOCS.glob("*.md"))
    readme = ROOT / "README.md"
    return [*files, readme] if readme.exists() else files


@pytest.mark.parametrize("path", markdown_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(path: Path) -> None:
    broken = []
    for target in links(path.read_text(encoding="utf-8")):
        if SCHEME.match(target):
            continue  # http(s), mailto ...: not checked offline
        file_part, _, anchor = target.partition("#")
        resolved = (path.parent / file_part).resolve() if file_part else path
        if not resolved.exists():
            broken.append(f"{target} (no such file)")
        elif anchor and resolved.suffix == ".md" and anchor.lower() not in headings(resolved):
            broken.append(f"{target} (no such heading)")
    assert not broken, f"broken links in {path.relative_to(ROOT)}: {broken}"


def test_link_checker_sees_links() -> None:
    sample = '[a](x.md) `[b](y.md)` [c](https://e.org) ![d](img.png "t")\n```\n[e](z.md)\n```\n[f]: ref.md\n'
    assert links(sample) == ["x.md", "https://e.org", "img.png", "ref.md"]
    assert github_anchors("# 1. Naming policy\n## `assistant_telemetry.*`\n## Lists\n## Lists\n") == {
        "1-naming-policy",
        "assistant_telemetry",
        "lists",
        "lists-1",
    }
