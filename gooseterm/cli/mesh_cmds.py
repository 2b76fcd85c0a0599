"""Kubernetes and mesh commands: `mesh render|check|apply`, and the `kubernetes` source of `collect`."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..errors import EXIT_REFUSED, Refusal
from . import Context, emit, json_option, main, pass_ctx

if TYPE_CHECKING:
    from gooseterm.adapters.meshreport import MeshFacts

    from ..orgconfig import OrgConfig
    from ..resolver import DependencyGraph


def cluster_options(f: Callable) -> Callable:
    """--kubeconfig and --context, overriding GOOSETERM_KUBECONFIG / GOOSETERM_KUBE_CONTEXT and org.yaml."""
    f = click.option("--context", "kube_context", metavar="NAME",
                     help="kubeconfig context [env GOOSETERM_KUBE_CONTEXT; org.yaml kubernetes.cluster.context].")(f)
    return click.option("--kubeconfig", type=click.Path(path_type=Path), metavar="FILE",
                        help="kubeconfig file [env GOOSETERM_KUBECONFIG; org.yaml kubernetes.cluster].")(f)


def _graph(org: OrgConfig) -> DependencyGraph:
    from ..resolver import DependencyGraph

    return DependencyGraph.from_services(org.services.values())


def _confirm(question: str, yes: bool) -> None:
    """Ask y/N on the terminal unless --yes; anything but yes changes nothing."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise Refusal(f"{question.rstrip('?')}: not confirmed (no terminal to ask on); pass --yes to confirm")
    if not click.confirm(question, default=False, err=True):
        raise Refusal("not confirmed: nothing was applied")


@main.group()
def mesh():
    """Istio policy from the dependency graph: render it, check a cluster against it, apply it."""


@mesh.command("render")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Write DIR/<namespace>/_namespace.yaml and DIR/<namespace>/<service>.yaml instead of printing.")
@click.option("--isolate", metavar="SERVICE", help="Render SERVICE's DENY-all isolation policy instead.")
@json_option
@pass_ctx
def mesh_render(ctx: Context, out: Path | None, isolate: str | None, as_json: bool):
    """Per service an AuthorizationPolicy allowing exactly its dependents; per namespace a default deny
    and PeerAuthentication STRICT. The same graph and settings always give the same bytes."""
    from .. import mesh as meshpolicy

    org = ctx.workspace.org()
    if isolate:
        if isolate not in org.services:
            raise Refusal(f"unknown service {isolate!r}; the org config has {', '.join(sorted(org.services))}")
        manifests = [meshpolicy.isolation_policy(org, isolate)]
    else:
        manifests = meshpolicy.render(org, _graph(org))
    if out is None:
        emit(as_json, manifests, lambda: meshpolicy.to_yaml(manifests).rstrip("\n"))
        return
    files = meshpolicy.write(manifests, out)
    emit(as_json, {"written": [str(f) for f in files], "objects": [meshpolicy.describe(m) for m in manifests]},
         lambda: "\n".join(f"wrote {f}" for f in files))


def _report_text(reports: list[MeshFacts]) -> str:
    lines = []
    for r in reports:
        lines.append(f"{r.service}: " + ("clean" if r.clean else f"{len(r.drift)} differences"))
        lines += [f"  {d.change:<8} {d.kind} {d.namespace}/{d.name}: {d.detail}" for d in r.drift]
    return "\n".join(lines)


@mesh.command("check")
@click.option("--service", "services", multiple=True, help="Check only this service (repeatable).")
@click.option("--no-record", is_flag=True, help="Compare only; record no evidence (needs no ledger or key).")
@cluster_options
@json_option
@pass_ctx
def mesh_check(ctx: Context, services: tuple[str, ...], no_record: bool, kubeconfig: Path | None,
               kube_context: str | None, as_json: bool):
    """Compare the cluster's Istio policy with the rendered one and record each service's drift report as
    `mesh` evidence (what the mesh_policy_enforced gate reads). Exit 1 on any drift."""
    from gooseterm.adapters.meshreport import report_bytes

    from .. import mesh as meshpolicy
    from ..cluster import cluster_errors, connect

    orch = None if no_record else ctx.workspace.orchestrator(write=True)
    org = orch.org if orch else ctx.workspace.org()
    for service in services:
        if service not in org.services:
            raise Refusal(f"unknown service {service!r}; the org config has {', '.join(sorted(org.services))}")
    with connect(org, kubeconfig, kube_context) as client, cluster_errors():
        reports = meshpolicy.check(client, org, _graph(org), services or None)
        source = f"mesh check {client.connection.server}"
    recorded = {}
    if orch is not None:
        for report in reports:
            records, _ = orch.add_evidence_many(report.service, [("mesh", report_bytes(report), source)], "mesh")
            recorded[report.service] = {"seq": records[0].seq, "digest": records[0].digest}
    data = [{**r.model_dump(mode="json", exclude={"source"}), "recorded": recorded.get(r.service)} for r in reports]
    emit(as_json, data, lambda: _report_text(reports)
         + ("".join(f"\nrecorded {s}: seq {v['seq']}" for s, v in recorded.items()) if recorded else ""))
    if any(not r.clean for r in reports):
        sys.exit(EXIT_REFUSED)


