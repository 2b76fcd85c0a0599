"""What every dashboard screen shares: header, mode bar, footer, the snapshot feed, the `/`
filter, escape, and the read-only guard on actions that write."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ClassVar

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer, Header

from ..actions import BY_ID, bindings, override_bindings
from ..widgets.lists import FilteredTable
from ..widgets.panels import ModeBar


def writes(action_id: str) -> Callable:
    """Mark a screen action as writing to the ledger: in read-only mode it is refused, with a
    notification and an activity line saying why, before any dialog opens."""
    action = BY_ID[action_id]

    def decorate(method: Callable) -> Callable:
        @functools.wraps(method)
        def guarded(self, *args, **kwargs):
            if self.app.read_only:
                self.app.refuse_read_only(action)
                return None
            return method(self, *args, **kwargs)

        return guarded

    return decorate


class DashboardScreen(Screen):
    """A dashboard mode: composes the chrome around `compose_body` and re-renders on each snapshot."""

    MODE: ClassVar[str] = ""
    BINDINGS = bindings("screen")

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        if self.app.read_only:  # writing keys stay bound (pressing one says why it is off) but leave the footer
            override_bindings(self, bindings(self.MODE, read_only=True))

    def compose(self) -> ComposeResult:
        yield Header(icon="◆")
        yield ModeBar(self.MODE)
        yield from self.compose_body()
        yield Footer()

    def compose_body(self) -> ComposeResult:
        """The screen's own widgets."""
        yield from ()

    def on_mount(self) -> None:
        self.watch(self.app, "snapshot", self._snapshot_changed, init=True)
        self.watch(self.app, "theme", self._theme_changed, init=False)

    def _theme_changed(self, _theme: str) -> None:
        self._snapshot_changed(self.app.snapshot)  # glyph colours come from the theme

    def on_screen_resume(self) -> None:
        if self.is_mounted and self.goto_list is not None:
            self.apply_goto()

    @property
    def goto_list(self) -> FilteredTable | None:
        """The list whose rows `app.goto` can select (None: the screen has none)."""
        return None

    def apply_goto(self) -> None:
        """Put the cursor on the row another screen asked for, once that row exists."""
        key = self.app.goto_key(self.MODE)
        if key and self.goto_list.select(key):
            self.app.goto_done(self.MODE)

    def _snapshot_changed(self, snapshot) -> None:
        if snapshot is not None:
            self.show_snapshot(snapshot)

    def show_snapshot(self, snapshot) -> None:
        """Render a new snapshot."""

    @property
    def main_list(self) -> FilteredTable | None:
        """The list `/` filters: the focused one, else the screen's first."""
        focused = self.focused
        for node in (focused.ancestors_with_self if focused else []):
            if isinstance(node, FilteredTable):
                return node
        found = self.query(FilteredTable)
        return found.first() if found else None

    def action_filter(self) -> None:
        """Open the filter of the focused list."""
        target = self.main_list
        if target is not None:
            target.open_filter()

    def action_back(self) -> None:
        """Close an open filter; otherwise nothing (the screen is a mode's base)."""
        for table in self.query(FilteredTable):
            if table.close_filter():
                return


class DetailScreen(Screen):
    """A drill-down pushed over a mode: header, body and footer; escape returns."""

    SCOPE: ClassVar[str] = ""
    BINDINGS = bindings("screen")

    def compose(self) -> ComposeResult:
        yield Header(icon="◆")
        yield from self.compose_body()
        yield Footer()

    def compose_body(self) -> ComposeResult:
        """The view's own widgets."""
        yield from ()

    def action_filter(self) -> None:
        """Open the filter of the view's list, if it has one."""
        found = self.query(FilteredTable)
        if found:
            found.first().open_filter()

    def action_back(self) -> None:
        """Close an open filter, else go back."""
        for table in self.query(FilteredTable):
            if table.close_filter():
                return
        self.dismiss()
