#!/usr/bin/env bash
# Debian packages the tests use: tmux (end-to-end dashboard tests in a real terminal).
set -euo pipefail
need=()
for pkg in tmux; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
[ ${#need[@]} -eq 0 ] && exit 0
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
