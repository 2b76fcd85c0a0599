"""Orchestration commands: services, plan, promote, approve, reject, override, demote, status, evidence."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from gooseterm.adapters.kinds import EVIDENCE_KINDS

from ..errors import EXIT_REFUSED, GoosetermError
from . import Context, emit, json_option, main, pass_ctx, read_input
from .params import WholeNumber
from .mesh_cmds import cluster_options, collect_kubernetes, confirm_apply

if TYPE_CHECKING:
    from ..promotions import CommandResult


def _exit_for(outcomes: list[CommandResult]) -> None:
    """Exit 1 when any outcome is blocked, refused, failed or otherwise short of done."""
    from ..statuses import FAILED_STATUSES

    if any(o.status in (*FAILED_STATUSES, "refused", "waiting", "would block") for o in outcomes):
        sys.exit(EXIT_REFUSED)


def _outcome_text(o: CommandResult) -> str:
    head = f"{o.service}: {o.status}" + (f" ({o.promotion})" if o.promotion else "") + (f", now {o.state}" if o.state else "")
    lines = [head]
    for g in o.gates:
        lines.append(f"  {g.result:<12} {g.name:<22} {g.reason}")
    lines += [f"  - {r}" for r in o.reasons]
    return "\n".join(lines)


@main.command()
@json_option
@pass_ctx
def services(ctx: Context, as_json: bool):
    """List services with their state and dependencies."""
    orch = ctx.workspace.orchestrator()
    states = orch.states()
    rows = [
        {"service": s, "state": states[s], "dependencies": orch.graph.dependencies(s),
         "required": orch.graph.dependencies(s, required_only=True), "dependents": orch.graph.dependents(s),
         "onboarded": orch.service(s)["onboarded_seq"] is not None}
        for s in sorted(orch.org.services)
    ]
    emit(as_json, rows, lambda: "\n".join(
        f"{r['service']:<16} {r['state']:<18} depends on: {', '.join(d + ('' if d in r['required'] else ' (optional)') for d in r['dependencies']) or '-'}"
        for r in rows))


@main.command()
@click.argument("services", nargs=-1)
@click.option("--to", "target", required=True, help="Target state, e.g. compliant.")
@json_option
@pass_ctx
def plan(ctx: Context, services: tuple[str, ...], target: str, as_json: bool):
    """Show the promotion order in dependency waves, with predicted blockers. Writes nothing."""
    waves = ctx.workspace.orchestrator().plan(services or None, target)

    def text() -> str:
        lines = []
        for n, wave in enumerate(waves, 1):
            lines.append(f"wave {n}:")
            for i in wave:
                steps = " -> ".join([i["state"], *i["steps"]]) if i["steps"] else f"{i['state']} (already there)"
                lines.append(f"  {i['service']:<16} {steps}")
                lines += [f"      blocked by {b}" for b in i["blockers"]]
        return "\n".join(lines)

    emit(as_json, {"target": target, "waves": waves}, text)


@main.command()
@click.argument("service", required=False)
@click.option("--all", "all_services", is_flag=True, help="Every service, in dependency waves.")
@click.option("--to", "target", required=True, help="Target state.")
@click.option("--dry-run", is_flag=True, help="Evaluate and print what would happen; write nothing.")
@json_option
@pass_ctx
def promote(ctx: Context, service: str | None, all_services: bool, target: str, dry_run: bool, as_json: bool):
    """Request promotion of SERVICE (or --all) to a state; gates run and every refusal is explained.

    With --all, a blocked service stops its dependents, never its siblings.
    """
    if bool(service) == all_services:
        raise GoosetermError("name one SERVICE or pass --all")
    orch = ctx.workspace.orchestrator(write=not dry_run)
    if all_services or dry_run:
        outcomes = orch.promote_many([service] if service else None, target, dry_run=dry_run)
    else:
        outcomes = [orch.request(service, target)]
    emit(as_json, [o.to_json() for o in outcomes], lambda: "\n".join(_outcome_text(o) for o in outcomes))
    _exit_for(outcomes)


@main.command()
@click.argument("promotion_id")
@json_option
@pass_ctx
def approve(ctx: Context, promotion_id: str, as_json: bool):
    """Approve a promotion with your own key, bound to the evidence it was requested with."""
    out = ctx.workspace.orchestrator(write=True).approve(promotion_id)
    emit(as_json, out.to_json(), lambda: _outcome_text(out))
    _exit_for([out])


@main.command()
@click.argument("promotion_id")
@click.option("--reason", required=True, help="Why (recorded).")
@json_option
@pass_ctx
def reject(ctx: Context, promotion_id: str, reason: str, as_json: bool):
    """Reject a promotion awaiting approval."""
    out = ctx.workspace.orchestrator(write=True).reject(promotion_id, reason)
    emit(as_json, out.to_json(), lambda: _outcome_text(out))


@main.command()
@click.argument("promotion_id")
@click.option("--reason", required=True, help="Why the policy is bypassed (recorded, visible in every export).")
@json_option
@pass_ctx
def override(ctx: Context, promotion_id: str, reason: str, as_json: bool):
    """Break glass: an admin promotes despite missing approvals or failed gates."""
    out = ctx.workspace.orchestrator(write=True).override(promotion_id, reason)
    emit(as_json, out.to_json(), lambda: _outcome_text(out))


@main.command()
@click.argument("service")
@click.option("--reason", required=True, help="The violation (recorded).")
@json_option
@pass_ctx
def demote(ctx: Context, service: str, reason: str, as_json: bool):
    """Demote a compliant service; its dependents become at risk and their promotions blocked."""
    out = ctx.workspace.orchestrator(write=True).demote(service, reason)
    emit(as_json, out.to_json(), lambda: _outcome_text(out))


@main.command()
@click.argument("service", required=False)
@json_option
@pass_ctx
def status(ctx: Context, service: str | None, as_json: bool):
    """State, blockers with reasons, pending approvals and at-risk dependents."""
    from ..status import service_status

    orch = ctx.workspace.orchestrator()
    names = [service] if service else sorted(orch.org.services)
    rows = [service_status(orch, s) for s in names]

    def text() -> str:
        lines = []
        for r in rows:
            risk = f"  AT RISK ({'; '.join(r.at_risk.values())})" if r.at_risk else ""
            lines.append(f"{r.service:<16} {r.state}{risk}")
            for b in r.blockers:
                lines.append(f"    blocker: {b}")
            for p in r.pending_approvals:
                lines.append(f"    awaiting approval: {p.id} -> {p.to}: {p.waiting_for} (expires {p.expires_at[:16]})")
            if r.next:
                lines.append(f"    next: {r.next}")
        return "\n".join(lines)

    emit(as_json, [r.to_json() for r in rows] if service is None else rows[0].to_json(), text)


@main.group()
def evidence():
    """Record or inspect evidence files (JUnit, SARIF, coverage, metrics, spec)."""


@evidence.command("parse")
@click.option("--kind", type=click.Choice(EVIDENCE_KINDS), required=True)
@click.argument("file")
@json_option
def evidence_parse(kind: str, file: str, as_json: bool):
    """Print the facts gooseterm reads from FILE, touching no ledger."""
    from gooseterm.adapters.evidence import parse_evidence

    facts = parse_evidence(kind, read_input(file), file).model_dump(mode="json")
    emit(as_json, facts, lambda: "\n".join(f"{k}: {v}" for k, v in facts.items() if k not in ("failures", "notes")))


@evidence.command("add")
@click.option("--service", required=True)
@click.option("--kind", type=click.Choice(EVIDENCE_KINDS), required=True)
@click.argument("file", type=click.Path(path_type=Path))
@json_option
@pass_ctx
def evidence_add(ctx: Context, service: str, kind: str, file: Path, as_json: bool):
    """Store FILE as a blob and append its typed statement; a failing one demotes a compliant service."""
    data = read_input(str(file))
    rec, demotion = ctx.workspace.orchestrator(write=True).add_evidence(service, kind, data, str(file))
    data_out = {"seq": rec.seq, "digest": rec.digest, "facts": rec.facts, "demotion": demotion.to_json() if demotion else None}
    emit(as_json, data_out, lambda: f"seq {rec.seq}: {kind} evidence for {service} stored as {rec.digest}"
         + (f"\n{_outcome_text(demotion)}" if demotion else ""))


@main.command()
@click.option("--if-missing", is_flag=True, help="Do nothing when the ledger already exists.")
@json_option
@pass_ctx
def demo(ctx: Context, if_missing: bool, as_json: bool):
    """Create a ledger seeded with the example org and a few days of realistic history."""
    from ..demo import build_demo

    path = ctx.settings.ledger_path
    if path.exists():
        if if_missing:
            emit(as_json, {"ledger": str(path), "created": False}, f"using the existing demo ledger {path}")
            return
        raise GoosetermError(f"{path} already exists; remove it or pass --ledger for a new demo")
    info = build_demo(ctx.settings, ctx.workspace.org())
    emit(as_json, info, lambda: (
        f"created {info['ledger']} with {info['entries']} entries; you sign as {info['identity']}\n"
        f"  service-c is compliant; service-b awaits your approval: gooseterm approve {info['service_b_promotion']}\n"
        f"  service-a is {info['service_a_status']}: gooseterm status service-a"))


@main.command()
@click.option("--service", required=True)
@click.option("--source", "sources", multiple=True, type=click.Choice(["files", "prometheus", "github", "gitlab", "kubernetes"]),
              help="Where to collect from (repeatable); default: every source org.yaml configures. "
                   "files reads the org's local evidence folder.")
@click.option("--commit", help="Read the CI run or pipeline of this commit SHA (github, gitlab).")
@click.option("--ref", help="Branch or tag whose newest run to read, instead of the configured one (github, gitlab).")
@click.option("--run", "run_id", type=WholeNumber(minimum=1), help="This GitHub run or GitLab pipeline id, even while it runs (CI passes its own).")
@cluster_options
@json_option
@pass_ctx
def collect(ctx: Context, service: str, sources: tuple[str, ...], commit: str | None, ref: str | None, run_id: int | None,
            kubeconfig: Path | None, kube_context: str | None, as_json: bool):
    """Collect a service's evidence from its sources and record every fact, all or nothing.

    Each fact is stored with the URL it came from, the time and its blob digest. Progress goes to
    stderr on a terminal. A source that fails (down, slow, token refused, bad artifact) fails the
    command with nothing written; one that keeps failing is cut off for a while.
    """
    if "kubernetes" in sources:
        if len(sources) > 1:
            raise GoosetermError("collect --source kubernetes runs on its own")
        return collect_kubernetes(ctx, service, kubeconfig, kube_context, as_json)
    from ..collect import Request
    from ..collect import collect as run_collect

    orch = ctx.workspace.orchestrator(write=True)
    show = (lambda line: click.echo(line, err=True)) if sys.stderr.isatty() else (lambda line: None)
    report = run_collect(orch, Request(service, list(sources) or None, commit, ref, run_id), orch.health, progress=show)
    out = report.to_json()
    emit(as_json, out, lambda: "\n".join(
        f"seq {r['seq']}: {r['kind']:<9} {r['digest'][:19]}…  {r['collector']}: {r['source']}" for r in report.recorded)
        + (f"\n{_outcome_text(report.demotion)}" if report.demotion else ""))


@main.group()
def runbook():
    """Guided remediation: start a runbook for a service and take its steps."""


@runbook.command("list")
@click.option("--service")
@json_option
@pass_ctx
def runbook_list(ctx: Context, service: str | None, as_json: bool):
    """Configured runbooks and the runs so far."""
    from .. import runbooks as rb

    orch = ctx.workspace.orchestrator()
    books = {name: {"title": b.title, "steps": [s.title for s in b.steps]} for name, b in orch.org.runbooks.runbooks.items()}
    runs = rb.runs(orch, service)
    emit(as_json, {"runbooks": books, "runs": runs}, lambda: "\n".join(
        [f"{n}: {b['title']} ({len(b['steps'])} steps)" for n, b in books.items()]
        + [f"run {r['id']}: {r['status']}, {len(r['steps'])} steps taken" for r in runs]))


@runbook.command("start")
@click.argument("name")
@click.option("--service", required=True)
@click.option("--reason", default="", help="Why the runbook is started (recorded).")
@json_option
@pass_ctx
def runbook_start(ctx: Context, name: str, service: str, reason: str, as_json: bool):
    """Start runbook NAME for a service."""
    from .. import runbooks as rb

    run = rb.start_run(ctx.workspace.orchestrator(write=True), name, service, reason)
    emit(as_json, run, f"started {run['id']}: {run['title']}\nnext: gooseterm runbook step {run['id']}")


@runbook.command("step")
@click.argument("run_id")
@click.option("--confirm", is_flag=True, help="Confirm a manual step (you have done or checked what it says).")
@click.option("--apply", "apply_", is_flag=True, help="Let the step change the cluster (isolate_service), after a y/N prompt.")
@click.option("--yes", is_flag=True, help="With --apply: do not ask.")
@json_option
@pass_ctx
def runbook_step(ctx: Context, run_id: str, confirm: bool, apply_: bool, yes: bool, as_json: bool):
    """Take the next step of a run: automatic steps run, manual ones need --confirm."""
    from .. import runbooks as rb

    orch = ctx.workspace.orchestrator(write=True)
    if apply_:
        confirm_apply(orch, run_id, confirm, yes)
    run, result = rb.take_step(orch, run_id, confirmed=confirm, apply=apply_)
    step = run["steps"][-1]
    emit(as_json, step, lambda: "\n".join([f"step {step['index'] + 1} {step['title']}: {step['result']} - {step['summary']}", *[f"  {d}" for d in step["details"]]]))
    if result.result in ("fail", "error"):
        sys.exit(EXIT_REFUSED)
