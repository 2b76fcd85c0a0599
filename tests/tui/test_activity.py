"""Activity: what the dashboard did, newest first, each with the command that does the same."""

from __future__ import annotations

import pytest
from helpers.dashboard import SIZE, Demo, settle

from gooseterm.tui.widgets.lists import FilteredTable

pytestmark = pytest.mark.anyio


async def test_each_line_carries_its_cli_equivalent_and_c_copies_it(demo: Demo, app_for) -> None:
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("4", "a")
        await pilot.pause()
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("ctrl+r")
        await settle(pilot)
        await pilot.press("7")
        await settle(pilot)
        rows = app.screen.query_one("#activity", FilteredTable).rows
        assert [str(r.cells[2]) for r in rows] == ["gooseterm status", f"gooseterm approve {demo.b}"]
        assert str(rows[1].cells[1]) == f"approve {demo.b}"
        await pilot.press("j", "c")
        await pilot.pause()
        assert app.clipboard == f"gooseterm approve {demo.b}"
