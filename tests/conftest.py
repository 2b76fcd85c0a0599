"""Shared test setup: every test gets its own gooseterm home, so nothing touches a real one."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Point GOOSETERM_HOME at a fresh folder and clear the other GOOSETERM_* overrides."""
    home = tmp_path_factory.mktemp("gooseterm-home")
    for var in ("GOOSETERM_LEDGER", "GOOSETERM_CONFIG", "GOOSETERM_KEY", "GOOSETERM_PASSPHRASE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("GOOSETERM_HOME", str(home))
    return home
