#!/usr/bin/env bash
# A real Kubernetes API server for the integration tests (tests/integration/k8s_harness.py starts it):
# etcd from Debian's etcd-server, openssl for the test certificates, and
# kube-apiserver built from Debian's `kubernetes` source package (its Go dependencies are vendored
# in the tarball, so the build runs with GOPROXY=off and fetches nothing but Debian packages).
#
# The binary is cached under ~/.cache/gooseterm/k8s/<source version>/bin/kube-apiserver and
# ~/.cache/gooseterm/k8s/current points at the version in use. With the cache and etcd present
# this is a no-op that returns at once. A cold build takes about 4 minutes on 2 cores, ~1.3 GB RAM
# and ~2.3 GB of temporary disk, which is removed afterwards (the binary is ~120 MB).
# Delete ~/.cache/gooseterm/k8s to rebuild (for example after Debian ships a new source version).
set -euo pipefail
CACHE=${GOOSETERM_K8S_CACHE:-$HOME/.cache/gooseterm/k8s}

have_cache() {
  [ -L "$CACHE/current" ] && [ -x "$CACHE/current/bin/kube-apiserver" ] && command -v etcd >/dev/null 2>&1 \
    && command -v openssl >/dev/null 2>&1
}
have_cache && exit 0

mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9                      # two concurrent runs: the second waits, then finds the cache
have_cache && exit 0

export DEBIAN_FRONTEND=noninteractive
# Other steps (or a person) may be running apt at the same time: wait for dpkg's lock, and retry
# `apt-get update`, whose lists lock has no waiting option.
apt_get() { apt-get -o DPkg::Lock::Timeout=600 "$@"; }
apt_update() {
  local i
  for i in 1 2 3 4 5 6 7 8 9 10; do apt_get update -qq && return 0; sleep 10; done
  echo "30-kubernetes: apt-get update kept failing" >&2; return 1
}
need=()
for pkg in golang-go etcd-server rsync make openssl; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  apt_update
  apt_get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
if [ -L "$CACHE/current" ] && [ -x "$CACHE/current/bin/kube-apiserver" ]; then
  exit 0                     # only a package was missing
fi

# A temporary deb-src entry for the source package; removed again whatever happens.
SRCLIST=/etc/apt/sources.list.d/gooseterm-k8s-debsrc.sources
WORK=$(mktemp -d "$CACHE/build.XXXXXX")
cleanup() {
  rm -rf "$WORK"
  if [ -e "$SRCLIST" ]; then rm -f "$SRCLIST"; apt_update >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT
cat >"$SRCLIST" <<'SRC'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
apt_update
cd "$WORK"
apt_get source --download-only -qq kubernetes >/dev/null
dsc=$(ls kubernetes_*.dsc | head -n1)
srcver=$(sed -n 's/^Version: //p' "$dsc" | head -n1)      # e.g. 1.20.5+really1.20.2-1.1
[ -n "$srcver" ] || { echo "30-kubernetes: no Version in $dsc" >&2; exit 1; }
tar xzf kubernetes_*.orig.tar.gz
srcdir=$(find . -maxdepth 1 -type d -name 'kubernetes-*' | head -n1)
[ -n "$srcdir" ] || { echo "30-kubernetes: the source tarball has no kubernetes-* folder" >&2; exit 1; }
upstream=${srcdir#./kubernetes-}                           # e.g. 1.20.2
major=${upstream%%.*}; rest=${upstream#*.}; minor=${rest%%.*}
# The tarball is not a git checkout: give hack/lib/version.sh the version it would read from git.
cat >"$WORK/version.env" <<V
KUBE_GIT_COMMIT=''
KUBE_GIT_TREE_STATE='archive'
KUBE_GIT_VERSION='v$upstream'
KUBE_GIT_MAJOR='$major'
KUBE_GIT_MINOR='$minor'
V
# `go build -mod=vendor` alone fails on this tree; the Makefile route (hack/make-rules) works.
echo "30-kubernetes: building kube-apiserver $upstream from Debian source $srcver (about 4 minutes)" >&2
if ! (cd "$srcdir" && GOPROXY=off GOFLAGS= GO111MODULE=on CGO_ENABLED=0 GOCACHE="$WORK/gocache" \
      KUBE_GIT_VERSION_FILE="$WORK/version.env" make WHAT=cmd/kube-apiserver) >"$WORK/make.log" 2>&1; then
  tail -n 40 "$WORK/make.log" >&2
  echo "30-kubernetes: make WHAT=cmd/kube-apiserver failed (log above)" >&2
  exit 1
fi
dest="$CACHE/$srcver"
mkdir -p "$dest/bin"
cp "$srcdir/_output/bin/kube-apiserver" "$dest/bin/kube-apiserver.tmp"
mv "$dest/bin/kube-apiserver.tmp" "$dest/bin/kube-apiserver"
printf '%s\n' "$upstream" >"$dest/VERSION"
ln -sfn "$srcver" "$CACHE/current.tmp" && mv -T "$CACHE/current.tmp" "$CACHE/current"
echo "30-kubernetes: cached $dest/bin/kube-apiserver" >&2
