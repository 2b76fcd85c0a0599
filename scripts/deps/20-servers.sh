#!/usr/bin/env bash
# The test servers from Debian, unpacked, not installed: prometheus and promtool (package
# prometheus, 2.42) for tests/integration/test_prometheus.py and test_exporter_prometheus.py, and
# etcd (package etcd-server, 3.4) under the Kubernetes tests' kube-apiserver.
#
# `apt-get install` of these packages would run their maintainer scripts: add the system users
# prometheus and etcd and enable both as boot-time services. The tests need neither (they start
# each server as a plain process on 127.0.0.1 with its own data folder), so this fetches the .deb
# files with `apt-get download` (hashes checked against Debian's signed index, as apt-get install
# does) and unpacks them with `dpkg-deb -x` into $GOOSETERM_CACHE/debs/<package>/<version>/; the
# binaries need only libc. $GOOSETERM_CACHE/bin/ links to them, and the test harnesses look there
# first (tests/helpers/deps.py). Nothing outside $GOOSETERM_CACHE changes (apt's package lists may
# be refreshed by `apt-get update` when they lack these packages).
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
STEP=20-servers
DEBS=$GOOSETERM_CACHE/debs
BIN=$GOOSETERM_CACHE/bin
SERVERS=("prometheus:prometheus promtool" "etcd-server:etcd")   # package:binaries in /usr/bin

ready() {
  local spec bin
  for spec in "${SERVERS[@]}"; do
    for bin in ${spec#*:}; do [ -x "$BIN/$bin" ] || return 1; done
  done
}
ready && exit 0
mkdir -p "$DEBS" "$BIN"
exec 9>"$DEBS/.lock"
flock 9                      # two concurrent runs: the second waits, then finds the binaries
ready && exit 0

candidate() { apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ {print $2}'; }
tmp=
trap '[ -z "$tmp" ] || rm -rf "$tmp"' EXIT
for spec in "${SERVERS[@]}"; do
  pkg=${spec%%:*}
  ver=$(candidate "$pkg")
  if [ -z "$ver" ] || [ "$ver" = "(none)" ]; then apt_update_once; ver=$(candidate "$pkg"); fi
  if [ -z "$ver" ] || [ "$ver" = "(none)" ]; then
    say $STEP "apt knows no package $pkg (is deb.debian.org bookworm main in /etc/apt/sources.list.d?)"
    exit 1
  fi
  dest=$DEBS/$pkg/$ver
  if [ ! -e "$dest/.complete" ]; then
    say $STEP "unpacking Debian's $pkg $ver into $dest (apt-get download + dpkg-deb -x, not installed)"
    tmp=$(mktemp -d "$DEBS/.unpack.XXXXXX")
    if ! (cd "$tmp" && apt_get download -qq "$pkg=$ver" 2>/dev/null); then
      apt_update_once          # stale lists: the pool file may have moved on
      (cd "$tmp" && apt_get download -qq "$pkg=$ver")
    fi
    dpkg-deb -x "$tmp"/"${pkg}"_*.deb "$tmp/root"
    touch "$tmp/root/.complete"
    rm -rf "$dest"
    mkdir -p "$DEBS/$pkg"
    mv "$tmp/root" "$dest"
    rm -rf "$tmp"; tmp=
  fi
  for bin in ${spec#*:}; do
    [ -x "$dest/usr/bin/$bin" ] || { say $STEP "$pkg $ver has no usr/bin/$bin"; exit 1; }
    "$dest/usr/bin/$bin" --version >/dev/null 2>&1 || { say $STEP "$dest/usr/bin/$bin --version fails"; exit 1; }
    ln -sfn "../debs/$pkg/$ver/usr/bin/$bin" "$BIN/$bin"
  done
  for old in "$DEBS/$pkg"/*; do          # other versions of the package are dead weight now
    [ "$old" = "$dest" ] || rm -rf "$old"
  done
done
say $STEP "prometheus, promtool and etcd are in $BIN"
