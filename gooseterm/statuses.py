"""Promotion statuses: one enum, and the sets of them the rules name."""

from __future__ import annotations

from enum import StrEnum


class PromotionStatus(StrEnum):
    """Where a promotion stands; each but `validating` is set by the `promotion.<status>` entry."""

    REQUESTED = "requested"
    VALIDATING = "validating"
    AWAITING_APPROVAL = "awaiting_approval"
    APPROVED = "approved"
    PROMOTED = "promoted"
    BLOCKED = "blocked"
    FAILED = "failed"
    REJECTED = "rejected"
    EXPIRED = "expired"

    @property
    def label(self) -> str:
        """The status as a person reads it ("awaiting approval")."""
        return self.value.replace("_", " ")


OPEN_STATUSES = (PromotionStatus.REQUESTED, PromotionStatus.VALIDATING, PromotionStatus.AWAITING_APPROVAL, PromotionStatus.APPROVED)
"""A promotion in one of these still holds its service: no second request until it ends."""

FAILED_STATUSES = (PromotionStatus.BLOCKED, PromotionStatus.FAILED, PromotionStatus.REJECTED, PromotionStatus.EXPIRED)
"""Ended without promoting: the promotion_failure runbook applies."""

OVERRIDABLE_STATUSES = (PromotionStatus.AWAITING_APPROVAL, PromotionStatus.BLOCKED)
"""An admin may break glass only on a promotion that is waiting or blocked."""
