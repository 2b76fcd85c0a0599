"""`?`: every key, grouped by screen, from the action registry (the same one the bindings,
footer and palette are built from); the screen it was opened on comes first."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from ..actions import SCOPES, in_scope


def key_label(key: str, display: str | None) -> str:
    """How a key reads in help: `?` for question_mark, `/` for slash, `^r` for ctrl+r."""
    if display:
        return display
    return {"escape": "esc", "space": "space", "enter": "enter"}.get(key, key.replace("ctrl+", "^"))


class HelpScreen(ModalScreen[None]):
    """Keys per screen."""

    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close", id="help.close", tooltip="Close the help")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; background: $background 60%; }
    HelpScreen > VerticalScroll { width: 96; max-width: 100%; height: 90%; border: thick $primary; background: $surface; padding: 0 1; }
    """

    def __init__(self, scope: str = ""):
        super().__init__()
        self.scope = scope

    def compose(self) -> ComposeResult:
        body = VerticalScroll(Static(keys_help(self.scope), id="help-text"))
        body.border_title = "Help"
        yield body


def keys_help(scope: str = "") -> Group:
    """Every registry action as key, name and help, grouped by scope; `scope` first."""
    order = [scope] if scope in SCOPES else []
    order += [s for s in SCOPES if s not in order]
    parts: list = [Text("gooseterm keys (esc closes; ctrl+p searches commands)", style="bold")]
    for name in order:
        actions = in_scope(name)
        if not actions:
            continue
        table = Table.grid(padding=(0, 2))
        table.add_column(width=8, style="bold")
        table.add_column(width=14)
        table.add_column()
        for a in actions:
            note = "  (writes: off in read-only)" if a.writes else ""
            table.add_row(key_label(a.key, a.key_display), a.description, Text(a.help + note, style="" if a.writes else "dim"))
        heading = SCOPES[name] + ("  (this screen)" if name == scope else "")
        parts += [Text(""), Text(heading, style="bold underline"), table]
    return Group(*parts)
