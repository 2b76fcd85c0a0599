"""Runbooks (plan 3.6): guided remediation whose every step is a ledger entry.

A run walks the steps of a configured runbook for one service. Automatic steps run their action
when reached; manual steps run only once a person confirms them. Actions are registered by name,
like validators, and return a StepResult.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from gooseterm.adapters.files import find_evidence
from gooseterm.ledger.store import Draft

from . import cluster, mesh
from .errors import GoosetermError, Refusal
from .evidence import latest_evidence
from .gates import Result, evidence_chain_valid, signatures_verified
from .kinds import EntryKind
from .orgconfig import Runbook, RunbookStep
from .projections import RUNBOOK_RUN, run_id

PROMOTION_FAILURE = "promotion_failure"  # offered by a failed gate
COMPLIANCE_VIOLATION = "compliance_violation"  # offered by a demotion


@dataclass
class StepResult:
    """What a step found or did."""

    result: Result
    summary: str
    details: list[str] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)


Action = Callable[..., StepResult]
ACTIONS: dict[str, Action] = {}
APPLYING: dict[str, Callable[["object", str], str]] = {}
"""Actions that can change a cluster, with what applying would do (for the confirmation prompt).
They take `apply=True`, passed only after a person confirmed."""


def action(name: str, preview: Callable[["object", str], str] | None = None) -> Callable[[Action], Action]:
    """Register a runbook action under the name runbooks.yaml uses; `preview` if it can change a cluster."""

    def register(fn: Action) -> Action:
        ACTIONS[name] = fn
        if preview is not None:
            APPLYING[name] = preview
        return fn

    return register


@action("verify_dependencies")
def verify_dependencies(orch, service: str, run: dict) -> StepResult:
    """List each dependency with its state; fail when a required one is not compliant."""
    states = orch.states()
    check = orch.graph.validate_compliance_state(service, states, orch.org.states.compliant)
    details = [
        f"{d}: {states.get(d)}" + ("" if d in orch.graph.dependencies(service, required_only=True) else " (optional)")
        for d in orch.graph.dependencies(service)
    ]
    return StepResult(Result.PASS if check.ok else Result.FAIL, check.reason, details)


@action("check_evidence_chain")
def check_evidence_chain(orch, service: str, run: dict) -> StepResult:
    """Verify the entries, signatures and blobs of the service's latest evidence."""
    ctx = orch.context(service)
    outcomes = [evidence_chain_valid(ctx, {}), signatures_verified(ctx, {})]
    details = [o.reason for o in outcomes]
    bad_blobs = []
    for rec in ctx.evidence.values():
        try:
            orch.ledger.blob(rec.digest)
        except (KeyError, LookupError, ValueError) as exc:
            bad_blobs.append(f"{rec.kind}: {exc}")
    details += bad_blobs
    failed = bad_blobs or any(o.result != Result.PASS for o in outcomes)
    digests = [rec.digest for rec in ctx.evidence.values()]
    summary = "evidence chain broken" if failed else f"{len(digests)} evidence entries verify"
    return StepResult(Result.FAIL if failed else Result.PASS, summary, details, digests)


@action("validate_compliance_state")
def validate_compliance_state(orch, service: str, run: dict) -> StepResult:
    """A person confirms the recorded state matches what is deployed; records what they confirmed."""
    rec = orch.service(service)
    return StepResult(Result.PASS, f"{service} is recorded as {rec['state']}; confirmed by {orch.signer.name}")


def isolation_preview(orch, service: str) -> str:
    """What applying isolate_service does to the cluster."""
    policy = mesh.isolation_policy(orch.org, service)
    return f"apply {mesh.describe(policy)}, denying every request to {service}:\n{mesh.to_yaml([policy])}"


@action("isolate_service", preview=isolation_preview)
def isolate_service(orch, service: str, run: dict, apply: bool = False) -> StepResult:
    """Demote the service (if compliant) so its dependents are at risk and their promotions blocked, and
    render a DENY-all AuthorizationPolicy for it, applied to the cluster only when `apply` is True."""
    rec = orch.service(service)
    if rec["state"] != orch.org.states.compliant:
        summary = f"{service} is {rec['state']}, not compliant: nothing to demote"
    else:
        out = orch.demote(service, f"isolated by runbook run {run['id']}")
        summary = f"{service} demoted to {out.state}; dependents at risk: {', '.join(orch.graph.dependents(service, transitive=True)) or 'none'}"
    policy = mesh.isolation_policy(orch.org, service)
    details = [f"rendered {mesh.describe(policy)}: {mesh.to_yaml([policy]).strip()}"]
    if not apply:
        return StepResult(Result.PASS, f"{summary}; isolation policy rendered, not applied", details)
    try:
        with cluster.connect(orch.org) as client, cluster.cluster_errors():
            [(what, outcome)] = mesh.apply(client, [policy])
    except GoosetermError as exc:
        return StepResult(Result.ERROR, f"{summary}; applying the isolation policy failed: {exc}", details)
    details.append(f"applied {what} to {client.connection.server} ({client.connection.source}): {outcome}")
    return StepResult(Result.PASS, f"{summary}; {what} applied ({outcome})", details)


