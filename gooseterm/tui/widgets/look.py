"""How states, results and statuses look: a glyph and a theme colour each, so the meaning
survives a monochrome terminal and a theme switch alike."""

from __future__ import annotations

from rich.padding import Padding
from rich.text import Text
from textual.app import App

from ...gates import Result
from ...statuses import PromotionStatus

RESULT_GLYPHS = {Result.PASS: "✔", Result.WARN: "▲", Result.FAIL: "✖", Result.INCONCLUSIVE: "?", Result.ERROR: "!"}
RESULT_COLOURS = {Result.PASS: "success", Result.WARN: "warning", Result.FAIL: "error", Result.INCONCLUSIVE: "warning",
                  Result.ERROR: "error"}

STATUS_GLYPHS = {
    PromotionStatus.REQUESTED: "…", PromotionStatus.VALIDATING: "…", PromotionStatus.AWAITING_APPROVAL: "◷",
    PromotionStatus.APPROVED: "✔", PromotionStatus.PROMOTED: "✔", PromotionStatus.BLOCKED: "✖",
    PromotionStatus.FAILED: "✖", PromotionStatus.REJECTED: "✖", PromotionStatus.EXPIRED: "⌛",
}
STATUS_COLOURS = {
    PromotionStatus.REQUESTED: "accent", PromotionStatus.VALIDATING: "accent", PromotionStatus.AWAITING_APPROVAL: "warning",
    PromotionStatus.APPROVED: "success", PromotionStatus.PROMOTED: "success", PromotionStatus.BLOCKED: "error",
    PromotionStatus.FAILED: "error", PromotionStatus.REJECTED: "error", PromotionStatus.EXPIRED: "error",
}
AT_RISK = "⚠"


def colour(app: App, name: str) -> str:
    """A theme colour (success, warning, error, accent, primary...) as a Rich style; `dim` as is."""
    if name == "dim":
        return "dim"
    value = _variables(app).get(name, "")
    return value[:7] if value.startswith("#") else "default"  # Rich takes no alpha channel


def _variables(app: App) -> dict[str, str]:
    # get_css_variables derives the whole theme each call (about 2 ms); keep one per theme.
    cached = _THEMES.get(app.theme)
    if cached is None:
        cached = _THEMES[app.theme] = app.get_css_variables()
    return cached


_THEMES: dict[str, dict[str, str]] = {}


def state_glyph(state: str, initial: str, compliant: str) -> tuple[str, str]:
    """(glyph, theme colour) for a compliance state: ○ initial, ● compliant, ◐ in between."""
    if state == compliant:
        return "●", "success"
    if state == initial:
        return "○", "dim"
    return "◐", "warning"


def state_text(app: App, state: str, snapshot) -> Text:
    """A state as glyph and name in its colour."""
    glyph, name = state_glyph(state, snapshot.initial, snapshot.compliant)
    return Text(f"{glyph} {state}", style=colour(app, name))


def result_text(app: App, result: str) -> Text:
    """A gate result as glyph and word in its colour."""
    return Text(f"{RESULT_GLYPHS.get(result, '·')} {result}", style=colour(app, RESULT_COLOURS.get(result, "foreground")))


def status_text(app: App, status: str) -> Text:
    """A promotion status as glyph and word in its colour."""
    return Text(f"{STATUS_GLYPHS.get(status, '·')} {status.replace('_', ' ')}",
                style=colour(app, STATUS_COLOURS.get(status, "foreground")))


def muted(text: str) -> Text:
    """Secondary text."""
    return Text(text, style="dim")


def short_time(ledger_time: str) -> str:
    """`2026-03-02 09:15` from a ledger writer time."""
    return ledger_time[:16].replace("T", " ")


def short_digest(digest: str, width: int = 12) -> str:
    """`sha256:1a2b3c4d5e6f…` for tables; details show the whole digest."""
    head = digest.removeprefix("sha256:")
    return f"sha256:{head[:width]}…" if len(head) > width else digest


def indented(text: Text | str, by: int = 6) -> Padding:
    """Text indented on every line it wraps to, not only the first."""
    return Padding(text, (0, 0, 0, by))
