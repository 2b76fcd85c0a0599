"""The dashboard's seam to the workspace: every read and write opens its own ledger connection
in the calling worker thread (SQLite connections stay in the thread that made them) and closes
it afterwards. No Textual here: workers call these and post the results as messages.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime

from .. import dashboard
from ..orgconfig import OrgConfig
from ..promotions import Orchestrator
from ..workspace import Workspace


class Session:
    """The workspace as the dashboard uses it: org config read once, ledgers opened per task."""

    def __init__(self, workspace: Workspace, clock: Callable[[], datetime]):
        self.workspace = workspace
        self.clock = clock
        self._org: OrgConfig | None = None
        self._lock = threading.Lock()

    @property
    def settings(self):
        """The workspace's settings."""
        return self.workspace.settings

    def org(self) -> OrgConfig:
        """The org config, loaded once (a refresh reads the ledger again, not the YAML)."""
        with self._lock:
            if self._org is None:
                self._org = self.workspace.org()
            return self._org

    @contextmanager
    def reading(self) -> Iterator[Orchestrator]:
        """A read-only orchestrator over a fresh connection."""
        orch = Orchestrator(self.workspace.open_ledger(), self.org())
        try:
            yield orch
        finally:
            orch.ledger.close()

    @contextmanager
    def writing(self, passphrase: str | None = None) -> Iterator[Orchestrator]:
        """An orchestrator that signs as the current identity; `passphrase` unseals its key."""
        ws = self.workspace
        if passphrase:
            ws = Workspace(ws.settings.model_copy(update={"passphrase": passphrase}), ws.ask, ws.clock)
        me = ws.me()
        orch = Orchestrator(ws.open_ledger(write=True), self.org(), me)
        try:
            yield orch
        finally:
            orch.ledger.close()

    def snapshot(self) -> dashboard.Snapshot:
        """Read the dashboard's snapshot (projections only)."""
        identity = dashboard.identity_of(self.workspace)
        with self.reading() as orch:
            return dashboard.read_snapshot(orch, identity, self.clock())
