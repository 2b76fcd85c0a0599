"""Gates and rules: validators registered by name, bound by YAML, evaluated fail-closed.

A validator reads only what the context hands it (latest evidence, states, the ledger) and
returns an Outcome naming the evidence digests it read. Missing evidence fails; an exception in
a validator is an `error` result, never a pass.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from gooseterm.ledger.verifier import (
    chain_hash,
    ed25519_verify,
    leaf_hash,
    parse_envelope,
    parse_vkey,
    parse_time,
    row_message,
    verify_envelope,
)

from .evidence import EvidenceRecord
from .mesh import manifests_digest, service_manifests
from .orgconfig import Gate, GateType, OrgConfig, Rule, parse_duration


class Result(StrEnum):
    """A gate's verdict. Anything but pass or warn stops a blocking gate."""

    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"
    ERROR = "error"


# Worst first: a rule reports the worst of its checks.
_SEVERITY = {Result.PASS: 0, Result.WARN: 1, Result.INCONCLUSIVE: 2, Result.FAIL: 3, Result.ERROR: 4}


def worst(results: list[Result]) -> Result:
    """The most severe result (pass for an empty list)."""
    return max(results, key=_SEVERITY.__getitem__, default=Result.PASS)


@dataclass(frozen=True)
class Outcome:
    """What one validator concluded, why, and which evidence it read."""

    result: Result
    reason: str
    evidence: tuple[str, ...] = ()
    details: dict | None = None
    """Structured findings recorded with the result (the performance gate's score per objective)."""


@dataclass
class GateContext:
    """Everything a validator may read."""

    service: str
    org: OrgConfig
    graph: "object"
    states: dict[str, str]
    evidence: dict[str, EvidenceRecord]
    ledger: "object"
    now: datetime
    approvals: "object | None" = None
    accepted_breaks: frozenset[tuple[str, str]] = frozenset()
    sources: "object | None" = None
    """The live sources' circuit breakers (breaker.SourceHealth), when the caller keeps them."""
    target: str | None = None
    """The state the service is being promoted (or planned) to."""


Validator = Callable[[GateContext, dict], Outcome]
VALIDATORS: dict[str, Validator] = {}


def validator(name: str) -> Callable[[Validator], Validator]:
    """Register a validator under the name that rules.yaml binds."""

    def register(fn: Validator) -> Validator:
        VALIDATORS[name] = fn
        return fn

    return register


def _need(ctx: GateContext, kind: str, source: str | None = None) -> EvidenceRecord | Outcome:
    rec = ctx.evidence.get(kind)
    if rec is None:
        return Outcome(Result.FAIL, f"no {kind} evidence recorded (gooseterm evidence add --service {ctx.service} --kind {kind} FILE)")
    return _cut_off(ctx, rec, source or rec.collector) or rec


def _cut_off(ctx: GateContext, rec: EvidenceRecord, source: str) -> Outcome | None:
    """Inconclusive when the source the evidence depends on is cut off: an old fact must not pass silently."""
    why = ctx.sources.cut_off(source) if ctx.sources is not None else None
    if why is None:
        return None
    from .breaker import age_text

    age = age_text((ctx.now - parse_time(rec.time)).total_seconds())
    return Outcome(Result.INCONCLUSIVE, f"{why}; the last good {rec.kind} fact is {age} old (seq {rec.seq}, {rec.time})", (rec.digest,))


@validator("all_tests_passing")
def all_tests_passing(ctx: GateContext, params: dict) -> Outcome:
    """The latest JUnit report has at least one test and no failures or errors."""
    rec = _need(ctx, "junit")
    if isinstance(rec, Outcome):
        return rec
    f = rec.facts
    ev = (rec.digest,)
    if f["tests"] == 0:
        return Outcome(Result.FAIL, "the test report holds zero tests", ev)
    if f["failed"] or f["errors"]:
        first = ", ".join(c["id"] for c in f.get("failures", [])[:3])
        return Outcome(Result.FAIL, f"{f['failed']} failed, {f['errors']} errors of {f['tests']} tests" + (f" ({first})" if first else ""), ev)
    return Outcome(Result.PASS, f"{f['passed']} of {f['tests']} tests passed ({f['skipped']} skipped)", ev)


