"""The promotion replay: requests, approvals, rejections, overrides and what completes a promotion,
each checked against the request it answers and the approval policy that request recorded."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from .binding import BINDING, binding_faults, canonical_json
from .dsse import parse_envelope
from .kinds import (
    APPROVAL_KIND,
    BLOCKED_KIND,
    DECIDER_ROLES,
    DECIDING_KINDS,
    ENDING_KINDS,
    OVERRIDE_KIND,
    REJECTION_KIND,
    REQUEST_KIND,
)
from .report import Fault, Report
from .trust import signature_faults


def key_name(keyid: str) -> str:
    """The signed-note name of a keyid (name+hex(id)): the person or system the key belongs to."""
    return keyid.rpartition("+")[0]


def policy_digest(policy: dict | None) -> str | None:
    """The digest an approver signs of the approval policy a request recorded."""
    return None if policy is None else "sha256:" + hashlib.sha256(canonical_json(policy)).hexdigest()


def promotion_id(service: str, seq: int) -> str:
    """A promotion is named by its service and the seq of its request."""
    return f"{service}-{seq}"


@dataclass(frozen=True)
class Approval:
    """An approval as quorums count it: who, of which evidence and policy, and when they signed."""

    seq: int
    person: str
    time: datetime
    evidence_digest: str | None
    policy_digest: str | None


@dataclass(frozen=True)
class QuorumStatus:
    """Whether a request's approval policy is met: the approvals counted and the groups still missing."""

    met: bool
    counted: tuple[Approval, ...]
    missing_groups: tuple[str, ...]
    required: int


def _json_count(value: object, name: str) -> int:
    """A count recorded in a signed policy: a JSON integer, never a string, a float or a boolean."""
    if type(value) is not int or value < 0:
        raise ValueError(f"{name} is {value!r}, not a whole number")
    return value


def quorum_status(policy: dict, request_time: datetime, evidence_digest: str | None, approvals, now: datetime) -> QuorumStatus:
    """Count approvals under a request's recorded policy, as the application and both verifiers do.

    An approval counts once per person, only from a person the policy lists as eligible (with the
    groups it lists for them), only for the request's evidence and policy, only if given before the
    request expired and while it is itself unexpired at `now`.
    """
    ttl = timedelta(seconds=_json_count(policy["expires_after_seconds"], "expires_after_seconds"))
    eligible: dict = policy.get("approvers") or {}
    digest = policy_digest(policy)
    counted: list[Approval] = []
    seen: set[str] = set()
    for a in approvals:
        if a.person in seen or a.person not in eligible:
            continue
        if a.evidence_digest != evidence_digest or a.policy_digest != digest:
            continue
        if a.time >= request_time + ttl or a.time + ttl <= now:
            continue
        seen.add(a.person)
        counted.append(a)
    covered = {g for a in counted for g in eligible[a.person]}
    missing = tuple(g for g in policy["groups_required"] if g not in covered)
    required = _json_count(policy["required"], "required")
    return QuorumStatus(len(counted) >= required and not missing, tuple(counted), missing, required)


_DECISION_FIELDS = ("policy", "evidence_digest", "requested_by", "person", "decision", "policy_digest", "quorum", "override")


@dataclass(frozen=True)
class Decision:
    """What the decision checks read of an entry that requests or answers a promotion."""

    seq: int
    kind: str
    service: str | None
    promotion: str
    leaf_hash: bytes
    time: datetime
    request: dict | None
    signers: frozenset[str]
    fields: dict


def decision_of(seq: int, record: dict, predicate: dict, leaf_hash_: bytes, signed: datetime, good: frozenset[str]) -> Decision:
    """The Decision of an entry whose signatures (`good`) and binding (`signed` time) were checked."""
    return Decision(seq, record["kind"], record.get("service"), record["promotion"], leaf_hash_, signed,
                    predicate[BINDING].get("request"), good, {k: predicate[k] for k in _DECISION_FIELDS if k in predicate})


def read_decision(seq: int, leaf: bytes, leaf_hash_: bytes, origin: str, keys: dict, report: Report) -> Decision | None:
    """One stored entry as the decision checks read it, its signatures checked against `keys`; faults go
    to `report` and an entry that is unreadable, unbound or about no promotion gives None."""
    try:
        record = json.loads(leaf)
        env = parse_envelope(record["envelope"])
        statement = json.loads(env.payload)
    except (ValueError, KeyError, TypeError) as exc:
        report.faults.append(Fault("leaf_modified", seq, f"entry is not a readable gooseterm leaf ({exc})"))
        return None
    faults, good = signature_faults(seq, env, keys)
    bound, signed = binding_faults(seq, origin, record, statement)
    report.faults += faults + bound
    if bound or signed is None or not record.get("promotion"):
        return None
    return decision_of(seq, record, statement["predicate"], leaf_hash_, signed, good)


