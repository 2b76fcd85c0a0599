"""Runbooks: a blocked promotion opens promotion_failure; automatic steps run in a worker and show
their result; a manual step needs a confirmation; every step taken is a runbook.step entry."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.dashboard import SIZE, Demo, activity, settle, text_of
from textual.widgets import Select

from gooseterm.tui.dialogs.confirm import ConfirmDialog
from gooseterm.tui.dialogs.new_run import NewRunDialog
from gooseterm.tui.widgets.lists import FilteredTable
from gooseterm.ledger.store import Ledger

pytestmark = pytest.mark.anyio


def steps(home: Path) -> list[dict]:
    with Ledger.open(home / "ledger.db", readonly=True) as ledger:
        return [e.predicate for e in ledger.entries(kind="runbook.step")]


async def start_from_overview(app, pilot) -> str:
    """On Overview, service-a (blocked) is the first row: `o` starts its promotion_failure run."""
    await settle(pilot)
    await pilot.press("g", "o")
    await settle(pilot)
    assert app.current_mode == "runbooks"
    return app.screen.query_one("#runs", FilteredTable).current_key


async def test_a_blocked_service_opens_its_promotion_failure_runbook(demo: Demo, app_for) -> None:
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        run = await start_from_overview(app, pilot)
        assert run.startswith("promotion_failure-service-a-")
        assert activity(app)[-1].endswith(
            f"| gooseterm runbook start promotion_failure --service service-a --reason 'promotion {demo.a} blocked'")
        checklist = text_of(app.screen.query_one("#checklist"))
        assert "▶ next  1. Verify dependencies" in checklist and "s takes this step" in checklist
        await pilot.press("1", "o")  # a second `o` opens the same run instead of starting another
        await settle(pilot)
        assert app.current_mode == "runbooks" and len(app.snapshot.runs) == 1


async def test_automatic_steps_run_and_are_recorded_and_a_manual_one_asks_first(demo: Demo, app_for) -> None:
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        run = await start_from_overview(app, pilot)
        await pilot.press("s")
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        recorded = steps(demo.home)
        assert [(s["action"], s["result"]) for s in recorded] == [("verify_dependencies", "fail"), ("check_evidence_chain", "pass")]
        assert activity(app)[-2].endswith(f"| gooseterm runbook step {run}")
        checklist = text_of(app.screen.query_one("#checklist"))
        assert "✖ fail  1. Verify dependencies" in checklist and "service-b (runtime, required) is compliance_ready" in checklist
        assert "✔ pass  2. Check the evidence chain" in checklist
        await pilot.press("s")  # step 3 is manual
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("escape")
        await settle(pilot)
        assert len(steps(demo.home)) == 2
        await pilot.press("s")
        await pilot.pause()
        await pilot.press("enter")
        await settle(pilot)
        third = steps(demo.home)[-1]
        assert third["action"] == "validate_compliance_state" and third["confirmed_by"] == "carol"
        assert activity(app)[-1].endswith(f"| gooseterm runbook step {run} --confirm")
        assert "complete" in text_of(app.screen.query_one("#checklist"))


async def test_n_starts_any_runbook_for_any_service(demo: Demo, app_for) -> None:
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("6", "n")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, NewRunDialog)
        dialog.query_one("#runbook", Select).value = "compliance_violation"
        dialog.query_one("#service", Select).value = "service-c"
        await pilot.click("#confirm")
        await settle(pilot)
        assert app.screen.query_one("#runs", FilteredTable).current_key.startswith("compliance_violation-service-c-")
        assert activity(app)[-1].endswith("| gooseterm runbook start compliance_violation --service service-c")
