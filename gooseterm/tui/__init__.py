"""gooseterm's Textual dashboard: `gooseterm` (or `gooseterm tui`) opens it."""

from __future__ import annotations

from .app import GoosetermApp, make_app

__all__ = ["GoosetermApp", "make_app"]