@validator("sast_results_clean")
def sast_results_clean(ctx: GateContext, params: dict) -> Outcome:
    """The latest SARIF run succeeded with no error-level findings (warnings within max_warnings)."""
    rec = _need(ctx, "sarif")
    if isinstance(rec, Outcome):
        return rec
    f, ev = rec.facts, (rec.digest,)
    if not f["execution_successful"]:
        why = "; ".join(f["notes"]) or "executionSuccessful is false"
        return Outcome(Result.FAIL, f"the static analysis run did not succeed: {why}", ev)
    errors, warnings = f["by_level"].get("error", 0), f["by_level"].get("warning", 0)
    if errors:
        return Outcome(Result.FAIL, f"{errors} error-level findings ({f['suppressed']} suppressed findings not counted)", ev)
    max_warnings = params.get("max_warnings")
    if max_warnings is not None and warnings > max_warnings:
        return Outcome(Result.WARN, f"{warnings} warnings, more than {max_warnings}", ev)
    return Outcome(Result.PASS, f"no error-level findings ({warnings} warnings, {f['suppressed']} suppressed)", ev)


@validator("test_coverage_threshold")
def test_coverage_threshold(ctx: GateContext, params: dict) -> Outcome:
    """Line coverage (0..1, whatever the report's format) at or above min_line_rate."""
    rec = _need(ctx, "coverage")
    if isinstance(rec, Outcome):
        return rec
    minimum = _rate_param(params, "min_line_rate", 0.8)
    rate = rec.facts["line_rate"]
    ev = (rec.digest,)
    if rate < minimum:
        return Outcome(Result.FAIL, f"line coverage {rate:.1%} is below {minimum:.0%}", ev)
    return Outcome(Result.PASS, f"line coverage {rate:.1%} (minimum {minimum:.0%})", ev)


