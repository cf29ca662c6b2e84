"""Every attribute, event and metric name the instrumentation emits, defined once.

Order of preference: OpenTelemetry GenAI semantic conventions, then the names Azure's
own agent tracing emits (Foundry and existing workbooks read them), then our own
``assistant_telemetry.*`` namespace. docs/attributes.md documents each one; a test
keeps that page and this module in step.

The Azure Monitor exporter drops ``server.*``, ``error.type``, ``http.*`` (and more)
from customDimensions, so what a workbook needs from those travels again under an
own name (see FAILURE_CLASS, HTTP_STATUS_CODE).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

# --- OpenTelemetry GenAI semantic conventions -------------------------------------------
OPERATION_NAME: Final = "gen_ai.operation.name"
PROVIDER_NAME: Final = "gen_ai.provider.name"
SYSTEM: Final = "gen_ai.system"  # deprecated, but Azure Monitor types dependencies "GenAI | ..." from it
CONVERSATION_ID: Final = "gen_ai.conversation.id"
AGENT_ID: Final = "gen_ai.agent.id"
AGENT_NAME: Final = "gen_ai.agent.name"
REQUEST_MODEL: Final = "gen_ai.request.model"
RESPONSE_MODEL: Final = "gen_ai.response.model"
RESPONSE_ID: Final = "gen_ai.response.id"
USAGE_INPUT_TOKENS: Final = "gen_ai.usage.input_tokens"
USAGE_OUTPUT_TOKENS: Final = "gen_ai.usage.output_tokens"
TOKEN_TYPE: Final = "gen_ai.token.type"
SERVER_ADDRESS: Final = "server.address"
SERVER_PORT: Final = "server.port"
ERROR_TYPE: Final = "error.type"
AZURE_SERVICE_REQUEST_ID: Final = "azure.service.request.id"
AZURE_RESOURCE_PROVIDER_NAMESPACE: Final = "azure.resource_provider.namespace"

# --- Azure AI agent tracing's names (threads, runs, messages, run steps) ----------------
# (gen_ai.run_step.id and .type extend that family; azure-ai-agents 1.1 emits only .status)
THREAD_ID: Final = "gen_ai.thread.id"
RUN_ID: Final = "gen_ai.thread.run.id"
RUN_STATUS: Final = "gen_ai.thread.run.status"
MESSAGE_ID: Final = "gen_ai.message.id"
MESSAGE_STATUS: Final = "gen_ai.message.status"
RUN_STEP_ID: Final = "gen_ai.run_step.id"
RUN_STEP_TYPE: Final = "gen_ai.run_step.type"
RUN_STEP_STATUS: Final = "gen_ai.run_step.status"

# --- assistant_telemetry.*: what no convention names ------------------------------------
_NS = "assistant_telemetry."
REQUEST_ID: Final = _NS + "request_id"  # provider request id, x-request-id
REQUEST_IDS: Final = _NS + "request_ids"  # every request id a poll/stream helper's calls got
REQUEST_IDS_CAP: Final = 32
CLIENT_REQUEST_ID: Final = _NS + "client_request_id"  # x-ms-client-request-id
FAILURE_CLASS: Final = _NS + "failure_class"  # error.type's twin that survives Azure Monitor
SERVER_HOST: Final = _NS + "server_address"  # server.address's twin that survives Azure Monitor
ERROR_CODE: Final = _NS + "error_code"  # the API's error.code, never its message
HTTP_STATUS_CODE: Final = _NS + "http_status_code"
RETRIES: Final = _NS + "retries"
PROCESSING_MS: Final = _NS + "processing_ms"
RATELIMIT_REMAINING_REQUESTS: Final = _NS + "ratelimit.remaining_requests"
RATELIMIT_REMAINING_TOKENS: Final = _NS + "ratelimit.remaining_tokens"
RATELIMIT_RESET_REQUESTS: Final = _NS + "ratelimit.reset_requests"
RATELIMIT_RESET_TOKENS: Final = _NS + "ratelimit.reset_tokens"
RETRY_AFTER_S: Final = _NS + "retry_after_s"

AZURE_DEPLOYMENT: Final = _NS + "azure.deployment"
AZURE_API_VERSION: Final = _NS + "azure.api_version"
AZURE_REGION: Final = _NS + "azure.region"

MESSAGE_ROLE: Final = _NS + "message.role"
MESSAGE_CONTENT_TYPES: Final = _NS + "message.content_types"
MESSAGE_CONTENT_PARTS: Final = _NS + "message.content_parts"
MESSAGE_TEXT_LENGTH: Final = _NS + "message.text_length"
MESSAGE_ATTACHMENTS: Final = _NS + "message.attachments"
MESSAGE_FILE_IDS: Final = _NS + "message.file_ids"
MESSAGE_INCOMPLETE_REASON: Final = _NS + "message.incomplete_reason"

RUN_POLLS: Final = _NS + "run.polls"
EVENT_RUN_STATUS: Final = _NS + "run.status_change"  # span event, one per status transition
RUN_LAST_ERROR_CODE: Final = _NS + "run.last_error_code"
RUN_INCOMPLETE_REASON: Final = _NS + "run.incomplete_reason"
RUN_REQUIRED_TOOL_CALLS: Final = _NS + "run.required_tool_calls"
RUN_REQUIRED_FUNCTIONS: Final = _NS + "run.required_functions"
TOOL_TYPES: Final = _NS + "tool_types"
TOOL_OUTPUTS: Final = _NS + "tool_outputs"  # count of submitted outputs, never their text
RUN_STEP_TOOL_TYPES: Final = _NS + "run_step.tool_types"
RUN_STEP_DURATION: Final = _NS + "run_step.duration_s"  # step created_at -> its terminal timestamp
# A step's tokens are a share of its run's (which carries gen_ai.usage.*): own names, so sums over spans
# and events count each token once.
RUN_STEP_INPUT_TOKENS: Final = _NS + "run_step.input_tokens"
RUN_STEP_OUTPUT_TOKENS: Final = _NS + "run_step.output_tokens"
# On a read of an execution another span already counted (a retrieve of a finished run or response):
# its tokens are not repeated under gen_ai.usage.*; this marks that they exist.
USAGE_REPORTED_ELSEWHERE: Final = _NS + "usage.reported_elsewhere"
EVENT_RUN_STEP: Final = _NS + "run_step"  # span event per step seen in a step list or a run stream
EVENT_MESSAGE: Final = _NS + "message"  # span event per message seen in a message list

# Server-timestamp timings, on the one span that first saw the run finish (bounded de-duplication).
RUN_QUEUE_TIME: Final = _NS + "run.queue_time_s"  # started_at - created_at
RUN_EXECUTION_TIME: Final = _NS + "run.execution_time_s"  # terminal timestamp - started_at
RUN_TOTAL_TIME: Final = _NS + "run.total_time_s"  # terminal timestamp - created_at
RUN_OUTCOMES_DEDUP_CAP: Final = 10_000  # finished runs remembered so their timings and tokens count once
SEEN_ITEMS_CAP: Final = 10_000  # (step or message id, status) pairs already reported as events
# The user's message -> the first assistant message after it on the same thread.
EVENT_REPLY: Final = _NS + "reply"  # span event on the span that first saw the reply
REPLY_TIME: Final = _NS + "reply.time_s"  # assistant completed_at (or created_at) - user created_at
REPLY_TO_MESSAGE_ID: Final = _NS + "reply.to_message_id"  # the user's message id
REPLY_THREADS_CAP: Final = 10_000  # threads whose last user message is remembered

# Run streams (runs.stream, create_and_run_stream, stream=True ...): one span as long as the stream.
STREAM_EVENTS: Final = _NS + "stream.events"
STREAM_TIME_TO_FIRST_EVENT: Final = _NS + "stream.time_to_first_event_s"
STREAM_TIME_TO_FIRST_DELTA: Final = _NS + "stream.time_to_first_delta_s"  # first message text delta
STREAM_OUTCOME: Final = _NS + "stream.outcome"  # completed | ended | abandoned | dropped | error
# A with_streaming_response body that is not a stream: read (parse/read/json/text), abandoned, dropped.
BODY_OUTCOME: Final = _NS + "body.outcome"
RUN_MESSAGE_IDS: Final = _NS + "run.message_ids"  # messages a streamed run created
RUN_STEP_IDS: Final = _NS + "run.step_ids"  # steps a streamed run created
RUN_CREATED_IDS_CAP: Final = 32

METADATA_KEYS: Final = _NS + "metadata.keys"
METADATA_VALUE_PREFIX: Final = _NS + "metadata.value."  # + allowlisted key (never collides with .keys)

LIST_COUNT: Final = _NS + "list.count"
LIST_FIRST_ID: Final = _NS + "list.first_id"
LIST_LAST_ID: Final = _NS + "list.last_id"
LIST_HAS_MORE: Final = _NS + "list.has_more"
LIST_IDS: Final = _NS + "list.ids"  # up to LIST_IDS_CAP ids of the page
LIST_IDS_CAP: Final = 20
CLIENT_ATTRIBUTES_CAP: Final = 256  # client configurations whose attributes are kept built
# Characters kept of each string read from the service (ids, header values, models, statuses):
# a real one is far shorter, so only a misbehaving service or proxy is cut (docs/attributes.md).
SERVICE_VALUE_CAP: Final = 256

DELETED: Final = _NS + "deleted"

# --- metrics ------------------------------------------------------------------------------
METRIC_OPERATION_DURATION: Final = "gen_ai.client.operation.duration"
METRIC_TOKEN_USAGE: Final = "gen_ai.client.token.usage"
METRIC_INSTRUMENTATION_ERRORS: Final = _NS + "instrumentation.errors"
INSTRUMENTATION_STAGE: Final = _NS + "instrumentation.stage"  # where an internal error happened
METRIC_RUN_POLLS: Final = _NS + "run.poll_count"  # polls per poll helper call
METRIC_REPLY_TIME: Final = _NS + "reply.duration"  # user message -> assistant message

# Semconv's advisory bucket boundaries for the two gen_ai.client histograms.
DURATION_BUCKETS: Final = (
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
)  # fmt: skip
TOKEN_BUCKETS: Final = (
    1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
)  # fmt: skip
# Runs wait in queues and run tools for minutes: buckets reach an hour.
RUN_DURATION_BUCKETS: Final = (
    0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1200, 1800, 3600,
)  # fmt: skip
POLL_BUCKETS: Final = (1, 2, 3, 5, 10, 20, 50, 100, 200, 500)
# semantic-conventions-genai (SEMCONV_GENAI_COMMIT, docs/gen-ai/gen-ai-metrics.md): the duration of an
# in-process agent invocation (INTERNAL invoke_agent spans; a service-side run is a client operation,
# in gen_ai.client.operation.duration) and of each tool execution, equal to their spans' durations.
METRIC_INVOKE_AGENT_DURATION: Final = "gen_ai.invoke_agent.duration"
METRIC_EXECUTE_TOOL_DURATION: Final = "gen_ai.execute_tool.duration"
INVOKE_AGENT_BUCKETS: Final = (
    0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 51.2, 102.4, 204.8, 409.6,
)  # fmt: skip

# --- values ---------------------------------------------------------------------------------
PROVIDER_OPENAI: Final = "openai"
PROVIDER_AZURE_OPENAI: Final = "azure.ai.openai"
SYSTEM_OPENAI: Final = "openai"
SYSTEM_AZURE_OPENAI: Final = "az.ai.openai"
AZURE_NAMESPACE_COGNITIVE_SERVICES: Final = "Microsoft.CognitiveServices"

# --- content guard -------------------------------------------------------------------------
# What instrument(content_guard=True) / content_guard() removed from a span or log record:
# "key:bytes" entries (names and UTF-8 sizes only, never values), at most CONTENT_GUARD_REMOVED_CAP.
CONTENT_GUARD_REMOVED: Final = _NS + "content_guard.removed"
CONTENT_GUARD_REMOVED_CAP: Final = 64
METRIC_CONTENT_GUARD_REMOVALS: Final = _NS + "content_guard.removals"  # counter of removed values
CONTENT_GUARD_SOURCE: Final = _NS + "content_guard.source"  # instrumentation scope that emitted them
CONTENT_GUARD_SIGNAL: Final = _NS + "content_guard.signal"  # "span" or "log"

# --- correlation and fingerprints ---
# The application's own ids, put on every span made inside assistant_telemetry.correlate(...).
CORRELATION_REQUEST_ID: Final = _NS + "correlation.request_id"
CORRELATION_IDEMPOTENCY_KEY: Final = _NS + "correlation.idempotency_key"
CORRELATION_TENANT: Final = _NS + "correlation.tenant"
CORRELATION_USER_HASH: Final = _NS + "correlation.user_hash"  # SHA-256 (or HMAC with a salt) of the user
CORRELATION_USER: Final = _NS + "correlation.user"  # the user id as given, only with hash_user=False
CORRELATION_VALUE_CAP: Final = 256  # characters kept of each correlation value
# Keyed HMAC-SHA256 of a message's text, only when a fingerprint key is configured.
MESSAGE_FINGERPRINT: Final = _NS + "message.fingerprint"  # create_message: the message's fingerprint
MESSAGE_FINGERPRINTS: Final = _NS + "message.fingerprints"  # threads.create / additional_messages
FINGERPRINT_HEX_CHARS: Final = 32  # hex characters kept (128 bits) of a fingerprint or user hash

# --- Azure content filter and Azure AI Agents -------------------------------------------------
# Semconv's finish reasons, one per choice (chat.completions).
RESPONSE_FINISH_REASONS: Final = "gen_ai.response.finish_reasons"
# semconv (moved there from gen_ai.openai.response.system_fingerprint)
RESPONSE_SYSTEM_FINGERPRINT: Final = "openai.response.system_fingerprint"
# Azure content filter outcomes: booleans, severities and blocklist ids only, never matched text.
# Per category: CONTENT_FILTER_PREFIX + "<source>.<category>.<field>", e.g.
# assistant_telemetry.content_filter.completion.violence.severity = "medium".
CONTENT_FILTER_PREFIX: Final = _NS + "content_filter."
CONTENT_FILTER_SOURCES = ("prompt", "completion")
CONTENT_FILTER_HARM_CATEGORIES = ("hate", "sexual", "violence", "self_harm")  # filtered + severity
CONTENT_FILTER_DETECTION_CATEGORIES = (  # filtered + detected
    "jailbreak",
    "indirect_attack",
    "protected_material_text",
    "protected_material_code",
    "profanity",
)
CONTENT_FILTER_BLOCKLIST_CATEGORY = "custom_blocklists"  # filtered + detected (a blocklist matched)
CONTENT_FILTER_SEVERITIES = ("safe", "low", "medium", "high")  # in increasing order
# safe | annotated | blocked_output | blocked_prompt (the most severe seen)
CONTENT_FILTER_OUTCOME: Final = _NS + "content_filter.outcome"
CONTENT_FILTER_BLOCKLIST_IDS: Final = _NS + "content_filter.blocklist_ids"  # ids of matched custom blocklists
CONTENT_FILTER_BLOCKLIST_IDS_CAP: Final = 16
CONTENT_FILTER_ERROR: Final = _NS + "content_filter.error"  # the filter did not run (content_filter_error)
# Counter of notable filter results (severity above safe, detected or filtered) and blocks.
METRIC_CONTENT_FILTER_RESULTS: Final = _NS + "content_filter.results"
CONTENT_FILTER_CATEGORY: Final = _NS + "content_filter.category"  # metric attribute
CONTENT_FILTER_SEVERITY: Final = _NS + "content_filter.severity"  # metric attribute
CONTENT_FILTER_FILTERED: Final = _NS + "content_filter.filtered"  # metric attribute
CONTENT_FILTER_DETECTED: Final = _NS + "content_filter.detected"  # metric attribute
CONTENT_FILTER_SOURCE: Final = _NS + "content_filter.source"  # metric attribute: prompt | completion
# Azure AI Agents (azure-ai-agents AgentsClient): semconv lists no value for the Agent Service, so
# the azure.ai.* pattern; gen_ai.system as Azure's own AIAgentsInstrumentor emits it.
PROVIDER_AZURE_AI_AGENTS: Final = "azure.ai.agents"
SYSTEM_AZURE_AI_AGENTS: Final = "az.ai.agents"

# --- Responses and Conversations ---------------------------------------------------------------
# The Assistants API's successors, read in one vocabulary with it (docs/migration.md).
# Semconv names this surface adds (the cache and reasoning counts are parts of input/output tokens).
AGENT_VERSION: Final = "gen_ai.agent.version"  # a Foundry agent reference's or a prompt's version
USAGE_CACHE_READ_INPUT_TOKENS: Final = "gen_ai.usage.cache_read.input_tokens"
USAGE_CACHE_CREATION_INPUT_TOKENS: Final = "gen_ai.usage.cache_creation.input_tokens"
USAGE_REASONING_OUTPUT_TOKENS: Final = "gen_ai.usage.reasoning.output_tokens"
OPENAI_API_TYPE: Final = "openai.api.type"  # semconv's OpenAI attribute: "responses" on this surface
API_TYPE_RESPONSES = "responses"
# An execution is an Assistants run or a response: one set of names for both (runs keep theirs too).
EXECUTION_KIND: Final = _NS + "execution.kind"  # the object type: thread.run | response
EXECUTION_KIND_RUN = "thread.run"
EXECUTION_KIND_RESPONSE = "response"
# How the app drove an invoke_agent execution (every mode; the operation no longer tells it):
# helper (a poll helper), stream (read as a stream), poll (the app's retrieve that saw it finish),
# request (one request returned it: a Foundry agent response). Also a label of the duration metric.
EXECUTION_DRIVER: Final = _NS + "execution.driver"
DRIVER_HELPER = "helper"
DRIVER_STREAM = "stream"
DRIVER_POLL = "poll"
DRIVER_REQUEST = "request"
EXECUTION_STATUS: Final = _NS + "execution.status"  # queued | in_progress | ... | completed (same words)
EXECUTION_ERROR_CODE: Final = _NS + "execution.error_code"  # run last_error.code | response error.code
EXECUTION_INCOMPLETE_REASON: Final = _NS + "execution.incomplete_reason"
# Timings on the one span that first saw the execution finished (as the run.*_time_s).
EXECUTION_QUEUE_TIME: Final = _NS + "execution.queue_time_s"  # created -> started
EXECUTION_ACTIVE_TIME: Final = _NS + "execution.active_time_s"  # started -> finished
EXECUTION_TOTAL_TIME: Final = _NS + "execution.total_time_s"  # created -> finished
METRIC_EXECUTIONS: Final = _NS + "executions"  # counter of finished executions, by kind and outcome
METRIC_EXECUTION_DURATION: Final = _NS + "execution.duration"
METRIC_EXECUTION_QUEUE_TIME: Final = _NS + "execution.queue_time"
METRIC_EXECUTION_ACTIVE_TIME: Final = _NS + "execution.active_time"
WATCHED_QUEUES_CAP: Final = 10_000  # background responses whose time in the queue is being observed
# A background response's status seen for the first time by this process (create, retrieve, stream).
EVENT_EXECUTION_STATUS: Final = _NS + "execution.status_change"
EXECUTION_STATUSES_CAP: Final = 10_000  # (response id, status) pairs already reported as transitions
RESPONSE_PREVIOUS_ID: Final = _NS + "response.previous_response_id"  # the chain, without a conversation
RESPONSE_BACKGROUND: Final = _NS + "response.background"
RESPONSE_INPUT_ITEMS: Final = _NS + "response.input_items"  # how many input items, never their content
RESPONSE_OUTPUT_ITEM_IDS: Final = _NS + "response.output_item_ids"
RESPONSE_OUTPUT_ITEM_TYPES: Final = _NS + "response.output_item_types"  # message, function_call ...
RESPONSE_OUTPUT_ITEMS_CAP: Final = 32
CONVERSATION_ITEM_ID: Final = _NS + "conversation.item_id"
CONVERSATION_ITEM_TYPE: Final = _NS + "conversation.item_type"
CONVERSATION_ITEMS_ADDED: Final = _NS + "conversation.items_added"  # items a create call added

# --- Foundry agents v2 (azure-ai-projects 2.x) ---------------------------------------------------
# The registry value azure-ai-projects' own AIProjectInstrumentor emits, for its agents operations and
# for every call to a project endpoint (the openai client get_openai_client() returns, too).
PROVIDER_MICROSOFT_FOUNDRY: Final = "microsoft.foundry"
# The ARM id of the project (/subscriptions/.../accounts/{resource}/projects/{project}): what the
# Foundry portal filters client spans on. Not derivable from the endpoint: read from FOUNDRY_PROJECT_ARM_ID.
FOUNDRY_PROJECT_ID: Final = "microsoft.foundry.project.id"
FOUNDRY_PROJECT_ARM_ID_ENV: Final = "FOUNDRY_PROJECT_ARM_ID"
FOUNDRY_PROJECT_NAME: Final = _NS + "foundry.project_name"  # /api/projects/{project} of the endpoint
FOUNDRY_RESOURCE_NAME: Final = _NS + "foundry.resource_name"  # {resource}.services.ai.azure.com
FOUNDRY_PROJECT_PATH = "/api/projects/"  # a path segment, not a name
# Operation names of project.agents, in the style of the Assistants/Agent Service table.
OP_CREATE_AGENT: Final = "create_agent"  # create, create_version (a new version is a create)
OP_UPDATE_AGENT: Final = "update_agent"
OP_GET_AGENT: Final = "get_agent"
OP_LIST_AGENTS: Final = "list_agents"
OP_DELETE_AGENT: Final = "delete_agent"
OP_GET_AGENT_VERSION: Final = "get_agent_version"
OP_LIST_AGENT_VERSIONS: Final = "list_agent_versions"
OP_DELETE_AGENT_VERSION: Final = "delete_agent_version"
AZURE_MS_REQUEST_ID: Final = _NS + "azure.ms_request_id"  # x-ms-request-id of Azure data planes (Foundry)

# --- tools: execute_tool spans (one per tool call of an execution) ------------------------------
OP_INVOKE_AGENT: Final = "invoke_agent"
OP_EXECUTE_TOOL: Final = "execute_tool"
OP_CHAT: Final = "chat"
OP_SUBMIT_TOOL_OUTPUTS: Final = "submit_tool_outputs"
TOOL_NAME: Final = "gen_ai.tool.name"  # the function's name, or the built-in tool's type
TOOL_CALL_ID: Final = "gen_ai.tool.call.id"
TOOL_TYPE: Final = "gen_ai.tool.type"  # function | extension | datastore
TOOL_STATUS: Final = _NS + "tool.status"  # the step's or output item's status (completed, failed ...)
# Where the span's start and end come from: step_timestamps (the run step's created_at and terminal
# timestamp, whole seconds), client (requires_action seen -> its outputs submitted, measured here),
# execution (the service gives no times: the bounds of the span that reported it).
TOOL_TIMING: Final = _NS + "tool.timing"
# The attributes of gen_ai.invoke_agent.duration / gen_ai.execute_tool.duration (names the app gave,
# never ids), and error.type when it failed.
INVOKE_AGENT_METRIC_KEYS: tuple[str, ...] = (AGENT_NAME, REQUEST_MODEL, ERROR_TYPE)
EXECUTE_TOOL_METRIC_KEYS: tuple[str, ...] = (TOOL_NAME, TOOL_TYPE, AGENT_NAME, ERROR_TYPE)
PENDING_TOOLS_CAP: Final = 10_000  # executions (and response function calls) waiting for tool outputs
EXECUTION_SPANS_CAP: Final = 10_000  # execution id -> its span, so tools learned later parent on it
AGENT_NAMES_CAP: Final = 10_000  # agent id -> name, from agents seen created, read or listed

# --- semantic-conventions-genai: the latest development names ---------------------------------------
# Followed at open-telemetry/semantic-conventions-genai commit SEMCONV_GENAI_COMMIT
# (model/gen-ai/spans.yaml, model/gen-ai/registry.yaml, model/gen-ai/token-metrics.yaml,
# docs/gen-ai/gen-ai-metrics.md). invoke_agent and execute_tool are released names: every mode has them.
SEMCONV_GENAI_COMMIT = "f38641ab9a552d89a96efdd3c92b5bab07dbabcf"
SEMCONV_OPT_IN_ENV = "OTEL_SEMCONV_STABILITY_OPT_IN"
MODE_DEFAULT = "default"  # today's names (existing dashboards)
MODE_LATEST = "gen_ai_latest_experimental"  # the latest development names instead
MODE_DUP = "gen_ai_latest_experimental/dup"  # both, during a migration
MODES = (MODE_DEFAULT, MODE_LATEST, MODE_DUP)
OP_FETCH_RESPONSE: Final = "fetch_response"  # responses.retrieve (latest names)
REQUEST_STREAM: Final = "gen_ai.request.stream"  # True on streamed calls (every mode: a new name only)
RESPONSE_TIME_TO_FIRST_CHUNK: Final = "gen_ai.response.time_to_first_chunk"
REQUEST_PREVIOUS_RESPONSE_ID: Final = "gen_ai.request.previous_response.id"
RESPONSE_STATUS: Final = "gen_ai.response.status"
USAGE_CACHE_WRITE_INPUT_TOKENS: Final = "gen_ai.usage.cache_write.input_tokens"
TOKEN_MODALITY: Final = "gen_ai.token.modality"  # metric attribute of the inference usage counters
TOKEN_MODALITY_UNKNOWN = "unknown"  # the APIs report no modality breakdown
# The inference metrics that replace gen_ai.client.token.usage: histograms per operation, counters of use.
METRIC_OPERATION_INPUT_TOKENS: Final = "gen_ai.client.inference.operation.input_tokens"
METRIC_OPERATION_OUTPUT_TOKENS: Final = "gen_ai.client.inference.operation.output_tokens"
# Inference calls' duration (semantic-conventions-genai #521): gen_ai.client.operation.duration keeps
# the other operations.
METRIC_INFERENCE_DURATION: Final = "gen_ai.client.inference.duration"
INFERENCE_OPERATION_NAMES = frozenset({OP_CHAT, "text_completion", "generate_content"})
METRIC_USAGE_INPUT_TOKENS: Final = "gen_ai.client.inference.usage.input_tokens"
METRIC_USAGE_OUTPUT_TOKENS: Final = "gen_ai.client.inference.usage.output_tokens"
METRIC_USAGE_CACHE_READ_INPUT_TOKENS: Final = "gen_ai.client.inference.usage.cache_read.input_tokens"
METRIC_USAGE_CACHE_WRITE_INPUT_TOKENS: Final = "gen_ai.client.inference.usage.cache_write.input_tokens"
METRIC_USAGE_REASONING_OUTPUT_TOKENS: Final = "gen_ai.client.inference.usage.reasoning.output_tokens"

# Our name -> the latest convention's name for the same value (docs/attributes.md, "Semconv modes").
LATEST_RENAMES: Mapping[str, str] = {
    RESPONSE_PREVIOUS_ID: REQUEST_PREVIOUS_RESPONSE_ID,
    USAGE_CACHE_CREATION_INPUT_TOKENS: USAGE_CACHE_WRITE_INPUT_TOKENS,
    STREAM_TIME_TO_FIRST_EVENT: RESPONSE_TIME_TO_FIRST_CHUNK,
    EXECUTION_STATUS: RESPONSE_STATUS,
}
# (attribute, our value) -> the registry's value. The Agent Service is Foundry's: never our own
# azure.ai.agents in the latest names.
LATEST_VALUES: Mapping[tuple[str, str], str] = {
    (PROVIDER_NAME, PROVIDER_AZURE_AI_AGENTS): PROVIDER_MICROSOFT_FOUNDRY,
}
# Released GenAI names (gen_ai.operation.name's well-known values for many releases, with their
# ``{operation} {agent or tool}`` span names): every mode emits them, the default too.
AGENT_OPERATIONS: Mapping[str, str] = {
    "process_thread_run": OP_INVOKE_AGENT,  # a helper or stream that drives a run is the execution
}
AGENT_SPAN_NAME_TARGETS: Mapping[str, tuple[str, ...]] = {
    OP_INVOKE_AGENT: (AGENT_NAME, AGENT_ID),
    OP_EXECUTE_TOOL: (TOOL_NAME,),
}
# Operations whose latest name differs for every call (latest names only).
LATEST_OPERATIONS: Mapping[str, str] = {
    "get_response": OP_FETCH_RESPONSE,
}
# Latest span names of the other operations: "{operation} {target}", the target read from these in order.
LATEST_SPAN_NAME_TARGETS: Mapping[str, tuple[str, ...]] = {
    OP_CREATE_AGENT: (AGENT_NAME, AGENT_ID),
    OP_CHAT: (REQUEST_MODEL, RESPONSE_MODEL),
}


@dataclass(frozen=True)
class Names:
    """One mode's names, resolved once at ``instrument()``: what the hot path looks up.

    ``agent_operations`` (every mode): agent executions are ``invoke_agent`` and tool calls
    ``execute_tool``, named ``{operation} {agent or tool}``, a failed execution fails its span.
    ``latest``: the development names on top (attribute renames, provider values, ``fetch_response``,
    ``{operation} {model}`` span names). ``attributes`` maps our internal attribute dict to what is
    emitted (identity in the default mode).
    """

    mode: str = MODE_DEFAULT
    agent_operations: bool = True
    latest: bool = False
    # What the inference metrics replace: gen_ai.client.token.usage, and gen_ai.client.operation.duration
    # of inference calls (whose duration is gen_ai.client.inference.duration in the latest names).
    replaced_metrics: bool = True
    inference_metrics: bool = False  # gen_ai.client.inference.*
    renames: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    values: Mapping[tuple[str, Any], Any] = field(default_factory=dict)
    operations: Mapping[str, str] = field(default_factory=lambda: dict(AGENT_OPERATIONS))
    span_name_targets: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: dict(AGENT_SPAN_NAME_TARGETS)
    )

    @classmethod
    def for_mode(cls, mode: str) -> Names:
        if mode == MODE_DEFAULT:
            return cls()
        dup = mode == MODE_DUP
        renames = {old: ((old, new) if dup else (new,)) for old, new in LATEST_RENAMES.items()}
        return cls(
            mode,
            latest=True,
            replaced_metrics=dup,
            inference_metrics=True,
            renames=renames,
            values=dict(LATEST_VALUES),
            operations={**AGENT_OPERATIONS, **LATEST_OPERATIONS},
            span_name_targets={**AGENT_SPAN_NAME_TARGETS, **LATEST_SPAN_NAME_TARGETS},
        )

    def operation(self, operation: str, agent_operation: str | None = None) -> str:
        """The name a call of ``operation`` starts under (before what its result decides);
        ``agent_operation``: its own name in the agent names (the submit helpers resume a run)."""
        if not self.agent_operations:
            return operation
        return agent_operation or self.operations.get(operation, operation)

    def attributes(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """``attrs`` under this mode's names (the same dict when nothing is renamed)."""
        if not self.latest:
            return attrs
        renames, values = self.renames, self.values
        out: dict[str, Any] = {}
        for key, value in attrs.items():
            if type(value) is str:
                value = values.get((key, value), value)
            for name in renames.get(key, (key,)):
                out[name] = value
        return out

    def span_name(self, operation: str, attrs: Mapping[str, Any]) -> str:
        """``{operation} {agent or tool}`` (and in the latest names ``{operation} {model}``) where one
        is known, else the operation."""
        for key in self.span_name_targets.get(operation, ()):
            target = attrs.get(key)
            if isinstance(target, str) and target:
                return f"{operation} {target}"
        return operation


