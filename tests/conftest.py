"""Shared test setup: every test gets its own gooseterm home, so nothing touches a real one."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Point GOOSETERM_HOME at a fresh folder and clear every other GOOSETERM_* override."""
    home = tmp_path_factory.mktemp("gooseterm-home")
    for var in [v for v in os.environ if v.startswith("GOOSETERM_")]:  # ledger, config, key, kubeconfig, ...
        monkeypatch.delenv(var)
    monkeypatch.setenv("GOOSETERM_HOME", str(home))
    return home