@mesh.command("apply")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--isolate", metavar="SERVICE", help="Apply SERVICE's DENY-all isolation policy instead.")
@cluster_options
@json_option
@pass_ctx
def mesh_apply(ctx: Context, yes: bool, isolate: str | None, kubeconfig: Path | None, kube_context: str | None,
               as_json: bool):
    """Server-side apply the rendered policy to the cluster, after a y/N confirmation."""
    from .. import mesh as meshpolicy
    from ..cluster import cluster_errors, connect

    org = ctx.workspace.org()
    if isolate and isolate not in org.services:
        raise Refusal(f"unknown service {isolate!r}; the org config has {', '.join(sorted(org.services))}")
    manifests = [meshpolicy.isolation_policy(org, isolate)] if isolate else meshpolicy.render(org, _graph(org))
    with connect(org, kubeconfig, kube_context) as client, cluster_errors():
        if not as_json:
            click.echo("\n".join(meshpolicy.describe(m) for m in manifests), err=True)
        _confirm(f"Apply these {len(manifests)} objects to {client.connection.server} ({client.connection.source})?", yes)
        results = meshpolicy.apply(client, manifests)
    emit(as_json, [{"object": o, "result": r} for o, r in results], lambda: "\n".join(f"{r:<10} {o}" for o, r in results))


def collect_kubernetes(ctx: Context, service: str, kubeconfig: Path | None, kube_context: str | None,
                       as_json: bool) -> None:
    """`gooseterm collect --source kubernetes`: record a snapshot of the service's deployment facts."""
    from ..cluster import cluster_errors, connect, snapshot_evidence
    from .orchestration_cmds import _outcome_text

    orch = ctx.workspace.orchestrator(write=True)
    orch.require_service(service)
    with connect(orch.org, kubeconfig, kube_context) as client, cluster_errors():
        item = snapshot_evidence(client, orch.org, service)
    records, demotion = orch.add_evidence_many(service, [item], "kubernetes")
    rec = records[0]
    facts = rec.facts
    rows = [{"kind": rec.kind, "source": rec.source, "digest": rec.digest, "seq": rec.seq, "time": rec.time}]

    def text() -> str:
        lines = [f"seq {rec.seq}: kubernetes {rec.digest[:19]}…  from {rec.source}"]
        lines += [f"  deployment {d['name']}: {d['rollout']['state']} - {d['rollout']['message']}" for d in facts["deployments"]]
        lines += [f"  image {i['digest']} ({', '.join(i['images'])}) in {len(i['containers'])} containers"
                  for i in facts["running_images"]]
        if not facts["deployments"]:
            lines.append(f"  no deployments labelled {facts['label_selector']} in namespace {facts['namespace']}")
        if demotion:
            lines.append(_outcome_text(demotion))
        return "\n".join(lines)

    emit(as_json, {"service": service, "source": "kubernetes", "recorded": rows, "facts": facts,
                   "demotion": demotion.to_json() if demotion else None}, text)


def confirm_apply(orch, run_id: str, confirmed: bool, yes: bool) -> None:
    """`runbook step --apply`: show what the step would apply to the cluster and ask y/N (unless --yes)."""
    from .. import runbooks as rb

    run = rb.get_run(orch, run_id)
    step = rb.next_step(orch, run)
    if step is None or step.action not in rb.APPLYING:
        return  # take_step refuses with the reason
    number = len(run["steps"]) + 1
    if not confirmed:
        raise Refusal(f"step {number} ({step.title}) applies to the cluster only once confirmed: add --confirm")
    click.echo(rb.APPLYING[step.action](orch, run["service"]), err=True)
    _confirm(f"Step {number} ({step.title}): apply this to the cluster?", yes)
