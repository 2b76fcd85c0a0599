"""An entry in full: its columns and hashes, the signatures with the ledger's trust in each key
at that seq, the blobs it names (enter shows one), and the statement as JSON."""

from __future__ import annotations

import json

from rich.console import Group
from rich.json import JSON
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll

from ...dashboard import entry_detail
from ...error_family import EXPECTED_ERRORS
from ..actions import bindings
from ..messages import EntryLoaded
from ..widgets.lists import FilteredTable, Row
from ..widgets.look import colour, muted
from ..widgets.panels import Panel
from .base import DetailScreen


class EntryScreen(DetailScreen):
    """One ledger entry."""

    SCOPE = "entry"
    AUTO_FOCUS = "#entry-blobs NavTable"
    BINDINGS = bindings("entry")

    def __init__(self, seq: int):
        super().__init__()
        self.seq = seq
        self.sub_title = f"entry {seq}"

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="entry-body"):
            with Vertical(id="entry-left"):
                yield Panel(f"Entry {self.seq}", id="entry-head")
                blobs = FilteredTable(["Blob", "Size", "Type", "Stored"], empty="no blobs", opens="entry.blob", id="entry-blobs")
                blobs.border_title = "Blobs"
                yield blobs
            with VerticalScroll(id="entry-statement"):
                yield Panel("Statement", id="statement")

    def on_mount(self) -> None:
        self.load()

    @work(thread=True, exit_on_error=False)
    def load(self) -> None:
        """Read the entry (a worker)."""
        try:
            with self.app.session.reading() as orch:
                detail = entry_detail(orch.ledger, self.seq)
        except (*EXPECTED_ERRORS, KeyError) as exc:
            self.app.call_from_thread(self.notify, f"could not read entry {self.seq}: {exc}", severity="error")
            return
        self.post_message(EntryLoaded(detail))

    def on_entry_loaded(self, message: EntryLoaded) -> None:
        d = message.detail
        head = self.query_one("#entry-head", Panel)
        head.border_title = f"Entry {d.seq}: {d.kind}"
        lines: list = [
            Text.assemble(muted("time       "), d.time),
            Text.assemble(muted("service    "), d.service or "—", muted("   promotion "), d.promotion or "—"),
            Text.assemble(muted("leaf hash  "), d.leaf_hash),
            Text.assemble(muted("chain      "), d.chain),
            Text("Signatures", style="bold"),
        ]
        for s in d.signatures:
            trust = (Text("✔ trusted at this seq", style=colour(self.app, "success")) if s.trusted
                     else Text("✖ not trusted at this seq", style=colour(self.app, "error")))
            lines.append(Text.assemble("  ", s.keyid, muted(f"  {', '.join(s.roles) or 'no roles'}  "), trust))
        head.update(Group(*lines))
        rows = []
        for digest, info in d.blobs:
            stored = "missing" if info is None else (f"archived {info.archived}" if info.archived else "stored")
            rows.append(Row(digest, (digest, f"{info.size:,}" if info else "—", info.media_type if info else "—", stored), digest))
        self.query_one("#entry-blobs", FilteredTable).show(rows)
        statement = self.query_one("#statement", Panel)
        statement.border_title = f"Statement ({d.statement.get('predicateType', '')})"
        statement.update(JSON(json.dumps(d.statement)))

    @on(FilteredTable.Chosen, "#entry-blobs")
    def _chosen(self, event: FilteredTable.Chosen) -> None:
        self.action_open_blob()

    def action_open_blob(self) -> None:
        """Show the blob under the cursor."""
        from .evidence import BlobScreen

        key = self.query_one("#entry-blobs", FilteredTable).current_key
        if key:
            self.app.push_screen(BlobScreen(key))
