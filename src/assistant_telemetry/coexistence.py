"""Beside other GenAI instrumentations: one span and one duration/token record per model call.

The rule (docs/attributes.md, "Coexistence"): **the outermost instrumentation of a call owns its span.**

- Theirs is outer: when our wrapper runs, another instrumentation's recording GenAI span for the
  same call (the same ``gen_ai.operation.name``, or both inference operations: Agent Framework's
  ``chat {model}``, openai-v2's / genai-openai's ``chat``, AIProjectInstrumentor's ``responses``) is
  the current span, or is held by the wrapper of theirs that called ours without making it current
  (AIProjectInstrumentor's streamed calls: ``_HIDDEN``). We start no span: a ``calls.Guest`` reads
  the call as usual and puts our attributes (request ids, deployment, response id, filter outcomes
  ...) onto theirs before it ends, and records no duration or token point where the owner records
  them (an inference call; AIProjectInstrumentor's Conversations calls); our other metrics (content
  filter, executions) still count, and so do our duration and tokens of an agents operation
  (azure-ai-agents' AIAgentsInstrumentor records none).
- Ours is outer: a known GenAI instrumentation's wrapper directly beneath ours on the same SDK method
  (the OTel openai instrumentations' wrapt wrappers, azure-ai-projects' ``_original``-keeping
  functions) is stepped over: we call what it wraps, so it makes no span and records nothing.

Either way the call sits in the trace where the app made it: a guest's stream keeps its span, and
our own span is the current one while the request is made.
"""

from __future__ import annotations

import sys
from types import FrameType
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

# Wrappers that start their span without making it the current one, then call the SDK method (ours,
# when they wrapped over us): AIProjectInstrumentor's streamed ``responses.create`` (sync and async),
# its conversation items listing, and its ``responses.stream`` managers' enter. Per defining module:
# each function's qualified name and the path from its frame's locals to its span. Read only; a
# release that renames them makes two spans again, which the compat matrix's latest release shows.
_HIDDEN: dict[str, dict[str, tuple[str, ...]]] = {
    "azure.ai.projects.telemetry._responses_instrumentor": {
        "_ResponsesInstrumentorPreview.trace_responses_create": ("span",),
        "_ResponsesInstrumentorPreview.trace_responses_create_async": ("span",),
        "_ResponsesInstrumentorPreview.trace_list_conversation_items": ("span",),
        "_ResponsesInstrumentorPreview.trace_list_conversation_items_async": ("span",),
        "_ResponsesInstrumentorPreview._wrap_response_stream_manager.<locals>"
        ".ResponseStreamManagerWrapper.__enter__": ("self", "span"),
        "_ResponsesInstrumentorPreview._wrap_async_response_stream_manager.<locals>"
        ".AsyncResponseStreamManagerWrapper.__aenter__": ("self", "span"),
    },
}
# The module global that says the instrumentation is on.
_HIDDEN_ON = {"azure.ai.projects.telemetry._responses_instrumentor": "_responses_traces_enabled"}
# Python 3.10 code objects have no qualified name: match the function's own name there.
_CODE_NAME = "co_qualname" if sys.version_info >= (3, 11) else "co_name"
_HIDDEN_BY_CODE = {
    module: {
        (name if _CODE_NAME == "co_qualname" else name.rsplit(".", 1)[-1]): path
        for name, path in functions.items()
    }
    for module, functions in _HIDDEN.items()
}
# Frames from their_span() up to their wrapper: start, our wrapper (or stream manager), wrapt's
# pure-Python __call__ when its C extension is off, and a margin.
_HIDDEN_DEPTH = 8
# Non-inference operations whose owner records the duration point, by the owner's provider name:
# AIProjectInstrumentor's Conversations calls. (AIAgentsInstrumentor records no metrics.)
_OWNER_RECORDED = frozenset(
    {
        (sc.PROVIDER_MICROSOFT_FOUNDRY, "create_conversation"),
        (sc.PROVIDER_MICROSOFT_FOUNDRY, "list_conversation_items"),
    }
)


def same_call(ours: str, theirs: Any) -> bool:
    return theirs == ours or (theirs in INFERENCE_OPERATIONS and ours in INFERENCE_OPERATIONS)


def owner_records_metrics(operation: str, span: Any) -> bool:
    """Whether the owner of another instrumentation's span for this call records its duration and
    tokens: the inference instrumentations do, AIProjectInstrumentor its Conversations calls too;
    AIAgentsInstrumentor (agents operations) records none."""
    if operation in INFERENCE_OPERATIONS:
        return True
    attrs = getattr(span, "attributes", None) or {}
    return (attrs.get(sc.PROVIDER_NAME), operation) in _OWNER_RECORDED


def their_span(operation: str) -> trace.Span | None:
    """Another instrumentation's recording GenAI span for this call: the current span, or the one
    the wrapper of theirs that called ours holds without making it current (``_HIDDEN``)."""
    if runtime.CURRENT_CALL.get() is not None:  # inside one of ours: a call it makes, not a twin
        return None
    span = trace.get_current_span()
    if _theirs(span, operation):
        return span
    hidden = _hidden_span()
    return hidden if hidden is not None and _theirs(hidden, operation) else None


def _theirs(span: Any, operation: str) -> bool:
    if not span.is_recording():
        return False
    scope = getattr(span, "instrumentation_scope", None)
    if scope is None or scope.name == _OUR_SCOPE:
        return False
    attrs = getattr(span, "attributes", None)
    return attrs is not None and same_call(operation, attrs.get(sc.OPERATION_NAME))


def _hidden_span() -> Any:
    """The span a ``_HIDDEN`` wrapper among our callers holds (an OTel span, or azure-core's
    ``AbstractSpan`` around one), else None. A dict lookup while no such instrumentation is on."""
    for module, functions in _HIDDEN_BY_CODE.items():
        defined = sys.modules.get(module)
        # its own "instrumented" flag where it has one (a renamed flag only costs the walk below)
        if defined is None or not getattr(defined, _HIDDEN_ON.get(module, ""), True):
            continue
        filename = getattr(defined, "__file__", None)
        try:
            frame: FrameType | None = sys._getframe(3)  # calls.start's caller, our wrapper
        except ValueError:
            return None
        for _ in range(_HIDDEN_DEPTH):
            if frame is None:
                break
            code = frame.f_code
            if code.co_filename == filename:
                path = functions.get(getattr(code, _CODE_NAME))
                span = _follow(frame.f_locals, path) if path is not None else None
                if span is not None:  # else it passed the call on untraced (the stream helper's create)
                    return span
            frame = frame.f_back
    return None


def _follow(scope: dict[str, Any], path: tuple[str, ...]) -> Any:
    found: Any = scope.get(path[0])
    for name in path[1:]:
        found = getattr(found, name, None)
    found = getattr(found, "span_instance", found)  # azure-core's AbstractSpan wraps the OTel span
    return found if isinstance(found, trace.Span) else None


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
