"""The plan's success metrics (plan 7), computed from the ledger.

Every number is derived from signed entries, read by kind through the ledger's kind index
(`entries(kind=...)`), never by a scan of the whole history: onboarding, promotion, demotion and
evidence entries, plus the stored checkpoints. Each metric stands beside the plan's target with
met / not met, or "no data" while the ledger holds nothing to measure it by.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from gooseterm.ledger.store import Entry, Ledger
from gooseterm.ledger.verifier import NoteError, open_note, parse_checkpoint, parse_time

from .kinds import EntryKind
from .orgconfig import format_duration
from .promotions import PROMOTION

DAY = 86_400.0
MONTH = 365.25 / 12 * DAY
GB = 10**9
"""The plan's storage target is in GB (SI), not GiB."""
FAILED_ENDS = (EntryKind.PROMOTION_BLOCKED, EntryKind.PROMOTION_FAILED)
ENDS = (EntryKind.PROMOTION_PROMOTED, *FAILED_ENDS, EntryKind.PROMOTION_REJECTED, EntryKind.PROMOTION_EXPIRED)


@dataclass(frozen=True)
class Metric:
    """One success metric: its value beside the plan's target."""

    key: str
    title: str
    value: float | None
    """None when the ledger holds nothing to measure it by yet."""
    unit: str
    """`seconds`, `share` (0..1) or `bytes/month`."""
    target: str
    met: bool | None
    detail: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        """JSON form for --json."""
        return dict(self.__dict__)


def _metric(key: str, title: str, value: float | None, unit: str, target: str, ok: Callable[[float], bool], detail: dict) -> Metric:
    return Metric(key, title, value, unit, target, None if value is None else ok(value), detail)


@dataclass
class _Promotion:
    pid: str
    service: str
    requested: Entry
    ends: list[Entry] = field(default_factory=list)
    overridden: bool = False

    def first_end(self, kinds: tuple[str, ...] = ENDS) -> Entry | None:
        return next((e for e in self.ends if e.kind in kinds), None)


def _seconds(a: str, b: str) -> float:
    return (parse_time(b) - parse_time(a)).total_seconds()


def _promotions(ledger: Ledger) -> dict[str, _Promotion]:
    """Every promotion with its request entry and the entries that ended it, from one indexed
    range query over the `promotion.` kinds."""
    # promotion.requested is appended before the promotion id exists; the promotion projection
    # links the id to the request's seq.
    by_request = {p["requested_seq"]: pid for pid, p in ledger.projection_items(PROMOTION).items()}
    out: dict[str, _Promotion] = {}
    for e in ledger.entries(kind="promotion."):
        if e.kind == EntryKind.PROMOTION_REQUESTED:
            pid = by_request.get(e.seq)
            if pid is not None:
                out[pid] = _Promotion(pid, e.service or "", e)
        elif e.promotion in out:
            p = out[e.promotion]
            if e.kind == EntryKind.PROMOTION_OVERRIDDEN:
                p.overridden = True
            elif e.kind in ENDS:
                p.ends.append(e)
    return out


def compute(ledger: Ledger, initial: str = "sandbox", compliant: str = "compliant") -> list[Metric]:
    """Every plan-7 metric; `initial` and `compliant` are the org's state names."""
    promotions = _promotions(ledger)
    return [
        time_to_onboard(ledger, promotions, initial),
        first_promotion_success(promotions),
        evidence_automation(ledger),
        dependency_accuracy(ledger, promotions, compliant),
        false_positive_rate(promotions),
        evidence_chain_validation(ledger),
        Metric("mesh_latency", "Service mesh latency overhead", None, "seconds", "< 10 ms", None,
               {"note": "gooseterm runs no service mesh; measure this in the mesh's own telemetry"}),
        pipeline_p95(promotions),
        evidence_storage(ledger),
    ]


