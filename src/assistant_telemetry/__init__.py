"""assistant-telemetry: content-free OpenTelemetry for assistant-style AI conversations.

    import assistant_telemetry
    assistant_telemetry.instrument()

Every Assistants-style call of the openai SDK then becomes a CLIENT span linking request
ids, thread, run, message and run-step ids, assistant, model, Azure deployment, latency
and status, and never any content.
"""

from __future__ import annotations

from .instrumentor import AssistantTelemetryInstrumentor
from .runtime import VERSION as __version__
from .setup import EXPORTERS, Instrumentation, MissingExtraError, instrument, uninstrument

__all__ = [
    "EXPORTERS",
    "AssistantTelemetryInstrumentor",
    "Instrumentation",
    "MissingExtraError",
    "__version__",
    "instrument",
    "uninstrument",
]
