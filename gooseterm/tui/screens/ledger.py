"""5 Ledger: entries newest first, a page at a time (LIMIT, never the whole history), filtered
by service, kind and writer time; enter shows an entry; `v` verifies the whole ledger in a
worker, with progress and the result per fault class."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Input, ProgressBar, Select, Static

from gooseterm.ledger.verifier import FAULT_CLASSES

from ...app.verify import verify
from ...dashboard import EntryFilter, entries_page, parse_when
from ...error_family import EXPECTED_ERRORS
from ..actions import bindings
from ..app import cli
from ..messages import EntriesLoaded, VerificationFinished, VerificationProgressed
from ..widgets.lists import FilteredTable, Row
from ..widgets.look import colour, muted, short_time
from .base import DashboardScreen

PAGE = 200


class LedgerScreen(DashboardScreen):
    """The entries, their filters, and verification."""

    MODE = "ledger"
    AUTO_FOCUS = "#entries NavTable"
    BINDINGS = bindings("ledger")

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.filter = EntryFilter()
        self.rows: list[Row] = []
        self.before: int | None = None
        self.pages = 0
        self._ledger_size: int | None = None
        self._services: list[str] = []
        self.verifying = False

    def compose_body(self) -> ComposeResult:
        with Vertical(id="ledger-body"):
            with Horizontal(id="ledger-query"):
                yield Select([], prompt="any service", compact=True, id="q-service")
                yield Input(placeholder="kind: approval. or gate.result", compact=True, id="q-kind")
                yield Input(placeholder="since: 2h, 3d, 2026-03-01", compact=True, id="q-since")
                yield Input(placeholder="until", compact=True, id="q-until")
            entries = FilteredTable(["Seq", "Time", "Kind", "Service", "Promotion", "Signed by"], empty="no entries match",
                                    opens="ledger.detail", narrow=("Promotion", "Signed by"), id="entries")
            entries.border_title = "Entries"
            yield entries
            with Vertical(id="verify"):
                with Horizontal(id="verify-progress"):
                    yield Static("", id="verify-label")
                    yield ProgressBar(id="verify-bar", show_eta=False)
                with VerticalScroll(id="verify-scroll"):
                    yield Static("", id="verify-result")

    def show_snapshot(self, snapshot) -> None:
        names = [s.service for s in snapshot.services]
        if names != self._services:  # resetting the options would also reset the choice
            self._services = names
            self.query_one("#q-service", Select).set_options([(n, n) for n in names])
        if self._ledger_size is None or (snapshot.size != self._ledger_size and self.pages <= 1):
            self.load(more=False)
        self._ledger_size = snapshot.size

    # -- entries -----------------------------------------------------------------------------------

    def load(self, more: bool) -> None:
        """Read a page: the newest, or (`more`) the one older than what is shown."""
        if more and self.before is None:
            self.notify("the oldest matching entry is already shown", timeout=3)
            return
        self._load(self.filter, self.before if more else None, more)

    @work(thread=True, exclusive=True, group="entries", exit_on_error=False)
    def _load(self, filt: EntryFilter, before: int | None, more: bool) -> None:
        try:
            with self.app.session.reading() as orch:
                page = entries_page(orch.ledger, filt, before=before, limit=PAGE)
        except EXPECTED_ERRORS as exc:
            self.app.call_from_thread(self.notify, f"could not read entries: {exc}", severity="error")
            return
        self.post_message(EntriesLoaded(filt, page, more))

    def on_entries_loaded(self, message: EntriesLoaded) -> None:
        if message.filter != self.filter:
            return
        rows = [Row(str(r.seq), (Text(str(r.seq), justify="right"), short_time(r.time), r.kind, r.service or "—",
                                 r.promotion or "—", muted(", ".join(r.signers))),
                    " ".join([str(r.seq), r.time, r.kind, r.service or "", r.promotion or "", *r.signers]))
                for r in message.page.rows]
        self.rows = (self.rows + rows) if message.more else rows
        self.pages = self.pages + 1 if message.more else 1
        self.before = message.page.before
        table = self.query_one("#entries", FilteredTable)
        shown = f"{len(self.rows):,} shown"
        more = f", n for older than seq {self.before}" if self.before is not None else ", back to the first entry"
        table.border_title = f"Entries, newest first ({shown}{more})"
        table.show(self.rows)
        self.apply_goto()

    @property
    def goto_list(self) -> FilteredTable:
        """The list app.goto selects in."""
        return self.query_one("#entries", FilteredTable)

    def action_older(self) -> None:
        """Load the next page of older entries."""
        self.load(more=True)

    def action_edit_query(self) -> None:
        """Focus the service / kind / time filters."""
        self.query_one("#q-service", Select).focus()

    @on(Select.Changed, "#q-service")
    @on(Input.Submitted, "#ledger-query Input")
    def _query_changed(self, event) -> None:
        event.stop()
        service = self.query_one("#q-service", Select).value
        kind = self.query_one("#q-kind", Input).value.strip() or None
        try:
            now = self.app.clock()
            since = self.query_one("#q-since", Input).value.strip()
            until = self.query_one("#q-until", Input).value.strip()
            filt = EntryFilter(service if isinstance(service, str) else None, kind,
                               parse_when(since, now) if since else None, parse_when(until, now) if until else None)
        except ValueError as exc:
            self.notify(str(exc), severity="error")
            return
        if filt != self.filter:
            self.filter = filt
            self.before = None
            self.load(more=False)
        if isinstance(event, Input.Submitted):
            self.query_one("#entries", FilteredTable).focus()

    @on(FilteredTable.Chosen, "#entries")
    def _chosen(self, event: FilteredTable.Chosen) -> None:
        self.action_open_entry()

    def action_open_entry(self) -> None:
        """Show the entry under the cursor."""
        from .entry import EntryScreen

        key = self.query_one("#entries", FilteredTable).current_key
        if key:
            self.app.push_screen(EntryScreen(int(key)))

    # -- verification ----------------------------------------------------------------------------

    def action_verify(self) -> None:
        """Verify the whole ledger in a worker."""
        if self.verifying:
            self.notify("verification is already running", timeout=3)
            return
        self.verifying = True
        box = self.query_one("#verify")
        box.add_class("-shown")
        self.query_one("#verify-label", Static).update("verifying…")
        self.query_one("#verify-bar", ProgressBar).update(total=None, progress=0)
        self.query_one("#verify-result", Static).update("")
        self._verify()

    @work(thread=True, exclusive=True, group="verify", exit_on_error=False)
    def _verify(self) -> None:
        clock = self.app.clock  # the app's clock, so a frozen one (tests) gives a repeatable duration
        start = clock()
        try:
            # One process: the dashboard keeps a core for itself while `gooseterm verify` takes all.
            verification = verify(self.app.session.settings, jobs=1,
                                  progress=lambda done, total: self.post_message(VerificationProgressed(done, total)))
        except EXPECTED_ERRORS as exc:
            self.post_message(VerificationFinished(None, (clock() - start).total_seconds(), str(exc)))
            return
        self.post_message(VerificationFinished(verification.report, (clock() - start).total_seconds(), note=verification.unrecorded))

    def on_verification_progressed(self, message: VerificationProgressed) -> None:
        self.query_one("#verify-bar", ProgressBar).update(total=max(message.total, 1), progress=message.done)
        self.query_one("#verify-label", Static).update(f"verifying {message.done:,} of {message.total:,} entries")

    def on_verification_finished(self, message: VerificationFinished) -> None:
        self.verifying = False
        report = message.report
        label = self.query_one("#verify-label", Static)
        bar = self.query_one("#verify-bar", ProgressBar)
        if report is None:
            label.update(Text(message.error, style=colour(self.app, "error")))
            self.app.log_activity("verify", message.error, cli("verify"), ok=False)
            self.notify(message.error, severity="error")
            return
        bar.update(total=max(report.size, 1), progress=report.size)
        verdict = "VALID" if report.ok else "INVALID"
        tone = colour(self.app, "success" if report.ok else "error")
        label.update(Text.assemble((f"{'✔' if report.ok else '✖'} {verdict}", f"bold {tone}"),
                                   f"  {report.size:,} entries in {message.seconds:.1f} s"))
        self.query_one("#verify-result", Static).update(self._report(report))
        summary = (f"{verdict}: {report.size:,} entries, {report.checkpoints_checked} checkpoints, "
                   f"{report.blobs_checked} blobs" + ("" if report.ok else f"; first fault {report.first.code} at seq {report.first.seq}"))
        self.app.log_activity("verify", summary, cli("verify"), ok=report.ok)
        self.notify(summary, title="Verification finished", severity="information" if report.ok else "error")
        if message.note:
            self.notify(message.note, severity="warning")

    def _report(self, report):
        found = report.by_class()
        bad = Table.grid(padding=(0, 2))
        for code, c in found.items():
            where = "file" if c["first_seq"] is None else f"first seq {c['first_seq']}"
            bad.add_row(Text(f"✖ {code}", style=colour(self.app, "error")), where, f"×{c['count']}", Text(c["detail"]))
        good = Table.grid(padding=(0, 2), expand=True)
        for _ in range(3):
            good.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
        ok_codes = [code for code in FAULT_CLASSES if code not in found]
        cells = [Text(f"✔ {code}", style=colour(self.app, "success")) for code in ok_codes]
        for i in range(0, len(cells), 3):
            good.add_row(*cells[i:i + 3], *[""] * (3 - len(cells[i:i + 3])))
        head = Text.assemble(muted("root "), report.root.hex()[:32], "…", muted(f"   checkpoints {report.checkpoints_checked}"),
                             muted(f"   blobs {report.blobs_checked} (+{report.blobs_archived} archived)"))
        return Group(head, *([bad] if found else []), good)

    def action_back(self) -> None:
        """Close the filter, else the verification result."""
        for table in self.query(FilteredTable):
            if table.close_filter():
                return
        if not self.verifying:
            self.query_one("#verify").remove_class("-shown")
