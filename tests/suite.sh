#!/usr/bin/env bash
# `make test`, the README's command and CI's (.ci/run): everything the suite runs, stages overlapped
# where they are independent (docs/performance.md section 6 has the figures):
#
#   1. the compat environments (tests/compat/run.sh: venvs of their own, installed and tested) start at
#      once, in the background, at a lower CPU priority (nice 10): they need nothing from the main venv,
#      and niced they take the CPU the main suite leaves idle (its exit-flush waits, pip's downloads)
#      instead of slowing its longest test;
#   2. the main venv (make setup) beside the system tools (Chromium, promtool, valgrind, the npm packages);
#   3. lint (ruff, mypy) in the background while the main pytest runs in the foreground;
#   4. lint's output, then the compat logs in order; the exit status is non-zero if any stage failed.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
MAKE="${MAKE:-make}"
# Bytecode caches on: with PYTHONDONTWRITEBYTECODE set (this machine's default) every Python process the
# suite starts compiles openai, azure and OpenTelemetry from source again, about 1.5 s of CPU each,
# and the suite starts hundreds of them. __pycache__ is git-ignored.
unset PYTHONDONTWRITEBYTECODE
BIN=.venv/bin
logs="$(mktemp -d)"
started=$SECONDS

stage() {  # name: one line CI's log can be timed by
  echo "=== make test: $1 at $((SECONDS - started)) s"
}

# uv first: every venv below installs with it.
"$MAKE" --no-print-directory uv || exit 2
# Its own process group (setsid), so an interrupted run can end the environments' installs and pytest too.
mkdir -p .venv-compat
nice -n 10 setsid -w bash tests/compat/run.sh > "$logs/compat" 2>&1 &
compat=$!
lint=
cleanup() {
  [ -n "$compat" ] && kill -TERM -- "-$compat" 2>/dev/null
  [ -n "$lint" ] && kill -TERM "$lint" 2>/dev/null
  rm -rf "$logs"
}
trap 'cleanup; exit 130' INT TERM
trap cleanup EXIT

stage "compat environments started in the background"
"$MAKE" --no-print-directory chromium dashboard-tools valgrind > "$logs/tools" 2>&1 &
tools=$!
"$MAKE" --no-print-directory setup || exit 2
wait "$tools" || { cat "$logs/tools"; exit 2; }
cat "$logs/tools"
stage "setup done"

{
  "$BIN/ruff" check src tests examples &&
    "$BIN/ruff" format --check src tests examples &&
    "$BIN/mypy"
} > "$logs/lint" 2>&1 &
lint=$!

# xdist: 3 workers on 2 cores, because the exporter-outage tests mostly wait on exit flushes;
# worksteal rebalances the tail; slow tests are collected first (tests/conftest.py).
"$BIN/python" -m pytest -q -n 3 --dist worksteal --durations=15
tests_status=$?
stage "pytest done"

wait "$lint"
lint_status=$?
lint=
echo "=== lint"
cat "$logs/lint"

wait "$compat"
compat_status=$?
compat=
stage "compat done"
cat "$logs/compat"

failed=()
[ "$lint_status" -eq 0 ] || failed+=(lint)
[ "$tests_status" -eq 0 ] || failed+=(pytest)
[ "$compat_status" -eq 0 ] || failed+=(compat)
if [ "${#failed[@]}" -gt 0 ]; then
  echo "=== make test failed: ${failed[*]}"
  exit 1
fi
