"""Current state derived from the entries: one projector, run on every append and on a rebuild.

Each entry kind updates the projections it concerns (services, promotions, latest evidence, cycle
breaks, runbook runs) from the entry alone, so `gooseterm verify` replays the whole ledger through
the same code and compares (an edit of a derived table shows as projection_mismatch). Commands
never write projections themselves.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from gooseterm.ledger.signing import canonical_json
from gooseterm.ledger.store import Ledger
from gooseterm.ledger.verifier import BINDING, Fault, Report, promotion_id, verify_ledger

from .kinds import EntryKind
from .statuses import PromotionStatus

SERVICE = "service"
PROMOTION = "promotion"
EVIDENCE = "evidence"
CYCLE_BREAK = "cycle_break"
RUNBOOK_RUN = "runbook_run"
DOMAIN_PROJECTIONS = (SERVICE, PROMOTION, EVIDENCE, CYCLE_BREAK, RUNBOOK_RUN)

RUN_OPEN, RUN_COMPLETE = "open", "complete"
"""A runbook run's status: open until every step is recorded."""

# The entry kinds that only move a promotion along, to the status each names.
_STATUS_KINDS = {
    EntryKind.PROMOTION_BLOCKED: PromotionStatus.BLOCKED,
    EntryKind.PROMOTION_FAILED: PromotionStatus.FAILED,
    EntryKind.PROMOTION_REJECTED: PromotionStatus.REJECTED,
    EntryKind.PROMOTION_EXPIRED: PromotionStatus.EXPIRED,
    EntryKind.PROMOTION_AWAITING_APPROVAL: PromotionStatus.AWAITING_APPROVAL,
}


@dataclass(frozen=True)
class Applied:
    """What the projector reads of one entry: its time is the time its actor signed, and its
    predicate is what they signed less the binding (which the verifiers check against the index)."""

    seq: int
    time: str
    kind: str
    service: str | None
    promotion: str | None
    predicate: dict
    signers: tuple[str, ...]
    leaf_hash: bytes


class Sink:
    """Where projections go: a write transaction, or a dictionary for a rebuild."""

    def project(self, name: str, key: str, value: dict, seq: int) -> None: ...

    def projection(self, name: str, key: str) -> dict | None: ...

    def projection_items(self, name: str) -> dict[str, dict]: ...


class MemorySink(Sink):
    """Projections held in memory: a rebuild replays the ledger into one."""

    def __init__(self) -> None:
        self.tables: dict[str, dict[str, dict]] = {}

    def project(self, name: str, key: str, value: dict, seq: int) -> None:
        self.tables.setdefault(name, {})[key] = value

    def projection(self, name: str, key: str) -> dict | None:
        return self.tables.get(name, {}).get(key)

    def projection_items(self, name: str) -> dict[str, dict]:
        return dict(sorted(self.tables.get(name, {}).items()))


def evidence_key(service: str, kind: str) -> str:
    """Projection key of a service's latest evidence of a kind."""
    return f"{service}/{kind}"


def run_id(runbook: str, service: str, seq: int) -> str:
    """A runbook run is named by its runbook, service and the seq of its start."""
    return f"{runbook}-{service}-{seq}"


def _onboarded(sink: Sink, e: Applied) -> None:
    p = e.predicate
    sink.project(SERVICE, e.service, {"name": e.service, "state": p["state"], "since_seq": e.seq, "onboarded_seq": e.seq,
                                      "onboarded_time": e.time, "spec_digest": p["spec_digest"], "at_risk": {}}, e.seq)


def _evidence(sink: Sink, e: Applied) -> None:
    p = e.predicate
    rec = {"service": e.service, "kind": p["kind"], "digest": p["digest"], "seq": e.seq, "time": e.time,
           "source": p["source"], "collector": p["collector"], "facts": p["facts"]}
    sink.project(EVIDENCE, evidence_key(e.service, p["kind"]), rec, e.seq)


def _requested(sink: Sink, e: Applied) -> None:
    p = e.predicate
    pid = e.promotion or promotion_id(e.service, e.seq)
    sink.project(PROMOTION, pid, {
        "id": pid, "service": e.service, "from": p["from_state"], "to": p["target_state"], "status": PromotionStatus.VALIDATING,
        "requested_by": p["requested_by"], "requested_seq": e.seq, "requested_time": e.time,
        "request_leaf_hash": e.leaf_hash.hex(),
        "evidence_digest": p["evidence_digest"], "policy": p["policy"], "approvals": [], "gates": [], "reasons": [],
        "updated_seq": e.seq,
    }, e.seq)


