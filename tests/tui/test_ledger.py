"""Ledger: entries newest first a page at a time, filters by service, kind and time, an entry's
statement, signatures and blobs, and verification in a worker with the result per fault class."""

from __future__ import annotations

import sqlite3

import pytest
from helpers.dashboard import SIZE, Demo, activity, notifications, settle, text_of
from textual.widgets import Input, Select

from gooseterm.settings import Settings
from gooseterm.tui.screens.entry import EntryScreen
from gooseterm.tui.screens.evidence import BlobScreen
from gooseterm.tui.screens.ledger import PAGE
from gooseterm.tui.widgets.lists import FilteredTable
from gooseterm.workspace import Workspace
from gooseterm.ledger.store import Draft, Ledger

pytestmark = pytest.mark.anyio


def entries_of(app) -> list[str]:
    return [r.key for r in app.screen.query_one("#entries", FilteredTable).rows]


async def open_ledger_screen(app, pilot) -> None:
    await settle(pilot)
    await pilot.press("5")
    await settle(pilot)


async def test_filters_by_service_kind_and_time(demo: Demo, app_for) -> None:
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await open_ledger_screen(app, pilot)
        everything = entries_of(app)
        assert len(everything) == demo.info["entries"]
        app.screen.query_one("#q-service", Select).value = "service-b"
        await settle(pilot)
        with Ledger.open(demo.home / "ledger.db", readonly=True) as ledger:
            b = [str(e.seq) for e in ledger.entries(service="service-b", newest_first=True)]
            gates_of_b = [str(e.seq) for e in ledger.entries(service="service-b", kind="gate.result", newest_first=True)]
            last_hour = [str(e.seq) for e in ledger.entries(newest_first=True) if e.time >= "2026-03-02T11:00"]
        assert entries_of(app) == b
        app.screen.query_one("#q-kind", Input).focus()
        await pilot.press(*"gate.result", "enter")
        await settle(pilot)
        assert entries_of(app) == gates_of_b
        app.screen.query_one("#q-service", Select).clear()
        app.screen.query_one("#q-kind", Input).value = ""
        app.screen.query_one("#q-since", Input).focus()
        await pilot.press(*"2026-03-02T11:00", "enter")
        await settle(pilot)
        assert entries_of(app) == last_hour and last_hour
        app.screen.query_one("#q-since", Input).focus()
        await pilot.press("ctrl+u", *"yesterday", "enter")
        await settle(pilot)
        assert any("is not a time" in n for n in notifications(app))


async def test_the_table_filter_and_its_inversion(demo: Demo, app_for) -> None:
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await open_ledger_screen(app, pilot)
        table = app.screen.query_one("#entries", FilteredTable)
        await pilot.press("slash", *"approval.granted")
        await pilot.pause()
        shown = table.table.row_count
        assert 0 < shown < len(table.rows)
        await pilot.press("enter", "escape")
        await pilot.pause()
        assert table.table.row_count == len(table.rows)
        await pilot.press("slash", *"!gate.result", "enter")
        await pilot.pause()
        assert table.table.row_count == len(table.rows) - sum(1 for r in table.rows if "gate.result" in r.text)


async def test_older_entries_load_a_page_at_a_time(demo: Demo, app_for) -> None:
    ws = Workspace(Settings())
    with ws.open_ledger(write=True) as ledger:
        ledger.append_many((Draft("custom.load", {"n": n}) for n in range(PAGE + 50)), [ws.load_key("ci")])
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await open_ledger_screen(app, pilot)
        assert len(entries_of(app)) == PAGE
        await pilot.press("n")
        await settle(pilot)
        keys = entries_of(app)
        assert len(keys) == demo.info["entries"] + PAGE + 50 and keys[-1] == "0"
        assert keys == sorted(keys, key=int, reverse=True)
        await pilot.press("n")
        await settle(pilot)
        assert any("oldest matching entry is already shown" in n for n in notifications(app))


async def test_j_k_g_G_move_through_the_entries(demo: Demo, app_for) -> None:
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await open_ledger_screen(app, pilot)
        table = app.screen.query_one("#entries", FilteredTable)
        await pilot.press("j", "j")
        assert table.table.cursor_row == 2
        await pilot.press("k")
        assert table.table.cursor_row == 1
        await pilot.press("G")
        assert table.current_key == "0"
        await pilot.press("g")
        assert table.table.cursor_row == 0


async def test_an_entry_shows_its_statement_signatures_and_blobs(demo: Demo, app_for) -> None:
    with Ledger.open(demo.home / "ledger.db", readonly=True) as ledger:
        evidence = ledger.entries(service="service-b", kind="evidence.junit")[0]
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await open_ledger_screen(app, pilot)
        app.screen.query_one("#entries", FilteredTable).select(str(evidence.seq))
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, EntryScreen)
        head = text_of(app.screen.query_one("#entry-head"))
        assert f"Entry {evidence.seq}" in app.screen.query_one("#entry-head").border_title
        assert "ci+" in head and "trusted at this seq" in head and evidence.leaf_hash.hex() in head
        statement = text_of(app.screen.query_one("#statement"))
        assert '"predicateType": "https://gooseterm.dev/predicates/evidence.junit/v1"' in statement
        blobs = app.screen.query_one("#entry-blobs", FilteredTable).rows
        assert [r.key for r in blobs] == evidence.record["blobs"]
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, BlobScreen)
        assert "<testsuite" in app.screen.query_one("#blob").text
        await pilot.press("escape")
        await pilot.press("escape")
        await pilot.pause()
        assert app.current_mode == "ledger" and not isinstance(app.screen, EntryScreen)


async def test_verification_runs_in_a_worker_and_reports_every_fault_class(demo: Demo, app_for) -> None:
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await open_ledger_screen(app, pilot)
        await pilot.press("v")
        await settle(pilot)
        label = text_of(app.screen.query_one("#verify-label"))
        assert f"✔ VALID  {demo.info['entries']} entries" in label
        result = text_of(app.screen.query_one("#verify-result"))
        assert "✔ leaf_modified" in result and "✔ chain_broken" in result and "✔ blob_missing" in result
        assert activity(app)[-1].startswith("verify | VALID") and activity(app)[-1].endswith("| gooseterm verify")
        assert any("Verification finished" in n for n in notifications(app))


async def test_verification_names_the_fault_class_and_first_bad_seq(demo: Demo, app_for) -> None:
    db = sqlite3.connect(demo.home / "ledger.db")
    db.execute("DROP TRIGGER entries_no_update")
    leaf = db.execute("SELECT leaf FROM entries WHERE seq = 7").fetchone()[0]
    db.execute("UPDATE entries SET leaf = ? WHERE seq = 7", (leaf.replace(b"service-", b"servicE-", 1),))
    db.commit()
    db.close()
    app = app_for(read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await open_ledger_screen(app, pilot)
        await pilot.press("v")
        await settle(pilot)
        assert "✖ INVALID" in text_of(app.screen.query_one("#verify-label"))
        result = text_of(app.screen.query_one("#verify-result"))
        assert "✖ leaf_modified" in result and "first seq 7" in result
        assert "first fault leaf_modified at seq 7" in activity(app)[-1]


async def test_f_moves_to_the_query_fields(demo: Demo, app_for) -> None:
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await open_ledger_screen(app, pilot)
        await pilot.press("f")
        await pilot.pause()
        assert app.focused is app.screen.query_one("#q-service", Select)
