"""assistant-telemetry: content-free OpenTelemetry for assistant-style AI conversations.

    import assistant_telemetry
    assistant_telemetry.instrument()

Every Assistants-style call of the openai SDK then becomes a CLIENT span linking request
ids, thread, run, message and run-step ids, assistant, model, Azure deployment, latency
and status, and never any content.
"""

from __future__ import annotations

from .content_guard import ContentGuardError, content_guard, guard_log_exporter, guard_span_exporter
from .correlation import correlate, correlation_processor, with_current_context
from .instrumentor import AssistantTelemetryInstrumentor
from .runtime import VERSION as __version__
from .setup import (
    EXPORTERS,
    ExistingProviderError,
    Instrumentation,
    MissingExtraError,
    instrument,
    uninstrument,
)

__all__ = [
    "EXPORTERS",
    "AssistantTelemetryInstrumentor",
    "ContentGuardError",
    "ExistingProviderError",
    "Instrumentation",
    "MissingExtraError",
    "__version__",
    "content_guard",
    "correlate",
    "correlation_processor",
    "guard_log_exporter",
    "guard_span_exporter",
    "instrument",
    "uninstrument",
    "with_current_context",
]
