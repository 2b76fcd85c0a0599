#!/usr/bin/env bash
# Debian's prometheus (2.42: the server and promtool) for tests/integration/test_prometheus.py.
# The tests start their own server on 127.0.0.1 with its own data folder; the package's systemd
# unit is not used (and does not run without systemd).
set -euo pipefail
dpkg -s prometheus >/dev/null 2>&1 && command -v promtool >/dev/null && exit 0
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends prometheus >/dev/null
command -v prometheus >/dev/null && command -v promtool >/dev/null || {
  echo "20-prometheus.sh: prometheus installed but prometheus/promtool not on PATH" >&2
  exit 1
}
