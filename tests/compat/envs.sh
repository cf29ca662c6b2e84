# The compat environments: sourced by tests/compat/run.sh and requirements/lock.sh (one list for both).
# shellcheck disable=SC2034
declare -A PINS=(
  [openai1]="openai==1.109.1"
  [openai2]="openai==2.54.0"
  [agents-oldest]="azure-ai-agents==1.0.0"
  [projects-oldest]="azure-ai-projects==2.0.0"
  # the agent stacks' floors together (they need openai<3: it resolves to 2.x); pins are space separated
  [agent-stacks-oldest]="openai-agents==0.19.0 agent-framework-core==1.6.0 agent-framework-openai==1.0.0"
)
ORDER=(openai1 openai2 agents-oldest projects-oldest agent-stacks-oldest)
# The project's extras each venv installs beside its pin (default: test, the classic clients), and the
# test files it runs (default: SURFACE_TESTS). The successor stacks need openai 3.x, so they get venvs
# of their own at their oldest supported release.
declare -A EXTRAS=(
  [projects-oldest]="test,foundry"
  [agent-stacks-oldest]="test,agent-framework,openai-agents"
)
declare -A TESTS=(
  [projects-oldest]="tests/test_foundry_agents.py tests/test_foundry_coexistence.py tests/test_coexistence_openai.py tests/test_openai_responses.py"
  [agent-stacks-oldest]="tests/test_openai_agents.py tests/test_agent_framework.py tests/test_agent_examples.py"
)
