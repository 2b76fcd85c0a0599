"""Approval policies: N of M, required groups, no self-approval, expiry that fails closed.

An approval counts only while it is unexpired, bound to the evidence digest the promotion was
requested with, signed by a person eligible under the policy, and the only one from that person.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .orgconfig import ApprovalPolicy, OrgConfig


def parse_time(value: str) -> datetime:
    """Parse the ledger's RFC 3339 UTC writer time."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def policy_snapshot(policy: ApprovalPolicy | None) -> dict | None:
    """The policy as recorded in the promotion, so later config edits cannot rewrite the rules."""
    if policy is None:
        return None
    return {
        "required": policy.required,
        "approver_groups": policy.approver_groups,
        "groups_required": list(policy.groups_required),
        "allow_self_approval": policy.allow_self_approval,
        "expires_after_seconds": int(policy.expires_after.total_seconds()),
        "override_roles": list(policy.override.roles) if policy.override else [],
        "override_reason_required": policy.override.reason_required if policy.override else True,
    }


def owners_of(org: OrgConfig, service: str) -> set[str]:
    """The people who own a service: named owners plus members of owner groups."""
    people: set[str] = set()
    for owner in org.services[service].owners:
        if owner in org.org.people:
            people.add(owner)
        people.update(org.org.members(owner))
    return people


def groups_of(org: OrgConfig, person: str) -> list[str]:
    """A person's approver groups (none for someone the org does not list)."""
    p = org.org.people.get(person)
    return sorted(p.groups) if p else []


def refusal_for(org: OrgConfig, promotion: dict, person: str) -> str | None:
    """Why `person` may not approve this promotion, or None when they may."""
    policy = promotion["policy"]
    if person not in org.org.people:
        return f"{person} is not a person in the org config, so cannot approve"
    if not policy["allow_self_approval"]:
        if person == promotion["requested_by"]:
            return f"{person} requested this promotion; self-approval is not allowed"
        if person in owners_of(org, promotion["service"]):
            return f"{person} owns {promotion['service']}; owners may not approve its promotion"
    allowed = policy["approver_groups"]
    if allowed is not None and not set(groups_of(org, person)) & set(allowed):
        return f"{person} is in none of the approver groups {', '.join(allowed)}"
    if any(a["person"] == person and a["decision"] == "approve" for a in promotion["approvals"]):
        return f"{person} already approved this promotion"
    return None


def rejection_refusal_for(org: OrgConfig, promotion: dict, person: str) -> str | None:
    """Why `person` may not reject this promotion: the approval rules, except that someone who
    approved may still reject."""
    why = refusal_for(org, promotion, person)
    return None if why is None or "already approved" in why else why.replace("approve", "reject")


def expires_at(promotion: dict) -> datetime:
    """When the request stops accepting approvals."""
    return parse_time(promotion["requested_time"]) + timedelta(seconds=promotion["policy"]["expires_after_seconds"])


def is_expired(promotion: dict, now: datetime) -> bool:
    """True when a promotion with an approval policy is past the time it accepted approvals until."""
    return bool(promotion["policy"]) and expires_at(promotion) <= now


@dataclass
class ApprovalStatus:
    """Whether the policy is met now, and what is missing."""

    met: bool
    reason: str
    counted: list[dict] = field(default_factory=list)
    missing_groups: list[str] = field(default_factory=list)


def approval_status(promotion: dict, now: datetime) -> ApprovalStatus:
    """Count the approvals that are still valid and check number and groups against the policy."""
    policy = promotion["policy"]
    if policy is None:
        return ApprovalStatus(True, "no approval policy applies")
    ttl = timedelta(seconds=policy["expires_after_seconds"])
    counted, seen = [], set()
    for a in promotion["approvals"]:
        if a["decision"] != "approve" or a["person"] in seen:
            continue
        if a["evidence_digest"] != promotion["evidence_digest"]:
            continue
        if parse_time(a["time"]) + ttl <= now:
            continue
        seen.add(a["person"])
        counted.append(a)
    covered = {g for a in counted for g in a["groups"]}
    missing = [g for g in policy["groups_required"] if g not in covered]
    need = policy["required"]
    if len(counted) >= need and not missing:
        return ApprovalStatus(True, f"{len(counted)} of {need} approvals", counted, [])
    parts = [f"{len(counted)} of {need} approvals"]
    if missing:
        parts.append(f"needs one from {', '.join(missing)}")
    return ApprovalStatus(False, "; ".join(parts), counted, missing)
