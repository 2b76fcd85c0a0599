#!/usr/bin/env bash
# Removes what scripts/ensure-deps.sh put in the cache (the unpacked Debian packages, their links,
# kube-apiserver, the private deb-src index) and prints the apt-get command that removes the Debian
# tools it apt-installed. It does not run that command: those packages may serve other things now.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
case "$GOOSETERM_CACHE" in "" | / | "$HOME" ) echo "clean-deps: refusing GOOSETERM_CACHE='$GOOSETERM_CACHE'" >&2; exit 2 ;; esac
for d in "$GOOSETERM_CACHE/debs" "$GOOSETERM_CACHE/bin" "$GOOSETERM_K8S_CACHE" "$GOOSETERM_CACHE/apt"; do
  if [ -e "$d" ]; then echo "clean-deps: removing $d ($(du -sh "$d" | cut -f1))" >&2; rm -rf "$d"; fi
done
rm -f "$GOOSETERM_CACHE/.apt-updated" "$GOOSETERM_CACHE/.apt-update.lock"
record=$GOOSETERM_CACHE/apt-installed
if [ -s "$record" ]; then
  mapfile -t pkgs < <(sort -u "$record")
  installed=()
  for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 && installed+=("$p"); done
  if [ ${#installed[@]} -gt 0 ]; then
    echo "clean-deps: ensure-deps apt-installed these Debian packages; to remove them (and what they pulled in):" >&2
    echo "  apt-get purge ${installed[*]} && apt-get autoremove --purge" >&2
  fi
  rm -f "$record"
else
  echo "clean-deps: ensure-deps apt-installed nothing here (the Debian tools it needs were there before)" >&2
fi