def resolve_mode(given: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """The mode: ``given`` if set, else the gen_ai entry of OTEL_SEMCONV_STABILITY_OPT_IN (a comma
    separated list, as in the other conventions), else the default. An unknown value is refused."""
    if given is not None:
        if given not in MODES:
            raise ValueError(f"semconv= must be one of {MODES}, got {given!r}")
        return given
    listed = (environ if environ is not None else _environ()).get(SEMCONV_OPT_IN_ENV, "")
    entries = {entry.strip() for entry in listed.split(",")}
    if MODE_DUP in entries:
        return MODE_DUP
    return MODE_LATEST if MODE_LATEST in entries else MODE_DEFAULT


def _environ() -> Mapping[str, str]:
    import os

    return os.environ


# --- consumers' keys (issue 19.5) ---
# Content filter results as the GenAI conventions' guardrail results (open-telemetry/
# semantic-conventions-genai f5e3733b, docs/gen-ai/gen-ai-guardrails.md): one span event per flagged
# category, Azure's own words kept. No apply_guardrail span: Azure's filter runs inside the model call,
# there is no separate guardrail request to time.
EVENT_GUARDRAIL_RESULT: Final = "gen_ai.guardrail.result"
GUARDRAIL_COMPONENT_NAME: Final = "gen_ai.guardrail.component.name"
GUARDRAIL_SOURCE: Final = "gen_ai.guardrail.source"  # prompt | completion (Azure's source_type words)
GUARDRAIL_RISK_CATEGORY: Final = "gen_ai.guardrail.risk.category"  # hate, self_harm, jailbreak ...
GUARDRAIL_RESULT_TYPE: Final = "gen_ai.guardrail.result.type"  # severity | detected | finish_reason ...
GUARDRAIL_RESULT_VALUE: Final = "gen_ai.guardrail.result.value"  # medium | true | content_filter ...
GUARDRAIL_COMPONENT_AZURE_CONTENT_SAFETY = "Azure AI Content Safety"  # what powers Azure OpenAI's filter
GUARDRAIL_EVENTS_CAP: Final = 32
# Foundry project ARM ids: FOUNDRY_PROJECT_ARM_ID may list several (comma or whitespace separated);
# a call gets the one whose .../accounts/{resource}/projects/{project} names its endpoint.

# --- agent frameworks (issue 16) ---------------------------------------------------------------
# OpenAI Agents SDK and Microsoft Agent Framework: an agent run and the tools it executes are
# INTERNAL spans in the app (OP_INVOKE_AGENT and OP_EXECUTE_TOOL above), parents of the model calls.
TOOL_TYPE_FUNCTION = "function"
# A handoff (Agents SDK): the run continues with another agent. Names only, never the input passed on.
EVENT_AGENT_HANDOFF: Final = _NS + "agent.handoff"
HANDOFF_FROM_AGENT: Final = _NS + "handoff.from_agent"
HANDOFF_TO_AGENT: Final = _NS + "handoff.to_agent"
AGENT_HANDOFFS: Final = _NS + "agent.handoffs"  # handoffs in the run
AGENT_FINAL_NAME: Final = _NS + "agent.final_name"  # the agent that answered, after handoffs
# A guardrail's outcome (Agents SDK): its name, where it ran, whether it tripped; never its output info.
EVENT_GUARDRAIL: Final = _NS + "agent.guardrail"
GUARDRAIL_NAME: Final = _NS + "guardrail.name"
GUARDRAIL_KIND: Final = _NS + "guardrail.kind"  # input | output | tool_input | tool_output
GUARDRAIL_TRIPPED: Final = _NS + "guardrail.tripped"
AGENT_GUARDRAILS_TRIPPED: Final = _NS + "agent.guardrails_tripped"  # guardrails that tripped in the run
AGENT_EVENTS_CAP: Final = 64  # handoff and guardrail events kept per run

# --- cost (issue 19: the Agents workbook's cost tab) ---------------------------------------------
# Microsoft's Agents workbook reads these on token-bearing rows and hides its cost tab without them.
# No convention names a cost yet (semantic-conventions-genai has only an open proposal): the workbook's
# names. Doubles in the currency of the user's price table (cost.py); never set without one.
COST_INPUT: Final = "microsoft.gen_ai.cost.input"
COST_OUTPUT: Final = "microsoft.gen_ai.cost.output"
