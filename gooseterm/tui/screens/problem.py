"""What the dashboard shows instead of a traceback: no ledger yet (with the two commands that
make one), or a ledger or config it cannot read (with the reason). It retries on each refresh."""

from __future__ import annotations

from rich.console import Group
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Center, Middle
from textual.screen import Screen
from textual.widgets import Footer, Header, Static


class ProblemScreen(Screen):
    """Nothing to show yet, and how to fix that."""

    def __init__(self, error: str, missing: bool):
        super().__init__()
        self.error = error
        self.missing = missing

    def compose(self) -> ComposeResult:
        yield Header(icon="◆")
        with Middle(), Center():
            yield Static(id="no-data")
        yield Footer()

    def on_mount(self) -> None:
        self.show(self.error, self.missing)

    def show(self, error: str, missing: bool) -> None:
        """Say what is wrong."""
        accent = "bold"
        if missing:
            body = Group(
                Text("No ledger yet", style="bold"),
                Text(f"\nThere is no ledger at {error}.\n"),
                Text.assemble("Try the demo:        ", ("gooseterm demo", accent)),
                Text.assemble("or start your own:   ", ("gooseterm init", accent)),
                Text("\nthen run gooseterm again (this screen also notices on its own). q quits.", style="dim"),
            )
        else:
            body = Group(Text("The dashboard cannot read its data", style="bold"), Text(f"\n{error}\n"),
                         Text("Fix it and press ctrl+r, or q to quit.", style="dim"))
        self.query_one("#no-data", Static).update(body)
