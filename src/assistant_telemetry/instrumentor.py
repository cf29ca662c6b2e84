"""The OpenTelemetry ``BaseInstrumentor`` for ``opentelemetry-instrument`` and manual use."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from opentelemetry import trace
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]

from . import correlation, runtime
from . import semconv as sc
from .config import Settings
from .instrumentors import PATCHERS
from .patching import unpatch_all


class AssistantTelemetryInstrumentor(BaseInstrumentor):
    """Wraps every supported client library that is (or later gets) imported.

    ``instrument(tracer_provider=..., meter_provider=..., metadata_allowlist=[...],
    azure_hosts=[...], inner_spans=False, message_fingerprint_key=None, semconv=None, prices=None)``
    (``prices``: see ``config.load_prices``); BaseInstrumentor
    makes a second call a no-op. Also adds the ``correlate()`` span processor to the provider.
    Entry point name: ``assistant_telemetry`` (for OTEL_PYTHON_DISABLED_INSTRUMENTATIONS).
    """

    def instrumentation_dependencies(self) -> Collection[str]:
        return ()  # each library is optional: missing ones are skipped, not refused

    def _instrument(self, **kwargs: Any) -> None:
        settings = Settings.build(
            metadata_allowlist=kwargs.get("metadata_allowlist"),
            azure_hosts=kwargs.get("azure_hosts"),
            inner_spans=kwargs.get("inner_spans"),
            message_fingerprint_key=kwargs.get("message_fingerprint_key"),
            prices=kwargs.get("prices"),
        )
        # The semconv mode (argument, else OTEL_SEMCONV_STABILITY_OPT_IN), resolved once into tables.
        names = sc.Names.for_mode(sc.resolve_mode(kwargs.get("semconv")))
        runtime.ACTIVE = runtime.Runtime.create(
            kwargs.get("tracer_provider"), kwargs.get("meter_provider"), settings, names
        )
        # correlate(): the app's ids on every span started inside it (SDK providers only).
        correlation.install(kwargs.get("tracer_provider") or trace.get_tracer_provider())
        for patcher in PATCHERS:
            patcher.patch()

    def _uninstrument(self, **kwargs: Any) -> None:
        active, runtime.ACTIVE = runtime.ACTIVE, None  # first: cached SDK wrappers pass through at once
        unpatch_all(PATCHERS)
        if active is not None:
            active.tools.release(active)  # tool calls still waiting for their run's invoke_agent span
