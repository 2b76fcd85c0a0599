#!/usr/bin/env bash
# The whole test suite, runnable on a fresh machine: `make test` installs the Python packages
# first (the venv), then this runs pytest. pytest's exit 5 (no tests collected) is a failure here.
set -uo pipefail
cd "$(dirname "$0")/.."
./scripts/ensure-deps.sh || { echo "test.sh: installing the test dependencies failed" >&2; exit 1; }
.venv/bin/python -m pytest "$@"
rc=$?
if [ "$rc" -eq 5 ]; then
  echo "test.sh: pytest collected no tests; that is a failure, not a pass" >&2
  exit 1
fi
exit "$rc"
