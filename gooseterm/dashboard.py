"""What the dashboard reads: a snapshot of the projections, the approvals inbox, the evidence a
gate read, an entry's detail and pages of entries.

Pure reads over an Orchestrator or a Ledger, so the TUI renders and adds no rules of its own.
The snapshot is built from projections only (no walk over history), which keeps the first frame
fast on a ledger of millions of entries; history is read a page at a time, newest first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from gooseterm.ledger.blobs import BlobInfo
from gooseterm.ledger.keys import KeyStoreError
from gooseterm.ledger.store import Ledger
from gooseterm.ledger.verifier import parse_vkey

from .approvals import (
    approval_status,
    expires_at,
    is_expired,
    refusal_for,
    rejection_refusal_for,
)
from .gates import Result
from .graphview import GraphView, view
from .kinds import EVIDENCE_PREFIX
from .orgconfig import GateType, OrgConfig, Runbook, TransitionKind
from .promotions import demotion_target
from .records import PromotionRecord, RunRecord
from .resolver import DependencyGraph
from .runbooks import runs
from .status import ServiceStatus, service_status
from .statuses import PromotionStatus

LEDGER_TIME = "%Y-%m-%dT%H:%M:%S.%fZ"


def ledger_time(when: datetime) -> str:
    """A datetime in the ledger's writer-time format (RFC 3339 UTC with microseconds)."""
    return when.strftime(LEDGER_TIME)


# -- who signs ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Identity:
    """The key the dashboard signs with, described without opening it."""

    name: str | None
    keyid: str | None = None
    sealed: bool = False
    """The private key is sealed and no passphrase is configured: ask for one before signing."""
    problem: str | None = None
    """Why nothing can be signed (no identity, missing or damaged key file); None when all is well."""


def identity_of(workspace) -> Identity:
    """The workspace's signing identity: name, key id and whether a passphrase must be asked."""
    name = workspace.settings.identity
    if not name:
        return Identity(None, problem="no signing identity: run `gooseterm init`, or pass --as NAME / set GOOSETERM_KEY")
    try:
        info = workspace.keystore.info(name)
    except KeyStoreError as exc:
        return Identity(name, problem=str(exc))
    return Identity(name, parse_vkey(info.vkey).keyid, info.sealed and not workspace.settings.passphrase)


# -- the approvals inbox -------------------------------------------------------------------------


def approval_refusal(org: OrgConfig, promotion: dict, person: str | None, now: datetime, reject: bool = False) -> str | None:
    """Why `person` may not approve (or with `reject`, reject) this promotion now, or None when
    they may: the domain's own rules, checked after expiry as `gooseterm approve` checks them."""
    if promotion["status"] != PromotionStatus.AWAITING_APPROVAL:
        return f"promotion {promotion['id']} is {promotion['status']}, not awaiting approval"
    if person is None:
        return "no signing identity: run `gooseterm init`, or pass --as NAME / set GOOSETERM_KEY"
    if is_expired(promotion, now):
        return (f"promotion {promotion['id']} expired at {expires_at(promotion).isoformat()}; "
                f"request it again (gooseterm promote {promotion['service']} --to {promotion['to']})")
    return (rejection_refusal_for if reject else refusal_for)(org, promotion, person)


@dataclass(frozen=True)
class InboxItem:
    """A promotion awaiting approval, and whether the current identity may decide it."""

    promotion: PromotionRecord
    waiting_for: str
    expires_at: str
    refusal: str | None
    """Why the current identity may not approve it; None when it may."""
    reject_refusal: str | None
    """Why the current identity may not reject it; None when it may."""

    @property
    def id(self) -> str:
        """The promotion id (what `gooseterm approve` takes)."""
        return self.promotion.id

    @property
    def transition(self) -> str:
        """`from -> to`."""
        return self.promotion.transition


def inbox(orch, person: str | None) -> list[InboxItem]:
    """Every promotion awaiting approval: the ones `person` may decide first, oldest first."""
    now = orch.now()
    items = []
    for p in orch.promotions(open_only=True):
        if p["status"] != PromotionStatus.AWAITING_APPROVAL:
            continue
        status = approval_status(p, now)
        expiry = expires_at(p).isoformat() if p["policy"] else ""
        items.append(InboxItem(PromotionRecord.from_json(p), status.reason, expiry, approval_refusal(orch.org, p, person, now),
                               approval_refusal(orch.org, p, person, now, reject=True)))
    return sorted(items, key=lambda i: (i.refusal is not None, i.promotion.requested_seq))


