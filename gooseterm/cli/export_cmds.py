"""Auditor exports: the verifiable audit bundle."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import click

from exports.bundle import ExportError, Selection, build_bundle, write_bundle

from ..errors import GoosetermError
from . import Context, emit, json_option, main, pass_ctx


def _policy(ctx: Context) -> dict:
    """The trust policy in force: approval policies and who holds which groups and roles."""
    org = ctx.workspace.org()
    return {
        "approvals": [p.model_dump(mode="json") for p in org.approvals.policies],
        "people": {n: {"groups": list(p.groups), "roles": list(p.roles)} for n, p in sorted(org.org.people.items())},
        "states": org.states.model_dump(mode="json", by_alias=True),
    }


@main.command()
@click.option("--out", required=True, type=click.Path(path_type=Path), help="A new folder, or FILE.zip.")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="First day of the period (UTC).")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), help="Last day of the period (UTC), inclusive.")
@click.option("--service", help="Only this service's evidence, summaries and OSCAL (entries of the period stay whole).")
@click.option("--layout", type=click.Choice(["bundle", "audit-tree"]), default="bundle", show_default=True,
              help="audit-tree adds the plan's /audit/services and /audit/promotions folders.")
@json_option
@pass_ctx
def export(ctx: Context, out: Path, since, until, service: str | None, layout: str, as_json: bool):
    """Write an audit bundle an auditor verifies offline (VERIFY.md and verifier.py inside)."""
    sel = Selection(since.date() if since else None, until.date() if until else None, service)
    if sel.since and sel.until and sel.since > sel.until:
        raise GoosetermError("--since is after --until")
    bar = click.progressbar(length=1, label="exporting", file=sys.stderr) if not as_json and sys.stderr.isatty() else None

    def progress(stage: str, done: int, total: int) -> None:
        if bar is not None:
            bar.length = max(total, 1)
            bar.update(done - bar.pos)

    if service is not None:
        ctx.workspace.orchestrator().require_service(service)
    with ctx.workspace.open_ledger(write=True) as ledger:
        files = build_bundle(ledger, sel, _policy(ctx), audit_tree=layout == "audit-tree", progress=progress)
    try:
        write_bundle(files, out)
    except ExportError as exc:
        raise GoosetermError(str(exc)) from None
    size = sum(len(b) for b in files.values())
    emit(as_json, {"out": str(out), "files": len(files), "bytes": size},
         f"wrote {out}: {len(files)} files, {size} bytes\nverify it: python {out}/verifier.py {out}" if out.suffix != ".zip"
         else f"wrote {out}: {len(files)} files\nverify it: unzip -p {out} verifier.py > verifier.py && python verifier.py {out}")
