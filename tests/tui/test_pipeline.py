"""Pipeline: promotions with each gate's result and reason; enter shows the evidence each gate
read (digest, kind, seq, source, facts) and the file itself; break-glass override."""

from __future__ import annotations

import pytest
from helpers.dashboard import SIZE, Demo, activity, notifications, settle, text_of

from gooseterm.tui.dialogs.confirm import ConfirmDialog
from gooseterm.tui.screens.evidence import BlobScreen, EvidenceScreen
from gooseterm.tui.widgets.lists import FilteredTable
from gooseterm.ledger.store import Ledger

pytestmark = pytest.mark.anyio


async def test_gates_of_the_promotion_under_the_cursor(demo: Demo, app_for) -> None:
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("3")
        await settle(pilot)
        gates = text_of(app.screen.query_one("#gates"))
        assert "✖ fail  all_tests_passing  blocking" in gates and "1 failed, 1 errors of 5 tests" in gates
        await pilot.press("j")
        gates = text_of(app.screen.query_one("#gates"))
        assert "? inconclusive  approval_check  manual" in gates and "0 of 2 approvals" in gates


async def test_enter_shows_the_evidence_each_gate_read(demo: Demo, app_for) -> None:
    with Ledger.open(demo.home / "ledger.db", readonly=True) as ledger:
        junit = ledger.entries(service="service-a", kind="evidence.junit")[-1]
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("3", "enter")
        await settle(pilot)
        assert isinstance(app.screen, EvidenceScreen)
        rows = app.screen.query_one("#evidence", FilteredTable).rows
        assert rows[0].key == f"0:{junit.predicate['digest']}"
        assert rows[0].cells[2:5] == ("junit", str(junit.seq), rows[0].cells[4])
        assert str(rows[0].cells[4]) == "evidence/service-a/junit.xml"
        facts = text_of(app.screen.query_one("#facts"))
        assert junit.predicate["digest"] in facts and '"failed": 1' in facts and "collected by files" in facts
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, BlobScreen) and "test_discount_rounds_in_customer_favour" in app.screen.query_one("#blob").text
        await pilot.press("escape", "escape")
        await pilot.pause()
        assert app.current_mode == "pipeline" and not isinstance(app.screen, EvidenceScreen)


async def test_override_needs_an_admin_key_and_a_reason(demo: Demo, app_for) -> None:
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("3", "O")
        await pilot.pause()
        await pilot.press(*"hotfix", "enter")
        await settle(pilot)
        assert any("may not override" in n for n in notifications(app))  # carol is no admin
    app = app_for(key="dave")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("3", "j", "O")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog) and "approval_check" in dict(app.screen.facts)["bypassed gates"]
        await pilot.press(*"release freeze", "enter")
        await settle(pilot)
        assert activity(app)[-1].endswith(f"| gooseterm override {demo.b} --reason 'release freeze'")
        assert app.snapshot.status("service-b").state == "compliant"


async def test_runbook_is_offered_only_for_a_failed_promotion(demo: Demo, app_for) -> None:
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("3", "j", "o")
        await settle(pilot)
        assert app.current_mode == "pipeline" and any("runbooks are for failed" in n for n in notifications(app))
        await pilot.press("k", "o")
        await settle(pilot)
        assert app.current_mode == "runbooks"
