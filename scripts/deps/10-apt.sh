#!/usr/bin/env bash
# Debian tools the tests run, apt-installed (neither ships a service or adds a user):
# tmux (the end-to-end dashboard tests drive gooseterm in a real terminal) and openssl (the
# Kubernetes tests make their certificates with it).
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
apt_install 10-apt tmux openssl
