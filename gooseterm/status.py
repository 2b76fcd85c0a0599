"""Status of a service: state, why it is blocked, who must approve, what is at risk."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from .approvals import approval_status, expires_at, is_expired
from .gates import evaluate_transition
from .orgconfig import GateType, TransitionKind
from .records import PromotionRecord, ServiceRecord
from .statuses import FAILED_STATUSES, PromotionStatus


@dataclass(frozen=True)
class PendingApproval:
    """A promotion of the service awaiting approval: what it waits for and until when."""

    id: str
    to: str
    waiting_for: str
    missing_groups: list[str]
    expires_at: str
    """ISO time, or "" when the promotion has no approval policy."""
    evidence_digest: str
    approvals: list[str]
    """The people who approved it so far."""


@dataclass(frozen=True)
class ServiceStatus:
    """Everything `gooseterm status` and the dashboard show for one service."""

    service: str
    state: str
    since_seq: int | None
    at_risk: dict[str, str]
    """Demoted dependency -> why this service is at risk."""
    blockers: list[str]
    pending_approvals: list[PendingApproval]
    latest_promotion: PromotionRecord | None
    dependencies: list[str]
    dependents: list[str]
    next: str | None
    """The command that moves the service on, if one does."""

    def to_json(self) -> dict:
        """JSON form for `gooseterm status --json`."""
        latest = self.latest_promotion
        return {
            "service": self.service,
            "state": self.state,
            "since_seq": self.since_seq,
            "at_risk": self.at_risk,
            "blockers": self.blockers,
            "pending_approvals": [asdict(p) for p in self.pending_approvals],
            "latest_promotion": {"id": latest.id, "to": latest.to_state, "status": latest.status, "reasons": list(latest.reasons)}
            if latest else None,
            "dependencies": self.dependencies,
            "dependents": self.dependents,
            "next": self.next,
        }


def service_status(orch, service: str) -> ServiceStatus:
    """Everything `gooseterm status` and the dashboard show for one service."""
    rec = ServiceRecord.from_json(orch.service(service))
    promotions = orch.promotions(service)
    latest = promotions[-1] if promotions else None
    blockers: list[str] = []
    pending = []
    now = orch.now()
    for p in promotions:
        if p["status"] == PromotionStatus.AWAITING_APPROVAL and is_expired(p, now):
            blockers.append(f"{p['id']} expired at {expires_at(p).isoformat()} without enough approvals; request it again")
        elif p["status"] == PromotionStatus.AWAITING_APPROVAL:
            st = approval_status(p, now)
            pending.append(PendingApproval(p["id"], p["to"], st.reason, st.missing_groups,
                                           expires_at(p).isoformat() if p["policy"] else "", p["evidence_digest"],
                                           [a["person"] for a in p["approvals"] if a["decision"] == "approve"]))
    if latest and latest["status"] in FAILED_STATUSES:
        blockers += [f"{latest['id']} {latest['status']}: {r}" for r in latest["reasons"]]
    nxt = None
    onward = [t for t in orch.org.states.transitions_from(rec.state) if t.kind == TransitionKind.PROMOTION]
    if rec.onboarded_seq is None:
        nxt = f"gooseterm onboard {service}"
    elif onward and not pending and not (latest and latest["status"] in (PromotionStatus.VALIDATING, PromotionStatus.REQUESTED, PromotionStatus.APPROVED)):
        target = onward[0].target
        ctx = orch.context(service, target=target)
        predicted = [g for g in evaluate_transition(orch.org, rec.state, target, ctx)
                     if g.blocks]
        if predicted and not blockers:
            blockers += [f"{g.name} would {g.result}: {g.reason}" for g in predicted]
        manual = any(orch.org.rules.requirement(n).type == GateType.MANUAL for n in onward[0].requirements)
        nxt = f"gooseterm promote {service} --to {target}" + (" (then approvals)" if manual else "")
    return ServiceStatus(service, rec.state, rec.since_seq, rec.at_risk, blockers, pending,
                         PromotionRecord.from_json(latest) if latest else None,
                         orch.graph.dependencies(service), orch.graph.dependents(service), nxt)
