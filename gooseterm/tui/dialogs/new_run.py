"""The form that starts a runbook run: which runbook, for which service, and why."""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from ..actions import bindings


@dataclass(frozen=True)
class NewRun:
    """The runbook, service and reason chosen."""

    runbook: str
    service: str
    reason: str


class NewRunDialog(ModalScreen[NewRun | None]):
    """Pick a runbook and a service."""

    BINDINGS = bindings("dialog")
    DEFAULT_CSS = """
    NewRunDialog { align: center middle; background: $background 60%; }
    NewRunDialog > #dialog { width: 70; max-width: 100%; height: auto; border: thick $primary; background: $surface; padding: 0 1; }
    NewRunDialog #title { text-style: bold; padding: 0 0 1 0; }
    NewRunDialog Select, NewRunDialog Input { margin: 0 0 1 0; }
    NewRunDialog #dialog-problem { color: $error; height: auto; }
    NewRunDialog #buttons { height: auto; align-horizontal: right; }
    NewRunDialog Button { margin-left: 2; }
    """

    def __init__(self, runbooks: dict[str, str], services: list[str], service: str | None = None):
        super().__init__()
        self.runbooks = runbooks
        self.services = services
        self.service = service

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label("Start a runbook", id="title")
            yield Select([(f"{title} ({name})", name) for name, title in self.runbooks.items()], prompt="runbook", id="runbook",
                         value=next(iter(self.runbooks), Select.NULL))
            yield Select([(s, s) for s in self.services], prompt="service", id="service",
                         value=self.service if self.service in self.services else Select.NULL)
            yield Input(placeholder="why (recorded; optional)", id="reason")
            yield Static("", id="dialog-problem")
            with Horizontal(id="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Start", id="confirm", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#runbook", Select).focus()

    @on(Button.Pressed, "#confirm")
    @on(Input.Submitted)
    def action_confirm(self) -> None:
        """Start the run, once a runbook and a service are chosen."""
        runbook = self.query_one("#runbook", Select).value
        service = self.query_one("#service", Select).value
        if not isinstance(runbook, str) or not isinstance(service, str):
            self.query_one("#dialog-problem", Static).update("choose a runbook and a service")
            return
        self.dismiss(NewRun(runbook, service, self.query_one("#reason", Input).value.strip()))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        """Close without starting anything."""
        self.dismiss(None)
