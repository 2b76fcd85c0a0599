"""4 Approvals: the inbox of promotions awaiting approval, the ones you may decide first; the
others say why you may not (self-approval, owner, group, expiry). Approve and reject go
through a confirmation showing what is signed and with which key."""

from __future__ import annotations

from rich.console import Group
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll

from ...dashboard import InboxItem
from ...promotions import Orchestrator
from ...statuses import PromotionStatus
from ..actions import bindings
from ..app import cli
from ..dialogs.confirm import Confirmation, ConfirmDialog
from ..messages import ActionRefused, ApprovalRecorded, RejectionRecorded
from ..widgets.lists import FilteredTable, Row
from ..widgets.look import colour, muted, short_time
from ..widgets.panels import Panel
from .base import DashboardScreen, writes


class ApprovalsScreen(DashboardScreen):
    """Promotions waiting for a decision."""

    MODE = "approvals"
    AUTO_FOCUS = "#inbox NavTable"
    BINDINGS = bindings("approvals")

    def compose_body(self) -> ComposeResult:
        with Vertical(id="approvals-body"):
            inbox = FilteredTable(["Promotion", "Service", "Transition", "Waiting for", "Expires", "You"],
                                  empty="nothing awaits approval", opens="approvals.evidence", narrow=("Service", "Expires"), id="inbox")
            inbox.border_title = "Awaiting approval"
            yield inbox
            with VerticalScroll(id="approval-scroll"):
                yield Panel("Request", id="approval-detail")

    def show_snapshot(self, snapshot) -> None:
        rows = []
        for item in snapshot.inbox:
            p = item.promotion
            you = (Text("✔ may approve", style=colour(self.app, "success")) if item.refusal is None
                   else Text("✖ may not (see below)", style=colour(self.app, "error")))
            rows.append(Row(item.id, (item.id, p.service, item.transition, item.waiting_for,
                                      short_time(item.expires_at) if item.expires_at else "never", you),
                            " ".join([item.id, p.service, item.transition, item.waiting_for, item.refusal or "may approve"])))
        inbox = self.query_one("#inbox", FilteredTable)
        me = snapshot.identity
        inbox.border_title = f"Awaiting approval · signing as {me.name or 'nobody'}" + (" (sealed key)" if me.sealed else "")
        inbox.show(rows)
        self.apply_goto()
        self._show_detail()

    @property
    def goto_list(self) -> FilteredTable:
        """The list app.goto selects in."""
        return self.query_one("#inbox", FilteredTable)

    @property
    def item(self) -> InboxItem | None:
        """The request under the cursor."""
        snap = self.app.snapshot
        key = self.query_one("#inbox", FilteredTable).current_key
        return next((i for i in snap.inbox if i.id == key), None) if snap and key else None

    @on(FilteredTable.Highlighted, "#inbox")
    def _highlighted(self, event: FilteredTable.Highlighted) -> None:
        self._show_detail()

    @on(FilteredTable.Chosen, "#inbox")
    def _chosen(self, event: FilteredTable.Chosen) -> None:
        self.action_open_evidence()

    def _show_detail(self) -> None:
        panel = self.query_one("#approval-detail", Panel)
        item = self.item
        if item is None:
            panel.border_title = "Request"
            panel.update(muted("nothing selected"))
            return
        p = item.promotion
        policy = p.policy or {}
        panel.border_title = f"{item.id}: {p.service} {item.transition}"
        parts: list = [
            Text.assemble(muted("requested by "), p.requested_by, muted(" at "), short_time(p.requested_time),
                          muted("   expires "), short_time(item.expires_at) if item.expires_at else "never"),
            Text.assemble(muted("policy       "), f"{policy.get('required', 0)} approvals",
                          f", one from each of {', '.join(policy['groups_required'])}" if policy.get("groups_required") else "",
                          f" (approvers: {', '.join(policy['approver_groups'])})" if policy.get("approver_groups") else "",
                          "" if policy.get("allow_self_approval") else "; no self-approval"),
            Text.assemble(muted("evidence     "), p.evidence_digest),
            Text.assemble(muted("status       "), (item.waiting_for, colour(self.app, "warning"))),
        ]
        for a in p.approvals:
            parts.append(Text.assemble(muted("  ✔ "), a.person, muted(f" ({', '.join(a.groups)})  "), short_time(a.time),
                                       muted(f"  {a.keyid}  seq {a.seq}")))
        if item.refusal is None and self.app.read_only:
            parts.append(Text(f"\nYou may approve it, though not from this read-only dashboard: gooseterm approve {item.id}",
                              style=colour(self.app, "success")))
        elif item.refusal is None:
            parts.append(Text("\nYou may decide: a approve · x reject · enter evidence", style=colour(self.app, "success")))
        else:
            parts.append(Text(f"\nYou may not approve: {item.refusal}", style=colour(self.app, "error")))
        panel.update(Group(*parts))

    def action_open_evidence(self) -> None:
        """Show the evidence the request is bound to, gate by gate."""
        from .evidence import EvidenceScreen

        item = self.item
        if item is not None:
            self.app.push_screen(EvidenceScreen(item.promotion))

    def _refused(self, item: InboxItem, verb: str) -> bool:
        if item.refusal is None:
            return False
        self.app.post_message(ActionRefused(f"{verb} {item.id}", cli(verb, item.id), item.refusal))
        return True

    @writes("approvals.approve")
    def action_approve(self) -> None:
        """Approve the request under the cursor with your key, after a confirmation."""
        item = self.item
        if item is None:
            self.notify("nothing awaits approval", severity="warning")
            return
        if self._refused(item, "approve"):
            return
        me = self.app.snapshot.identity
        pid = item.id
        command = cli("approve", pid)

        def confirmed(answer: Confirmation | None) -> None:
            if answer is None:
                return

            def run(orch: Orchestrator):
                out = orch.approve(pid)
                if out.status == PromotionStatus.PROMOTED:
                    summary = f"{pid} approved: quorum met, {out.service} is now {out.state}"
                elif out.status == PromotionStatus.FAILED:
                    summary = f"{pid} approved, but the promotion failed: {'; '.join(out.reasons)}"
                else:
                    summary = f"approval of {pid} recorded; {'; '.join(out.reasons)}"
                return ApprovalRecorded(f"approve {pid}", command, summary, failed=out.status == PromotionStatus.FAILED)

            self.app.write(f"approve {pid}", command, run, answer.passphrase)

        p = item.promotion
        self.app.push_screen(ConfirmDialog(
            f"Approve {pid}",
            [("service", p.service), ("transition", item.transition), ("evidence digest", p.evidence_digest),
             ("signing key", me.keyid or me.name or "none"), ("so far", item.waiting_for)],
            "Approve", passphrase_for=me.name if me.sealed else None,
            note="Your signature is bound to this evidence digest; new evidence would void it."),
            confirmed)

    @writes("approvals.reject")
    def action_reject(self) -> None:
        """Reject the request under the cursor, with a reason, after a confirmation."""
        item = self.item
        if item is None:
            self.notify("nothing awaits approval", severity="warning")
            return
        if item.reject_refusal is not None:
            self.app.post_message(ActionRefused(f"reject {item.id}", cli("reject", item.id), item.reject_refusal))
            return
        me = self.app.snapshot.identity
        pid = item.id

        def confirmed(answer: Confirmation | None) -> None:
            if answer is None:
                return
            command = cli("reject", pid, "--reason", answer.reason)

            def run(orch: Orchestrator):
                orch.reject(pid, answer.reason)
                return RejectionRecorded(f"reject {pid}", command, f"{pid} rejected: {answer.reason}")

            self.app.write(f"reject {pid}", command, run, answer.passphrase)

        p = item.promotion
        self.app.push_screen(ConfirmDialog(
            f"Reject {pid}",
            [("service", p.service), ("transition", item.transition), ("evidence digest", p.evidence_digest),
             ("signing key", me.keyid or me.name or "none")],
            "Reject", reason="why (recorded in the ledger)", passphrase_for=me.name if me.sealed else None, danger=True,
            note="A rejected promotion is final; the service must request it again."),
            confirmed)
