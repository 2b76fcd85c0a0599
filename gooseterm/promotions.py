"""Promotions, approvals, overrides and demotions: the compliance life cycle on the ledger.

Every command runs in one ledger write transaction and re-checks its preconditions there, so
two SREs promoting the same service at once get one promotion and one clear conflict. Commands
only append entries; the projector (projections.py) derives current state from each entry in the
same transaction, so state can always be rebuilt from the entries.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime

from gooseterm.adapters.evidence import parse_evidence
from gooseterm.ledger.signing import Signer
from gooseterm.ledger.store import Draft, Ledger, Txn
from gooseterm.ledger.verifier import DECIDER_ROLES, Decision, Report, check_decisions, parse_time, policy_digest, promotion_id, read_decision

from .approvals import approval_status, expires_at, groups_of, is_expired, policy_snapshot, refusal_for, rejection_refusal_for
from .errors import Conflict, GoosetermError, Refusal
from .evidence import EvidenceRecord, evidence_digest, latest_evidence, record_evidence
from .gates import GateContext, GateRecord, GateResult, Result, evaluate_transition, run_validator
from .kinds import EntryKind
from .orgconfig import GateType, OrgConfig, TransitionKind
from .projections import CYCLE_BREAK, PROMOTION, SERVICE, project_appended
from .resolver import CycleError, DependencyGraph
from .statuses import OPEN_STATUSES, OVERRIDABLE_STATUSES, PromotionStatus

# Evidence kinds whose failure on a compliant service is a violation, with the validator judging it.
VIOLATION_CHECKS = {"junit": "all_tests_passing", "sarif": "sast_results_clean"}


def demotion_target(org: OrgConfig, state: str) -> str | None:
    """The state a demotion from `state` leads to (the first configured), or None when none leads out."""
    demotions = [t.target for t in org.states.transitions_from(state) if t.kind == TransitionKind.DEMOTION]
    return demotions[0] if demotions else None


def override_refusal(pid: str, status: str) -> str | None:
    """Why promotion `pid` cannot be overridden in `status` whoever asks, or None when it can."""
    if status not in OVERRIDABLE_STATUSES:
        return f"promotion {pid} is {status}; only a blocked or waiting promotion can be overridden"
    return None


@dataclass
class CommandResult:
    """What a command did: the promotion (if any), its status, reasons and the seqs written."""

    service: str
    status: str
    promotion: str | None = None
    reasons: list[str] = field(default_factory=list)
    gates: list[GateRecord] = field(default_factory=list)
    """The gates the command ran and recorded."""
    seqs: list[int] = field(default_factory=list)
    state: str | None = None

    def to_json(self) -> dict:
        """JSON form for --json."""
        return {**asdict(self), "gates": [g.to_json() for g in self.gates]}


class Orchestrator:
    """The domain's write and read API over one ledger and one org config."""

    def __init__(self, ledger: Ledger, org: OrgConfig, signer: Signer | None = None, health=None):
        self.ledger = ledger
        self.org = org
        self.signer = signer
        self.health = health
        """The live sources' circuit breakers (breaker.SourceHealth) the gates consult, if any."""
        self.graph = DependencyGraph.from_services(org.services.values())
        if ledger.signer is not None and ledger.projector is not project_appended:
            raise ValueError("a writable ledger under the Orchestrator must keep its projections current: "
                             "open it with projector=projections.project_appended")

    # -- reading ---------------------------------------------------------------------------

    def now(self) -> datetime:
        """The ledger clock as a datetime (so expiry uses the same time as the entries)."""
        return parse_time(self.ledger.clock())

    def service(self, name: str, read=None) -> dict:
        """A service's projected record (a fresh one, in the initial state, if never recorded)."""
        self.require_service(name)
        rec = (read or self.ledger).projection(SERVICE, name)
        return rec or {"name": name, "state": self.org.states.initial, "since_seq": None, "onboarded_seq": None, "at_risk": {}}

    def states(self, read=None) -> dict[str, str]:
        """Every configured service's current state."""
        read = read or self.ledger
        stored = read.projection_items(SERVICE)
        return {s: stored.get(s, {}).get("state", self.org.states.initial) for s in self.org.services}

    def promotion(self, pid: str, read=None) -> dict:
        """A promotion's record; Refusal if there is none."""
        rec = (read or self.ledger).projection(PROMOTION, pid)
        if rec is None:
            raise GoosetermError(f"no promotion {pid!r} (see `gooseterm status`)")
        return rec

    def promotions(self, service: str | None = None, open_only: bool = False) -> list[dict]:
        """Promotions, oldest first, optionally for one service or only the open ones."""
        recs = sorted(self.ledger.projection_items(PROMOTION).values(), key=lambda p: p["requested_seq"])
        return [p for p in recs if (service is None or p["service"] == service) and (not open_only or p["status"] in OPEN_STATUSES)]

    def accepted_breaks(self, read=None) -> frozenset[tuple[str, str]]:
        """Dependency edges whose cycle break has a recorded manual review."""
        read = read or self.ledger
        items = read.projection_items(CYCLE_BREAK)
        return frozenset((v["dependent"], v["dependency"]) for v in items.values())

    def context(self, service: str, read=None, promotion: dict | None = None, target: str | None = None) -> GateContext:
        """What the validators of `service` read, as of now (for a promotion, or a planned move to target)."""
        read = read or self.ledger
        status = approval_status(promotion, self.now()) if promotion else None
        return GateContext(
            service=service, org=self.org, graph=self.graph, states=self.states(read),
            evidence=latest_evidence(read, service), ledger=self.ledger, now=self.now(), approvals=status,
            accepted_breaks=self.accepted_breaks(read), sources=self.health,
            target=promotion["to"] if promotion else target,
        )

    def require_service(self, service: str) -> None:
        """Refuse a service the org config does not have."""
        if service not in self.org.services:
            known = ", ".join(sorted(self.org.services))
            raise GoosetermError(f"unknown service {service!r}; the org config has {known}")

    def actor(self) -> Signer:
        """The key this orchestrator signs with; a clear error when it has none."""
        if self.signer is None:
            raise GoosetermError("this command signs entries: run `gooseterm init` or pass --as NAME")
        return self.signer

    # -- onboarding and evidence -----------------------------------------------------------

    def onboard(self, service: str, spec: bytes) -> CommandResult:
        """Record a service's onboarding with its spec as evidence; refuses a second time."""
        self.require_service(service)
        me = self.actor()
        with self.ledger.transaction() as txn:
            rec = self.service(service, txn)
            if rec["onboarded_seq"] is not None:
                raise Refusal(f"{service} was onboarded at seq {rec['onboarded_seq']}")
            source = f"services/{service}.yaml"
            ev = record_evidence(txn, me, service, "spec", spec, parse_evidence("spec", spec, source), source, "cli")
            body = {"service": service, "spec_digest": ev.digest, "by": me.name, "state": rec["state"]}
            r = txn.append(Draft(EntryKind.SERVICE_ONBOARDED, body, service=service, blobs=(ev.digest,)), [me])
        return CommandResult(service, "onboarded", seqs=[ev.seq, r.seq], state=rec["state"])

    def add_evidence(self, service: str, kind: str, data: bytes, source: str, collector: str = "cli") -> tuple[EvidenceRecord, CommandResult | None]:
        """Record evidence; a compliant service whose new evidence fails its check is demoted."""
        records, demotion = self.add_evidence_many(service, [(kind, data, source)], collector)
        return records[0], demotion

    def add_evidence_many(
        self, service: str, items: list[tuple[str, bytes, str]], collector: str
    ) -> tuple[list[EvidenceRecord], CommandResult | None]:
        """Record several (kind, bytes, source) in one transaction: all of them or none.

        An item may carry its own collector as a fourth element (`collect` from several sources).
        """
        self.require_service(service)
        me = self.actor()
        facts = [parse_evidence(kind, data, source) for kind, data, source, *_ in items]  # all before writing any
        with self.ledger.transaction() as txn:
            records = [record_evidence(txn, me, service, kind, data, parsed, source, *(own or [collector]))
                       for (kind, data, source, *own), parsed in zip(items, facts, strict=True)]
            self._void_open_promotions(txn, me, service, records)
            demotion = None
            if self.service(service, txn)["state"] == self.org.states.compliant:
                ctx = self.context(service, txn)
                for rec in records:
                    check = VIOLATION_CHECKS.get(rec.kind)
                    result = run_validator(check, ctx, {}) if check else None
                    if result is not None and result.result in (Result.FAIL, Result.ERROR):
                        why = f"new {rec.kind} evidence (seq {rec.seq}) fails {check}: {result.reason}"
                        demotion = self._demote(txn, service, why)
                        break
        return records, demotion

    def _void_open_promotions(self, txn: Txn, me: Signer, service: str, records: list[EvidenceRecord]) -> None:
        """New evidence voids the approvals of an open promotion: block it, so it can be requested again."""
        digest = evidence_digest(latest_evidence(txn, service))
        for p in list(txn.projection_items(PROMOTION).values()):
            if p["service"] == service and p["status"] in OPEN_STATUSES and p["evidence_digest"] != digest:
                seqs = ", ".join(str(r.seq) for r in records)
                reason = f"new evidence (seq {seqs}) changed what approvers saw; request the promotion again"
                self._finish(txn, me, p, EntryKind.PROMOTION_BLOCKED, {"reasons": [reason]}, CommandResult(service, ""))

    # -- promotion requests ----------------------------------------------------------------

    def _transition(self, current: str, target: str, service: str):
        if target not in self.org.states.states:
            raise GoosetermError(f"unknown state {target!r}; states are {', '.join(self.org.states.states)}")
        t = self.org.states.transition(current, target)
        if t is None or t.kind != TransitionKind.PROMOTION:
            allowed = [x.target for x in self.org.states.transitions_from(current) if x.kind == TransitionKind.PROMOTION]
            raise Refusal(
                f"{service} is {current}; it cannot be promoted to {target}"
                + (f" (allowed next: {', '.join(allowed)})" if allowed else " (no promotion leads out of it)")
            )
        return t

    def request(self, service: str, target: str) -> CommandResult:
        """Request one transition: record it, run its gates, and end blocked, awaiting approval or promoted."""
        self.require_service(service)
        me = self.actor()
        with self.ledger.transaction() as txn:
            return self._request(txn, me, service, target)

    def _request(self, txn: Txn, me: Signer, service: str, target: str) -> CommandResult:
        rec = self.service(service, txn)
        if rec["onboarded_seq"] is None:
            raise Refusal(f"{service} is not onboarded; run `gooseterm onboard {service}` first")
        current = rec["state"]
        transition = self._transition(current, target, service)
        for p in list(txn.projection_items(PROMOTION).values()):
            if p["service"] == service and p["status"] == PromotionStatus.AWAITING_APPROVAL and is_expired(p, self.now()):
                self._finish(txn, me, p, EntryKind.PROMOTION_EXPIRED, {"reasons": [f"no decision before {expires_at(p).isoformat()}"]},
                             CommandResult(service, ""))
            elif p["service"] == service and p["status"] in OPEN_STATUSES:
                raise Conflict(f"{service} already has open promotion {p['id']} ({p['status']}); approve, reject or override it first")
        evidence = latest_evidence(txn, service)
        digest = evidence_digest(evidence)
        policy = None
        if any(self.org.rules.requirement(n).type == GateType.MANUAL for n in transition.requirements):
            policy = policy_snapshot(self.org, self.org.approvals.policy_for(service, target), service, me.name)
        request = {
            "service": service,
            "target_state": target,
            "from_state": current,
            "evidence_refs": sorted(e.digest for e in evidence.values()),
            "evidence_digest": digest,
            "dependencies": {
                "required": self.graph.dependencies(service, required_only=True),
                "optional": [d for d in self.graph.dependencies(service) if d not in self.graph.dependencies(service, required_only=True)],
            },
            "requested_by": me.name,
            "policy": policy,
        }
        pid = promotion_id(service, txn.size)  # named by the seq the request is about to take
        r = txn.append(Draft(EntryKind.PROMOTION_REQUESTED, request, service=service, promotion=pid), [me])
        promo = self.promotion(pid, txn)
        out = CommandResult(service, PromotionStatus.VALIDATING, pid, seqs=[r.seq], state=current)
        self._run_gates(txn, me, promo, out)
        return out

    def _record_gates(self, txn: Txn, me: Signer, promo: dict, results: list[GateResult], out: CommandResult) -> None:
        for g in results:
            body = {**g.to_json(), "transition": f"{promo['from']}->{promo['to']}"}
            r = txn.append(self._answer(promo, EntryKind.GATE_RESULT, body), [me])
            out.seqs.append(r.seq)
        promo.update(self.promotion(promo["id"], txn))
        out.gates = [GateRecord.from_json(g) for g in promo["gates"]]

    def _run_gates(self, txn: Txn, me: Signer, promo: dict, out: CommandResult) -> None:
        ctx = self.context(promo["service"], txn, promo)
        results = evaluate_transition(self.org, promo["from"], promo["to"], ctx)
        self._record_gates(txn, me, promo, results, out)
        blocking = [g for g in results if g.blocks]
        manual = [g for g in results if g.type == GateType.MANUAL and g.result != Result.PASS]
        if blocking:
            reasons = [f"{g.name}: {g.result} - {g.reason}" for g in blocking]
            self._finish(txn, me, promo, EntryKind.PROMOTION_BLOCKED, {"reasons": reasons}, out)
        elif manual:
            status = ctx.approvals or approval_status(promo, ctx.now)
            body = {"waiting_for": status.reason, "expires_at": expires_at(promo).isoformat() if promo["policy"] else None}
            self._finish(txn, me, promo, EntryKind.PROMOTION_AWAITING_APPROVAL, body, out)
            out.reasons = [f"{g.name}: {g.reason}" for g in manual]
        else:
            self._promote(txn, me, promo, out, quorum=None)

    @staticmethod
    def _answer(promo: dict, kind: str, body: dict) -> Draft:
        """An entry answering promo's request: its statement signs that request's seq and leaf hash."""
        return Draft(kind, body, service=promo["service"], promotion=promo["id"],
                     request=(promo["requested_seq"], bytes.fromhex(promo["request_leaf_hash"])))

    def _finish(self, txn: Txn, me: Signer, promo: dict, kind: str, body: dict, out: CommandResult) -> int:
        """Append a promotion's next entry and refresh `promo` and `out` from the projection."""
        r = txn.append(self._answer(promo, kind, {"promotion": promo["id"], **body}), [me])
        promo.update(self.promotion(promo["id"], txn))
        out.status, out.reasons = promo["status"], list(promo["reasons"])
        out.seqs.append(r.seq)
        return r.seq

    def _violations(self, txn: Txn, service: str) -> list[str]:
        """What in the latest evidence would demote the service were it compliant (VIOLATION_CHECKS)."""
        ctx = self.context(service, txn)
        found = []
        for kind, check in VIOLATION_CHECKS.items():
            if kind in ctx.evidence:
                result = run_validator(check, ctx, {})
                if result.result in (Result.FAIL, Result.ERROR):
                    found.append(f"{check}: {result.result} - {result.reason}")
        return found

    def _promote(self, txn: Txn, me: Signer, promo: dict, out: CommandResult, quorum: dict | None, override: dict | None = None) -> None:
        compliant = promo["to"] == self.org.states.compliant
        # Compliance must agree with the evidence that earned it: evidence that would demote a
        # compliant service at once keeps it out (unless an admin breaks glass).
        violations = self._violations(txn, promo["service"]) if compliant and override is None else []
        if violations:
            self._finish(txn, me, promo, EntryKind.PROMOTION_FAILED, {"reasons": violations}, out)
            return
        body = {"from": promo["from"], "to": promo["to"], "compliant": compliant}
        if quorum:
            body["quorum"] = quorum
        if override:
            body["override"] = override
        self._finish(txn, me, promo, EntryKind.PROMOTION_PROMOTED, body, out)
        out.state = promo["to"]

    # -- decisions on a promotion ----------------------------------------------------------

    def _key_refusal(self, me: Signer) -> str | None:
        """Why this key may not decide on promotions: it must be trusted with an approver or admin role."""
        key = self.ledger.keys().get(me.keyid)
        if key is None or not set(DECIDER_ROLES) & set(key.roles):
            roles = ", ".join(key.roles) if key else "none"
            return f"key {me.keyid} is not trusted as an approver (its roles: {roles}); an admin adds it with --role approver"
        return None

    def _open(self, txn: Txn, me: Signer, pid: str, out: CommandResult) -> dict:
        promo = self.promotion(pid, txn)
        out.service, out.promotion = promo["service"], pid
        if promo["status"] != PromotionStatus.AWAITING_APPROVAL:
            raise Refusal(f"promotion {pid} is {promo['status']}, not awaiting approval" + (f": {'; '.join(promo['reasons'])}" if promo["reasons"] else ""))
        if is_expired(promo, self.now()):
            self._finish(txn, me, promo, EntryKind.PROMOTION_EXPIRED, {"reasons": [f"no decision before {expires_at(promo).isoformat()}"]}, out)
            raise _Expired(promo)
        return promo

    def _decide(self, action: Callable[[Txn, Signer, str, CommandResult], None], pid: str) -> CommandResult:
        me = self.actor()
        out = CommandResult("", "")
        expired = None
        with self.ledger.transaction() as txn:
            try:
                action(txn, me, pid, out)
            except _Expired as exc:  # commit the expiry entry, then refuse
                expired = exc.promo
        if expired is not None:
            raise Refusal(f"promotion {pid} expired at {expires_at(expired).isoformat()}; request it again")
        return out

    def approve(self, pid: str) -> CommandResult:
        """Sign an approval bound to the promotion's evidence; promote once the policy is met."""
        return self._decide(self._approve, pid)

    def _approve(self, txn: Txn, me: Signer, pid: str, out: CommandResult) -> None:
        promo = self._open(txn, me, pid, out)
        state = self.service(promo["service"], txn)["state"]
        if state != promo["from"]:
            raise Conflict(f"{promo['service']} is now {state}, no longer {promo['from']}; promotion {pid} cannot complete")
        why = refusal_for(self.org, promo, me.name) or self._key_refusal(me)
        if why:
            raise Refusal(why)
        current = evidence_digest(latest_evidence(txn, promo["service"]))
        if current != promo["evidence_digest"]:
            raise Refusal(
                f"evidence for {promo['service']} changed since promotion {pid} was requested; "
                "approvals are bound to the evidence the approver saw, so request the promotion again"
            )
        body = {"promotion": pid, "decision": "approve", "person": me.name, "groups": groups_of(self.org, me.name),
                "evidence_digest": promo["evidence_digest"], "policy_digest": policy_digest(promo["policy"])}
        r = txn.append(self._answer(promo, EntryKind.APPROVAL_GRANTED, body), [me])
        promo.update(self.promotion(pid, txn))
        out.seqs.append(r.seq)
        now = self.now()
        status = approval_status(promo, now)
        out.status, out.reasons = promo["status"], [status.reason]
        if not status.met:
            return
        quorum = {"required": promo["policy"]["required"], "approvals": [a["seq"] for a in status.counted], "evidence_digest": promo["evidence_digest"]}
        self._confirm_quorum(txn, promo, quorum, now)
        self._finish(txn, me, promo, EntryKind.PROMOTION_APPROVED, {"quorum": quorum}, out)
        ctx = self.context(promo["service"], txn, promo)
        results = [g for g in evaluate_transition(self.org, promo["from"], promo["to"], ctx)]
        self._record_gates(txn, me, promo, results, out)
        failing = [g for g in results if g.holds]
        if failing:
            reasons = [f"{g.name}: {g.result} - {g.reason}" for g in failing]
            self._finish(txn, me, promo, EntryKind.PROMOTION_FAILED, {"reasons": reasons}, out)
        else:
            self._promote(txn, me, promo, out, quorum=quorum)

    def _confirm_quorum(self, txn: Txn, promo: dict, quorum: dict, now: datetime) -> None:
        """Check the quorum about to be written against the signed entries themselves, as the verifiers
        will, so that an edited projection can never make the application complete a promotion."""
        keys = txn.keys()
        seqs = [promo["requested_seq"], *quorum["approvals"]]
        report = Report(source=str(self.ledger.path))
        decisions = [read_decision(e.seq, e.leaf, e.leaf_hash, self.ledger.origin, keys, report) for e in map(self.ledger.entry, seqs)]
        decision = Decision(txn.size, EntryKind.PROMOTION_APPROVED, promo["service"], promo["id"], b"", now,
                            {"seq": promo["requested_seq"], "leaf_hash": promo["request_leaf_hash"]}, frozenset(), {"quorum": quorum})
        check_decisions([d for d in decisions if d is not None] + [decision], keys, report)
        if report.faults:
            f = report.first
            raise Refusal(f"promotion {promo['id']}'s approvals do not verify against the entries (seq {f.seq}: {f.detail}); "
                          "the ledger file was edited: run `gooseterm verify`")

    def reject(self, pid: str, reason: str) -> CommandResult:
        """Reject a promotion awaiting approval, with the reason recorded."""
        if not reason.strip():
            raise GoosetermError("a rejection needs a reason (--reason)")

        def act(txn: Txn, me: Signer, pid: str, out: CommandResult) -> None:
            promo = self._open(txn, me, pid, out)
            why = rejection_refusal_for(self.org, promo, me.name) or self._key_refusal(me)
            if why:
                raise Refusal(why)
            body = {"promotion": pid, "decision": "reject", "person": me.name, "groups": groups_of(self.org, me.name), "reason": reason}
            r = txn.append(self._answer(promo, EntryKind.APPROVAL_REJECTED, body), [me])
            out.seqs.append(r.seq)
            self._finish(txn, me, promo, EntryKind.PROMOTION_REJECTED, {"reasons": [f"rejected by {me.name}: {reason}"]}, out)

        return self._decide(act, pid)

    def override(self, pid: str, reason: str) -> CommandResult:
        """Break glass: an admin promotes a blocked or waiting promotion, with a mandatory reason."""
        if not reason.strip():
            raise GoosetermError("an override needs a reason (--reason); it stays visible in every export")

        def act(txn: Txn, me: Signer, pid: str, out: CommandResult) -> None:
            promo = self.promotion(pid, txn)
            out.service, out.promotion = promo["service"], pid
            if why := override_refusal(pid, promo["status"]):
                raise Refusal(why)
            roles = (promo["policy"] or {}).get("override_roles") or ["admin"]
            person = self.org.org.people.get(me.name)
            key = self.ledger.keys().get(me.keyid)
            if person is None or not set(person.roles) & set(roles) or key is None or "admin" not in key.roles:
                raise Refusal(f"{me.name} may not override: it needs role {' or '.join(roles)} in the org and an admin key in the ledger")
            rec = self.service(promo["service"], txn)
            if rec["state"] != promo["from"]:
                raise Conflict(f"{promo['service']} is now {rec['state']}, no longer {promo['from']}")
            for other in list(txn.projection_items(PROMOTION).values()):
                if other["service"] == promo["service"] and other["status"] in OPEN_STATUSES and other["id"] != pid:
                    self._finish(txn, me, other, EntryKind.PROMOTION_BLOCKED, {"reasons": [f"superseded by the override of {pid}"]},
                                 CommandResult(promo["service"], ""))
            # What is bypassed is what fails now, not at request time: evidence may have changed since.
            ctx = self.context(promo["service"], txn, promo)
            results = evaluate_transition(self.org, promo["from"], promo["to"], ctx)
            self._record_gates(txn, me, promo, results, out)
            bypassed = [g.name for g in results if g.holds]
            body = {"promotion": pid, "person": me.name, "reason": reason, "bypassed": bypassed}
            r = txn.append(self._answer(promo, EntryKind.PROMOTION_OVERRIDDEN, body), [me])
            out.seqs.append(r.seq)
            self._promote(txn, me, promo, out, quorum=None, override={"seq": r.seq, "person": me.name, "reason": reason})

        return self._decide(act, pid)

    # -- demotion ----------------------------------------------------------------------------

    def demote(self, service: str, reason: str) -> CommandResult:
        """Demote a compliant service: dependents become at risk, their open promotions blocked."""
        self.require_service(service)
        if not reason.strip():
            raise GoosetermError("a demotion needs a reason (--reason)")
        with self.ledger.transaction() as txn:
            return self._demote(txn, service, reason)

    def _demote(self, txn: Txn, service: str, reason: str) -> CommandResult:
        me = self.actor()
        rec = self.service(service, txn)
        target = demotion_target(self.org, rec["state"])
        if target is None:
            raise Refusal(f"{service} is {rec['state']}; no demotion leads out of that state")
        dependents = self.graph.dependents(service, transitive=True)
        body = {"service": service, "from": rec["state"], "to": target, "reason": reason, "at_risk": dependents}
        r = txn.append(Draft(EntryKind.SERVICE_DEMOTED, body, service=service), [me])
        out = CommandResult(service, "demoted", seqs=[r.seq], state=target, reasons=[reason])
        for p in list(txn.projection_items(PROMOTION).values()):
            if p["service"] in dependents and p["status"] in OPEN_STATUSES:
                sub = CommandResult(p["service"], "")
                self._finish(txn, me, p, EntryKind.PROMOTION_BLOCKED, {"reasons": [f"dependency {service} was demoted: {reason}"]}, sub)
                out.seqs += sub.seqs
        return out

    # -- cycles ----------------------------------------------------------------------------

    def accept_cycle_break(self, dependent: str, dependency: str, reason: str) -> int:
        """Record the manual review that lets planning ignore one dependency edge of a cycle."""
        me = self.actor()
        if (dependent, dependency) not in {(e.dependent, e.dependency) for e in self.graph.edges()}:
            raise GoosetermError(f"{dependent} does not depend on {dependency}")
        if not reason.strip():
            raise GoosetermError("a cycle break needs a reason from the review")
        with self.ledger.transaction() as txn:
            body = {"dependent": dependent, "dependency": dependency, "reason": reason, "reviewer": me.name}
            return txn.append(Draft(EntryKind.CYCLE_BREAK_REVIEWED, body, service=dependent), [me]).seq

    # -- plans -----------------------------------------------------------------------------

    def path(self, current: str, target: str) -> list[str]:
        """The states a service passes through from current to target by promotions (BFS)."""
        if current == target:
            return []
        frontier, seen = [[current]], {current}
        while frontier:
            nxt = []
            for p in frontier:
                for t in self.org.states.transitions_from(p[-1]):
                    if t.kind == TransitionKind.PROMOTION and t.target not in seen:
                        if t.target == target:
                            return p[1:] + [target]
                        seen.add(t.target)
                        nxt.append(p + [t.target])
            frontier = nxt
        raise Refusal(f"no sequence of promotions leads from {current} to {target}")

    def plan(self, services: Iterable[str] | None, target: str) -> list[list[dict]]:
        """Promotion order as waves, each service with its steps and predicted first-step blockers."""
        if target not in self.org.states.states:
            raise GoosetermError(f"unknown state {target!r}; states are {', '.join(self.org.states.states)}")
        chosen = list(services) if services else None
        for s in chosen or []:
            self.require_service(s)
        try:
            waves = self.graph.waves(chosen, include_dependencies=True, accepted_breaks=self.accepted_breaks())
        except CycleError as exc:
            raise GoosetermError(str(exc)) from None  # a cycle is a configuration problem
        states = self.states()
        out = []
        for wave in waves:
            items = []
            for s in wave:
                try:
                    steps = self.path(states[s], target) if states[s] != target else []
                except Refusal:  # already past the target (e.g. compliant when planning to compliance_ready)
                    steps = []
                item = {"service": s, "state": states[s], "steps": steps, "blockers": []}
                if steps:
                    ctx = self.context(s, target=steps[0])
                    for g in evaluate_transition(self.org, states[s], steps[0], ctx):
                        if g.blocks:
                            item["blockers"].append(f"{g.name}: {g.reason}")
                        elif g.type == GateType.MANUAL and g.result != Result.PASS:
                            item["blockers"].append(f"{g.name}: needs approval")
                items.append(item)
            out.append(items)
        return out

    def promote_many(self, services: Iterable[str] | None, target: str, dry_run: bool = False) -> list[CommandResult]:
        """Promote services towards target in dependency waves; a failure stops its dependents, not its siblings."""
        waves = self.plan(services, target)
        if dry_run:
            return [CommandResult(i["service"], "would block" if i["blockers"] else ("done" if not i["steps"] else "would request"),
                            reasons=i["blockers"], state=i["state"]) for wave in waves for i in wave]
        stopped: dict[str, str] = {}
        results = []
        for wave in waves:
            for item in wave:
                s = item["service"]
                waiting = [d for d in self.graph.dependencies(s, required_only=True) if d in stopped]
                if waiting:
                    stopped[s] = waiting[0]
                    results.append(CommandResult(s, "waiting", reasons=[f"waits for {d}: {stopped[d] if stopped[d] != d else 'not at target'}" for d in waiting], state=item["state"]))
                    continue
                outcome = CommandResult(s, "done", state=item["state"])
                for step in item["steps"]:
                    try:
                        outcome = self.request(s, step)
                    except (Refusal, Conflict) as exc:
                        outcome = CommandResult(s, "refused", reasons=[str(exc)], state=item["state"])
                    if outcome.status != PromotionStatus.PROMOTED:
                        break
                if outcome.status not in (PromotionStatus.PROMOTED, "done"):
                    stopped[s] = s
                results.append(outcome)
        return results


class _Expired(Exception):
    def __init__(self, promo: dict):
        self.promo = promo