def _update_promotion(sink: Sink, e: Applied, change: Callable[[dict], None]) -> dict:
    promo = sink.projection(PROMOTION, e.promotion)
    if promo is None:
        raise LookupError(f"seq {e.seq}: {e.kind} names promotion {e.promotion!r}, which was never requested")
    change(promo)
    promo["updated_seq"] = e.seq
    sink.project(PROMOTION, e.promotion, promo, e.seq)
    return promo


def _gate(sink: Sink, e: Applied) -> None:
    body = {k: v for k, v in e.predicate.items() if k != "transition"}
    _update_promotion(sink, e, lambda promo: promo["gates"].append({**body, "seq": e.seq}))


def _status(sink: Sink, e: Applied) -> None:
    status = _STATUS_KINDS[e.kind]

    def change(promo: dict) -> None:
        promo["status"] = status
        if "reasons" in e.predicate:
            promo["reasons"] = list(e.predicate["reasons"])

    _update_promotion(sink, e, change)


def _approved(sink: Sink, e: Applied) -> None:
    def change(promo: dict) -> None:
        promo["status"] = PromotionStatus.APPROVED
        promo["gates"] = []  # the gates run again before the promotion completes

    _update_promotion(sink, e, change)


def _decision(sink: Sink, e: Applied) -> None:
    p = e.predicate
    record = {"promotion": e.promotion, "decision": p["decision"], "person": p["person"], "groups": p["groups"],
              "evidence_digest": p.get("evidence_digest"), "policy_digest": p.get("policy_digest"), "seq": e.seq,
              "time": e.time, "keyid": e.signers[0]}
    if "reason" in p:
        record["reason"] = p["reason"]
    _update_promotion(sink, e, lambda promo: promo["approvals"].append(record))


def _promoted(sink: Sink, e: Applied) -> None:
    p = e.predicate

    def change(promo: dict) -> None:
        promo["status"] = PromotionStatus.PROMOTED
        promo["reasons"] = []

    _update_promotion(sink, e, change)
    rec = sink.projection(SERVICE, e.service)
    rec.update(state=p["to"], since_seq=e.seq)
    sink.project(SERVICE, e.service, rec, e.seq)
    if p.get("compliant"):
        for name, other in sink.projection_items(SERVICE).items():
            if other["at_risk"].pop(e.service, None) is not None:
                sink.project(SERVICE, name, other, e.seq)


def _demoted(sink: Sink, e: Applied) -> None:
    p = e.predicate
    rec = sink.projection(SERVICE, e.service)
    rec.update(state=p["to"], since_seq=e.seq)
    sink.project(SERVICE, e.service, rec, e.seq)
    for dependent in p["at_risk"]:
        d = sink.projection(SERVICE, dependent)
        if d is not None:
            d["at_risk"][e.service] = f"{e.service} demoted at seq {e.seq}: {p['reason']}"
            sink.project(SERVICE, dependent, d, e.seq)


def _cycle_break(sink: Sink, e: Applied) -> None:
    p = e.predicate
    sink.project(CYCLE_BREAK, f"{p['dependent']}->{p['dependency']}", dict(p), e.seq)


def _runbook_started(sink: Sink, e: Applied) -> None:
    p = e.predicate
    rid = run_id(p["runbook"], e.service, e.seq)
    sink.project(RUNBOOK_RUN, rid, {"id": rid, "runbook": p["runbook"], "title": p["title"], "service": e.service,
                                       "started_seq": e.seq, "started_by": p["started_by"], "steps_total": p["steps_total"],
                                       "steps": [], "status": RUN_OPEN}, e.seq)


def _runbook_step(sink: Sink, e: Applied) -> None:
    p = e.predicate
    run = sink.projection(RUNBOOK_RUN, p["run"])
    run["steps"].append({**p, "seq": e.seq})
    if len(run["steps"]) >= run["steps_total"]:
        run["status"] = RUN_COMPLETE
    sink.project(RUNBOOK_RUN, p["run"], run, e.seq)


