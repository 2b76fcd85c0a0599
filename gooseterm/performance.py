"""The performance gate: score the latest metrics against the SLO objectives, Keptn style.

Each objective scores its weight when all criteria of one pass group hold, half its weight when a
warning group holds, else 0; the total is the share of the scored weights, compared with the pass
and warning thresholds. A failing key SLI fails everything. Relative criteria compare with the
baseline: the metrics evidence in force when the service was last promoted to compliant, found in
the ledger (the newest `promotion.promoted` to the compliant state, then the newest
`evidence.metrics` before it). No data follows the explicit policy (default fail); NaN and Inf fail.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from gooseterm.adapters.metrics import sample_value
from gooseterm.ledger.verifier import parse_time

from .gates import GateContext, Outcome, Result
from .kinds import EntryKind
from .orgconfig.sloconfig import Criterion, Objective, Slo

HALF = 0.5  # a warning scores half the weight (Keptn)


@dataclass(frozen=True)
class Baseline:
    """The metric values of the service's last compliant promotion."""

    values: dict[str, float]
    seq: int
    digest: str
    promoted_seq: int


def _float(value) -> float:
    if isinstance(value, str):
        number = sample_value(value)
        return math.nan if number is None else number
    return float(value)


def _json_number(value: float | None) -> float | str | None:
    """Numbers as JSON can hold them: NaN and Inf as Prometheus writes them."""
    if value is None or math.isfinite(value):
        return value
    return "NaN" if math.isnan(value) else ("+Inf" if value > 0 else "-Inf")


def compliant_baseline(ledger, service: str, compliant_state: str) -> Baseline | None:
    """The metrics evidence in force at the service's last promotion to the compliant state."""
    promoted = next((e for e in ledger.entries(service=service, kind=EntryKind.PROMOTION_PROMOTED, newest_first=True)
                     if e.predicate.get("to") == compliant_state), None)
    if promoted is None:
        return None
    for entry in ledger.entries(service=service, kind=EntryKind.evidence("metrics"), newest_first=True):
        if entry.seq < promoted.seq:
            p = entry.predicate
            values = {k: _float(v) for k, v in p["facts"]["values"].items()}
            return Baseline(values, entry.seq, p["digest"], promoted.seq)
    return None


def _groups(groups: list[list[Criterion]], value: float, baseline: float | None, missing: str) -> tuple[bool, list]:
    """Whether any group holds entirely, with every criterion's outcome."""
    shown, met_any = [], False
    for group in groups:
        rows, met = [], True
        for c in group:
            holds = c.holds(value, baseline)
            if holds is None:
                holds = missing == "pass"
                rows.append({"criterion": c.text, "threshold": None, "met": holds, "note": "no compliant baseline yet"})
            else:
                rows.append({"criterion": c.text, "threshold": _json_number(c.threshold(baseline)), "met": holds})
            met = met and holds
        shown.append(rows)
        met_any = met_any or met
    return met_any, shown


def score_objective(slo: Slo, o: Objective, value: float | None, why_none: str, baseline: float | None) -> dict:
    """One objective's status (pass, warning, fail, ignored, info), score and criteria outcomes."""
    row = {"sli": o.sli, "display_name": o.display_name, "value": _json_number(value), "baseline": _json_number(baseline),
           "weight": o.weight, "key_sli": o.key_sli, "score": 0.0}
    if value is None:
        policy = o.no_data or slo.no_data
        status = {"fail": "fail", "warn": "warning", "ignore": "ignored"}[policy]
        score = {"fail": 0.0, "warn": o.weight * HALF, "ignore": 0.0}[policy]
        return {**row, "status": status, "score": score, "reason": f"no data ({why_none}); no_data policy: {policy}"}
    if not math.isfinite(value):
        return {**row, "status": "fail", "reason": f"value is {_json_number(value)}: not a finite number"}
    if not o.pass_:
        return {**row, "status": "info", "reason": "informative: no pass criteria, not scored"}
    passed, pass_rows = _groups(o.pass_, value, baseline, slo.missing_baseline)
    warned, warn_rows = _groups(o.warning, value, baseline, slo.missing_baseline)
    row["criteria"] = {"pass": pass_rows, "warning": warn_rows}
    if passed:
        return {**row, "status": "pass", "score": float(o.weight), "reason": f"{value:g} meets pass"}
    if warned:
        return {**row, "status": "warning", "score": o.weight * HALF, "reason": f"{value:g} misses pass, meets warning"}
    unmet = [r["criterion"] for g in pass_rows for r in g if not r["met"]]
    return {**row, "status": "fail", "reason": f"{value:g} misses {', '.join(unmet)}"}


