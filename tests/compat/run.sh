#!/usr/bin/env bash
# The suite again, against the other client-library versions we claim, each in its own venv.
#
#   bash tests/compat/run.sh              # every environment below
#   bash tests/compat/run.sh openai1      # one of them
#
# .venv-compat/<name> gets the project with its extras and its pins (envs.sh): the newest openai 1.x,
# the newest openai 2.x, the oldest azure-ai-agents, azure-ai-projects and agent stacks the extras
# allow. Venvs are reused while pyproject.toml and the pins are unchanged. The environments run
# concurrently. Each runs its TESTS (envs.sh), else the client-facing tests of the libraries whose
# version there differs from the main venv's (surface_tests); the rest runs once, in the main venv.
# Exit status: non-zero if any environment fails.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PY="${PY:-python3}"
cd "$ROOT"
unset PYTHONDONTWRITEBYTECODE  # as in tests/suite.sh: each subprocess would compile its imports again
UV="${UV:-.venv-uv/bin/uv}"  # `make uv`: installs each venv in seconds
[ -x "$UV" ] || make --no-print-directory uv || exit 2

# shellcheck source=envs.sh
source "$ROOT/tests/compat/envs.sh"
if [ "$#" -gt 0 ]; then ORDER=("$@"); fi

setup() {  # name pins (space separated)
  local venv=".venv-compat/$1" stamp extras="${EXTRAS[$1]:-test}" pins
  read -r -a pins <<< "$2"
  stamp="$(cat pyproject.toml "requirements/compat-$1.txt" | sha256sum | cut -c1-16) $2 $extras"
  if [ -f "$venv/.installed" ] && [ "$(cat "$venv/.installed")" = "$stamp" ]; then
    return 0
  fi
  rm -rf "$venv"
  "$UV" venv -q --python "$PY" "$venv" &&
    "$UV" pip install -q --python "$venv/bin/python" -c "requirements/compat-$1.txt" \
      -e ".[$extras]" "${pins[@]}" &&
    echo "$stamp" > "$venv/.installed"
}

# The client-facing tests of each client library (every wrapped method, helpers, streams, privacy).
declare -A SURFACE_TESTS=(
  [openai]="tests/test_openai_assistants.py tests/test_run_lifecycle.py tests/test_streams.py
    tests/test_run_outcomes.py tests/test_never_content.py tests/test_openai_responses.py
    tests/test_raw_streaming_responses.py tests/test_background_responses.py"
  [azure-ai-agents]="tests/test_azure_ai_agents.py tests/test_azure_ai_agents_streams.py"
)

pinned() {  # lock-file package: its "package==version" line (markers kept), empty if not pinned there
  grep -iE "^$2==" "$1" | sort
}

surface_tests() {  # name: the surfaces whose library differs here from the main venv's lock
  # A library at the same version as in requirements/dev.txt already ran its tests in the main venv:
  # only what differs runs again (openai1 runs the openai tests, agents-oldest the azure-ai-agents
  # ones). An environment where neither differs runs them all.
  local name="$1" package picked=()
  for package in "${!SURFACE_TESTS[@]}"; do
    if [ "$(pinned "requirements/compat-$name.txt" "$package")" != "$(pinned requirements/dev.txt "$package")" ]; then
      picked+=("${SURFACE_TESTS[$package]}")
    fi
  done
  if [ "${#picked[@]}" -eq 0 ]; then picked=("${SURFACE_TESTS[@]}"); fi
  echo "${picked[*]}"
}

one() {  # name: set up its venv and run the surface tests there; exit status 0, 1 (tests) or 2 (install)
  local name="$1" pin="${PINS[$1]}"
  # One run per venv at a time: a second `make test` waits here instead of rebuilding it underneath.
  exec 9>".venv-compat/$name.lock"
  flock 9
  echo "=== compat $name: $pin"
  if ! setup "$name" "$pin"; then
    echo "=== compat $name: could not install $pin"
    return 2
  fi
  "$UV" pip list --python ".venv-compat/$name/bin/python" 2>/dev/null | grep -iE '^(openai|openai-agents|agent-framework-(core|openai)|azure-ai-agents|azure-ai-projects|httpx2?) ' | tr -s ' ' | sed 's/^/    /'
  # The client-facing surfaces, not the whole suite: dashboards, CLI and exporters do not depend on
  # the client library's version.
  local tests
  read -r -d "" -a tests <<< "${TESTS[$name]:-$(surface_tests "$name")}" || true
  echo "    tests: ${tests[*]}"
  local installed=$SECONDS
  echo "    installed in ${installed} s"
  ".venv-compat/$name/bin/python" -m pytest -q -m "not slow" -p no:cacheprovider "${tests[@]}" || return 1
}

for name in "${ORDER[@]}"; do
  : "${PINS[$name]:?unknown environment $name (choose from ${!PINS[*]})}"
done
failed=()
mkdir -p .venv-compat
# The environments are independent (own venv, own simulator on its own port): run them at once,
# each into its own log, then print the logs in ORDER so the output reads as a sequential run.
declare -A PIDS=()
for name in "${ORDER[@]}"; do
  (SECONDS=0; one "$name") > ".venv-compat/$name.log" 2>&1 &
  PIDS[$name]=$!
done
for name in "${ORDER[@]}"; do
  wait "${PIDS[$name]}"
  status=$?
  cat ".venv-compat/$name.log"
  case $status in
    0) ;;
    2) failed+=("$name (install)") ;;
    *) failed+=("$name") ;;
  esac
done

# On success the last line stays pytest's own summary (CI reads it); failures are listed.
if [ "${#failed[@]}" -gt 0 ]; then
  echo "=== compat: failed in ${failed[*]}"
  exit 1
fi
