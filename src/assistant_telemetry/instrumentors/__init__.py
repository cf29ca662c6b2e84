"""One module per client library; each exports a ``PATCHER`` built from its table."""

from __future__ import annotations

from ..patching import Patcher
from .agent_framework import PATCHER as AGENT_FRAMEWORK
from .azure_ai_agents import PATCHER as AZURE_AI_AGENTS
from .azure_ai_projects import PATCHER as AZURE_AI_PROJECTS
from .openai import PATCHER as OPENAI
from .openai_agents import PATCHER as OPENAI_AGENTS

PATCHERS: tuple[Patcher, ...] = (OPENAI, AZURE_AI_AGENTS, AZURE_AI_PROJECTS, OPENAI_AGENTS, AGENT_FRAMEWORK)