_HANDLERS: dict[str, Callable[[Sink, Applied], None]] = {
    EntryKind.SERVICE_ONBOARDED: _onboarded,
    EntryKind.PROMOTION_REQUESTED: _requested,
    EntryKind.GATE_RESULT: _gate,
    EntryKind.PROMOTION_APPROVED: _approved,
    EntryKind.APPROVAL_GRANTED: _decision,
    EntryKind.APPROVAL_REJECTED: _decision,
    EntryKind.PROMOTION_PROMOTED: _promoted,
    EntryKind.SERVICE_DEMOTED: _demoted,
    EntryKind.CYCLE_BREAK_REVIEWED: _cycle_break,
    EntryKind.RUNBOOK_STARTED: _runbook_started,
    EntryKind.RUNBOOK_STEP: _runbook_step,
    **{kind: _status for kind in _STATUS_KINDS},
}


def project_entry(sink: Sink, e: Applied) -> None:
    """Apply one entry to the projections (entries of other kinds change nothing)."""
    handler = _evidence if e.kind.startswith("evidence.") and "digest" in e.predicate else _HANDLERS.get(e.kind)
    if handler is not None:
        handler(sink, e)


def _projected(kind: str) -> bool:
    return kind in _HANDLERS or kind.startswith("evidence.")


def rebuild(entries) -> MemorySink:
    """Replay entries (ledger Entry objects, in seq order) into fresh projections."""
    sink = MemorySink()
    for entry in entries:
        if not _projected(entry.kind):
            continue
        statement = entry.statement
        predicate = dict(statement.get("predicate", {}))
        signed = predicate.pop(BINDING, None) or {}  # a leaf without one is named by the verifiers
        project_entry(sink, Applied(entry.seq, signed.get("time", entry.time), entry.kind, entry.service, entry.promotion,
                                    predicate, tuple(entry.signers), entry.leaf_hash))
    return sink


def differences(stored: dict[str, dict[str, dict]], rebuilt: MemorySink) -> list[tuple[str, str, str]]:
    """(projection, key, what differs) for every stored value that the entries do not give."""
    out = []
    for name in DOMAIN_PROJECTIONS:
        have, want = stored.get(name, {}), rebuilt.projection_items(name)
        for key in sorted(set(have) | set(want)):
            if key not in want:
                out.append((name, key, "stored but not derivable from the entries"))
            elif key not in have:
                out.append((name, key, "missing from the stored projections"))
            elif have[key] != want[key]:
                fields = sorted(k for k in set(have[key]) | set(want[key]) if have[key].get(k) != want[key].get(k))
                out.append((name, key, f"differs in {', '.join(fields)}"))
    return out


def project_appended(txn, draft, receipt, signers) -> None:
    """The domain's projector: project the entry just written, inside the same transaction.

    Given to the ledger where it is opened for domain writes (`Ledger.open(..., projector=...)`)."""
    if not _projected(draft.kind):
        return
    # Round-trip through the ledger's JSON so the projector sees exactly what a rebuild will read.
    predicate = json.loads(canonical_json(draft.predicate))
    project_entry(txn, Applied(receipt.seq, receipt.time, draft.kind, draft.service, draft.promotion, predicate,
                               tuple(s.keyid for s in signers), receipt.leaf_hash))


def projection_faults(path) -> list[Fault]:
    """Replay every entry through the projector and name each stored value it does not give."""
    with Ledger.open(path, readonly=True) as ledger:
        stored = {name: ledger.projection_items(name) for name in DOMAIN_PROJECTIONS}
        try:
            rebuilt = rebuild(ledger.scan())
        except (LookupError, KeyError, TypeError, ValueError) as exc:
            return [Fault("projection_mismatch", None, f"the entries cannot be replayed: {exc}")]
    return [Fault("projection_mismatch", None, f"{name} {key}: {what}") for name, key, what in differences(stored, rebuilt)]


def verify_ledger_state(path, trusted_checkpoint: bytes | None = None, ledger_vkey: str | None = None, jobs: int = 1,
                        progress=None) -> Report:
    """`gooseterm verify` of a ledger file: every entry, key window, decision, checkpoint and blob (the
    standalone verifier's checks), then the derived state, which the application acts on, replayed and compared."""
    report = verify_ledger(str(path), trusted_checkpoint=trusted_checkpoint, ledger_vkey=ledger_vkey, jobs=jobs, progress=progress)
    if not any(f.code in ("file_damaged", "foreign_file") for f in report.faults):
        report.faults += projection_faults(path)
    return report
