"""The one family of errors a person can act on, across the layers, and the exit code of each.

Kept apart from errors.py because it imports the ledger, the key store, the adapters and the org
config: the CLI loads it only once something has failed, so `gooseterm --help` pays nothing for it.
"""

from __future__ import annotations

from gooseterm.adapters.errors import EvidenceError
from gooseterm.ledger.keys import KeyStoreError
from gooseterm.ledger.store import LedgerBusy, LedgerError, Refused
from gooseterm.ledger.verifier import BundleUnreadable

from .errors import EXIT_BUSY, EXIT_REFUSED, EXIT_USAGE, GoosetermError
from .orgconfig.issues import ConfigError

EXPECTED_ERRORS: tuple[type[Exception], ...] = (GoosetermError, LedgerError, KeyStoreError, EvidenceError, ConfigError, BundleUnreadable)
"""Every error with a message a person can act on: the CLI prints it and exits with
`exit_code_of`, the dashboard shows it; anything else is a bug and keeps its traceback."""


def exit_code_of(error: Exception) -> int:
    """The documented exit code for one of EXPECTED_ERRORS."""
    if isinstance(error, GoosetermError):
        return error.exit_code
    if isinstance(error, LedgerBusy):
        return EXIT_BUSY
    if isinstance(error, Refused):
        return EXIT_REFUSED
    return EXIT_USAGE