# -- the snapshot ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    """Everything the dashboard's first frame shows, read from projections in one go."""

    read_at: datetime
    ledger: str
    origin: str
    size: int
    identity: Identity
    states: list[str]
    """The configured states, in config order."""
    initial: str
    compliant: str
    services: list[ServiceStatus]
    """service_status() of every service, by name."""
    promotions: list[PromotionRecord]
    """Every promotion, newest first."""
    inbox: list[InboxItem]
    runs: list[RunRecord]
    """Runbook runs, newest first."""
    runbooks: dict[str, Runbook]
    """Configured runbooks, by name."""
    graph: DependencyGraph
    graph_view: GraphView
    targets: dict[str, str | None]
    """Per state, the state a promotion from it leads to (None: no promotion leads out)."""
    demotions: dict[str, str | None]
    """Per state, the state a demotion from it leads to (None: no demotion leads out)."""

    def status(self, service: str) -> ServiceStatus | None:
        """One service's status, or None."""
        return next((s for s in self.services if s.service == service), None)


def read_snapshot(orch, identity: Identity, read_at: datetime) -> Snapshot:
    """Read the dashboard's snapshot from the ledger's projections (no history scan)."""
    org = orch.org
    person = identity.name if identity.problem is None else None
    return Snapshot(
        read_at=read_at,
        ledger=str(orch.ledger.path),
        origin=orch.ledger.origin,
        size=orch.ledger.size(),
        identity=identity,
        states=list(org.states.states),
        initial=org.states.initial,
        compliant=org.states.compliant,
        services=[service_status(orch, s) for s in sorted(org.services)],
        promotions=[PromotionRecord.from_json(p) for p in reversed(orch.promotions())],
        inbox=inbox(orch, person),
        runs=[RunRecord.from_json(r) for r in runs(orch)],
        runbooks=dict(org.runbooks.runbooks),
        graph=orch.graph,
        graph_view=view(orch.graph),
        targets={state: promotion_target(org, state) for state in org.states.states},
        demotions={state: demotion_target(org, state) for state in org.states.states},
    )


def promotion_target(org: OrgConfig, state: str) -> str | None:
    """The state a promotion from `state` leads to (the first configured), or None."""
    onward = [t.target for t in org.states.transitions_from(state) if t.kind == TransitionKind.PROMOTION]
    return onward[0] if onward else None


def open_run(snapshot_runs: list[RunRecord], runbook: str, service: str) -> RunRecord | None:
    """The newest run of `runbook` for `service` that is not complete, if any."""
    return next((r for r in snapshot_runs if r.runbook == runbook and r.service == service and not r.complete), None)


# -- the evidence a gate read --------------------------------------------------------------------


@dataclass(frozen=True)
class EvidenceItem:
    """One piece of evidence as recorded: its digest, entry and the facts parsed from it."""

    digest: str
    kind: str
    seq: int
    time: str
    source: str
    collector: str
    facts: dict
    blob: BlobInfo | None


@dataclass(frozen=True)
class GateEvidence:
    """A gate's recorded result and the evidence it read."""

    gate: str
    type: GateType
    result: Result
    reason: str
    seq: int | None
    checks: list[dict]
    evidence: list[EvidenceItem]
    missing: list[str] = field(default_factory=list)
    """Digests the gate names but no earlier evidence entry of the service holds."""


EVIDENCE_PAGE = 500


def gate_evidence(ledger: Ledger, promotion: PromotionRecord) -> list[GateEvidence]:
    """Each gate of a promotion with the evidence entries whose digests it recorded: the latest
    evidence entry of the service with that digest before the gate's own entry."""
    gates = promotion.gates
    last = max((-1 if g.seq is None else g.seq for g in gates), default=-1)
    found: dict[str, list[EvidenceItem]] = {}
    after = -1
    while True:  # the service's evidence entries up to the last gate, a page at a time
        page = ledger.entries(service=promotion.service, kind=EVIDENCE_PREFIX, after=after, limit=EVIDENCE_PAGE)
        for e in page:
            if e.seq > last:
                break
            p = e.predicate
            item = EvidenceItem(p["digest"], p["kind"], e.seq, e.time, p.get("source", ""), p.get("collector", ""),
                                p.get("facts", {}), ledger.blob_info(p["digest"]))
            found.setdefault(p["digest"], []).append(item)
        if len(page) < EVIDENCE_PAGE or page[-1].seq > last:
            break
        after = page[-1].seq
    out = []
    for g in gates:
        items, missing = [], []
        for digest in g.evidence:
            before = [i for i in found.get(digest, []) if g.seq is None or i.seq < g.seq]
            (items.append(before[-1]) if before else missing.append(digest))
        out.append(GateEvidence(g.name, g.type, g.result, g.reason, g.seq, list(g.checks), items, missing))
    return out


# -- entries: detail and pages -------------------------------------------------------------------


@dataclass(frozen=True)
class Signature:
    """A signature on an entry's envelope and the ledger's trust in its key at that seq."""

    keyid: str
    roles: list[str]
    trusted: bool
    """The ledger trusted the key at the entry's seq (added before it, not yet revoked)."""