def time_to_onboard(ledger: Ledger, promotions: dict[str, _Promotion], initial: str) -> Metric:
    """service.onboarded to the first promotion out of the initial state, per service; the median."""
    first_step: dict[str, Entry] = {}
    for p in sorted(promotions.values(), key=lambda p: p.requested.seq):
        end = p.first_end((EntryKind.PROMOTION_PROMOTED,))
        if end is not None and p.requested.predicate.get("from_state") == initial:
            first_step.setdefault(p.service, end)
    per_service: dict[str, float | None] = {}
    for e in ledger.entries(kind=EntryKind.SERVICE_ONBOARDED):
        if e.service in per_service:
            continue
        done = first_step.get(e.service)
        per_service[e.service] = _seconds(e.time, done.time) if done and done.seq > e.seq else None
    durations = [s for s in per_service.values() if s is not None]
    value = statistics.median(durations) if durations else None
    detail = {"per_service_seconds": per_service, "onboarded": len(per_service), "promoted": len(durations)}
    return _metric("time_to_onboard", "Time to onboard a service (median)", value, "seconds", "< 1 day", lambda v: v < DAY, detail)


def first_promotion_success(promotions: dict[str, _Promotion]) -> Metric:
    """Share of services whose first promotion request ended promoted, never blocked, failed or
    overridden; a first request still open is not counted yet."""
    first: dict[str, _Promotion] = {}
    for p in sorted(promotions.values(), key=lambda p: p.requested.seq):
        first.setdefault(p.service, p)
    outcome: dict[str, str] = {}
    for service, p in sorted(first.items()):
        end = p.first_end()
        if end is None:
            outcome[service] = "open"
        elif end.kind == EntryKind.PROMOTION_PROMOTED and not p.overridden:
            outcome[service] = "promoted"
        else:
            outcome[service] = "overridden" if p.overridden else end.kind.removeprefix("promotion.")
    decided = [o for o in outcome.values() if o != "open"]
    ok = decided.count("promoted")
    value = ok / len(decided) if decided else None
    detail = {"succeeded": ok, "decided": len(decided), "first_outcome": outcome}
    return _metric("first_promotion_success", "First-promotion success rate", value, "share", "> 90%", lambda v: v > 0.9, detail)


def evidence_automation(ledger: Ledger) -> Metric:
    """Share of evidence entries an adapter collected (collector other than `cli`).

    The spec recorded at onboarding is left out: it is the service's definition, written by a
    person by design, so counting it would make the plan's 100% unreachable.
    """
    automated = manual = specs = 0
    by_collector: dict[str, int] = {}
    for e in ledger.entries(kind="evidence."):
        if e.kind == EntryKind.evidence("spec"):
            specs += 1
            continue
        collector = e.predicate.get("collector", "cli")  # evidence.external is appended by hand
        by_collector[collector] = by_collector.get(collector, 0) + 1
        if collector == "cli":
            manual += 1
        else:
            automated += 1
    total = automated + manual
    value = automated / total if total else None
    detail = {"automated": automated, "manual": manual, "by_collector": by_collector, "specs_not_counted": specs}
    return _metric("evidence_automation", "Evidence collection automated", value, "share", "100%", lambda v: v >= 1.0, detail)


def dependency_accuracy(ledger: Ledger, promotions: dict[str, _Promotion], compliant: str) -> Metric:
    """Share of promotions whose required dependencies (as recorded in the request) were all
    compliant at that seq, replaying states from promotion.promoted and service.demoted."""
    events: list[tuple[int, str, str, _Promotion | None]] = []
    for p in promotions.values():
        for e in p.ends:
            if e.kind == EntryKind.PROMOTION_PROMOTED:
                events.append((e.seq, p.service, e.predicate["to"], p))
    for e in ledger.entries(kind=EntryKind.SERVICE_DEMOTED):
        events.append((e.seq, e.service or "", e.predicate["to"], None))
    states: dict[str, str] = {}
    checked, wrong = 0, []
    for seq, service, to, p in sorted(events, key=lambda ev: ev[0]):
        if p is not None:
            required = p.requested.predicate.get("dependencies", {}).get("required", [])
            offenders = sorted(d for d in required if states.get(d) != compliant)
            checked += 1
            if offenders:
                wrong.append({"promotion": p.pid, "seq": seq, "not_compliant": offenders})
        states[service] = to
    value = (checked - len(wrong)) / checked if checked else None
    detail = {"promotions": checked, "with_dependencies_not_compliant": wrong}
    return _metric("dependency_accuracy", "Dependency resolution accuracy", value, "share", "100%", lambda v: v >= 1.0, detail)


