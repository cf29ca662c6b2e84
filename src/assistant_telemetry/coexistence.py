"""Beside other GenAI instrumentations: one span and one duration/token record per model call.

The rule (docs/attributes.md, "Coexistence"): **the outermost instrumentation of a call owns its span.**

- Theirs is outer: when our wrapper runs, the current span is another instrumentation's recording
  GenAI span for the same call (the same ``gen_ai.operation.name``, or both inference operations:
  Agent Framework's ``chat {model}``, openai-v2's / genai-openai's ``chat``, AIProjectInstrumentor's
  ``responses``). We start no span: a ``calls.Guest`` reads the call as usual and puts our attributes
  (request ids, deployment, response id, filter outcomes ...) onto theirs before it ends, and records
  no duration or token point for an inference call (theirs did); our other metrics (content filter,
  executions) still count, and so do our duration and tokens of an agents operation (azure-ai-agents'
  AIAgentsInstrumentor records no metrics).
- Ours is outer: a known GenAI instrumentation's wrapper directly beneath ours on the same SDK method
  (the OTel openai instrumentations' wrapt wrappers, azure-ai-projects' ``_original``-keeping
  functions) is stepped over: we call what it wraps, so it makes no span and records nothing.

Either way the call sits in the trace where the app made it: a guest's stream keeps its span, and
our own span is the current one while the request is made.
"""

from __future__ import annotations

from typing import Any

from opentelemetry import trace

from . import runtime
from . import semconv as sc

# Inference operations in the registry and the names other instrumentations give a Responses call.
INFERENCE_OPERATIONS = frozenset({"chat", "text_completion", "generate_content", "responses"})
# Wrappers of GenAI instrumentations that wrap the same openai methods we do (module of the wrapper).
_FOREIGN_WRAPPER_MODULES = (
    "opentelemetry.instrumentation.openai",  # openai-v2 (openai_v2), OpenLLMetry's openai
    "opentelemetry.instrumentation.genai.openai",  # genai-openai (opentelemetry-util-genai)
    "azure.ai.projects.telemetry",  # AIProjectInstrumentor (keeps the SDK's method as _original)
    "azure.ai.agents.telemetry",  # AIAgentsInstrumentor (the same pattern)
)
_OUR_SCOPE = "assistant_telemetry"


def same_call(ours: str, theirs: Any) -> bool:
    return theirs == ours or (theirs in INFERENCE_OPERATIONS and ours in INFERENCE_OPERATIONS)


def owner_records_metrics(operation: str) -> bool:
    """Whether the owner of another instrumentation's span for this call records its duration and
    tokens: the inference instrumentations do; AIAgentsInstrumentor (agents operations) records none."""
    return operation in INFERENCE_OPERATIONS


def their_span(operation: str) -> trace.Span | None:
    """The current span, when it is another instrumentation's recording GenAI span for this call."""
    if runtime.CURRENT_CALL.get() is not None:  # inside one of ours: a call it makes, not a twin
        return None
    span = trace.get_current_span()
    if not span.is_recording():
        return None
    scope = getattr(span, "instrumentation_scope", None)
    if scope is None or scope.name == _OUR_SCOPE:
        return None
    attrs = getattr(span, "attributes", None)
    return span if attrs and same_call(operation, attrs.get(sc.OPERATION_NAME)) else None


def beneath(wrapped: Any, instance: Any) -> Any:
    """What to call for ``wrapped``: the SDK's method, stepping over a known GenAI wrapper beneath ours."""
    inner = getattr(wrapped, "_self_wrapper", None)  # a wrapt BoundFunctionWrapper
    if inner is not None and _foreign(inner):
        return wrapped.__wrapped__
    original = getattr(wrapped, "_original", None)  # azure's plain function, its original kept
    if callable(original) and _foreign(wrapped):
        return original.__get__(instance, type(instance)) if hasattr(original, "__get__") else original
    return wrapped


def _foreign(function: Any) -> bool:
    """Defined in a known GenAI instrumentation (its globals' module: ``functools.wraps`` copies
    ``__module__`` from the SDK method it wraps, so that one can lie)."""
    function = getattr(function, "__func__", function)  # a bound method: its function
    defined_in = getattr(function, "__globals__", {}).get("__name__") or ""
    return isinstance(defined_in, str) and defined_in.startswith(_FOREIGN_WRAPPER_MODULES)
