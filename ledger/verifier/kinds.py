"""The entry kinds and key roles the checks know: trust entries, and those a promotion's replay reads."""

from __future__ import annotations

GENESIS_KIND, KEY_ADDED_KIND, KEY_REVOKED_KIND = "ledger.genesis", "ledger.key_added", "ledger.key_revoked"
TRUST_KINDS = (GENESIS_KIND, KEY_ADDED_KIND, KEY_REVOKED_KIND)
REQUEST_KIND = "promotion.requested"
APPROVAL_KIND = "approval.granted"
REJECTION_KIND = "approval.rejected"
GATE_RESULT_KIND = "gate.result"
OVERRIDE_KIND = "promotion.overridden"
DECIDING_KINDS = ("promotion.approved", "promotion.promoted")
"""Kinds that complete a promotion: each must meet its request's approval policy, or follow an override."""
ENDING_KINDS = ("promotion.promoted", "promotion.rejected", "promotion.expired", "promotion.failed")
"""Kinds after which nothing completes the promotion again."""
BLOCKED_KIND = "promotion.blocked"
"""After it, only an override completes the promotion: new evidence or a demoted dependency voided the approvals."""
ADMIN = "admin"
APPROVER_ROLE = "approver"
DECIDER_ROLES = (APPROVER_ROLE, ADMIN)
"""Key roles that may approve or reject a promotion."""
