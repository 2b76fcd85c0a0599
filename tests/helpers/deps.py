"""Where the test servers are: the cache scripts/ensure-deps.sh fills (see scripts/lib.sh).

GOOSETERM_CACHE (default ~/.cache/gooseterm) holds Debian's prometheus and etcd-server unpacked
under debs/ with links in bin/, and kube-apiserver under k8s/ (GOOSETERM_K8S_CACHE). The values
are read once, at import: the autouse `isolated_home` fixture clears every GOOSETERM_* variable
before each test.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

CACHE = Path(os.environ.get("GOOSETERM_CACHE") or Path.home() / ".cache" / "gooseterm")
K8S_CACHE = Path(os.environ.get("GOOSETERM_K8S_CACHE") or CACHE / "k8s")
BIN = CACHE / "bin"
KUBE_APISERVER = K8S_CACHE / "current" / "bin" / "kube-apiserver"
SETUP_HINT = "run scripts/ensure-deps.sh (or `make test`), which puts it there"


def binary(name: str) -> str:
    """The path of a test server's binary: the cache's bin/ first, then PATH (a system install).

    Raises RuntimeError naming both places when neither has it."""
    cached = BIN / name
    if cached.is_file() and os.access(cached, os.X_OK):
        return str(cached)
    found = shutil.which(name)
    if found:
        return found
    raise RuntimeError(f"{name} is neither in {BIN} nor on PATH: {SETUP_HINT}")
