"""Regenerate ``openapi_assistants.json``: the Assistants component schemas the simulator must honour.

    python tests/data/extract_openapi.py [path/to/openai-openapi.yml]

Copies the named schemas and everything they ``$ref`` (transitively) verbatim from OpenAI's OpenAPI
description, so the tests can validate against the published shapes without the 80k-line YAML.
OpenAPI quirks (``nullable``) are left as published; the tests convert them to JSON Schema.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

SOURCE = Path("/work/shared/reference/openai-openapi.yml")
TARGET = Path(__file__).with_name("openapi_assistants.json")
ROOTS = (
    "AssistantObject",
    "ThreadObject",
    "MessageObject",
    "RunObject",
    "RunStepObject",
    "MessageDeltaObject",
    "RunStepDeltaObject",
    "ListAssistantsResponse",
    "ListMessagesResponse",
    "ListRunsResponse",
    "ListRunStepsResponse",
    "DeleteAssistantResponse",
    "DeleteThreadResponse",
    "DeleteMessageResponse",
    "ErrorResponse",
)
PREFIX = "#/components/schemas/"


def refs(node: Any) -> set[str]:
    """Names of the component schemas a schema fragment refers to."""
    if isinstance(node, dict):
        found = {node["$ref"].removeprefix(PREFIX)} if isinstance(node.get("$ref"), str) else set()
        return found.union(*(refs(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(refs(item) for item in node))
    return set()


def closure(schemas: dict[str, Any], roots: tuple[str, ...]) -> dict[str, Any]:
    picked: dict[str, Any] = {}
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name not in picked:
            picked[name] = schemas[name]
            todo.extend(refs(schemas[name]) - picked.keys())
    return dict(sorted(picked.items()))


def main(source: Path = SOURCE) -> None:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    spec = yaml.load(source.read_text(encoding="utf-8"), Loader=loader)
    document: dict[str, Any] = {
        "x-source": f"{source.name} (OpenAPI {spec['openapi']}, API version {spec['info']['version']})",
        "x-roots": list(ROOTS),
        "components": {"schemas": closure(spec["components"]["schemas"], ROOTS)},
    }
    TARGET.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {len(document['components']['schemas'])} schemas to {TARGET}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else SOURCE)
