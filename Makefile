# The README's two commands: `make demo` and `make test`. Both set up .venv themselves.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint setup clean chromium dashboard-tools compat lock

# Installs the pinned set (requirements/dev.txt, from `make lock`): unpinned, pip's resolver gives up on
# the dev extra's graph on a clean machine.
$(STAMP): pyproject.toml requirements/dev.txt
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c requirements/dev.txt -e ".[dev]"
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
compat: chromium dashboard-tools
	PY=$(PY) bash tests/compat/run.sh

# Headless Chromium renders the timeline's HTML page in tests/test_timeline.py (Debian package; root in CI).
chromium:
	@test -x /usr/bin/chromium || (apt-get update -qq && apt-get install -y -qq chromium)

# The dashboard tests' tools: Kusto's language service and Grafana's TraceQL parser (npm, pinned
# in dashboards/tools/package-lock.json), promtool (Debian's prometheus; the service is not started).
dashboard-tools:
	@test -d dashboards/tools/node_modules || npm ci --prefix dashboards/tools --no-audit --no-fund
	@command -v promtool >/dev/null || (apt-get update -qq && apt-get install -y -qq --no-install-recommends prometheus)

# Re-pin requirements/*.txt after a dependency change in pyproject.toml or tests/compat/envs.sh.
lock:
	PY=$(PY) bash requirements/lock.sh

clean:
	rm -rf $(VENV)
