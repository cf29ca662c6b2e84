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

from typing import Final

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

METADATA_KEYS: Final = _NS + "metadata.keys"
METADATA_VALUE_PREFIX: Final = _NS + "metadata.value."  # + allowlisted key (never collides with .keys)

LIST_COUNT: Final = _NS + "list.count"
LIST_FIRST_ID: Final = _NS + "list.first_id"
LIST_LAST_ID: Final = _NS + "list.last_id"
LIST_HAS_MORE: Final = _NS + "list.has_more"
LIST_IDS: Final = _NS + "list.ids"  # up to LIST_IDS_CAP ids of the page
LIST_IDS_CAP: Final = 20

DELETED: Final = _NS + "deleted"

# --- metrics ------------------------------------------------------------------------------
METRIC_OPERATION_DURATION: Final = "gen_ai.client.operation.duration"
METRIC_TOKEN_USAGE: Final = "gen_ai.client.token.usage"
METRIC_INSTRUMENTATION_ERRORS: Final = _NS + "instrumentation.errors"
INSTRUMENTATION_STAGE: Final = _NS + "instrumentation.stage"  # where an internal error happened
TOKEN_USAGE_DEDUP_CAP: Final = 10_000  # finished runs remembered so their tokens count once

# Semconv's advisory bucket boundaries for the two gen_ai.client histograms.
DURATION_BUCKETS: Final = (
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
)  # fmt: skip
TOKEN_BUCKETS: Final = (
    1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
)  # fmt: skip

# --- values ---------------------------------------------------------------------------------
PROVIDER_OPENAI: Final = "openai"
PROVIDER_AZURE_OPENAI: Final = "azure.ai.openai"
SYSTEM_OPENAI: Final = "openai"
SYSTEM_AZURE_OPENAI: Final = "az.ai.openai"
AZURE_NAMESPACE_COGNITIVE_SERVICES: Final = "Microsoft.CognitiveServices"
