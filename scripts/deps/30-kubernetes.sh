#!/usr/bin/env bash
# A real Kubernetes API server for the integration tests (tests/integration/kubernetes/k8s_harness.py
# starts it with etcd from 20-servers.sh): kube-apiserver built from Debian's `kubernetes` source
# package. Its Go dependencies are vendored in the tarball, so the build runs with GOPROXY=off and
# fetches nothing but Debian's source package and Debian's Go toolchain.
#
# Result: $GOOSETERM_K8S_CACHE/<source version>-r<RECIPE>/bin/kube-apiserver (~110 MB), with
# $GOOSETERM_K8S_CACHE/current pointing at it (default ~/.cache/gooseterm/k8s). With it present
# this is a no-op that returns at once. A cold build compiles ~1,560 Go packages: see
# BUILD_ESTIMATE below and docs/PERFORMANCE.md for the measured times; ~1.3 GB RAM and ~2 GB of
# temporary disk, removed afterwards. It prints a progress line every 30 s.
#
# What it changes on the system: apt-installs the build tools golang-go (Go 1.19), golang-github-
# modern-go-reflect2-dev and make (no services, no users). Not rsync, which the build calls once:
# Debian's rsync package enables its daemon's init script (/etc/rc*.d/S01rsync), so a two-line shim
# stands in for it. The source package is fetched with a private apt state under
# $GOOSETERM_CACHE/apt: nothing is added to /etc/apt.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
STEP=30-kubernetes
CACHE=$GOOSETERM_K8S_CACHE
RECIPE=2   # bump when the built binary changes, so caches built the old way are rebuilt
REFLECT2=/usr/share/gocode/src/github.com/modern-go/reflect2
BUILD_TOOLS=(golang-go golang-github-modern-go-reflect2-dev make)
BUILD_ESTIMATE="about 6 CPU-minutes: 5 to 10 minutes on 2 shared cores (docs/PERFORMANCE.md), less on idle ones"
PACKAGES_EXPECTED=1560   # Go packages `go install -v` lists for cmd/kube-apiserver 1.20.2 (measured)
PROGRESS_EVERY=${GOOSETERM_PROGRESS_EVERY:-30}

have_cache() {
  [ -L "$CACHE/current" ] && [ -x "$CACHE/current/bin/kube-apiserver" ] \
    && [ "$(cat "$CACHE/current/RECIPE" 2>/dev/null)" = "$RECIPE" ]
}
have_cache && exit 0

mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
if ! flock -n 9; then
  say $STEP "another run is building kube-apiserver into $CACHE; waiting for it"
  flock 9
fi
have_cache && exit 0
began=$SECONDS

say $STEP "kube-apiserver is not cached in $CACHE: building it ($BUILD_ESTIMATE)"
apt_install $STEP "${BUILD_TOOLS[@]}"
[ -d "$REFLECT2" ] || { say $STEP "$REFLECT2 is missing (golang-github-modern-go-reflect2-dev)"; exit 1; }

