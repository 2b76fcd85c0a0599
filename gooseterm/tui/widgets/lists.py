"""Lists people can steer from the keyboard: j/k/g/G, `/` to filter (`!` inverts), and rows that
keep their cursor when the data refreshes underneath them."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from textual import events, on
from textual.app import ComposeResult
from textual.message import Message
from textual.widget import Widget
from textual.widgets import DataTable, Input, Static, Tree

from ..actions import BY_ID, binding, bindings, override_bindings


def matches(query: str, text: str) -> bool:
    """True when every word of `query` occurs in `text` (case-insensitive); a leading `!` inverts."""
    q = query.strip()
    invert = q.startswith("!")
    words = q[1:].split() if invert else q.split()
    found = all(w.lower() in text.lower() for w in words)
    return not found if invert and words else found


@dataclass(frozen=True)
class Row:
    """One table row: a stable key, its cells and the text the filter searches."""

    key: str
    cells: tuple
    text: str


class NavTable(DataTable):
    """A row-cursor DataTable with vi keys; `opens` names the registry action its enter runs,
    so the footer says what enter does here."""

    BINDINGS = bindings("list")

    def __init__(self, *args, opens: str | None = None, **kwargs):
        kwargs.setdefault("cursor_type", "row")
        kwargs.setdefault("zebra_stripes", True)
        super().__init__(*args, **kwargs)
        if opens is not None:
            override_bindings(self, [binding(BY_ID[opens], "select_cursor")])

    @property
    def current_key(self) -> str | None:
        """The key of the row under the cursor."""
        if not self.row_count:
            return None
        return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value


class NavTree(Tree):
    """A Tree with the same vi keys as the tables."""

    BINDINGS = bindings("list")

    def action_scroll_top(self) -> None:
        """First node."""
        self.action_scroll_home()

    def action_scroll_bottom(self) -> None:
        """Last node."""
        self.action_scroll_end()


class FilterBar(Input):
    """The `/` filter: hidden until asked for; typing filters, enter keeps it, escape clears it."""

    DEFAULT_CSS = """
    FilterBar { display: none; height: 1; background: $boost; }
    FilterBar.-active { display: block; }
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("placeholder", "/ filter rows (start with ! to hide rows that match); enter keeps, esc clears")
        super().__init__(compact=True, **kwargs)

    def open(self) -> None:
        """Show and focus."""
        self.add_class("-active")
        self.focus()

    def close(self) -> None:
        """Clear and hide."""
        self.value = ""
        self.remove_class("-active")

    @property
    def active(self) -> bool:
        """Shown."""
        return self.has_class("-active")


class FilteredTable(Widget):
    """A NavTable with its FilterBar; `show(rows)` keeps the cursor on the same key across updates."""

    DEFAULT_CSS = """
    FilteredTable { height: 1fr; }
    FilteredTable > NavTable { height: 1fr; }
    FilteredTable > .empty { display: none; color: $foreground-muted; padding: 0 1; height: auto; }
    FilteredTable.-empty > .empty { display: block; }
    FilteredTable.-empty > NavTable { height: 1; }
    """

    class Highlighted(Message):
        """The row under the cursor changed (key None: the table is empty)."""

        def __init__(self, table: FilteredTable, key: str | None):
            super().__init__()
            self.table = table
            self.key = key

        @property
        def control(self) -> FilteredTable:
            return self.table

    class Chosen(Message):
        """Enter was pressed on a row."""

        def __init__(self, table: FilteredTable, key: str):
            super().__init__()
            self.table = table
            self.key = key

        @property
        def control(self) -> FilteredTable:
            return self.table

    NARROW = 96
    """Below this width the columns named in `narrow` are left out (the detail panels show them)."""

    def __init__(self, columns: Sequence[str], empty: str = "nothing to show", opens: str | None = None,
                 narrow: Collection[str] = (), **kwargs):
        super().__init__(**kwargs)
        self.columns = list(columns)
        self.empty = empty
        self.opens = opens
        self.narrow_drops = set(narrow)
        self.rows: list[Row] = []
        self._shown: list[Row] | None = None
        self._narrow: bool | None = None
        self._pending: str | None = None

    def compose(self) -> ComposeResult:
        yield FilterBar()
        yield NavTable(opens=self.opens)
        yield Static(self.empty, classes="empty", markup=False)

    def on_resize(self, event: events.Resize) -> None:
        narrow = event.size.width < self.NARROW
        if narrow != self._narrow:
            keep = self.current_key if self._narrow is not None else None
            self._narrow = narrow
            self.table.clear(columns=True)
            self.table.add_columns(*(self.columns[i] for i in self._visible))
            self._shown = None
            self._render_rows(keep)

    @property
    def _visible(self) -> list[int]:
        return [i for i, c in enumerate(self.columns) if not (self._narrow and c in self.narrow_drops)]

    @property
    def table(self) -> NavTable:
        """The table."""
        return self.query_one(NavTable)

    @property
    def filter_bar(self) -> FilterBar:
        """The filter input."""
        return self.query_one(FilterBar)

    @property
    def current_key(self) -> str | None:
        """The key of the row under the cursor."""
        return self.table.current_key

    def show(self, rows: list[Row]) -> None:
        """Replace the rows (filtered by the current filter), keeping the cursor's row."""
        self.rows = rows
        self._render_rows()

    def _render_rows(self, keep: str | None = None) -> None:
        if self._narrow is None:  # the columns come with the first size
            return
        query = self.filter_bar.value
        visible = [r for r in self.rows if matches(query, r.text)]
        if visible == self._shown:
            return
        table = self.table
        keep = keep or self._pending or table.current_key
        self._pending = None
        table.clear()
        shown = self._visible
        for r in visible:
            table.add_row(*(r.cells[i] for i in shown), key=r.key)
        self.set_class(not visible, "-empty")
        self.query_one(".empty", Static).update("no rows match the filter" if self.rows else self.empty)
        self._shown = visible
        keys = [r.key for r in visible]
        if keep in keys:
            table.move_cursor(row=keys.index(keep), animate=False)
        self.post_message(self.Highlighted(self, table.current_key))

    def select(self, key: str) -> bool:
        """Put the cursor on the row with this key (clearing a filter that hides it); False if there is none."""
        if self._narrow is None:  # not laid out yet: the first render puts the cursor there
            self._pending = key
            return any(r.key == key for r in self.rows)
        if key not in [r.key for r in self._shown or []] and any(r.key == key for r in self.rows):
            self.filter_bar.close()
            self._render_rows()
        keys = [r.key for r in self._shown or []]
        if key not in keys:
            return False
        self.table.move_cursor(row=keys.index(key), animate=False)
        return True

    def open_filter(self) -> None:
        """Show the filter input."""
        self.filter_bar.open()

    def close_filter(self) -> bool:
        """Clear and hide the filter; False if it was not open."""
        if not self.filter_bar.active:
            return False
        self.filter_bar.close()
        self._render_rows()
        self.table.focus()
        return True

    def focus(self, scroll_visible: bool = True):
        self.table.focus(scroll_visible)
        return self

    @on(Input.Changed)
    def _filter_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._render_rows()

    @on(Input.Submitted)
    def _filter_kept(self, event: Input.Submitted) -> None:
        event.stop()
        self.table.focus()

    @on(DataTable.RowHighlighted)
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self.post_message(self.Highlighted(self, event.row_key.value))

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.post_message(self.Chosen(self, event.row_key.value))