def _rate_param(params: dict, name: str, default: float) -> float:
    """A 0..1 rate parameter from rules.yaml; anything else (a string, a bool, .nan, which would
    make every comparison false and so pass) raises, and the gate errors, failing closed."""
    value = params.get(name, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ValueError(f"parameter {name}={value!r:.40} is not a number from 0 to 1")
    return float(value)


@validator("performance_baseline_met")
def performance_baseline_met(ctx: GateContext, params: dict) -> Outcome:
    """The latest metrics scored against rules.yaml's `slo` objectives (performance.py), Keptn style."""
    from .performance import performance_gate

    rec = ctx.evidence.get("metrics")
    if rec is not None:
        cut = _cut_off(ctx, rec, "prometheus" if ctx.org.org.evidence_sources.prometheus else rec.collector)
        if cut is not None:
            return cut
    return performance_gate(ctx, params)


@validator("evidence_collected")
def evidence_collected(ctx: GateContext, params: dict) -> Outcome:
    """Every evidence kind in `kinds` (default junit, sarif, coverage, metrics) is recorded."""
    kinds = params.get("kinds") or ["junit", "sarif", "coverage", "metrics"]
    missing = [k for k in kinds if k not in ctx.evidence]
    digests = tuple(ctx.evidence[k].digest for k in kinds if k in ctx.evidence)
    if missing:
        return Outcome(Result.FAIL, f"missing evidence: {', '.join(missing)}", digests)
    return Outcome(Result.PASS, f"{', '.join(kinds)} recorded", digests)


@validator("dependencies_compliant")
def dependencies_compliant(ctx: GateContext, params: dict) -> Outcome:
    """Every required dependency is compliant; optional ones that are not only warn."""
    check = ctx.graph.validate_compliance_state(ctx.service, ctx.states, ctx.org.states.compliant)
    reviewed = [o.dependency for o in check.blocking if (ctx.service, o.dependency) in ctx.accepted_breaks]
    if len(reviewed) < len(check.blocking):
        return Outcome(Result.FAIL, check.reason)
    if reviewed:  # a cycle edge with a recorded review does not block; say so
        return Outcome(Result.WARN, f"{check.reason} (cycle break reviewed for {', '.join(reviewed)})")
    if check.warnings:
        return Outcome(Result.WARN, check.reason)
    return Outcome(Result.PASS, check.reason)


@validator("approved_promotion")
def approved_promotion(ctx: GateContext, params: dict) -> Outcome:
    """The approval policy is met (evaluated by the approvals module; a person decides)."""
    if ctx.approvals is None:
        policy = ctx.org.approvals.policy_for(ctx.service, ctx.target) if ctx.target else None
        if ctx.target and policy is None:
            return Outcome(Result.PASS, "no approval policy applies")
        return Outcome(Result.INCONCLUSIVE, f"needs {policy.required} approvals" if policy else "waiting for approvals")
    status = ctx.approvals
    return Outcome(Result.PASS if status.met else Result.INCONCLUSIVE, status.reason)


@validator("mesh_policy_enforced")
def mesh_policy_enforced(ctx: GateContext, params: dict) -> Outcome:
    """The latest `gooseterm mesh check` found the service's policy in the cluster exactly as rendered
    from the current graph and mesh settings, no older than `max_age` (e.g. "24h") if given."""
    rec = ctx.evidence.get("mesh")
    if rec is None:
        return Outcome(Result.FAIL, f"no mesh evidence recorded (gooseterm mesh check --service {ctx.service})")
    f, ev = rec.facts, (rec.digest,)
    expected = manifests_digest(service_manifests(ctx.org, ctx.graph, ctx.service))
    if f["rendered_digest"] != expected:
        return Outcome(Result.FAIL, "the graph or mesh settings changed since the last mesh check: render, apply and "
                                    "check again", ev)
    if params.get("max_age"):
        age = ctx.now - parse_time(rec.time)
        if age > parse_duration(params["max_age"]):
            return Outcome(Result.FAIL, f"the last mesh check ({rec.time}) is older than {params['max_age']}", ev)
    if not f["clean"]:
        shown = "; ".join(f"{d['change']} {d['kind']} {d['namespace']}/{d['name']}: {d['detail']}" for d in f["drift"][:3])
        more = f" (and {len(f['drift']) - 3} more)" if len(f["drift"]) > 3 else ""
        return Outcome(Result.FAIL, f"{len(f['drift'])} differences from the rendered policy: {shown}{more}", ev)
    return Outcome(Result.PASS, f"the cluster enforces the rendered policy ({len(f['objects'])} objects, checked "
                                f"{rec.time})", ev)


def _evidence_rows(ctx: GateContext) -> list:
    return [ctx.ledger.entry(rec.seq) for rec in ctx.evidence.values()]


@validator("evidence_chain_valid")
def evidence_chain_valid(ctx: GateContext, params: dict) -> Outcome:
    """Each evidence entry's leaf hash, chain link and row signature verify."""
    ledger = ctx.ledger
    ev = tuple(rec.digest for rec in ctx.evidence.values())
    if not ctx.evidence:
        return Outcome(Result.FAIL, "no evidence to check", ev)
    for e in _evidence_rows(ctx):
        prev = ledger.entry(e.seq - 1).chain if e.seq else bytes(32)
        if leaf_hash(e.leaf) != e.leaf_hash or chain_hash(prev, e.leaf_hash) != e.chain:
            return Outcome(Result.FAIL, f"entry {e.seq} does not match its hash chain", ev)
        if not ed25519_verify(ledger.ledger_key.public_key, e.row_sig, row_message(ledger.origin, e.seq, e.chain)):
            return Outcome(Result.FAIL, f"entry {e.seq} has a bad ledger signature", ev)
    return Outcome(Result.PASS, f"{len(ctx.evidence)} evidence entries chain and verify", ev)


@validator("signatures_verified")
def signatures_verified(ctx: GateContext, params: dict) -> Outcome:
    """Each evidence statement is signed by a key the ledger trusted at that seq."""
    ev = tuple(rec.digest for rec in ctx.evidence.values())
    if not ctx.evidence:
        return Outcome(Result.FAIL, "no evidence to check", ev)
    keys = ctx.ledger.keys()
    for e in _evidence_rows(ctx):
        trusted = {k: parse_vkey(r.vkey).public_key for k, r in keys.items() if r.valid_at(e.seq)}
        try:
            verify_envelope(parse_envelope(e.record["envelope"]), trusted)
        except ValueError as exc:
            return Outcome(Result.FAIL, f"entry {e.seq}: {exc}", ev)
    return Outcome(Result.PASS, f"{len(ctx.evidence)} evidence statements signed by trusted keys", ev)


class Verdict:
    """What a gate's type and result mean for its transition, for a result just evaluated
    (GateResult) and for one read back from the ledger (GateRecord) alike."""

    type: GateType
    result: Result

    @property
    def blocks(self) -> bool:
        """True when this result stops the transition (blocking and not pass/warn)."""
        return self.type == GateType.BLOCKING and self.result not in (Result.PASS, Result.WARN)

    @property
    def holds(self) -> bool:
        """True when the transition cannot complete without this gate: it blocks, or it is a
        manual gate not yet passed. An override bypasses exactly these."""
        return self.blocks or (self.type == GateType.MANUAL and self.result != Result.PASS)


@dataclass
class GateResult(Verdict):
    """One gate or rule evaluated: its type, verdict, reason, checks and evidence read."""

    name: str
    type: GateType
    result: Result
    reason: str
    checks: list[dict] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    duration_ms: float | None = None

    def to_json(self) -> dict:
        """JSON form, as recorded in the ledger."""
        return {"gate": self.name, "type": str(self.type), "result": str(self.result), "reason": self.reason,
                "checks": self.checks, "evidence": self.evidence, "duration_ms": self.duration_ms}


@dataclass(frozen=True)
class GateRecord(Verdict):
    """A gate result as the ledger recorded it for a promotion (`GateResult.to_json` plus its seq)."""

    name: str
    type: GateType
    result: Result
    reason: str
    seq: int | None = None
    """The gate.result entry (None in a gate list that was never recorded)."""
    checks: tuple[dict, ...] = ()
    evidence: tuple[str, ...] = ()
    duration_ms: float | None = None

    @classmethod
    def from_json(cls, data: dict) -> GateRecord:
        """Parse one entry of a promotion projection's `gates`."""
        return cls(data["gate"], GateType(data["type"]), Result(data["result"]), data["reason"], data.get("seq"),
                   tuple(data.get("checks", ())), tuple(data.get("evidence", ())), data.get("duration_ms"))

    def to_json(self) -> dict:
        """The JSON it was parsed from (for --json)."""
        return {"gate": self.name, "type": str(self.type), "result": str(self.result), "reason": self.reason,
                "checks": list(self.checks), "evidence": list(self.evidence), "duration_ms": self.duration_ms, "seq": self.seq}


def run_validator(name: str, ctx: GateContext, params: dict) -> Outcome:
    """Run one registered validator; an unknown name or an exception is an `error`, never a pass."""
    fn = VALIDATORS.get(name)
    if fn is None:
        return Outcome(Result.ERROR, f"no validator named {name!r} is registered")
    try:
        return fn(ctx, params)
    except Exception as exc:  # a broken validator must fail closed
        return Outcome(Result.ERROR, f"{name} raised {type(exc).__name__}: {exc}")


timer = time.perf_counter
"""Seconds for gate durations (a seam: tests freeze it when two ledgers must come out byte-identical)."""


def evaluate(requirement: Gate | Rule, ctx: GateContext) -> GateResult:
    """Run a gate (one validator) or a rule (several checks); exceptions become `error`. Timed."""
    started = timer()
    checks, results, evidence = [], [], []
    for check in requirement.checks:
        outcome = run_validator(check.validator, ctx, dict(check.params))
        checks.append({"validator": check.validator, "result": str(outcome.result), "reason": outcome.reason,
                       **({"details": outcome.details} if outcome.details else {})})
        results.append(outcome.result)
        evidence += [d for d in outcome.evidence if d not in evidence]
    result = worst(results)
    if len(checks) == 1:
        reason = checks[0]["reason"]
    else:
        reason = "; ".join(f"{c['validator']}: {c['reason']}" for c in checks if c["result"] == str(result))
    duration_ms = round((timer() - started) * 1000, 3)
    return GateResult(requirement.name, requirement.type, result, reason, checks, evidence, duration_ms)


def evaluate_transition(org: OrgConfig, source: str, target: str, ctx: GateContext) -> list[GateResult]:
    """Evaluate every gate and rule of a transition, in config order."""
    transition = org.states.transition(source, target)
    if transition is None:
        return []
    return [evaluate(org.rules.requirement(name), ctx) for name in transition.requirements]
