"""Small display widgets: the mode bar, titled panels and the success-metrics panel."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.content import Content
from textual.widgets import Static

from ..actions import MODES
from .look import colour


class ModeBar(Static):
    """The screens as tabs, numbered by their keys, the current one highlighted; clickable."""

    DEFAULT_CSS = """
    ModeBar { height: 1; background: $panel; color: $foreground-muted; padding: 0 1; }
    """

    def __init__(self, current: str):
        super().__init__()
        self.current = current

    def on_mount(self) -> None:
        parts = []
        for n, mode in enumerate(MODES, 1):
            label = f"{n} {mode.capitalize()}"
            if mode == self.current:
                parts.append(Content.styled(label, "bold reverse $accent"))
            else:
                parts.append(Content.from_markup(f"[@click=app.switch_mode('{mode}')]$label[/]", label=label))
        self.update(Content("  ").join(parts))  # fits 80 columns


class Panel(Static):
    """A bordered block of text with a title."""

    DEFAULT_CSS = """
    Panel { border: round $primary 60%; padding: 0 1; height: auto; }
    Panel:focus-within { border: round $accent; }
    """

    def __init__(self, title: str = "", **kwargs):
        super().__init__(**kwargs)
        self.border_title = title


class MetricsPanel(Panel):
    """The plan's success metrics (plan 7) beside their targets, and the state counts."""

    def show(self, metrics: list | None, error: str | None, counts: dict[str, int] | None) -> None:
        """Render the metrics from gooseterm.metrics, or say why there are none."""
        from_status = Text()
        if counts:
            from_status = Text("  ".join(f"{n} {name}" for name, n in counts.items()), style="bold")
        if metrics is None:
            why = error or "loading the success metrics…"
            self.update(Text.assemble(from_status, "\n", Text(why, style="dim")))
            return
        from ...metrics import format_value

        table = Table.grid(padding=(0, 2))
        table.add_column(no_wrap=True)
        table.add_column(no_wrap=True, overflow="ellipsis", max_width=48)
        table.add_column(justify="right", no_wrap=True)
        table.add_column(no_wrap=True, style="dim", overflow="ellipsis")
        for m in metrics:
            met = {True: Text("✔", style=colour(self.app, "success")), False: Text("✖", style=colour(self.app, "error")),
                   None: Text("·", style="dim")}[m.met]
            table.add_row(met, m.title, format_value(m), f"target {m.target}")
        self.update(Group(from_status, table) if counts else table)
