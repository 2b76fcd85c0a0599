# Shared by scripts/ensure-deps.sh and scripts/deps/*.sh (sourced, not run).
#
# Where things go: everything the tests need that is not a Debian tool lives under one folder,
# GOOSETERM_CACHE (default ~/.cache/gooseterm). Delete it to start over; nothing else refers to it.
#   $GOOSETERM_CACHE/debs/<package>/<version>/   Debian packages unpacked with dpkg-deb -x (never installed)
#   $GOOSETERM_CACHE/bin/                        links to the test servers' binaries (prometheus, promtool, etcd)
#   $GOOSETERM_CACHE/k8s/                        kube-apiserver built from Debian's source (GOOSETERM_K8S_CACHE)
#   $GOOSETERM_CACHE/apt/                        a private apt state for the deb-src index (nothing in /etc/apt)
#   $GOOSETERM_CACHE/bench/                      the benchmarks' data (make clean-bench)
#   $GOOSETERM_CACHE/apt-installed               the Debian tools these scripts apt-installed (make clean-deps)
# tests/helpers/deps.py reads the same variables.

GOOSETERM_CACHE=${GOOSETERM_CACHE:-$HOME/.cache/gooseterm}
GOOSETERM_K8S_CACHE=${GOOSETERM_K8S_CACHE:-$GOOSETERM_CACHE/k8s}
export GOOSETERM_CACHE GOOSETERM_K8S_CACHE
export DEBIAN_FRONTEND=noninteractive

# `say STEP message`: one line on stderr, prefixed with the step's name.
say() { local step=$1; shift; echo "$step: $*" >&2; }

# Seconds as "3m05s".
elapsed() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }

# Wait for dpkg's lock (someone else may be installing) instead of failing; download as root so apt
# does not warn that its _apt user cannot write to the cache folder.
apt_get() { apt-get -o DPkg::Lock::Timeout=600 -o APT::Sandbox::User=root "$@"; }

# `apt-get update`, at most once an hour across all steps and parallel runs (serialised by a lock in
# the cache; apt's own lists lock has no waiting option, so failures are retried).
apt_update_once() {
  local stamp="$GOOSETERM_CACHE/.apt-updated" i
  mkdir -p "$GOOSETERM_CACHE"
  (
    flock 8
    if [ -n "$(find "$stamp" -mmin -60 2>/dev/null)" ]; then exit 0; fi
    for i in 1 2 3 4 5 6 7 8 9 10; do
      if apt_get update -qq; then touch "$stamp"; exit 0; fi
      sleep 10
    done
    echo "apt-get update kept failing" >&2
    exit 1
  ) 8>"$GOOSETERM_CACHE/.apt-update.lock"
}

# `apt_install STEP pkg...`: apt-get install the packages not installed yet (tools only: no package
# installed here ships a service or adds a user).
apt_install() {
  local step=$1; shift
  local need=() pkg
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg"); done
  [ ${#need[@]} -eq 0 ] && return 0
  say "$step" "apt-get install ${need[*]}"
  apt_update_once
  local log
  log=$(mktemp)
  if ! apt_get install -y -qq --no-install-recommends "${need[@]}" >"$log" 2>&1; then
    cat "$log" >&2; rm -f "$log"
    say "$step" "apt-get install ${need[*]} failed (output above)"
    return 1
  fi
  rm -f "$log"
  # Remembered for `make clean-deps`, which prints the command that removes them again.
  printf '%s\n' "${need[@]}" >>"$GOOSETERM_CACHE/apt-installed"
}
