#!/usr/bin/env bash
# The whole test suite, runnable on a fresh machine (`make test`, and CI through .ci/run): the test
# servers (scripts/ensure-deps.sh) and the venv (`make setup`) are set up side by side, then pytest
# runs with the arguments given. pytest's exit 5 (no tests collected) is a failure here.
set -uo pipefail
cd "$(dirname "$0")/.."
began=$SECONDS

./scripts/ensure-deps.sh &
deps=$!
trap 'kill "$deps" 2>/dev/null' EXIT
trap 'exit 130' INT TERM
if ! "${MAKE:-make}" --no-print-directory setup; then
  echo "test.sh: creating the venv (make setup) failed" >&2
  exit 1
fi
if ! wait "$deps"; then
  echo "test.sh: installing the test dependencies failed (scripts/ensure-deps.sh; its messages are above)" >&2
  exit 1
fi
trap - EXIT
echo "test.sh: set-up took $((SECONDS - began)) s; running pytest" >&2

.venv/bin/python -m pytest "$@"
rc=$?
if [ "$rc" -eq 5 ]; then
  echo "test.sh: pytest collected no tests; that is a failure, not a pass" >&2
  exit 1
fi
exit "$rc"
