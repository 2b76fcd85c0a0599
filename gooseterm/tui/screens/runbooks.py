"""6 Runbooks: runs of promotion_failure and compliance_violation as checklists. Automatic steps
run in a worker and show their result; manual steps ask for confirmation; every step taken is
an entry in the ledger."""

from __future__ import annotations

from rich.console import Group
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll

from ...gates import Result
from ...orgconfig import RunbookStep
from ...promotions import Orchestrator
from ...records import RunRecord
from ...runbooks import pending_step, start_run, take_step
from ..actions import bindings
from ..app import cli
from ..dialogs.confirm import Confirmation, ConfirmDialog
from ..dialogs.new_run import NewRun, NewRunDialog
from ..messages import RunbookStarted, RunbookStepTaken
from ..widgets.lists import FilteredTable, Row
from ..widgets.look import colour, indented, muted, result_text
from ..widgets.panels import Panel
from .base import DashboardScreen, writes


class RunbooksScreen(DashboardScreen):
    """Runbook runs and the checklist of the one under the cursor."""

    MODE = "runbooks"
    AUTO_FOCUS = "#runs NavTable"
    BINDINGS = bindings("runbooks")

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="runbooks-body"):
            runs = FilteredTable(["Runbook", "Service", "Status", "Steps"], empty="no runs yet: n starts one", id="runs")
            runs.border_title = "Runs"
            yield runs
            with VerticalScroll(id="checklist-scroll"):
                yield Panel("Checklist", id="checklist")

    def show_snapshot(self, snapshot) -> None:
        rows = []
        for r in snapshot.runs:
            book = snapshot.runbooks.get(r.runbook)
            total = len(book.steps) if book else 0
            failed = any(s.result in (Result.FAIL, Result.ERROR) for s in r.steps)
            status = Text(r.status, style=colour(self.app, "success" if r.complete else "warning" if failed else "accent"))
            rows.append(Row(r.id, (r.runbook, r.service, status, f"{len(r.steps)} of {total}"),
                            " ".join([r.id, r.runbook, r.service, r.status])))
        self.query_one("#runs", FilteredTable).show(rows)
        self.apply_goto()
        self._show_checklist()

    @property
    def goto_list(self) -> FilteredTable:
        """The list app.goto selects in."""
        return self.query_one("#runs", FilteredTable)

    @property
    def run(self) -> RunRecord | None:
        """The run under the cursor."""
        snap = self.app.snapshot
        key = self.query_one("#runs", FilteredTable).current_key
        return next((r for r in snap.runs if r.id == key), None) if snap and key else None

    @on(FilteredTable.Highlighted, "#runs")
    def _highlighted(self, event: FilteredTable.Highlighted) -> None:
        self._show_checklist()

    def _next(self, run: RunRecord) -> RunbookStep | None:
        return pending_step(self.app.snapshot.runbooks[run.runbook], len(run.steps))

    def _show_checklist(self) -> None:
        panel = self.query_one("#checklist", Panel)
        snap = self.app.snapshot
        run = self.run
        if snap is None:
            return
        if run is None:
            panel.border_title = "Runbooks"
            parts: list = [muted("No run selected. n starts a run; a blocked promotion offers its runbook (o on Overview or Pipeline).")]
            for name, book in snap.runbooks.items():
                parts.append(Text(f"\n{book.title} ({name})", style="bold"))
                for i, step in enumerate(book.steps, 1):
                    parts.append(Text.assemble(f"  {i}. {step.title}", muted(f"  {'automatic' if step.automatic else 'manual'}")))
            panel.update(Group(*parts))
            return
        book = snap.runbooks[run.runbook]
        panel.border_title = f"{book.title}: {run.service}"
        parts = [Text.assemble(muted("run "), run.id, muted("   started by "), run.started_by, muted(f" at seq {run.started_seq}"))]
        for i, step in enumerate(book.steps):
            kind = "automatic" if step.automatic else "manual, needs confirmation"
            if i < len(run.steps):
                taken = run.steps[i]
                parts.append(Text.assemble(result_text(self.app, taken.result), f"  {i + 1}. ", (step.title, "bold"),
                                           muted(f"   {kind}, seq {'?' if taken.seq is None else taken.seq}"
                                                 + (f", confirmed by {taken.confirmed_by}" if taken.confirmed_by else ""))))
                parts.append(indented(Text(taken.summary)))
                parts += [indented(muted(d)) for d in taken.details]
            elif i == len(run.steps):
                parts.append(Text.assemble((f"▶ next  {i + 1}. ", f"bold {colour(self.app, 'accent')}"), (step.title, "bold"),
                                           muted(f"   {kind}")))
                parts.append(indented(muted(step.description)))
                parts.append(Text("      s takes this step" + ("" if step.automatic else " (you confirm first)"),
                                  style=colour(self.app, "accent")))
            else:
                parts.append(Text.assemble(muted(f"○       {i + 1}. {step.title}   {kind}")))
        if run.complete:
            parts.append(Text("\n✔ complete: every step is recorded in the ledger", style=colour(self.app, "success")))
        panel.update(Group(*parts))

    @writes("runbooks.step")
    def action_take_step(self) -> None:
        """Take the next step of the run under the cursor; a manual one after a confirmation."""
        run = self.run
        if run is None:
            self.notify("no run selected: n starts one", severity="warning")
            return
        step = self._next(run)
        if step is None:
            self.notify(f"{run.id} is complete", timeout=3)
            return
        rid = run.id
        index = len(run.steps) + 1
        snap = self.app.snapshot

        def go(confirmed: bool, passphrase: str | None) -> None:
            command = cli("runbook", "step", rid, *(["--confirm"] if confirmed else []))

            def act(orch: Orchestrator):
                _, result = take_step(orch, rid, confirmed=confirmed)
                failed = result.result in (Result.FAIL, Result.ERROR)
                return RunbookStepTaken(f"runbook step {index}", command, f"{step.title}: {result.result} - {result.summary}",
                                        failed=failed)

            self.app.write(f"runbook step {index}", command, act, passphrase)

        if step.automatic:
            go(False, None)
            return

        def confirmed(answer: Confirmation | None) -> None:
            if answer is not None:
                go(True, answer.passphrase)

        self.app.push_screen(ConfirmDialog(
            f"Step {index}: {step.title}",
            [("run", rid), ("service", run.service), ("action", step.action), ("signing key", snap.identity.keyid or "none")],
            "Confirm step", passphrase_for=snap.identity.name if snap.identity.sealed else None,
            note=f"{step.description}\nConfirming records that you did or checked this; the result is an entry in the ledger."),
            confirmed)

    @writes("runbooks.new")
    def action_new_run(self) -> None:
        """Start a runbook for a service."""
        snap = self.app.snapshot
        if snap is None:
            return
        current = self.run

        def chosen(choice: NewRun | None) -> None:
            if choice is None:
                return
            command = cli("runbook", "start", choice.runbook, "--service", choice.service,
                          *(["--reason", choice.reason] if choice.reason else []))

            def act(orch: Orchestrator):
                run = start_run(orch, choice.runbook, choice.service, choice.reason)
                return RunbookStarted(f"runbook {choice.runbook}", command, f"started {run['id']}: {run['title']}", run_id=run["id"])

            self.app.write(f"runbook {choice.runbook}", command, act)

        self.app.push_screen(NewRunDialog({n: b.title for n, b in snap.runbooks.items()}, [s.service for s in snap.services],
                                          current.service if current else None), chosen)
