# The compat environments: sourced by tests/compat/run.sh and requirements/lock.sh (one list for both).
# shellcheck disable=SC2034
declare -A PINS=(
  [openai1]="openai==1.109.1"
  [openai2]="openai==2.54.0"
  [agents-oldest]="azure-ai-agents==1.0.0"
  [projects-oldest]="azure-ai-projects==2.0.0"
)
ORDER=(openai1 openai2 agents-oldest projects-oldest)
# The project's extras each venv installs beside its pin (default: test, the classic clients), and the
# test files it runs (default: SURFACE_TESTS). The successor stacks need openai 3.x, so they get venvs
# of their own at their oldest supported release.
declare -A EXTRAS=(
  [projects-oldest]="test,foundry"
)
declare -A TESTS=(
  [projects-oldest]="tests/test_foundry_agents.py tests/test_foundry_coexistence.py tests/test_openai_responses.py"
)
