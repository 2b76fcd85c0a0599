"""7 Activity: what the dashboard did this session, each line with the command that does the
same from a shell."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult

from ..actions import bindings
from ..widgets.lists import FilteredTable, Row
from ..widgets.look import colour, muted
from .base import DashboardScreen


class ActivityScreen(DashboardScreen):
    """The activity log."""

    MODE = "activity"
    AUTO_FOCUS = "#activity NavTable"
    BINDINGS = bindings("activity")

    def compose_body(self) -> ComposeResult:
        log = FilteredTable(["Time", "What", "CLI equivalent", "Outcome"], empty="nothing done yet", narrow=("Outcome",), id="activity")
        log.border_title = "Activity, newest first"
        yield log

    def on_mount(self) -> None:
        super().on_mount()
        self.watch(self.app, "activity", self._activity_changed, init=True)

    def _activity_changed(self, lines) -> None:
        rows = []
        for i, line in reversed(list(enumerate(lines))):
            outcome = Text(line.outcome, style="" if line.ok else colour(self.app, "error"))
            rows.append(Row(str(i), (line.time.strftime("%H:%M:%S"), line.what,
                                     Text(line.cli, style=colour(self.app, "accent")) if line.cli else muted("—"), outcome),
                            f"{line.what} {line.outcome} {line.cli}"))
        self.query_one("#activity", FilteredTable).show(rows)

    def action_copy_command(self) -> None:
        """Copy the CLI command of the line under the cursor."""
        key = self.query_one("#activity", FilteredTable).current_key
        if not key:
            return
        command = self.app.activity[int(key)].cli
        if command:
            self.app.copy_to_clipboard(command)
            self.notify(f"copied: {command}", timeout=3)
