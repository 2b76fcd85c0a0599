"""The confirmation before anything irreversible: what will be signed, by which key, and (when
the key is sealed) its passphrase; a reason where the ledger records one."""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.containers import Grid, Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from ..actions import bindings


@dataclass(frozen=True)
class Confirmation:
    """What the person typed: the reason (if asked) and the passphrase (if the key is sealed)."""

    reason: str = ""
    passphrase: str | None = None


class ConfirmDialog(ModalScreen[Confirmation | None]):
    """Facts to check, optional reason and passphrase inputs, and Cancel / the verb."""

    BINDINGS = bindings("dialog")
    DEFAULT_CSS = """
    ConfirmDialog { align: center middle; background: $background 60%; }
    ConfirmDialog > #dialog {
        width: 100; max-width: 100%; height: auto; max-height: 100%;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    ConfirmDialog.-danger > #dialog { border: thick $error; }
    ConfirmDialog #title { text-style: bold; width: 100%; padding: 0 0 1 0; }
    ConfirmDialog #facts { grid-size: 2; grid-columns: auto 1fr; grid-gutter: 0 2; height: auto; }
    ConfirmDialog .fact-label { color: $foreground-muted; }
    ConfirmDialog .fact-value { text-style: bold; }
    ConfirmDialog #note { color: $foreground-muted; padding: 1 0 0 0; }
    ConfirmDialog #dialog-problem { color: $error; height: auto; }
    ConfirmDialog Input { margin: 1 0 0 0; }
    ConfirmDialog #buttons { height: auto; align-horizontal: right; padding: 1 0 0 0; }
    ConfirmDialog Button { margin-left: 2; }
    """

    def __init__(self, title: str, facts: list[tuple[str, str]], verb: str, *, reason: str | None = None,
                 passphrase_for: str | None = None, note: str = "", danger: bool = False):
        super().__init__(classes="-danger" if danger else "")
        self.title_text = title
        self.facts = facts
        self.verb = verb
        self.reason_label = reason
        self.passphrase_for = passphrase_for
        self.note = note

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(self.title_text, id="title")
            with Grid(id="facts"):
                for label, value in self.facts:
                    yield Label(label, classes="fact-label")
                    yield Static(value, classes="fact-value", markup=False)
            if self.reason_label is not None:
                yield Input(placeholder=self.reason_label, id="reason")
            if self.passphrase_for is not None:
                yield Input(placeholder=f"passphrase of key {self.passphrase_for}", password=True, id="passphrase")
            if self.note:
                yield Static(self.note, id="note", markup=False)
            yield Static("", id="dialog-problem")
            with Horizontal(id="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button(self.verb, id="confirm", variant="error" if self.has_class("-danger") else "primary")

    def on_mount(self) -> None:
        inputs = self.query(Input)
        (inputs.first() if inputs else self.query_one("#confirm")).focus()

    def _answer(self) -> Confirmation | None:
        reason = self.query_one("#reason", Input).value.strip() if self.reason_label is not None else ""
        if self.reason_label is not None and not reason:
            self.query_one("#dialog-problem", Static).update("a reason is required: it is recorded in the ledger")
            self.query_one("#reason", Input).focus()
            return None
        passphrase = self.query_one("#passphrase", Input).value if self.passphrase_for is not None else None
        if self.passphrase_for is not None and not passphrase:
            self.query_one("#dialog-problem", Static).update(f"key {self.passphrase_for} is sealed: type its passphrase")
            self.query_one("#passphrase", Input).focus()
            return None
        return Confirmation(reason, passphrase)

    @on(Button.Pressed, "#confirm")
    def action_confirm(self) -> None:
        """Confirm, if the inputs are complete."""
        answer = self._answer()
        if answer is not None:
            self.dismiss(answer)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        """Close without doing anything."""
        self.dismiss(None)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        inputs = list(self.query(Input))
        following = inputs[inputs.index(event.input) + 1:]
        (following[0].focus() if following else self.action_confirm())
