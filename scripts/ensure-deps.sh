#!/usr/bin/env bash
# Installs what the test suites need beyond the Python venv, on a fresh machine of this kind
# (Debian, root): each scripts/deps/*.sh installs or builds one thing, idempotently, caching
# under ~/.cache/gooseterm where it can. A step that cannot install says so and fails.
set -euo pipefail
cd "$(dirname "$0")/.."
for step in scripts/deps/*.sh; do
  [ -e "$step" ] || continue
  echo "ensure-deps: $(basename "$step")" >&2
  bash "$step"
done
