"""The app as a whole: it starts on any ledger (or none), every screen builds, the keys and the
palette come from one registry, live refresh can pause, and the header says how old the data is."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers.dashboard import SIZE, Demo, activity, notifications, settle, text_of
from rich.console import Console
from textual.widgets import Tree

from gooseterm.cli import main
from gooseterm.tui.actions import ACTIONS, MODES, SCOPES
from gooseterm.tui.app import REFRESH_MAX, REFRESH_MIN, clamp_refresh
from gooseterm.tui.commands import DashboardCommands
from gooseterm.tui.screens.help import HelpScreen, keys_help
from gooseterm.tui.screens.problem import ProblemScreen
from gooseterm.tui.widgets.lists import FilteredTable

pytestmark = pytest.mark.anyio

# A widget each screen shows only once it built without crashing.
BUILT = {
    "overview": "#grid",
    "graph": "#graph-tree",
    "pipeline": "#promotions",
    "approvals": "#inbox",
    "ledger": "#entries",
    "runbooks": "#runs",
    "activity": "#activity",
}


async def test_every_screen_builds_and_shows_its_data(demo: Demo, app_for) -> None:
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for n, mode in enumerate(MODES, 1):
            await pilot.press(str(n))
            await settle(pilot)
            assert app.current_mode == mode
            assert app.screen.query_one(BUILT[mode]) is not None, f"{mode} did not build"
        assert not app._exception


async def test_each_screen_lists_what_it_should(demo: Demo, app_for) -> None:
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        expected = {
            "1": ("#grid", ["service-a", "service-b", "service-c"]),
            "4": ("#inbox", [demo.b]),
        }
        for key, (selector, rows) in expected.items():
            await pilot.press(key)
            await settle(pilot)
            assert [r.key for r in app.screen.query_one(selector, FilteredTable).rows] == rows
        await pilot.press("3")
        await settle(pilot)
        promotions = [r.key for r in app.screen.query_one("#promotions", FilteredTable).rows]
        assert promotions[0] == demo.a and demo.b in promotions and len(promotions) == 5
        await pilot.press("5")
        await settle(pilot)
        entries = app.screen.query_one("#entries", FilteredTable).rows
        assert entries[0].key == str(demo.info["entries"] - 1) and entries[-1].key == "0"
        await pilot.press("2")
        await settle(pilot)
        assert [str(n.label).split()[-1] for n in app.screen.query_one(Tree).root.children] == ["service-a", "service-b", "service-c"]


async def test_no_ledger_shows_how_to_make_one_instead_of_a_traceback(isolated_home: Path, app_for) -> None:
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, ProblemScreen)
        text = text_of(app.screen.query_one("#no-data"))
        assert "gooseterm demo" in text and "gooseterm init" in text and str(isolated_home / "ledger.db") in text


async def test_the_dashboard_notices_a_ledger_created_while_it_waits(isolated_home: Path, app_for, demo_factory) -> None:
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, ProblemScreen)
        demo_factory()
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert not isinstance(app.screen, ProblemScreen)
        assert app.snapshot is not None and app.snapshot.size > 0


async def test_help_opens_on_question_mark_and_closes_on_escape(demo: Demo, app_for) -> None:
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("4", "question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen) and app.screen.scope == "approvals"
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)


def test_help_lists_every_action_of_the_registry_current_screen_first() -> None:
    console = Console(width=200, record=True)
    console.print(keys_help("ledger"))
    text = console.export_text()
    for a in ACTIONS:
        assert a.help in text, a.id
    assert text.index("5  Ledger") < text.index("Everywhere") < text.index("1  Overview")


def test_every_action_has_an_id_description_and_help() -> None:
    ids = [a.id for a in ACTIONS]
    assert len(ids) == len(set(ids))
    for a in ACTIONS:
        assert a.scope in SCOPES, a.id
        assert a.description and a.help, a.id


async def test_the_palette_offers_the_screens_and_this_screens_actions(demo: Demo, app_for) -> None:
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("4")
        await settle(pilot)
        names = [name for name, _, _ in DashboardCommands(app.screen)._commands()]
        assert "Go to Ledger" in names and "Approve (approvals)" in names and "Reject (approvals)" in names
        assert not any("(overview)" in n for n in names)


async def test_space_pauses_live_refresh_and_the_header_says_so(demo: Demo, app_for) -> None:
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "read just now" in app.sub_title and "carol" in app.sub_title and f"{demo.info['entries']} entries" in app.sub_title
        await pilot.press("space")
        await pilot.pause()
        assert app.paused and "paused" in app.sub_title
        await pilot.press("space")
        await pilot.pause()
        assert not app.paused and "paused" not in app.sub_title


async def test_ctrl_r_reads_the_ledger_again_and_logs_it(demo: Demo, app_for) -> None:
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        first = app.snapshot
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert app.snapshot is not first
        assert activity(app)[-1] == "refresh | read the ledger's projections | gooseterm status"


async def test_screenshot_goes_to_the_home_folder(demo: Demo, app_for) -> None:
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+s")
        await pilot.pause()
        shots = list(demo.home.glob("gooseterm-*.svg"))
        assert len(shots) == 1 and "<svg" in shots[0].read_text()
        assert any(str(shots[0]) in n for n in notifications(app))


@pytest.mark.parametrize(("given", "used"), [(0, REFRESH_MIN), (0.2, REFRESH_MIN), (5, 5), (10**6, REFRESH_MAX)])
def test_refresh_is_clamped(given: float, used: float) -> None:
    assert clamp_refresh(given) == used


def test_dashboard_options_are_refused_with_a_subcommand(demo: Demo) -> None:
    result = CliRunner().invoke(main, ["--read-only", "status"])
    assert result.exit_code == 2 and "belong to the dashboard" in result.output


def test_bare_command_and_tui_open_the_dashboard(demo: Demo, monkeypatch: pytest.MonkeyPatch) -> None:
    opened = []
    monkeypatch.setattr("gooseterm.tui.app.GoosetermApp.run", lambda self: opened.append((self.read_only, self.refresh_seconds)))
    runner = CliRunner()
    assert runner.invoke(main, []).exit_code == 0
    assert runner.invoke(main, ["--read-only", "--refresh", "0.1"]).exit_code == 0
    assert runner.invoke(main, ["tui", "--refresh", "30"]).exit_code == 0
    assert opened == [(False, 5.0), (True, 1.0), (False, 30.0)]


async def test_a_paused_dashboard_does_not_read_on_its_timer(demo: Demo, app_for) -> None:
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        first = app.snapshot
        await pilot.press("space")
        app._tick()
        await settle(pilot)
        assert app.snapshot is first
        await pilot.press("space")
        app._tick()
        await settle(pilot)
        assert app.snapshot is not first


async def test_ctrl_t_offers_the_themes_and_a_new_theme_recolours_the_screens(demo: Demo, app_for) -> None:
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+t")
        await pilot.pause()
        assert type(app.screen).__name__ == "CommandPalette"
        await pilot.press("escape")
        await pilot.pause()
        before = app.screen.query_one("#grid", FilteredTable).rows[2].cells[1].style
        app.theme = "nord"
        await settle(pilot)
        assert app.screen.query_one("#grid", FilteredTable).rows[2].cells[1].style != before


def test_every_action_of_the_registry_exists_where_it_is_bound() -> None:
    from gooseterm.tui.app import GoosetermApp
    from gooseterm.tui.dialogs.confirm import ConfirmDialog
    from gooseterm.tui.screens import modes
    from gooseterm.tui.screens.base import DashboardScreen
    from gooseterm.tui.screens.entry import EntryScreen
    from gooseterm.tui.screens.evidence import EvidenceScreen
    from gooseterm.tui.widgets.lists import NavTable, NavTree

    owners = {"app": [GoosetermApp], "screen": [DashboardScreen], "list": [NavTable, NavTree], "dialog": [ConfirmDialog],
              "evidence": [EvidenceScreen], "entry": [EntryScreen], **{m: [s] for m, s in modes().items()}}
    for a in ACTIONS:
        name = a.action.split("(")[0].removeprefix("app.")
        for owner in owners[a.scope]:
            assert hasattr(owner, f"action_{name}") or name == "command_palette", f"{a.id}: {owner.__name__} has no action_{name}"


async def test_q_quits(demo: Demo, app_for) -> None:
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("q")
        await pilot.pause()
        assert app.return_code == 0
