"""1 Overview: the compliance-state grid of every service, why the highlighted one is where it
is, and the plan's success metrics."""

from __future__ import annotations

from collections import Counter

from rich.console import Group
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import VerticalScroll

from ...promotions import Orchestrator
from ...status import ServiceStatus
from ...statuses import FAILED_STATUSES
from ..actions import bindings
from ..app import cli
from ..dialogs.confirm import Confirmation, ConfirmDialog
from ..messages import DemotionRecorded, PromotionRequested
from ..widgets.lists import FilteredTable, Row
from ..widgets.look import AT_RISK, colour, indented, muted, state_text, status_text
from ..widgets.panels import MetricsPanel, Panel
from .base import DashboardScreen, writes


class OverviewScreen(DashboardScreen):
    """Every service at a glance."""

    MODE = "overview"
    AUTO_FOCUS = "#grid NavTable"
    BINDINGS = bindings("overview")

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="overview-body"):
            grid = FilteredTable(["Service", "State", "Blockers", "Approvals", "Latest promotion", "At risk"],
                                 empty="no services in the org config", opens="overview.pipeline", narrow=("Latest promotion",), id="grid")
            grid.border_title = "Compliance state"
            yield grid
            yield Panel("Service", id="service-detail")
            yield MetricsPanel("Success metrics (plan 7)", id="metrics")

    def on_mount(self) -> None:
        super().on_mount()
        self.watch(self.app, "metrics", self._metrics_changed, init=True)

    def _metrics_changed(self, _=None) -> None:
        snap = self.app.snapshot
        counts = None
        if snap is not None:
            states = Counter(s.state for s in snap.services)
            counts = {state: states[state] for state in reversed(snap.states) if states[state]}
            blocked = sum(1 for s in snap.services if s.blockers)
            waiting = sum(len(s.pending_approvals) for s in snap.services)
            counts |= {k: v for k, v in (("blocked", blocked), ("awaiting approval", waiting)) if v}
        self.query_one(MetricsPanel).show(self.app.metrics, self.app.metrics_error, counts)

    def show_snapshot(self, snapshot) -> None:
        rows = []
        for s in snapshot.services:
            latest = s.latest_promotion
            blockers = Text(f"✖ {len(s.blockers)}", style=colour(self.app, "error")) if s.blockers else muted("—")
            pending = s.pending_approvals
            approvals = Text(pending[0].waiting_for, style=colour(self.app, "warning")) if pending else muted("—")
            risk = Text(f"{AT_RISK} {', '.join(s.at_risk)}", style=colour(self.app, "warning")) if s.at_risk else muted("—")
            latest_cell = Text.assemble(status_text(self.app, latest.status), " ", muted(latest.id)) if latest else muted("none")
            text = " ".join([s.service, s.state, *s.blockers, *(p.id for p in pending),
                             latest.status if latest else "", "at risk" if s.at_risk else ""])
            rows.append(Row(s.service, (s.service, state_text(self.app, s.state, snapshot), blockers, approvals,
                                           latest_cell, risk), text))
        grid = self.query_one("#grid", FilteredTable)
        grid.show(rows)
        self.apply_goto()
        self._show_detail(grid.current_key)
        self._metrics_changed()

    @property
    def goto_list(self) -> FilteredTable:
        """The list app.goto selects in."""
        return self.query_one("#grid", FilteredTable)

    @on(FilteredTable.Highlighted, "#grid")
    def _highlighted(self, event: FilteredTable.Highlighted) -> None:
        self._show_detail(event.key)

    @on(FilteredTable.Chosen, "#grid")
    def _chosen(self, event: FilteredTable.Chosen) -> None:
        self.action_open_pipeline()

    @property
    def service(self) -> ServiceStatus | None:
        """The status of the service under the cursor."""
        snap = self.app.snapshot
        key = self.query_one("#grid", FilteredTable).current_key
        return snap.status(key) if snap and key else None

    def _show_detail(self, key: str | None) -> None:
        panel = self.query_one("#service-detail", Panel)
        snap = self.app.snapshot
        s = snap.status(key) if snap and key else None
        if s is None:
            panel.border_title = "Service"
            panel.update(muted("no service selected"))
            return
        panel.border_title = s.service
        head = Text.assemble(state_text(self.app, s.state, snap))
        latest = s.latest_promotion
        if latest:
            head.append("   latest promotion ")
            head.append_text(Text.assemble(muted(latest.id), " ", status_text(self.app, latest.status)))
        parts = [head]
        if s.blockers:
            parts.append(Text("Why it is blocked", style="bold"))
            parts += [indented(Text(f"✖ {b}", style=colour(self.app, "error")), 2) for b in s.blockers]
        for p in s.pending_approvals:
            parts.append(Text(f"Waiting for approval: {p.id} -> {p.to}: {p.waiting_for}"
                              + (f" (expires {p.expires_at[:16].replace('T', ' ')})" if p.expires_at else ""),
                              style=colour(self.app, "warning")))
        for why in s.at_risk.values():
            parts.append(Text(f"{AT_RISK} at risk: {why}", style=colour(self.app, "warning")))
        parts.append(Text.assemble(muted("Depends on       "), ", ".join(s.dependencies) or "nothing"))
        parts.append(Text.assemble(muted("Depended on by   "), ", ".join(s.dependents) or "nothing"))
        if s.next:
            parts.append(Text.assemble(muted("Next             "), Text(s.next, style=colour(self.app, "accent"))))
        hints = ["enter pipeline"]
        if latest and latest.status in FAILED_STATUSES and not self.app.read_only:
            hints.append("o open runbook")
        parts.append(muted("   ".join(hints)))
        panel.update(Group(*parts))

    # -- actions -----------------------------------------------------------------------------

    def action_open_pipeline(self) -> None:
        """Show the service's promotions on the Pipeline screen."""
        s = self.service
        if s is not None:
            latest = s.latest_promotion
            self.app.goto("pipeline", latest.id if latest else None)

    @writes("overview.runbook")
    def action_open_runbook(self) -> None:
        """Open (or start) the promotion_failure runbook of a blocked service."""
        s = self.service
        if s is None:
            return
        latest = s.latest_promotion
        if not latest or latest.status not in FAILED_STATUSES:
            self.notify(f"{s.service} has no failed or blocked promotion; start any runbook with n on Runbooks (6)",
                        severity="warning")
            return
        self.app.open_runbook(s.service, latest)

    @writes("overview.promote")
    def action_promote(self) -> None:
        """Request the service's next promotion, after a confirmation."""
        s = self.service
        if s is None:
            return
        snap = self.app.snapshot
        target = snap.targets.get(s.state)
        if target is None:
            self.notify(f"{s.service} is {s.state}; no promotion leads out of it", severity="warning")
            return
        service = s.service
        command = cli("promote", service, "--to", target)

        def confirmed(answer: Confirmation | None) -> None:
            if answer is None:
                return

            def run(orch: Orchestrator):
                out = orch.request(service, target)
                summary = f"{out.promotion} {out.status.replace('_', ' ')}" + (f": {out.reasons[0]}" if out.reasons else "")
                return PromotionRequested(f"promote {service}", command, summary, failed=out.status in FAILED_STATUSES)

            self.app.write(f"promote {service}", command, run, answer.passphrase)

        self.app.push_screen(ConfirmDialog(
            f"Request promotion of {service}",
            [("service", service), ("transition", f"{s.state} -> {target}"), ("signing key", snap.identity.keyid or "none")],
            "Request", passphrase_for=snap.identity.name if snap.identity.sealed else None,
            note="The transition's gates run now and are recorded; a failing gate blocks the promotion with its reason."),
            confirmed)

    @writes("overview.demote")
    def action_demote(self) -> None:
        """Demote a compliant service, with a reason, after a confirmation."""
        s = self.service
        if s is None:
            return
        snap = self.app.snapshot
        target = snap.demotions.get(s.state)
        if target is None:
            self.notify(f"{s.service} is {s.state}; no demotion leads out of it", severity="warning")
            return
        service = s.service

        def confirmed(answer: Confirmation | None) -> None:
            if answer is None:
                return
            command = cli("demote", service, "--reason", answer.reason)

            def run(orch: Orchestrator):
                out = orch.demote(service, answer.reason)
                at_risk = ", ".join(orch.graph.dependents(service, transitive=True)) or "none"
                return DemotionRecorded(f"demote {service}", command, f"{service} demoted to {out.state}; at risk: {at_risk}")

            self.app.write(f"demote {service}", command, run, answer.passphrase)

        self.app.push_screen(ConfirmDialog(
            f"Demote {service}",
            [("service", service), ("transition", f"{s.state} -> {target}"),
             ("at risk", ", ".join(s.dependents) or "none"), ("signing key", snap.identity.keyid or "none")],
            "Demote", reason="why (recorded in the ledger)", passphrase_for=snap.identity.name if snap.identity.sealed else None,
            danger=True, note="Dependents become at risk and their open promotions are blocked."),
            confirmed)
