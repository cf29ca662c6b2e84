"""Regenerate ``openapi_responses.json``: the Responses and Conversations schemas the simulator must honour.

    python tests/data/extract_openapi_responses.py [path/to/openai-openapi.yml]

The same extraction as ``extract_openapi.py`` (named schemas plus everything they ``$ref``, copied
verbatim) for the Assistants API's successors: responses, their stream events, input items,
conversations and conversation items.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).parent))
from extract_openapi import SOURCE, closure

TARGET = Path(__file__).with_name("openapi_responses.json")
ROOTS = (
    "Response",
    "ResponseItemList",
    "ConversationResource",
    "DeletedConversationResource",
    "ConversationItem",
    "ConversationItemList",
    "ResponseCreatedEvent",
    "ResponseQueuedEvent",
    "ResponseInProgressEvent",
    "ResponseCompletedEvent",
    "ResponseIncompleteEvent",
    "ResponseFailedEvent",
    "ResponseErrorEvent",
    "ResponseOutputItemAddedEvent",
    "ResponseOutputItemDoneEvent",
    "ResponseContentPartAddedEvent",
    "ResponseContentPartDoneEvent",
    "ResponseTextDeltaEvent",
    "ResponseTextDoneEvent",
    "ResponseFunctionCallArgumentsDeltaEvent",
    "ResponseFunctionCallArgumentsDoneEvent",
    "ErrorResponse",
)


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
