"""Every key of the dashboard in one registry: bindings, the footer, `?` help and the command
palette are all built from it (harlequin's actions.py), so they cannot disagree.

An action belongs to a scope: `app` (everywhere), `screen` (every screen), `list` (tables and
trees) or one screen.
Actions that write to the ledger say so; in read-only mode their keys stay bound but leave the
footer, and pressing one explains why nothing was written.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from textual.binding import Binding


@dataclass(frozen=True)
class Action:
    """One thing a person can do, with its key."""

    id: str
    """Unique, `<scope>.<name>`; also the Binding id, so a keymap can rebind it."""
    key: str
    action: str
    """The Textual action run on the scope's node (app, screen or list widget)."""
    description: str
    """The footer's short label."""
    help: str
    """One line for the help screen, the palette and the footer's tooltip."""
    writes: bool = False
    """Appends to the ledger: refused in read-only mode."""
    show: bool = True
    """Shown in the footer (and offered by the palette)."""
    bound: bool = True
    """False for keys a widget binds itself: Textual (ctrl+p), or a list's enter (FilteredTable `opens`)."""
    key_display: str | None = None
    priority: bool = False

    @property
    def scope(self) -> str:
        """The part of the id before the first dot."""
        return self.id.split(".", 1)[0]


SCOPES = {
    "app": "Everywhere",
    "screen": "On every screen",
    "list": "Lists, tables and trees",
    "overview": "1  Overview",
    "graph": "2  Graph",
    "pipeline": "3  Pipeline",
    "approvals": "4  Approvals",
    "ledger": "5  Ledger",
    "runbooks": "6  Runbooks",
    "activity": "7  Activity",
    "evidence": "Gate evidence (enter on Pipeline)",
    "entry": "Entry detail (enter on Ledger)",
    "dialog": "Dialogs",
}
"""Scope name to the heading the help screen shows, in help order."""

MODES = ("overview", "graph", "pipeline", "approvals", "ledger", "runbooks", "activity")
"""The dashboard's screens, switched with the number keys 1-7 in this order."""

ACTIONS: tuple[Action, ...] = (
    # -- everywhere --------------------------------------------------------------------------
    *(
        Action(f"app.mode_{mode}", str(n), f"switch_mode('{mode}')", mode.capitalize(), f"Show the {mode.capitalize()} screen",
               show=False)
        for n, mode in enumerate(MODES, 1)
    ),
    Action("app.help", "question_mark", "help", "Help", "List every key, per screen", key_display="?"),
    Action("app.palette", "ctrl+p", "command_palette", "Palette", "Search commands for this screen", bound=False),
    Action("app.refresh", "ctrl+r", "refresh_now", "Refresh", "Read the ledger again now", show=False),
    Action("app.pause", "space", "toggle_pause", "Pause", "Pause or resume live refresh", show=False),
    Action("app.screenshot", "ctrl+s", "screenshot", "Screenshot", "Save an SVG screenshot in the gooseterm home folder", show=False),
    Action("app.theme", "ctrl+t", "change_theme", "Theme", "Choose a colour theme", show=False),
    Action("app.quit", "q", "quit", "Quit", "Leave the dashboard"),
    # -- lists -----------------------------------------------------------------------------------
    Action("list.down", "j", "cursor_down", "Down", "Next row", show=False),
    Action("list.up", "k", "cursor_up", "Up", "Previous row", show=False),
    Action("list.top", "g", "scroll_top", "Top", "First row", show=False),
    Action("list.bottom", "G", "scroll_bottom", "Bottom", "Last row", show=False),
    Action("list.open", "enter", "select_cursor", "Open", "Drill down into the row", bound=False),
    Action("screen.filter", "slash", "filter", "Filter", "Filter the list; start with ! to keep rows that do NOT match", key_display="/"),
    Action("screen.back", "escape", "back", "Back", "Close the filter, the detail view or the dialog", show=False),
    # -- screens ---------------------------------------------------------------------------------
    Action("overview.pipeline", "enter", "open_pipeline", "Pipeline", "Show the service's promotions and gates", bound=False),
    Action("overview.runbook", "o", "open_runbook", "Runbook", "Open the promotion_failure runbook of a blocked service", writes=True),
    Action("overview.promote", "p", "promote", "Promote", "Request the service's next promotion (gates run)", writes=True),
    Action("overview.demote", "d", "demote", "Demote", "Demote a compliant service (confirm, with a reason)", writes=True),
    Action("graph.direction", "r", "toggle_direction", "Direction", "Toggle the tree between 'depends on' and 'depended on by'"),
    Action("graph.expand", "e", "expand_all", "Expand", "Expand the service under the cursor all the way down"),
    Action("pipeline.evidence", "enter", "open_evidence", "Evidence", "Show the evidence each gate read", bound=False),
    Action("pipeline.runbook", "o", "open_runbook", "Runbook", "Open the promotion_failure runbook of a blocked promotion", writes=True),
    Action("pipeline.override", "O", "override", "Override", "Break glass: promote despite gates or approvals (admin, reason)", writes=True),
    Action("approvals.approve", "a", "approve", "Approve", "Approve with your key (confirm; passphrase if sealed)", writes=True),
    Action("approvals.reject", "x", "reject", "Reject", "Reject with a reason (confirm)", writes=True),
    Action("approvals.evidence", "enter", "open_evidence", "Evidence", "Show the evidence the request is bound to", bound=False),
    Action("ledger.detail", "enter", "open_entry", "Detail", "Show the entry's statement, signatures and blobs", bound=False),
    Action("ledger.verify", "v", "verify", "Verify", "Verify every hash, signature, key window, checkpoint and blob"),
    Action("ledger.older", "n", "older", "Older", "Load the next page of older entries"),
    Action("ledger.query", "f", "edit_query", "Query", "Filter entries by service, kind and time in the ledger"),
    Action("runbooks.step", "s", "take_step", "Step", "Take the run's next step (manual steps ask to confirm)", writes=True),
    Action("runbooks.new", "n", "new_run", "New run", "Start a runbook for a service", writes=True),
    Action("activity.copy", "c", "copy_command", "Copy", "Copy the line's CLI command to the clipboard"),
    Action("dialog.confirm", "enter", "confirm", "Confirm", "On the button or in the last field: sign and record", bound=False),
    Action("dialog.cancel", "escape", "cancel", "Cancel", "Close the dialog; nothing is written"),
    Action("evidence.blob", "enter", "open_blob", "Blob", "Show the raw evidence file", bound=False),
    Action("entry.blob", "enter", "open_blob", "Blob", "Show the blob's bytes", bound=False),
)

BY_ID = {a.id: a for a in ACTIONS}


def in_scope(scope: str) -> list[Action]:
    """The actions of one scope, in registry order."""
    return [a for a in ACTIONS if a.scope == scope]


def bindings(scope: str, read_only: bool = False) -> list[Binding]:
    """Textual bindings for a scope; in read-only mode writing actions leave the footer."""
    return [replace(binding(a), show=a.show and not (read_only and a.writes)) for a in in_scope(scope) if a.bound]


def binding(action: Action, action_name: str | None = None) -> Binding:
    """The Binding of one registry action (optionally running another action name)."""
    return Binding(action.key, action_name or action.action, action.description, show=action.show, key_display=action.key_display,
                   priority=action.priority, tooltip=action.help, id=action.id)


def override_bindings(node, replacements: list[Binding]) -> None:
    """Replace a node's bindings for these keys on this instance only (read-only mode, a list's
    enter label). Textual builds bindings per class, so the instance's own map is edited."""
    for b in replacements:
        node._bindings.key_to_bindings[b.key] = [b]
