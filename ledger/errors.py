"""The ledger's errors, shared by the ledger and its storage drivers."""

from __future__ import annotations


class LedgerError(Exception):
    """Base of every ledger error; the message says what failed and what to do."""


class LedgerNotFound(LedgerError):
    """No ledger at that path."""


class ForeignFile(LedgerError):
    """The file is not a gooseterm ledger (not SQLite, or SQLite without gooseterm's metadata)."""


class LedgerDamaged(LedgerError):
    """The SQLite file is damaged."""


class LedgerBusy(LedgerError):
    """Another writer held the ledger for longer than the retries allow."""


class Refused(LedgerError):
    """An append was refused before anything was written (bad kind, untrusted signer...)."""
