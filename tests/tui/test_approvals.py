"""Approvals: the inbox, approve and reject through a confirmation, and every refusal with its
reason. An approval made in the dashboard is the entry `gooseterm approve` makes."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers.dashboard import DEMO_NOW, SIZE, Demo, activity, notifications, settle
from nacl.pwhash import argon2id

from gooseterm.cli import main
from gooseterm.demo import build_demo
from gooseterm.settings import Settings
from gooseterm.tui.dialogs.confirm import ConfirmDialog
from gooseterm.tui.widgets.lists import FilteredTable
from gooseterm.workspace import Workspace
from gooseterm.ledger.keys import KeyStore
from gooseterm.ledger.store import Ledger

pytestmark = pytest.mark.anyio


def new_entries(home: Path, after: int) -> list:
    with Ledger.open(home / "ledger.db", readonly=True) as ledger:
        return ledger.entries(after=after - 1)


def size(home: Path) -> int:
    with Ledger.open(home / "ledger.db", readonly=True) as ledger:
        return ledger.size()


async def open_approvals(app, pilot) -> FilteredTable:
    await settle(pilot)
    await pilot.press("4")
    await settle(pilot)
    return app.screen.query_one("#inbox", FilteredTable)


async def test_approving_in_the_dashboard_writes_what_gooseterm_approve_writes(demo: Demo, app_for, tmp_path: Path) -> None:
    before = size(demo.home)
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        inbox = await open_approvals(app, pilot)
        assert inbox.current_key == demo.b
        await pilot.press("a")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ConfirmDialog)
        facts = dict(dialog.facts)
        assert facts["service"] == "service-b" and facts["transition"] == "compliance_ready -> compliant"
        assert facts["evidence digest"].startswith("sha256:") and facts["signing key"].startswith("carol+")
        await pilot.press("enter")
        await settle(pilot)
        assert activity(app)[-1].endswith(f"| gooseterm approve {demo.b}")
        assert any("service-b is now compliant" in n for n in notifications(app))
        assert app.snapshot.status("service-b").state == "compliant"
    tui = new_entries(demo.home, before)

    # The same approval from the command line, on a twin of the demo (same keys, same history),
    # built at the wall clock's time because the CLI checks expiry against it.
    twin = tmp_path / "twin"
    ws = Workspace(Settings(home=twin))
    build_demo(ws.settings, ws.org())
    result = CliRunner().invoke(main, ["approve", demo.b], env={"GOOSETERM_HOME": str(twin)})
    assert result.exit_code == 0, result.output
    cli = new_entries(twin, before)

    assert [e.kind for e in tui] == [e.kind for e in cli]
    assert tui[0].kind == "approval.granted"
    assert [(e.predicate, e.signers, e.service, e.promotion) for e in tui if e.kind != "gate.result"] == \
           [(e.predicate, e.signers, e.service, e.promotion) for e in cli if e.kind != "gate.result"]
    assert [e.predicate["result"] for e in tui if e.kind == "gate.result"] == [e.predicate["result"] for e in cli if e.kind == "gate.result"]


async def test_cancelling_the_confirmation_writes_nothing(demo: Demo, app_for) -> None:
    before = size(demo.home)
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await open_approvals(app, pilot)
        await pilot.press("a")
        await pilot.pause()
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, ConfirmDialog)
    assert size(demo.home) == before


async def test_reject_asks_for_a_reason_and_records_it(demo: Demo, app_for) -> None:
    before = size(demo.home)
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await open_approvals(app, pilot)
        await pilot.press("x")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("enter")  # no reason yet: the dialog stays and says why
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        assert "reason is required" in str(app.screen.query_one("#dialog-problem").content)
        await pilot.press(*"coverage too low", "enter")
        await settle(pilot)
        assert activity(app)[-1].endswith(f"| gooseterm reject {demo.b} --reason 'coverage too low'")
    kinds = [(e.kind, e.predicate.get("reason")) for e in new_entries(demo.home, before)]
    assert kinds[0] == ("approval.rejected", "coverage too low")
    assert kinds[-1][0] == "promotion.rejected"


async def test_self_approval_is_refused_with_the_reason(demo: Demo, app_for) -> None:
    before = size(demo.home)
    app = app_for(key="alice")  # alice requested service-b's promotion
    async with app.run_test(size=SIZE) as pilot:
        await open_approvals(app, pilot)
        item = app.snapshot.inbox[0]
        assert item.refusal == "alice requested this promotion; self-approval is not allowed"
        await pilot.press("a")
        await settle(pilot)
        assert not isinstance(app.screen, ConfirmDialog)
        assert any("self-approval is not allowed" in n for n in notifications(app))
        assert activity(app)[-1] == (f"approve {demo.b} | refused: alice requested this promotion; self-approval is not allowed"
                                     f" | gooseterm approve {demo.b}")
    assert size(demo.home) == before


async def test_an_expired_request_is_refused_with_when_it_expired(demo: Demo, app_for) -> None:
    before = size(demo.home)
    app = app_for(now=DEMO_NOW + timedelta(days=4))  # the demo's request lives 72 hours
    async with app.run_test(size=SIZE) as pilot:
        await open_approvals(app, pilot)
        refusal = app.snapshot.inbox[0].refusal
        assert refusal.startswith(f"promotion {demo.b} expired at ") and "request it again" in refusal
        await pilot.press("a")
        await settle(pilot)
        assert not isinstance(app.screen, ConfirmDialog)
        assert any("expired at" in n for n in notifications(app))
    assert size(demo.home) == before


@pytest.fixture
def sealed_carol(demo: Demo) -> Demo:
    """carol's key (the same seed) sealed with the passphrase `goose`, at the cheapest KDF cost."""
    keys = demo.home / "keys"
    for suffix in (".key", ".pub"):
        (keys / f"carol{suffix}").unlink()
    KeyStore(keys, opslimit=argon2id.OPSLIMIT_MIN, memlimit=argon2id.MEMLIMIT_MIN).create("carol", "goose")
    return demo


async def test_a_sealed_key_is_unsealed_with_the_passphrase_typed_in_the_confirmation(sealed_carol: Demo, app_for) -> None:
    before = size(sealed_carol.home)
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await open_approvals(app, pilot)
        assert app.snapshot.identity.sealed
        await pilot.press("a")
        await pilot.pause()
        assert app.screen.query_one("#passphrase").password
        await pilot.press(*"wrong", "enter")
        await settle(pilot)
        assert any("passphrase" in n for n in notifications(app) if "refused" in n)
        assert size(sealed_carol.home) == before
        await pilot.press("a")
        await pilot.pause()
        await pilot.press(*"goose", "enter")
        await settle(pilot)
        assert app.snapshot.status("service-b").state == "compliant"
    assert new_entries(sealed_carol.home, before)[0].kind == "approval.granted"


async def test_enter_shows_the_evidence_the_request_is_bound_to(demo: Demo, app_for) -> None:
    from gooseterm.tui.screens.evidence import EvidenceScreen

    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await open_approvals(app, pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, EvidenceScreen) and app.screen.promotion.id == demo.b
        kinds = {str(r.cells[2]) for r in app.screen.query_one("#evidence", FilteredTable).rows}
        assert {"junit", "sarif", "coverage", "metrics"} <= kinds
