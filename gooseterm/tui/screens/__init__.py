"""The dashboard's screens: six modes (1-6), the activity log (7), and the drill-down views."""

from __future__ import annotations

from textual.screen import Screen


def modes() -> dict[str, type[Screen]]:
    """Mode name to its screen class, in key order (1-7)."""
    from .activity import ActivityScreen
    from .approvals import ApprovalsScreen
    from .graph import GraphScreen
    from .ledger import LedgerScreen
    from .overview import OverviewScreen
    from .pipeline import PipelineScreen
    from .runbooks import RunbooksScreen

    screens = (OverviewScreen, GraphScreen, PipelineScreen, ApprovalsScreen, LedgerScreen, RunbooksScreen, ActivityScreen)
    return {s.MODE: s for s in screens}
