"""Snapshots of each screen's main states: the demo built at a fixed time with seeded keys, a
frozen clock, 120x40 (and 80x24 for the densest screens), workers finished before the shot.

Update after reviewing the new SVGs: .venv/bin/pytest tests/tui/test_snapshots.py --snapshot-update
"""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.dashboard import SIZE, settle

from gooseterm.tui.messages import VerificationFinished
from gooseterm.ledger.verifier import Fault, Report

NARROW = (80, 24)


@pytest.fixture
def shot(snap_compare, demo, app_for):
    """Compare the screen after `keys` (each followed by a settle) with the stored SVG."""

    def compare(*keys: str, size: tuple[int, int] = SIZE, **app_options) -> bool:
        async def run_before(pilot) -> None:
            await settle(pilot)
            for key in keys:
                await pilot.press(key)
                await settle(pilot)
            # A DataTable re-measures its columns when idle; on a loaded machine the shot could come
            # first and show the header at its header widths (issue 14's resize race). Wait it out.
            await pilot.pause(0.1)

        return snap_compare(app_for(**app_options), terminal_size=size, run_before=run_before)

    return compare


class TestOverview:
    def test_service_a_blocked(self, shot) -> None:
        assert shot()

    def test_service_b_awaiting_approval_narrow(self, shot) -> None:
        assert shot("j", size=NARROW)

    def test_help(self, shot) -> None:
        assert shot("question_mark")


class TestGraph:
    def test_depends_on_expanded(self, shot) -> None:
        assert shot("2", "e")

    def test_depended_on_by(self, shot) -> None:
        assert shot("2", "r", "G", "e")


class TestPipeline:
    def test_blocked_promotion_gates(self, shot) -> None:
        assert shot("3")

    def test_narrow(self, shot) -> None:
        assert shot("3", size=NARROW)

    def test_evidence_drill_down(self, shot) -> None:
        assert shot("3", "enter")


class TestApprovals:
    def test_inbox(self, shot) -> None:
        assert shot("4")

    def test_approve_confirmation(self, shot) -> None:
        assert shot("4", "a")

    def test_self_approval_refused(self, shot) -> None:
        assert shot("4", "a", key="alice")

    def test_approved(self, shot) -> None:
        assert shot("4", "a", "enter")


def finished_verification(faults: tuple[Fault, ...] = ()) -> Report:
    """A verification report with a fixed root: the real root changes with every build, because
    gate results record how long they took."""
    return Report(source="ledger.db", size=65, root=bytes(range(32)), faults=list(faults), checkpoints_checked=2, blobs_checked=15)


class TestLedger:
    def test_entries(self, shot) -> None:
        assert shot("5")

    @pytest.mark.parametrize("size", [SIZE, NARROW], ids=["wide", "narrow"])
    def test_valid(self, snap_compare, demo, app_for, size) -> None:
        async def run_before(pilot) -> None:
            await settle(pilot)
            await pilot.press("5")
            await settle(pilot)
            pilot.app.screen.query_one("#verify").add_class("-shown")
            pilot.app.screen.post_message(VerificationFinished(finished_verification(), 1.25))
            await settle(pilot)

        assert snap_compare(app_for(), terminal_size=size, run_before=run_before)

    def test_invalid(self, snap_compare, demo, app_for) -> None:
        faults = (Fault("leaf_modified", 7, "leaf hash differs from the stored leaf"),
                  Fault("chain_broken", 8, "chain does not follow from seq 7"))

        async def run_before(pilot) -> None:
            await settle(pilot)
            await pilot.press("5")
            await settle(pilot)
            pilot.app.screen.query_one("#verify").add_class("-shown")
            pilot.app.screen.post_message(VerificationFinished(finished_verification(faults), 0.5))
            await settle(pilot)

        assert snap_compare(app_for(), terminal_size=SIZE, run_before=run_before)


class TestRunbooks:
    def test_no_runs(self, shot) -> None:
        assert shot("6")

    def test_promotion_failure_two_steps_taken(self, shot) -> None:
        assert shot("o", "s", "s")

    def test_manual_step_confirmation(self, shot) -> None:
        assert shot("o", "s", "s", "s")


class TestActivity:
    def test_after_an_approval(self, shot) -> None:
        assert shot("4", "a", "enter", "7")


class TestReadOnly:
    def test_approvals_without_writing_keys(self, shot) -> None:
        assert shot("4", read_only=True)


def test_no_ledger(snap_compare, isolated_home, app_for) -> None:
    assert snap_compare(app_for(ledger=Path("/srv/gooseterm/ledger.db")), terminal_size=SIZE, run_before=settle)
