"""Shared by the dashboard's tests (tests/tui, tests/e2e): the demo's fixed times and Pilot helpers."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console
from textual.content import Content

DEMO_NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
"""When the demo's history ends."""
APP_NOW = DEMO_NOW + timedelta(minutes=10)
"""The dashboard's frozen clock: ten minutes after the demo, so service-b's request is open."""
SIZE = (120, 40)
"""The terminal size of the Pilot and snapshot tests."""


@dataclass(frozen=True)
class Demo:
    """The demo's home folder and what build_demo reported (entries, promotion ids)."""

    home: Path
    info: dict

    @property
    def b(self) -> str:
        """service-b's promotion awaiting approval (carol may approve it)."""
        return self.info["service_b_promotion"]

    @property
    def a(self) -> str:
        """service-a's blocked promotion."""
        return self.info["service_a_promotion"]


async def settle(pilot) -> None:
    """Let workers finish and their messages land (a few rounds: a result can start another worker)."""
    for _ in range(3):
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def notifications(app) -> list[str]:
    """Every notification so far, as `title: message`."""
    return [f"{n.title}: {n.message}" for n in app._notifications]


def activity(app) -> list[str]:
    """The activity log, one `what | outcome | cli` string per line."""
    return [f"{line.what} | {line.outcome} | {line.cli}" for line in app.activity]


def text_of(widget) -> str:
    """What a Static shows, as plain text (Rich renderables rendered 200 columns wide)."""
    content = widget.content
    if isinstance(content, str):
        return content
    if isinstance(content, Content):
        return content.plain
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(content)
    return console.export_text()
