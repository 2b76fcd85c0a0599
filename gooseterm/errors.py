"""Errors a person can act on, and the exit codes the CLI maps them to.

GoosetermError is the domain's root. The ledger and the adapters keep their own roots (they
import nothing of ours), so the faces catch one family, `error_family.EXPECTED_ERRORS`, and ask
`error_family.exit_code_of`. This module imports nothing, so `gooseterm --help` stays light.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_REFUSED = 1  # blocked, refused, or (for verify) invalid
EXIT_USAGE = 2  # bad usage, bad config, or could not run
EXIT_CONFLICT = 3  # lost a race with another writer on the same service or promotion
EXIT_BUSY = 4  # the ledger stayed locked by another writer

EXIT_CODES = {
    EXIT_OK: "done (for verify: the ledger is valid)",
    EXIT_REFUSED: "blocked or refused (for verify: the ledger is invalid)",
    EXIT_USAGE: "usage, input or configuration error, or the command could not run",
    EXIT_CONFLICT: "conflict: another command changed the same service or promotion first",
    EXIT_BUSY: "the ledger stayed locked by another writer; try again",
}


class GoosetermError(Exception):
    """An error with a message for a person and an exit code."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, exit_code: int | None = None):
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class Refusal(GoosetermError):
    """The command understood the request and said no, with the reason."""

    exit_code = EXIT_REFUSED


class Conflict(GoosetermError):
    """Another writer changed the same thing first."""

    exit_code = EXIT_CONFLICT
