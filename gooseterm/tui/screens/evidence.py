"""Drill-downs: the evidence each gate of a promotion read, and a blob's bytes."""

from __future__ import annotations

import json

from rich.console import Group
from rich.json import JSON
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import TextArea

from ...dashboard import blob_text, gate_evidence
from ...error_family import EXPECTED_ERRORS
from ...records import PromotionRecord
from ..actions import bindings
from ..messages import BlobLoaded, EvidenceLoaded
from ..widgets.lists import FilteredTable, Row
from ..widgets.look import colour, muted, result_text, short_digest, short_time
from ..widgets.panels import Panel
from .base import DetailScreen


class EvidenceScreen(DetailScreen):
    """Per gate: its result and reason, and each evidence entry it read (digest, kind, seq,
    source, facts)."""

    SCOPE = "evidence"
    AUTO_FOCUS = "#evidence NavTable"
    BINDINGS = bindings("evidence")

    def __init__(self, promotion: PromotionRecord):
        super().__init__()
        self.promotion = promotion
        self.gates: list = []
        self.sub_title = f"evidence behind {promotion.id}"

    def compose_body(self) -> ComposeResult:
        with Vertical(id="evidence-body"):
            table = FilteredTable(["Gate", "Result", "Kind", "Seq", "Source", "Digest"], empty="reading…", opens="evidence.blob",
                                  narrow=("Result", "Seq", "Digest"), id="evidence")
            table.border_title = f"Evidence read by the gates of {self.promotion.id} ({self.promotion.transition})"
            yield table
            with VerticalScroll(id="evidence-detail"):
                yield Panel("Facts", id="facts")

    def on_mount(self) -> None:
        self.load()

    @work(thread=True, exit_on_error=False)
    def load(self) -> None:
        """Read the evidence entries the gates name (a worker)."""
        try:
            with self.app.session.reading() as orch:
                gates = gate_evidence(orch.ledger, self.promotion)
        except EXPECTED_ERRORS as exc:
            self.app.call_from_thread(self.notify, f"could not read the evidence: {exc}", severity="error")
            return
        self.post_message(EvidenceLoaded(self.promotion, gates))

    def on_evidence_loaded(self, message: EvidenceLoaded) -> None:
        self.gates = message.gates
        rows = []
        for i, g in enumerate(message.gates):
            result = result_text(self.app, g.result)
            if not g.evidence:
                rows.append(Row(f"{i}:", (g.gate, result, muted("none"), "", "", ""), f"{g.gate} {g.result} {g.reason}"))
            for ev in g.evidence:
                rows.append(Row(f"{i}:{ev.digest}", (g.gate, result, ev.kind, str(ev.seq), Text(ev.source), short_digest(ev.digest)),
                                " ".join([g.gate, g.result, ev.kind, ev.source, ev.digest])))
        self.query_one("#evidence", FilteredTable).show(rows)

    def _current(self):
        key = self.query_one("#evidence", FilteredTable).current_key
        if not key or not self.gates:
            return None, None
        index, digest = key.split(":", 1)
        g = self.gates[int(index)]
        return g, next((e for e in g.evidence if e.digest == digest), None)

    @on(FilteredTable.Highlighted, "#evidence")
    def _highlighted(self, event: FilteredTable.Highlighted) -> None:
        g, ev = self._current()
        panel = self.query_one("#facts", Panel)
        if g is None:
            panel.update(muted("—"))
            return
        parts: list = [Text.assemble(result_text(self.app, g.result), "  ", (g.gate, "bold"), f" ({g.type})"),
                       Text(g.reason)]
        for c in g.checks if len(g.checks) > 1 else []:  # one check: its reason is the gate's
            parts.append(Text.assemble("  ", result_text(self.app, c.get("result", "")), f"  {c.get('validator', '')}: ",
                                       c.get("reason", "")))
        if g.missing:
            parts.append(Text(f"named but not found: {', '.join(g.missing)}", style=colour(self.app, "error")))
        if ev is not None:
            panel.border_title = f"{ev.kind} evidence, seq {ev.seq}"
            blob = ev.blob
            stored = "not stored" if blob is None else (f"archived {blob.archived}" if blob.archived else f"{blob.size:,} bytes, {blob.media_type}")
            parts += [Text(""), Text.assemble(muted("digest     "), ev.digest),
                      Text.assemble(muted("source     "), ev.source, muted("   collected by "), ev.collector),
                      Text.assemble(muted("recorded   "), short_time(ev.time), muted(f"   seq {ev.seq}   blob "), stored),
                      muted("enter shows the file"), JSON(json.dumps(ev.facts))]
        else:
            panel.border_title = g.gate
        panel.update(Group(*parts))

    @on(FilteredTable.Chosen, "#evidence")
    def _chosen(self, event: FilteredTable.Chosen) -> None:
        self.action_open_blob()

    def action_open_blob(self) -> None:
        """Show the evidence file."""
        _, ev = self._current()
        if ev is not None:
            self.app.push_screen(BlobScreen(ev.digest))


class BlobScreen(DetailScreen):
    """A blob's bytes as text, read-only."""

    SCOPE = "blob"
    AUTO_FOCUS = "#blob"

    def __init__(self, digest: str):
        super().__init__()
        self.digest = digest
        self.sub_title = digest

    def compose_body(self) -> ComposeResult:
        area = TextArea("reading…", read_only=True, show_line_numbers=True, id="blob")
        area.border_title = self.digest
        yield area

    def on_mount(self) -> None:
        self.load()

    @work(thread=True, exit_on_error=False)
    def load(self) -> None:
        """Read the blob (a worker)."""
        try:
            with self.app.session.reading() as orch:
                text = blob_text(orch.ledger, self.digest)
        except (*EXPECTED_ERRORS, KeyError, LookupError, ValueError) as exc:
            text = f"cannot show {self.digest}: {exc}"
        self.post_message(BlobLoaded(self.digest, text))

    def on_blob_loaded(self, message: BlobLoaded) -> None:
        self.query_one(TextArea).load_text(message.text)