@dataclass(frozen=True)
class EntryDetail:
    """One entry: its columns, statement, signatures and the blobs it names."""

    seq: int
    time: str
    kind: str
    service: str | None
    promotion: str | None
    statement: dict
    signatures: list[Signature]
    blobs: list[tuple[str, BlobInfo | None]]
    leaf_hash: str
    chain: str


def entry_detail(ledger: Ledger, seq: int) -> EntryDetail:
    """The entry at seq, with its statement decoded and each signer looked up in the trust table."""
    e = ledger.entry(seq)
    keys = ledger.keys()
    sigs = []
    for keyid in e.signers:
        k = keys.get(keyid)
        sigs.append(Signature(keyid, k.roles if k else [], bool(k and k.valid_at(seq))))
    blobs = [(d, ledger.blob_info(d)) for d in e.record.get("blobs", [])]
    return EntryDetail(e.seq, e.time, e.kind, e.service, e.promotion, e.statement, sigs, blobs, e.leaf_hash.hex(), e.chain.hex())


@dataclass(frozen=True)
class EntryRow:
    """One line of the entries table."""

    seq: int
    time: str
    kind: str
    service: str | None
    promotion: str | None
    signers: list[str]


@dataclass(frozen=True)
class EntryFilter:
    """What the ledger screen asks for: service, kind (a prefix ending in '.' is a family) and a
    writer-time window, each optional."""

    service: str | None = None
    kind: str | None = None
    since: str | None = None
    """Ledger-time string; entries at or after it."""
    until: str | None = None
    """Ledger-time string; entries at or before it."""


@dataclass(frozen=True)
class Page:
    """Entries, newest first, and where the next (older) page starts."""

    rows: list[EntryRow]
    before: int | None
    """Pass as `before` for the next page; None once the oldest match is shown."""
    scanned_from: int
    """The lowest seq looked at so far (a bound for "no more matches after seq N")."""


def seq_at_time(ledger: Ledger, when: str) -> int:
    """The first seq whose writer time is at or after `when` (the size if none): a binary
    search over seqs, since writer time only moves forward."""
    lo, hi = 0, ledger.size()
    while lo < hi:
        mid = (lo + hi) // 2
        found = ledger.entries(after=mid - 1, limit=1)  # the entry at mid, or the next one if mid is missing
        if found and found[0].time < when:
            lo = mid + 1
        else:
            hi = mid
    return lo


def entries_page(ledger: Ledger, filt: EntryFilter, before: int | None = None, limit: int = 100, max_span: int = 4096,
                 max_rows: int = 50_000) -> Page:
    """Up to `limit` entries matching `filt`, newest first, older than `before` (default: all).

    Looks back through windows of seqs, each read with LIMIT, growing from `limit` to `max_span`;
    it stops after about `max_rows` seqs without filling the page, so a filter that matches
    nothing in a million entries costs a bounded read, and the page says where to continue.
    """
    floor = seq_at_time(ledger, filt.since) if filt.since else 0
    hi = ledger.size() if before is None else before
    if filt.until:  # inclusive: stop before the first entry later than `until` (same-length strings order as times)
        hi = min(hi, seq_at_time(ledger, filt.until + "\uffff"))
    rows: list[EntryRow] = []
    span, looked = limit, 0
    while hi > floor and len(rows) < limit and looked < max_rows:
        lo = max(floor, hi - span)
        chunk = [e for e in ledger.entries(service=filt.service, kind=filt.kind, after=lo - 1, limit=hi - lo) if e.seq < hi]
        rows += [EntryRow(e.seq, e.time, e.kind, e.service, e.promotion, e.signers) for e in reversed(chunk)]
        looked += hi - lo
        hi = lo
        span = min(span * 2, max_span)
    if len(rows) > limit:
        rows = rows[:limit]
        hi = rows[-1].seq
    return Page(rows, hi if hi > floor else None, hi)


_RELATIVE = re.compile(r"^(\d+)\s*([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_when(text: str, now: datetime) -> str:
    """A time filter as a ledger-time string: `30m`, `2h`, `3d`, `1w` ago, or an ISO date/time (UTC).
    Raises ValueError with what is accepted."""
    text = text.strip()
    m = _RELATIVE.match(text)
    if m:
        return ledger_time(now - timedelta(**{_UNITS[m.group(2)]: int(m.group(1))}))
    try:
        when = datetime.fromisoformat(text if "T" in text or " " in text else text + "T00:00:00")
    except ValueError:
        raise ValueError(f"{text!r} is not a time: use 30m, 2h, 3d, 1w (ago) or a date like 2026-03-01 or 2026-03-01T09:30") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return ledger_time(when)


def blob_text(ledger: Ledger, digest: str, limit: int = 65_536) -> str:
    """A blob's first `limit` bytes as text (replacement characters for bytes that are not UTF-8)."""
    data = ledger.blob(digest)
    more = f"\n… {len(data) - limit} more bytes" if len(data) > limit else ""
    return data[:limit].decode("utf-8", errors="replace") + more