@action("collect_evidence")
def collect_evidence(orch, service: str, run: dict) -> StepResult:
    """Record the service's files from the local evidence source and, when a cluster is configured, a
    snapshot of its deployment facts (rollout, running digests), all in one batch."""
    items, sources, missing = [], [], []
    root = orch.org.local_evidence_dir()
    if root is None:
        missing.append("no local evidence source is configured (org.yaml evidence_sources)")
    else:
        found = find_evidence(root, service)
        if found:
            items += [(f.kind, f.data, str(f.path)) for f in found]
            sources.append("files")
        else:
            missing.append(f"no evidence files in {root / service}")
    if cluster.configured(orch.org):
        with cluster.connect(orch.org) as client, cluster.cluster_errors():
            items.append(cluster.snapshot_evidence(client, orch.org, service))
        sources.append("kubernetes")
    else:
        missing.append("no cluster is configured (org.yaml kubernetes.cluster)")
    if not items:
        return StepResult(Result.INCONCLUSIVE, "; ".join(missing))
    records, _ = orch.add_evidence_many(service, items, "+".join(sources))
    return StepResult(Result.PASS, f"recorded {len(records)} evidence items from {', '.join(sources)}",
                      [f"{r.kind}: {r.digest} (seq {r.seq})" for r in records] + missing, [r.digest for r in records])


@action("trigger_investigation")
def trigger_investigation(orch, service: str, run: dict) -> StepResult:
    """Open an incident entry naming the evidence collected so far and its owner."""
    digests = sorted({d for s in run["steps"] for d in s.get("evidence", [])} | {r.digest for r in latest_evidence(orch.ledger, service).values()})
    with orch.ledger.transaction() as txn:
        r = txn.append(Draft(EntryKind.INCIDENT_NOTE, {"service": service, "run": run["id"], "owner": orch.signer.name,
                                               "evidence": digests, "note": "investigation opened"}, service=service), [orch.signer])
    return StepResult(Result.PASS, f"investigation opened at seq {r.seq}, owned by {orch.signer.name}", evidence=digests)


def runbook_for(org, name: str):
    """The configured runbook, or a clear error naming the ones there are."""
    rb = org.runbooks.runbooks.get(name)
    if rb is None:
        raise GoosetermError(f"no runbook {name!r}; configured: {', '.join(org.runbooks.runbooks)}")
    return rb


def start_run(orch, name: str, service: str, reason: str = "") -> dict:
    """Record the start of a runbook run for a service and return its record."""
    rb = runbook_for(orch.org, name)
    orch.require_service(service)
    me = orch.actor()
    body = {"runbook": name, "title": rb.title, "service": service, "reason": reason, "started_by": me.name,
            "steps_total": len(rb.steps)}
    with orch.ledger.transaction() as txn:
        r = txn.append(Draft(EntryKind.RUNBOOK_STARTED, body, service=service), [me])
    return get_run(orch, run_id(name, service, r.seq))


def get_run(orch, rid: str) -> dict:
    """A run's record."""
    run = orch.ledger.projection(RUNBOOK_RUN, rid)
    if run is None:
        raise GoosetermError(f"no runbook run {rid!r}")
    return run


def runs(orch, service: str | None = None) -> list[dict]:
    """Runbook runs, newest first."""
    items = sorted(orch.ledger.projection_items(RUNBOOK_RUN).values(), key=lambda r: -r["started_seq"])
    return [r for r in items if service is None or r["service"] == service]


def pending_step(runbook: Runbook, taken: int) -> RunbookStep | None:
    """The step of `runbook` after `taken` steps, or None when every step is taken."""
    return runbook.steps[taken] if taken < len(runbook.steps) else None


def next_step(orch, run: dict) -> RunbookStep | None:
    """The next step to take, or None when the run is complete."""
    return pending_step(runbook_for(orch.org, run["runbook"]), len(run["steps"]))


def take_step(orch, rid: str, confirmed: bool = False, apply: bool = False) -> tuple[dict, StepResult]:
    """Take the run's next step: automatic steps run; manual ones need `confirmed`. Recorded either way it runs.

    `apply` lets an action that can change a cluster (isolate_service) do so; it needs `confirmed`.
    """
    run = get_run(orch, rid)
    step = next_step(orch, run)
    if step is None:
        raise Refusal(f"runbook run {rid} is complete")
    if not step.automatic and not confirmed:
        raise Refusal(f"step {len(run['steps']) + 1} ({step.title}) is manual: confirm it to proceed")
    if apply and step.action not in APPLYING:
        raise Refusal(f"step {len(run['steps']) + 1} ({step.title}) changes no cluster: there is nothing to apply")
    if apply and not confirmed:
        raise Refusal(f"step {len(run['steps']) + 1} ({step.title}) applies to the cluster only once confirmed")
    fn = ACTIONS.get(step.action)
    if fn is None:
        result = StepResult(Result.ERROR, f"no action named {step.action!r} is registered")
    else:
        try:
            result = fn(orch, run["service"], run, apply=True) if apply else fn(orch, run["service"], run)
        except Exception as exc:  # a failing action is recorded as an error, never skipped
            result = StepResult(Result.ERROR, f"{step.action} failed: {exc}")
    me = orch.actor()
    body = {"run": rid, "index": len(run["steps"]), "title": step.title, "action": step.action, "automatic": step.automatic,
            "confirmed_by": None if step.automatic else me.name, "result": str(result.result), "summary": result.summary,
            "details": result.details, "evidence": result.evidence}
    with orch.ledger.transaction() as txn:
        if len(txn.projection(RUNBOOK_RUN, rid)["steps"]) != body["index"]:
            raise Refusal(f"step {body['index'] + 1} of {rid} was taken by someone else meanwhile")
        txn.append(Draft(EntryKind.RUNBOOK_STEP, body, service=run["service"]), [me])
        current = txn.projection(RUNBOOK_RUN, rid)
    return current, result
