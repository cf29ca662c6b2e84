# The README's two commands: `make demo` and `make test`. Both set up .venv themselves.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# uv installs every venv here (main, compat, lock): the same pinned sets as pip, in seconds instead of
# a minute each, which is most of what a clean machine's `make test` spent before its first test.
UV_PIN := uv==0.13.9
UV := .venv-uv/bin/uv

.PHONY: demo test lint setup clean chromium dashboard-tools valgrind compat lock uv

$(UV):
	$(PY) -m venv .venv-uv
	.venv-uv/bin/python -m pip install -q $(UV_PIN)

uv: $(UV)

# Installs the pinned set (requirements/dev.txt, from `make lock`): unpinned, pip's resolver gives up on
# the dev extra's graph on a clean machine. --seed keeps pip in .venv for the developer's own installs.
$(STAMP): pyproject.toml requirements/dev.txt | $(UV)
	$(UV) venv -q --clear --seed --python $(PY) $(VENV)
	$(UV) pip install -q --python $(BIN)/python -c requirements/dev.txt -e ".[dev]"
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/assistant-telemetry demo

lint: $(STAMP)
	$(BIN)/ruff check src tests examples
	$(BIN)/ruff format --check src tests examples
	$(BIN)/mypy

# Everything the suite runs, as CI runs it: tests/suite.sh starts the compat environments in the
# background, sets up .venv beside the system tools, runs lint beside pytest, then prints the rest.
test:
	@PY=$(PY) MAKE=$(MAKE) bash tests/suite.sh

# The client-facing tests again on the newest openai 1.x and 2.x and the oldest azure-ai-agents, azure-ai-projects
# and agent stacks (tests/compat/envs.sh), each in .venv-compat/<name>.
compat: uv chromium dashboard-tools
	PY=$(PY) UV=$(UV) bash tests/compat/run.sh

# Headless Chromium renders the timeline's HTML page in tests/test_timeline.py (Debian package; root in CI).
chromium:
	@test -x /usr/bin/chromium || (apt-get update -qq && apt-get install -y -qq chromium)

# The dashboard tests' tools: Kusto's language service and Grafana's TraceQL parser (npm, pinned
# in dashboards/tools/package-lock.json), promtool (Debian's prometheus; the service is not started).
dashboard-tools:
	@test -d dashboards/tools/node_modules || npm ci --prefix dashboards/tools --no-audit --no-fund
	@command -v promtool >/dev/null || (apt-get update -qq && apt-get install -y -qq --no-install-recommends prometheus)

# benchmarks/chunk_instructions.py counts instructions under callgrind (Debian's valgrind, with callgrind.h).
valgrind:
	@command -v valgrind >/dev/null || (apt-get update -qq && apt-get install -y -qq --no-install-recommends valgrind)

# Re-pin requirements/*.txt after a dependency change in pyproject.toml or tests/compat/envs.sh.
lock: uv
	PY=$(PY) UV=$(UV) bash requirements/lock.sh

clean:
	rm -rf $(VENV) .venv-uv
