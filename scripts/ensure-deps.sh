#!/usr/bin/env bash
# Installs what the test suites need beyond the Python venv, on a fresh Debian machine (as root):
#   10-apt.sh         tmux, openssl and xxd, apt-installed (tools: no services, no users)
#   20-servers.sh     prometheus, promtool and etcd: Debian's packages unpacked into the cache, not installed
#   30-kubernetes.sh  kube-apiserver built from Debian's source package into the cache (build tools apt-installed)
# Everything else goes under GOOSETERM_CACHE (default ~/.cache/gooseterm; see scripts/lib.sh and the
# README's "What `make test` installs"). Each step is idempotent and returns at once when its
# result is cached. The Kubernetes build, the long one, runs in the background while the other
# steps download and unpack. A step that cannot install says so and fails.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
began=$SECONDS

bash scripts/deps/10-apt.sh
bash scripts/deps/30-kubernetes.sh &
kube=$!
trap 'kill "$kube" 2>/dev/null || true' EXIT    # ctrl-c or a failing step stops the build too
trap 'exit 130' INT TERM
for step in scripts/deps/*.sh; do
  case "$step" in */10-apt.sh | */30-kubernetes.sh) continue ;; esac
  bash "$step"
done
if ! wait "$kube"; then
  trap - EXIT
  say ensure-deps "30-kubernetes.sh failed"
  exit 1
fi
trap - EXIT
took=$((SECONDS - began))
[ "$took" -lt 2 ] || say ensure-deps "test dependencies ready in $(elapsed "$took") (cache: $GOOSETERM_CACHE)"
