"""Overview: every service's state, why it is blocked, and the success metrics; enter drills
into the Pipeline; promote and demote go through a confirmation."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.dashboard import SIZE, Demo, activity, settle, text_of

from gooseterm.tui.dialogs.confirm import ConfirmDialog
from gooseterm.tui.widgets.lists import FilteredTable
from gooseterm.ledger.store import Ledger

pytestmark = pytest.mark.anyio


def kinds_after(home: Path, seq: int) -> list[str]:
    with Ledger.open(home / "ledger.db", readonly=True) as ledger:
        return [e.kind for e in ledger.entries(after=seq - 1)]


async def test_why_service_a_is_blocked_is_on_the_first_screen(demo: Demo, app_for) -> None:
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        grid = app.screen.query_one("#grid", FilteredTable)
        assert grid.current_key == "service-a"
        detail = text_of(app.screen.query_one("#service-detail"))
        assert "Why it is blocked" in detail
        for gate in ("all_tests_passing", "sast_clean", "dependency_check"):
            assert gate in detail
        assert "gooseterm promote service-a --to compliance_ready" in detail
        await pilot.press("j")
        assert "Waiting for approval" in text_of(app.screen.query_one("#service-detail"))


async def test_the_success_metrics_panel_shows_the_plans_targets(demo: Demo, app_for) -> None:
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        metrics = text_of(app.screen.query_one("#metrics"))
        assert "1 compliant" in metrics and "1 blocked" in metrics and "1 awaiting approval" in metrics
        assert "First-promotion success rate" in metrics and "> 90%" in metrics and "Promotion pipeline P95" in metrics


async def test_filter_keeps_matching_services_and_bang_inverts(demo: Demo, app_for) -> None:
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        grid = app.screen.query_one("#grid", FilteredTable)
        await pilot.press("slash", *"sandbox")
        await pilot.pause()
        assert grid.table.row_count == 1 and grid.current_key == "service-a"
        await pilot.press("ctrl+u", *"!sandbox")
        await pilot.pause()
        assert [grid.table.coordinate_to_cell_key((i, 0)).row_key.value for i in range(grid.table.row_count)] == ["service-b", "service-c"]
        await pilot.press("escape")
        await pilot.pause()
        assert grid.table.row_count == 3


async def test_enter_drills_into_the_services_latest_promotion(demo: Demo, app_for) -> None:
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("j", "enter")
        await settle(pilot)
        assert app.current_mode == "pipeline"
        assert app.screen.query_one("#promotions", FilteredTable).current_key == demo.b


async def test_promote_requests_the_next_transition_after_a_confirmation(demo: Demo, app_for) -> None:
    before = demo.info["entries"]
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("p")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        assert dict(app.screen.facts)["transition"] == "sandbox -> compliance_ready"
        await pilot.press("enter")
        await settle(pilot)
        assert activity(app)[-1].endswith("| gooseterm promote service-a --to compliance_ready")
        assert "blocked" in activity(app)[-1]
    kinds = kinds_after(demo.home, before)
    assert kinds[0] == "promotion.requested" and kinds[-1] == "promotion.blocked"


async def test_demote_needs_a_reason_and_marks_dependents_at_risk(demo: Demo, app_for) -> None:
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("G", "d")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog) and app.screen.has_class("-danger")
        await pilot.press(*"drift found", "enter")
        await settle(pilot)
        assert activity(app)[-1].endswith("| gooseterm demote service-c --reason 'drift found'")
        assert app.snapshot.status("service-c").state == "sandbox"
        assert app.snapshot.status("service-b").at_risk
        await pilot.press("k")
        assert "⚠" in str(app.screen.query_one("#grid", FilteredTable).rows[1].cells[-1])


async def test_demote_refuses_a_service_that_is_not_compliant(demo: Demo, app_for) -> None:
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("d")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmDialog)
