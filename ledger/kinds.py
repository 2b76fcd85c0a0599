"""The kinds of entry gooseterm writes: the one vocabulary of the ledger's public format.

Auditors, exports and the standalone verifier read entries by kind, so the kinds are declared
once, here, beside the store. The kinds the verifier must know to check keys and quorums take
their values from the verifier, which stays free of our imports so an export can carry it.
"""

from __future__ import annotations

from enum import StrEnum

from .verifier import (
    APPROVAL_KIND,
    GENESIS_KIND,
    KEY_ADDED_KIND,
    KEY_REVOKED_KIND,
    OVERRIDE_KIND,
    REJECTION_KIND,
    REQUEST_KIND,
)

EVIDENCE_PREFIX = "evidence."
"""Evidence entries are `evidence.<kind>`, one per evidence kind the adapters parse."""


class EntryKind(StrEnum):
    """Every entry kind gooseterm writes, except `evidence.<kind>` (see `evidence()`) and `custom.<name>`."""

    GENESIS = GENESIS_KIND
    KEY_ADDED = KEY_ADDED_KIND
    KEY_REVOKED = KEY_REVOKED_KIND
    SERVICE_ONBOARDED = "service.onboarded"
    SERVICE_DEMOTED = "service.demoted"
    PROMOTION_REQUESTED = REQUEST_KIND
    PROMOTION_AWAITING_APPROVAL = "promotion.awaiting_approval"
    PROMOTION_APPROVED = "promotion.approved"
    PROMOTION_PROMOTED = "promotion.promoted"
    PROMOTION_BLOCKED = "promotion.blocked"
    PROMOTION_FAILED = "promotion.failed"
    PROMOTION_REJECTED = "promotion.rejected"
    PROMOTION_EXPIRED = "promotion.expired"
    PROMOTION_OVERRIDDEN = OVERRIDE_KIND
    APPROVAL_GRANTED = APPROVAL_KIND
    APPROVAL_REJECTED = REJECTION_KIND
    GATE_RESULT = "gate.result"
    CYCLE_BREAK_REVIEWED = "cycle_break.reviewed"
    RUNBOOK_STARTED = "runbook.started"
    RUNBOOK_STEP = "runbook.step"
    ANNOTATION = "annotation"
    INCIDENT_NOTE = "incident.note"
    EVIDENCE_EXTERNAL = "evidence.external"

    @staticmethod
    def evidence(kind: str) -> str:
        """The entry kind that records evidence of `kind` (junit, sarif, spec, metrics...)."""
        return f"{EVIDENCE_PREFIX}{kind}"
