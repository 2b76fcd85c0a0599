"""3 Pipeline: every promotion, newest first, with each gate's result and reason; enter shows
the evidence each gate read."""

from __future__ import annotations

from rich.console import Group
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll

from ...statuses import FAILED_STATUSES
from ...promotions import Orchestrator, override_refusal
from ...records import PromotionRecord
from ..actions import bindings
from ..app import cli
from ..dialogs.confirm import Confirmation, ConfirmDialog
from ..messages import OverrideRecorded
from ..widgets.lists import FilteredTable, Row
from ..widgets.look import colour, indented, muted, result_text, short_time, status_text
from ..widgets.panels import Panel
from .base import DashboardScreen, writes


class PipelineScreen(DashboardScreen):
    """Promotions and their gates."""

    MODE = "pipeline"
    AUTO_FOCUS = "#promotions NavTable"
    BINDINGS = bindings("pipeline")

    def compose_body(self) -> ComposeResult:
        with Vertical(id="pipeline-body"):
            promotions = FilteredTable(["Promotion", "Service", "Transition", "Status", "By", "Requested"],
                                       empty="no promotions yet", opens="pipeline.evidence", narrow=("Service", "By", "Requested"), id="promotions")
            promotions.border_title = "Promotions, newest first"
            yield promotions
            with VerticalScroll(id="gates-scroll"):
                yield Panel("Gates", id="gates")

    def show_snapshot(self, snapshot) -> None:
        rows = []
        for p in snapshot.promotions:
            rows.append(Row(p.id, (p.id, p.service, p.transition, status_text(self.app, p.status),
                                   p.requested_by, short_time(p.requested_time)),
                            " ".join([p.id, p.service, p.from_state, p.to_state, p.status, p.requested_by, *p.reasons])))
        self.query_one("#promotions", FilteredTable).show(rows)
        self.apply_goto()
        self._show_gates()

    @property
    def goto_list(self) -> FilteredTable:
        """The list app.goto selects in."""
        return self.query_one("#promotions", FilteredTable)

    @property
    def promotion(self) -> PromotionRecord | None:
        """The promotion under the cursor."""
        snap = self.app.snapshot
        key = self.query_one("#promotions", FilteredTable).current_key
        return next((p for p in snap.promotions if p.id == key), None) if snap and key else None

    def _show_gates(self) -> None:
        p = self.promotion
        panel = self.query_one("#gates", Panel)
        if p is None:
            panel.border_title = "Gates"
            panel.update(muted("no promotion selected"))
            return
        panel.border_title = f"Gates of {p.id} ({p.transition}), {p.status.label}"
        parts: list = []
        for g in p.gates:
            parts.append(Text.assemble(result_text(self.app, g.result), "  ", (g.name, "bold"), muted(f"  {g.type}")))
            parts.append(indented(Text(g.reason)))
        if not p.gates:
            parts.append(muted("no gates ran yet"))
        gate_names = tuple(f"{g.name}:" for g in p.gates)
        other = [r for r in p.reasons if not r.startswith(gate_names)]  # the gates above already say the rest
        if other:
            parts.append(Text(""))
            parts += [Text(f"{p.status.label}: {r}", style=colour(self.app, "error")) for r in other]
        hints = ["enter evidence"] + (["o open runbook"] if p.status in FAILED_STATUSES and not self.app.read_only else [])
        parts.append(muted("\n" + "   ".join(hints)))
        panel.update(Group(*parts))

    @on(FilteredTable.Highlighted, "#promotions")
    def _highlighted(self, event: FilteredTable.Highlighted) -> None:
        self._show_gates()

    @on(FilteredTable.Chosen, "#promotions")
    def _chosen(self, event: FilteredTable.Chosen) -> None:
        self.action_open_evidence()

    def action_open_evidence(self) -> None:
        """Show the evidence the promotion's gates read."""
        from .evidence import EvidenceScreen

        p = self.promotion
        if p is not None:
            self.app.push_screen(EvidenceScreen(p))

    @writes("pipeline.runbook")
    def action_open_runbook(self) -> None:
        """Open (or start) the promotion_failure runbook of a blocked or failed promotion."""
        p = self.promotion
        if p is None:
            return
        if p.status not in FAILED_STATUSES:
            self.notify(f"{p.id} is {p.status.label}; runbooks are for failed or blocked promotions", severity="warning")
            return
        self.app.open_runbook(p.service, p)

    @writes("pipeline.override")
    def action_override(self) -> None:
        """Break glass: promote a blocked or waiting promotion, with a reason (admin key)."""
        p = self.promotion
        if p is None:
            return
        if why := override_refusal(p.id, p.status):
            self.notify(why, severity="warning")
            return
        snap = self.app.snapshot
        pid = p.id

        def confirmed(answer: Confirmation | None) -> None:
            if answer is None:
                return
            command = cli("override", pid, "--reason", answer.reason)

            def run(orch: Orchestrator):
                out = orch.override(pid, answer.reason)
                return OverrideRecorded(f"override {pid}", command, f"{pid} overridden: {out.service} is now {out.state}")

            self.app.write(f"override {pid}", command, run, answer.passphrase)

        bypassed = ", ".join(g.name for g in p.gates if g.holds) or "none"
        self.app.push_screen(ConfirmDialog(
            f"Override {pid} (break glass)",
            [("service", p.service), ("transition", p.transition), ("bypassed gates", bypassed),
             ("evidence digest", p.evidence_digest), ("signing key", snap.identity.keyid or "none")],
            "Override", reason="why the policy is bypassed (recorded, visible in every export)",
            passphrase_for=snap.identity.name if snap.identity.sealed else None, danger=True,
            note="Needs an admin key; the override and its reason stay visible in every export."),
            confirmed)
