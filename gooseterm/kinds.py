"""The entry kinds gooseterm writes, and which of them a person may append by hand."""

from __future__ import annotations

from gooseterm.ledger.kinds import EVIDENCE_PREFIX, EntryKind

__all__ = ["EVIDENCE_PREFIX", "FREE_KINDS", "FREE_PREFIXES", "GUARDED_PREFIXES", "EntryKind", "check_appendable"]

# Kinds written only by the commands that check their rules (promote, approve, keys add...).
# Appending them by hand would skip those checks, so `gooseterm append` refuses them.
GUARDED_PREFIXES = ("ledger.", "promotion.", "approval.", "gate.", "service.", "runbook.", "cycle_break.")

# Kinds anyone may append by hand: free-form facts that change no state.
FREE_KINDS = (EntryKind.ANNOTATION, EntryKind.INCIDENT_NOTE, EntryKind.EVIDENCE_EXTERNAL)
FREE_PREFIXES = ("custom.",)


def check_appendable(kind: str) -> str | None:
    """None when `gooseterm append` may write this kind, else the reason it may not."""
    if kind in FREE_KINDS or (kind.startswith(FREE_PREFIXES) and len(kind) > len("custom.")):
        return None
    if kind.startswith(GUARDED_PREFIXES):
        return f"kind {kind!r} is written by the gooseterm command that checks its rules, not by `append`"
    allowed = ", ".join(FREE_KINDS) + ", custom.<name>"
    return f"unknown kind {kind!r}; `append` takes {allowed}"
