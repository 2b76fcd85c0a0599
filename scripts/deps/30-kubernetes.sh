#!/usr/bin/env bash
# A real Kubernetes API server for the integration tests (tests/integration/k8s_harness.py starts it):
# etcd from Debian's etcd-server, openssl for the test certificates, and
# kube-apiserver built from Debian's `kubernetes` source package (its Go dependencies are vendored
# in the tarball, so the build runs with GOPROXY=off and fetches nothing but Debian packages).
#
# The binary is cached under ~/.cache/gooseterm/k8s/<source version>-r<RECIPE>/bin/kube-apiserver
# and ~/.cache/gooseterm/k8s/current points at the build in use. With the cache and etcd present
# this is a no-op that returns at once. A cold build takes about 4 minutes on 2 idle cores (8 on a
# busy machine), ~1.3 GB RAM and ~2.3 GB of temporary disk, removed afterwards (the binary is
# ~110 MB). Delete ~/.cache/gooseterm/k8s to rebuild, e.g. after Debian ships a new source version.
set -euo pipefail
CACHE=${GOOSETERM_K8S_CACHE:-$HOME/.cache/gooseterm/k8s}
RECIPE=2   # bump when the build changes, so caches built the old way are rebuilt
REFLECT2=/usr/share/gocode/src/github.com/modern-go/reflect2

have_cache() {
  [ -L "$CACHE/current" ] && [ -x "$CACHE/current/bin/kube-apiserver" ] \
    && [ "$(cat "$CACHE/current/RECIPE" 2>/dev/null)" = "$RECIPE" ] \
    && command -v etcd >/dev/null 2>&1 && command -v openssl >/dev/null 2>&1 \
    && [ -d "$REFLECT2" ]
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
for pkg in golang-go golang-github-modern-go-reflect2-dev etcd-server rsync make openssl; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  apt_update
  apt_get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
if have_cache; then
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
# The tarball vendors github.com/modern-go/reflect2 v1.0.1, whose map iteration faults under Go 1.18
# and later (the only Go in bookworm is 1.19): kube-apiserver then dies with SIGSEGV in
# reflect2.UnsafeIterate on the first custom resource it stores. Debian ships the fixed v1.0.2
# (golang-github-modern-go-reflect2-dev, API-compatible): build with its sources instead.
vendored="$srcdir/vendor/github.com/modern-go/reflect2"
[ -d "$vendored" ] || { echo "30-kubernetes: $vendored is missing" >&2; exit 1; }
rm -f "$vendored"/*.go "$vendored"/*.s
cp "$REFLECT2"/*.go "$REFLECT2"/*.s "$vendored"/
# `go build -mod=vendor` alone fails on this tree; the Makefile route (hack/make-rules) works.
echo "30-kubernetes: building kube-apiserver $upstream from Debian source $srcver (about 4 minutes)" >&2
if ! (cd "$srcdir" && GOPROXY=off GOFLAGS= GO111MODULE=on CGO_ENABLED=0 GOCACHE="$WORK/gocache" \
      KUBE_GIT_VERSION_FILE="$WORK/version.env" make WHAT=cmd/kube-apiserver) >"$WORK/make.log" 2>&1; then
  tail -n 40 "$WORK/make.log" >&2
  echo "30-kubernetes: make WHAT=cmd/kube-apiserver failed (log above)" >&2
  exit 1
fi
dest="$CACHE/$srcver-r$RECIPE"
mkdir -p "$dest/bin"
cp "$srcdir/_output/bin/kube-apiserver" "$dest/bin/kube-apiserver.tmp"
mv "$dest/bin/kube-apiserver.tmp" "$dest/bin/kube-apiserver"
printf '%s\n' "$upstream" >"$dest/VERSION"
printf '%s\n' "$RECIPE" >"$dest/RECIPE"
ln -sfn "$srcver-r$RECIPE" "$CACHE/current.tmp" && mv -T "$CACHE/current.tmp" "$CACHE/current"
for old in "$CACHE"/*; do    # builds of other source versions or recipes are dead weight now
  if [ -d "$old" ] && [ ! -L "$old" ] && [ "$(basename "$old")" != "$srcver-r$RECIPE" ]; then rm -rf "$old"; fi
done
echo "30-kubernetes: cached $dest/bin/kube-apiserver" >&2
