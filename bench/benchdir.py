"""Where the benchmarks keep their data and results: $GOOSETERM_CACHE/bench (default
~/.cache/gooseterm/bench), outside the clone, since the cached 1,000,000-entry ledger alone is
1.5 GB. `make clean-bench` removes the folder; `make clean` leaves it (rebuilding it takes minutes).
"""

from __future__ import annotations

import os
from pathlib import Path

CACHE = Path(os.environ.get("GOOSETERM_CACHE") or Path.home() / ".cache" / "gooseterm")
OUT = CACHE / "bench"
