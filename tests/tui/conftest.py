"""Dashboard tests: the demo ledger built at a fixed time with keys from fixed seeds, so every
run sees the same ledger byte for byte (snapshots need that), and a frozen app clock.

`app_for(...)` builds the app the way `gooseterm` does (make_app), with the settings and clock
a test chooses; Pilot tests then drive it with keys.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
from helpers.dashboard import APP_NOW, DEMO_NOW, Demo

from gooseterm.demo import build_demo
from gooseterm.settings import Settings
from gooseterm.tui import GoosetermApp, make_app
from gooseterm.workspace import Workspace
from gooseterm.ledger.signing import Signer


@pytest.fixture
def anyio_backend() -> str:
    """Pilot tests run on asyncio (anyio's pytest plugin drives the `async def` tests)."""
    return "asyncio"


@pytest.fixture(autouse=True)
def seeded_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every new key's seed is SHA-256 of its name: key ids and signatures repeat across runs."""
    monkeypatch.setattr(Signer, "generate", classmethod(lambda cls, name: cls(name, hashlib.sha256(name.encode()).digest())))


@pytest.fixture
def demo_factory(isolated_home: Path) -> Callable[[], Demo]:
    """Builds the demo ledger (service-c compliant, service-b awaiting carol, service-a blocked) in the test's home."""

    def build() -> Demo:
        ws = Workspace(Settings())
        return Demo(isolated_home, build_demo(ws.settings, ws.org(), now=lambda: DEMO_NOW))

    return build


@pytest.fixture
def demo(demo_factory) -> Demo:
    """The demo ledger in the test's home."""
    return demo_factory()


AppFactory = Callable[..., GoosetermApp]


@pytest.fixture
def app_for() -> AppFactory:
    """Build the dashboard: `app_for(read_only=True, key="alice", now=..., **settings)`."""

    def build(read_only: bool = False, now: datetime = APP_NOW, refresh: float = 3600, **overrides) -> GoosetermApp:
        settings = Settings().model_copy(update=overrides)
        return make_app(Workspace(settings), read_only=read_only, refresh=refresh, clock=lambda: now)

    return build