WORK=$(mktemp -d "$CACHE/build.XXXXXX")
pid=
cleanup() {
  if [ -n "$pid" ]; then kill -- "-$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  [ ! -d "$WORK/gocache" ] || say $STEP "removing the build folder $WORK (sources and Go cache, about 2 GB)"
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM     # so that cleanup also runs when the run is interrupted

# Debian's source package through a private apt state (its own sources, lists and lock), so the
# system's apt configuration is never touched and its lists are not refreshed twice.
APTDIR=$GOOSETERM_CACHE/apt
mkdir -p "$APTDIR/sources.list.d" "$APTDIR/lists/partial" "$APTDIR/cache/archives/partial"
cat >"$APTDIR/sources.list.d/debian-src.sources" <<'SRC'
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
apt_src() {
  apt-get -o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts="$APTDIR/sources.list.d" \
    -o Dir::State::Lists="$APTDIR/lists" -o Dir::Cache="$APTDIR/cache" -o APT::Sandbox::User=root "$@"
}
say $STEP "downloading Debian's kubernetes source package (34 MB)"
for i in 1 2 3 4 5; do apt_src update -qq && break; [ "$i" = 5 ] && { say $STEP "apt-get update (deb-src) kept failing"; exit 1; }; sleep 10; done
(cd "$WORK" && apt_src source --download-only -qq kubernetes >/dev/null)
cd "$WORK"
dsc=$(ls kubernetes_*.dsc | head -n1)
srcver=$(sed -n 's/^Version: //p' "$dsc" | head -n1)      # e.g. 1.20.5+really1.20.2-1.1
[ -n "$srcver" ] || { say $STEP "no Version in $dsc"; exit 1; }
tar xzf kubernetes_*.orig.tar.gz
srcdir=$(find . -maxdepth 1 -type d -name 'kubernetes-*' | head -n1)
[ -n "$srcdir" ] || { say $STEP "the source tarball has no kubernetes-* folder"; exit 1; }
srcdir=$WORK/${srcdir#./}
upstream=${srcdir##*/kubernetes-}                         # e.g. 1.20.2
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
[ -d "$vendored" ] || { say $STEP "$vendored is missing"; exit 1; }
rm -f "$vendored"/*.go "$vendored"/*.s
cp "$REFLECT2"/*.go "$REFLECT2"/*.s "$vendored"/

# Build only what kube-apiserver needs. `make WHAT=cmd/kube-apiserver` first runs every code
# generator over the whole tree (`generated_files`: deepcopy, defaulter, conversion, prerelease-
# lifecycle, openapi, bindata), yet the tarball already holds all their output but one file,
# pkg/generated/openapi/zz_generated.openapi.go: so only `make gen_openapi` runs, then the
# Makefile's own build script for the one binary. A plain `go build -mod=vendor` fails on this tree.
# `-v` lists each package as it is compiled (for the progress lines); Go compiles up to one package
# per core (-p defaults to the number of CPUs). GOFLAGS stays empty: hack/lib/golang.sh would read
# anything in it as build tags.
mkdir -p "$WORK/shims"
cat >"$WORK/shims/rsync" <<'SHIM'
#!/bin/sh
# hack/lib/golang.sh copies each built binary with `rsync -pc FILE DIR`: cp -p does that here.
[ "$#" -eq 3 ] && [ "$1" = "-pc" ] || { echo "rsync shim: unexpected arguments: $*" >&2; exit 1; }
exec cp -p "$2" "$3/"
SHIM
chmod +x "$WORK/shims/rsync"
build() {
  set -euo pipefail
  cd "$srcdir"
  export PATH="$WORK/shims:$PATH"
  export GOPROXY=off GOFLAGS= GO111MODULE=on CGO_ENABLED=0 GOCACHE="$WORK/gocache" KUBE_GIT_VERSION_FILE="$WORK/version.env"
  echo "+++ gooseterm: generating pkg/generated/openapi (make gen_openapi)"
  make gen_openapi
  echo "+++ gooseterm: compiling cmd/kube-apiserver"
  hack/make-rules/build.sh -v cmd/kube-apiserver
}
log=$WORK/make.log
export srcdir WORK
# In its own process group (setsid), so that an interrupted run stops the whole build with it.
setsid bash -c "$(declare -f build); build" >"$log" 2>&1 &
pid=$!
start=$SECONDS next=$((SECONDS + PROGRESS_EVERY))
while kill -0 "$pid" 2>/dev/null; do
  sleep 1
  if [ "$SECONDS" -ge "$next" ]; then
    next=$((next + PROGRESS_EVERY))
    if grep -q '^+++ gooseterm: compiling' "$log"; then
      # -v prints one import path per compiled package, after the +++ line.
      done_pkgs=$(sed -n '/^+++ gooseterm: compiling/,$p' "$log" | grep -cE '^[[:alnum:]_.-]+(/[[:alnum:]_.~+-]+)*$' || true)
      what="compiling cmd/kube-apiserver: $done_pkgs of ~$PACKAGES_EXPECTED Go packages"
    else
      what="generating code: $(grep -A1 '^+++' "$log" | tail -n1 | sed 's/^ *//')"
    fi
    say $STEP "$(elapsed $((SECONDS - start))) $what (load $(cut -d' ' -f1 /proc/loadavg))"
  fi
done
if ! wait "$pid"; then
  pid=
  tail -n 40 "$log" >&2
  say $STEP "building kube-apiserver failed after $(elapsed $((SECONDS - start))) (the last 40 lines of its log are above)"
  exit 1
fi
pid=
built_pkgs=$(sed -n '/^+++ gooseterm: compiling/,$p' "$log" | grep -cE '^[[:alnum:]_.-]+(/[[:alnum:]_.~+-]+)*$' || true)
dest="$CACHE/$srcver-r$RECIPE"
mkdir -p "$dest/bin"
cp "$srcdir/_output/bin/kube-apiserver" "$dest/bin/kube-apiserver.tmp"
mv "$dest/bin/kube-apiserver.tmp" "$dest/bin/kube-apiserver"
printf '%s\n' "$upstream" >"$dest/VERSION"
printf '%s\n' "$RECIPE" >"$dest/RECIPE"
ln -sfn "$srcver-r$RECIPE" "$CACHE/current.tmp" && mv -T "$CACHE/current.tmp" "$CACHE/current"
for old in "$CACHE"/*-r[0-9]*; do   # builds of other source versions or recipes are dead weight now
  if [ -d "$old" ] && [ ! -L "$old" ] && [ "$(basename "$old")" != "$srcver-r$RECIPE" ]; then rm -rf "$old"; fi
done
say $STEP "built kube-apiserver $upstream in $(elapsed $((SECONDS - start))) ($built_pkgs Go packages; $(elapsed $((SECONDS - began))) with downloads): $dest/bin/kube-apiserver"