def evaluate_slo(slo: Slo, values: dict[str, float], no_data: dict[str, str], baseline: Baseline | None) -> tuple[Result, str, dict]:
    """Score every objective and the total: (result, reason, details for the gate result)."""
    rows = [score_objective(slo, o, values.get(o.sli), no_data.get(o.sli, "not in the metrics evidence"),
                            baseline.values.get(o.sli) if baseline else None) for o in slo.objectives]
    scored = [r for r in rows if r["status"] not in ("ignored", "info")]
    maximum = sum(r["weight"] for r in scored)
    achieved = sum(r["score"] for r in scored)
    key_failed = [r["sli"] for r in rows if r["key_sli"] and r["status"] == "fail"]
    pct = 100.0 * achieved / maximum if maximum else None
    thresholds = {"pass": slo.total_score.pass_, "warning": slo.total_score.warning}
    if pct is None:
        result, head = Result.INCONCLUSIVE, "no objective could be scored (all ignored or informative)"
    elif key_failed:
        result, head = Result.FAIL, f"key SLI {', '.join(key_failed)} failed (score {pct:.1f}%)"
    elif pct >= thresholds["pass"]:
        result, head = Result.PASS, f"score {pct:.1f}% (pass at {thresholds['pass']:g}%)"
    elif pct >= thresholds["warning"]:
        result, head = Result.WARN, f"score {pct:.1f}%, below pass {thresholds['pass']:g}%, at least warning {thresholds['warning']:g}%"
    else:
        result, head = Result.FAIL, f"score {pct:.1f}%, below warning {thresholds['warning']:g}%"
    worst_first = sorted(rows, key=lambda r: ["fail", "warning", "pass", "ignored", "info"].index(r["status"]))
    reason = head + ": " + "; ".join(f"{r['sli']} {r['status']} ({r['reason']})" for r in worst_first)
    details = {"score": None if pct is None else round(pct, 3), "achieved": achieved, "maximum": maximum,
               "total_score": thresholds, "key_sli_failed": key_failed, "objectives": rows,
               "baseline": {"seq": baseline.seq, "digest": baseline.digest, "promoted_seq": baseline.promoted_seq} if baseline else None}
    return result, reason, details


def performance_gate(ctx: GateContext, params: dict) -> Outcome:
    """The validator behind `performance_baseline_met`."""
    rec = ctx.evidence.get("metrics")
    if rec is None:
        return Outcome(Result.FAIL, f"no metrics evidence recorded (gooseterm collect --service {ctx.service} --source prometheus)")
    facts, ev = rec.facts, (rec.digest,)
    slo = ctx.org.rules.slo
    if slo is None:
        if facts["non_finite"]:
            return Outcome(Result.FAIL, f"metrics not finite: {', '.join(facts['non_finite'])}", ev)
        return Outcome(Result.PASS, f"{len(facts['values'])} metrics recorded, all finite; no objectives configured (rules.yaml slo)", ev)
    if slo.max_age is not None:
        age = ctx.now - parse_time(rec.time)
        if age > slo.max_age:
            return Outcome(Result.FAIL, f"the latest metrics (seq {rec.seq}, {rec.time}) are older than max_age", ev)
    values = {k: _float(v) for k, v in facts["values"].items()}
    baseline = compliant_baseline(ctx.ledger, ctx.service, ctx.org.states.compliant)
    result, reason, details = evaluate_slo(slo, values, facts.get("no_data") or {}, baseline)
    return Outcome(result, reason, ev + ((baseline.digest,) if baseline and baseline.digest != rec.digest else ()), details)
