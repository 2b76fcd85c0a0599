#!/usr/bin/env bash
# Debian tools the tests run, apt-installed (none ships a service or adds a user): tmux (the
# end-to-end dashboard tests drive gooseterm in a real terminal), openssl (the Kubernetes tests'
# certificates; VERIFY.md's OpenSSL-only path) and xxd (that path too). Without them those tests
# would skip, so CI installs them.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
apt_install 10-apt tmux openssl xxd