def check_decisions(decisions: list[Decision], keys: dict, report: Report) -> None:
    """Replay the promotions: each answer is bound to its promotion's request; approvals, rejections and
    overrides are signed by keys with the role they need, in the name they give; and what completes a
    promotion meets the approval policy its request recorded, or follows an override. A bundle of a
    period carries the requests and approvals its entries cite (`cited_seqs`), so the same checks hold.
    """
    requests: dict[str, Decision] = {}
    approvals: dict[int, tuple[str, Approval]] = {}
    overrides: dict[str, int] = {}
    ended: dict[str, str] = {}  # promotion -> the ending or blocking kind it last reached
    for d in sorted(decisions, key=lambda d: d.seq):
        names = {key_name(k) for k in d.signers}
        if d.kind == REQUEST_KIND:
            if d.promotion != promotion_id(d.service or "", d.seq):
                report.faults.append(Fault("request_mismatch", d.seq, f"a request at seq {d.seq} names promotion {d.promotion}"))
            elif d.fields.get("requested_by") not in names:
                report.faults.append(Fault("signer_not_authorised", d.seq, f"requested by {d.fields.get('requested_by')!r}, signed by {', '.join(sorted(names)) or 'nobody'}"))
            else:
                requests[d.promotion] = d
            continue
        request = requests.get(d.promotion)
        if request is None:
            report.faults.append(Fault("request_mismatch", d.seq, f"answers promotion {d.promotion}, which has no valid request"))
            continue
        if d.request != {"seq": request.seq, "leaf_hash": request.leaf_hash.hex()}:
            report.faults.append(Fault("request_mismatch", d.seq, f"signed as an answer to another request than promotion {d.promotion}'s (seq {request.seq})"))
            continue
        person = d.fields.get("person")
        if d.kind in (APPROVAL_KIND, REJECTION_KIND, OVERRIDE_KIND):
            roles = ("admin",) if d.kind == OVERRIDE_KIND else DECIDER_ROLES
            deciders = {key_name(k) for k in d.signers if keys.get(k) is not None and set(keys[k].roles) & set(roles)}
            if person not in deciders:
                report.faults.append(Fault("signer_not_authorised", d.seq, f"{d.kind} in the name of {person!r} is not signed by "
                                                                         f"their key with role {' or '.join(roles)}"))
                continue
            if d.kind == APPROVAL_KIND:
                approvals[d.seq] = (d.promotion, Approval(d.seq, person, d.time, d.fields.get("evidence_digest"), d.fields.get("policy_digest")))
            elif d.kind == OVERRIDE_KIND:
                overrides.setdefault(d.promotion, d.seq)
            continue
        closed = ended.get(d.promotion)
        if d.kind in ENDING_KINDS or d.kind == BLOCKED_KIND:
            ended[d.promotion] = d.kind
        if d.kind not in DECIDING_KINDS:
            continue
        policy = request.fields.get("policy")
        quorum = d.fields.get("quorum")
        override = d.fields.get("override")
        overridden = isinstance(override, dict) and overrides.get(d.promotion) == override.get("seq")
        if closed in ENDING_KINDS or (closed == BLOCKED_KIND and not overridden):
            report.faults.append(Fault("promotion_ended", d.seq, f"{d.kind} of promotion {d.promotion}, which was {closed.removeprefix('promotion.')}"
                                                                 + (" (only an override completes it now)" if closed == BLOCKED_KIND else "")))
        if overridden:
            continue
        if policy is None and quorum is None:
            continue
        cited = quorum.get("approvals") if isinstance(quorum, dict) else None
        if not isinstance(policy, dict) or not isinstance(cited, list):
            report.faults.append(Fault("approval_quorum_not_met", d.seq, f"promotion {d.promotion} is completed with no quorum and no override"))
            continue
        mine = [approvals[s][1] for s in cited if isinstance(s, int) and s < d.seq and approvals.get(s, ("",))[0] == d.promotion]
        try:
            status = quorum_status(policy, request.time, request.fields.get("evidence_digest"), mine, d.time)
        except (KeyError, TypeError, ValueError) as exc:
            report.faults.append(Fault("approval_quorum_not_met", d.seq, f"promotion {d.promotion}'s recorded policy is unreadable ({exc})"))
            continue
        if not status.met or quorum.get("evidence_digest") != request.fields.get("evidence_digest"):
            why = f"{len(status.counted)} valid distinct approvals for promotion {d.promotion}, {status.required} required"
            if status.missing_groups:
                why += f"; none from {', '.join(status.missing_groups)}"
            report.faults.append(Fault("approval_quorum_not_met", d.seq, why))
