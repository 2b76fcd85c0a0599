"""Approval policies: N of M, required groups, no self-approval, expiry that fails closed.

An approval counts only while it is unexpired, bound to the evidence digest the promotion was
requested with, signed by a person eligible under the policy, and the only one from that person.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from gooseterm.ledger.verifier import Approval, parse_time, quorum_status

from .orgconfig import ApprovalPolicy, OrgConfig


def eligible_approvers(org: OrgConfig, policy: ApprovalPolicy, service: str, requester: str) -> dict[str, list[str]]:
    """The people who may approve this request, with the groups each counts for: in an approver
    group (or anyone, when the policy names none), and neither the requester nor an owner unless
    self-approval is allowed."""
    excluded = set() if policy.allow_self_approval else {requester} | owners_of(org, service)
    allowed = set(policy.approver_groups) if policy.approver_groups is not None else None
    return {name: groups_of(org, name) for name in sorted(org.org.people)
            if name not in excluded and (allowed is None or set(groups_of(org, name)) & allowed)}


def policy_snapshot(org: OrgConfig, policy: ApprovalPolicy | None, service: str, requester: str) -> dict | None:
    """The policy as recorded (and signed) in the request, with who may approve it: later config edits
    cannot rewrite the rules, and the verifiers count approvals from this record alone."""
    if policy is None:
        return None
    return {
        "approvers": eligible_approvers(org, policy, service, requester),
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
    """Count the approvals that are still valid and check number and groups against the policy,
    with the same rule (ledger.verifier.quorum_status) that both verifiers apply."""
    policy = promotion["policy"]
    if policy is None:
        return ApprovalStatus(True, "no approval policy applies")
    granted = {a["seq"]: a for a in promotion["approvals"] if a["decision"] == "approve"}
    status = quorum_status(policy, parse_time(promotion["requested_time"]), promotion["evidence_digest"],
                           (Approval(seq, a["person"], parse_time(a["time"]), a["evidence_digest"], a["policy_digest"])
                            for seq, a in granted.items()), now)
    counted = [granted[a.seq] for a in status.counted]
    missing = list(status.missing_groups)
    summary = f"{len(counted)} of {status.required} approvals"
    if status.met:
        return ApprovalStatus(True, summary, counted, [])
    return ApprovalStatus(False, "; ".join([summary] + ([f"needs one from {', '.join(missing)}"] if missing else [])), counted, missing)
