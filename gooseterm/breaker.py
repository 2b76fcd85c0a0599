"""Circuit breakers for the live evidence sources: a source that keeps failing is cut off for a while.

After `failures` consecutive failed collections a source is open (cut off): `collect` refuses it at
once, without traffic, until `cooldown` has passed; then one trial is let through (half open), and
a success closes the breaker while a failure opens it again. Gates that read evidence from a source
that is not closed go inconclusive with the reason and the age of the last good fact.

The state lives in a small JSON file under the gooseterm home (`sources/breakers.json`), not in the
ledger: it is this machine's view of the network, it changes on every failed poll, and a failed
collection must leave the ledger untouched. What a gate concluded from it is recorded in the gate
result, which is where an auditor needs it.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from gooseterm.adapters.errors import SourceError

from .orgconfig.sourceconfig import CircuitBreaker

STATE_FILE = "breakers.json"


def _stamp(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def age_text(seconds: float) -> str:
    """A duration for people: '45s', '12m', '3h12m', '2d4h'."""
    s = max(0, int(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86400}d{s % 86400 // 3600}h"


class SourceHealth:
    """The breakers of every source, kept in `folder/breakers.json`."""

    def __init__(self, folder: Path, clock: Callable[[], float] = time.time):
        self.folder = Path(folder)
        """Where the state file lives."""
        self.clock = clock

    @property
    def path(self) -> Path:
        """The state file."""
        return self.folder / STATE_FILE

    def _read(self) -> dict[str, dict]:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):
            return {}  # a damaged state file forgets the breakers; sources are then simply tried
        return data if isinstance(data, dict) else {}

    @contextmanager
    def _locked(self) -> Iterator[dict[str, dict]]:
        """The state, read and rewritten under an exclusive lock (two collects at once stay consistent)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / (STATE_FILE + ".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            state = self._read()
            yield state
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(state, indent=2, sort_keys=True) + "\n")
            os.replace(tmp, self.path)

    def state(self, source: str) -> dict:
        """One source's breaker: failures, open, opened_at, last_error, last_success."""
        return self._read().get(source, {"failures": 0, "open": False})

    def allow(self, source: str, settings: CircuitBreaker) -> None:
        """Raise SourceError(cut_off) while the source is open and its cooldown has not passed."""
        st = self.state(source)
        if not st.get("open"):
            return
        wait = st["opened_at"] + settings.cooldown.total_seconds() - self.clock()
        if wait > 0:
            raise SourceError(source, None, f"cut off for {age_text(wait)} more after {st['failures']} failed collections "
                              f"in a row (last: {st.get('last_error')})", reason="cut_off",
                              hint=f"fix the source, or wait; the breaker lets one trial through at {_stamp(st['opened_at'] + settings.cooldown.total_seconds())}")

    def succeeded(self, source: str) -> None:
        """Close the breaker: the source answered."""
        with self._locked() as state:
            state[source] = {"failures": 0, "open": False, "last_success": _stamp(self.clock())}

    def failed(self, source: str, error: SourceError, settings: CircuitBreaker) -> None:
        """Count a failure; open the breaker at the threshold (or again after a failed trial)."""
        now = self.clock()
        with self._locked() as state:
            st = state.get(source, {"failures": 0, "open": False})
            st["failures"] = st.get("failures", 0) + 1
            st["last_error"] = f"{error.reason}: {error.problem}"[:300]
            st["last_failure"] = _stamp(now)
            if st["failures"] >= settings.failures:
                st["open"], st["opened_at"] = True, now
            state[source] = st

    def cut_off(self, source: str) -> str | None:
        """Why gates must not trust `source` now (open or half open), or None when it is healthy."""
        st = self.state(source)
        if not st.get("open"):
            return None
        return (f"source {source} is cut off since {_stamp(st['opened_at'])} after {st['failures']} failed collections "
                f"in a row (last: {st.get('last_error')})")
