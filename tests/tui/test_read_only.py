"""--read-only: every action that writes is refused with the reason, nothing reaches the ledger,
and the keys that only read (verification among them) still work."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.dashboard import SIZE, Demo, activity, notifications, settle

from gooseterm.tui.actions import ACTIONS, MODES
from gooseterm.tui.dialogs.confirm import ConfirmDialog
from gooseterm.ledger.store import Ledger

pytestmark = pytest.mark.anyio

WRITING = [a for a in ACTIONS if a.writes]


def size(home: Path) -> int:
    with Ledger.open(home / "ledger.db", readonly=True) as ledger:
        return ledger.size()


def test_the_registry_marks_every_writing_action() -> None:
    assert {a.id for a in WRITING} == {
        "overview.runbook", "overview.promote", "overview.demote", "pipeline.runbook", "pipeline.override",
        "approvals.approve", "approvals.reject", "runbooks.step", "runbooks.new",
    }


@pytest.mark.parametrize("action", WRITING, ids=[a.id for a in WRITING])
async def test_read_only_refuses_every_writing_action(demo: Demo, app_for, action) -> None:
    before = size(demo.home)
    app = app_for(read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press(str(MODES.index(action.scope) + 1))
        await settle(pilot)
        shown = {b.binding.id for b in app.screen.active_bindings.values() if b.binding.show}
        assert action.id not in shown, "a writing key stays out of the footer"
        await pilot.press(action.key)
        await settle(pilot)
        assert not isinstance(app.screen, ConfirmDialog)
        assert any("read-only dashboard" in n for n in notifications(app))
        assert "refused: read-only dashboard" in activity(app)[-1]
    assert size(demo.home) == before


async def test_read_only_still_verifies_the_ledger(demo: Demo, app_for) -> None:
    app = app_for(read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("5", "v")
        await settle(pilot)
        assert activity(app)[-1].startswith("verify | VALID")
        assert "read-only" in app.sub_title
