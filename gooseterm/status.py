"""Status of a service: state, why it is blocked, who must approve, what is at risk."""

from __future__ import annotations

from .approvals import approval_status, expires_at, is_expired
from .gates import evaluate_transition
from .orgconfig import GateType, TransitionKind
from .statuses import FAILED_STATUSES, PromotionStatus


def service_status(orch, service: str) -> dict:
    """Everything `gooseterm status` and the dashboard show for one service."""
    rec = orch.service(service)
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
            pending.append({"id": p["id"], "to": p["to"], "waiting_for": st.reason, "missing_groups": st.missing_groups,
                            "expires_at": expires_at(p).isoformat() if p["policy"] else "", "evidence_digest": p["evidence_digest"],
                            "approvals": [a["person"] for a in p["approvals"] if a["decision"] == "approve"]})
    if latest and latest["status"] in FAILED_STATUSES:
        blockers += [f"{latest['id']} {latest['status']}: {r}" for r in latest["reasons"]]
    nxt = None
    onward = [t for t in orch.org.states.transitions_from(rec["state"]) if t.kind == TransitionKind.PROMOTION]
    if rec["onboarded_seq"] is None:
        nxt = f"gooseterm onboard {service}"
    elif onward and not pending and not (latest and latest["status"] in (PromotionStatus.VALIDATING, PromotionStatus.REQUESTED, PromotionStatus.APPROVED)):
        target = onward[0].target
        ctx = orch.context(service, target=target)
        predicted = [g for g in evaluate_transition(orch.org, rec["state"], target, ctx)
                     if g.blocks]
        if predicted and not blockers:
            blockers += [f"{g.name} would {g.result}: {g.reason}" for g in predicted]
        manual = any(orch.org.rules.requirement(n).type == GateType.MANUAL for n in onward[0].requirements)
        nxt = f"gooseterm promote {service} --to {target}" + (" (then approvals)" if manual else "")
    return {
        "service": service,
        "state": rec["state"],
        "since_seq": rec["since_seq"],
        "at_risk": rec.get("at_risk", {}),
        "blockers": blockers,
        "pending_approvals": pending,
        "latest_promotion": {k: latest[k] for k in ("id", "to", "status", "reasons")} if latest else None,
        "dependencies": orch.graph.dependencies(service),
        "dependents": orch.graph.dependents(service),
        "next": nxt,
    }