def false_positive_rate(promotions: dict[str, _Promotion]) -> Metric:
    """Blocked or failed promotions that a person later overrode, over all blocked or failed."""
    stopped = [p for p in promotions.values() if p.first_end(FAILED_ENDS) is not None]
    overridden = sorted(p.pid for p in stopped if p.overridden)
    value = len(overridden) / len(stopped) if stopped else None
    detail = {"blocked_or_failed": len(stopped), "overridden": overridden}
    return _metric("false_positive_rate", "False positive rate (blocks later overridden)", value, "share", "< 0.1%", lambda v: v < 0.001, detail)


def pipeline_p95(promotions: dict[str, _Promotion]) -> Metric:
    """95th percentile (nearest rank) of promotion.requested to promotion.promoted, in seconds."""
    durations = sorted(
        _seconds(p.requested.time, end.time)
        for p in promotions.values()
        if (end := p.first_end((EntryKind.PROMOTION_PROMOTED,))) is not None
    )
    value = durations[max(0, -(-95 * len(durations) // 100) - 1)] if durations else None
    detail = {"promoted": len(durations), "median_seconds": statistics.median(durations) if durations else None}
    return _metric("pipeline_p95", "Promotion pipeline P95", value, "seconds", "< 30 min", lambda v: v < 1800, detail)


def evidence_storage(ledger: Ledger) -> Metric:
    """Evidence bytes per service per month: each service's evidence sizes over the months from
    its first evidence to the ledger's last entry (at least one); the value is the largest."""
    size = ledger.size()
    if size == 0:
        return _metric("evidence_storage", "Evidence storage growth (largest service)", None, "bytes/month", "< 1 GB/service/month", lambda v: v < GB, {})
    end = ledger.entry(size - 1).time
    totals: dict[str, int] = {}
    first: dict[str, str] = {}
    for e in ledger.entries(kind="evidence."):
        service = e.service or ""
        totals[service] = totals.get(service, 0) + int(e.predicate.get("size", 0))
        first.setdefault(service, e.time)
    rates = {s: totals[s] / max(1.0, _seconds(first[s], end) / MONTH) for s in totals}
    value = max(rates.values()) if rates else None
    detail = {"bytes": totals, "bytes_per_month": rates}
    return _metric("evidence_storage", "Evidence storage growth (largest service)", value, "bytes/month", "< 1 GB/service/month", lambda v: v < GB, detail)


def evidence_chain_validation(ledger: Ledger) -> Metric:
    """Share of stored checkpoints whose ledger signature verifies and whose root is the root
    the stored tree gives at that size (O(log n) each). `gooseterm verify` checks every entry."""
    good, bad = 0, []
    notes = ledger.checkpoints()
    for size, note in notes:
        try:
            opened, _ = open_note(note, [ledger.ledger_key])
            cp = parse_checkpoint(opened.text)
        except NoteError as exc:
            bad.append({"size": size, "problem": str(exc)})
            continue
        if cp.origin != ledger.origin or cp.size != size or cp.root != ledger.root(size):
            bad.append({"size": size, "problem": "root or size differs from the stored tree"})
        else:
            good += 1
    value = good / len(notes) if notes else None
    latest = notes[-1][0] if notes else None
    detail = {"checkpoints": len(notes), "latest_size": latest, "latest_ok": bool(notes) and not any(b["size"] == latest for b in bad),
              "entries_after_latest": ledger.size() - (latest or 0), "bad": bad}
    return _metric("evidence_chain_validation", "Evidence chain validation (checkpoints)", value, "share", "100%", lambda v: v >= 1.0, detail)


def format_value(m: Metric) -> str:
    """A metric's value for people: a duration, a percentage or a size."""
    if m.value is None:
        return "no data"
    if m.unit == "seconds":
        return format_duration(timedelta(seconds=round(m.value)))
    if m.unit == "share":
        return f"{m.value:.1%}"
    return f"{_size(m.value)}/month"


def _size(n: float) -> str:
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n:.0f} B"


def to_text(metrics: list[Metric]) -> str:
    """A table: metric, value, target, met."""
    rows = [(m.title, format_value(m), m.target, {True: "met", False: "NOT MET", None: "-"}[m.met]) for m in metrics]
    rows.insert(0, ("metric", "value", "target", ""))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    return "\n".join(f"{a:<{widths[0]}}  {b:<{widths[1]}}  {c:<{widths[2]}}  {d}".rstrip() for a, b, c, d in rows)
