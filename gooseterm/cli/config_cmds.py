"""Config and overview commands: config check, graph, onboard, metrics."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..errors import EXIT_USAGE, GoosetermError
from . import Context, emit, json_option, main, pass_ctx


@main.group()
def config():
    """Check the organisation config."""


@config.command("check")
@click.argument("directory", required=False, type=click.Path(path_type=Path))
@json_option
@pass_ctx
def config_check(ctx: Context, directory: Path | None, as_json: bool):
    """Load DIR (default: the configured config folder) and print a summary, or every problem
    as file:line:column: field: message (exit 2)."""
    from ..configcheck import check_config, summary_text
    from ..orgconfig import format_issue

    result = check_config(directory or ctx.settings.config_dir)

    def text() -> str:
        if result.org is not None:
            return summary_text(result.org, result.path)
        return "\n".join(format_issue(i) for i in result.issues)

    emit(as_json, result.to_json(), text)
    if not result.valid:
        n = len(result.issues)
        click.echo(f"gooseterm: {n} problem{'s' if n != 1 else ''} in the organisation config at {result.path}", err=True)
        sys.exit(EXIT_USAGE)


@main.command()
@click.argument("service", required=False)
@click.option("--text", "fmt", flag_value="text", default=True, help="Layers and trees (the default).")
@click.option("--dot", "fmt", flag_value="dot", help="Graphviz DOT; optional dependencies dashed, cycles red.")
@click.option("--json", "fmt", flag_value="json", help="{services, edges, layers, cycles}.")
@click.option("--reverse", is_flag=True, help="Who depends on each service, instead of what it depends on.")
@pass_ctx
def graph(ctx: Context, service: str | None, fmt: str, reverse: bool):
    """The dependency graph: layers (dependencies first) and a tree per service, or SERVICE with
    everything it depends on (with --reverse: everything depending on it). Cycles are shown."""
    from .. import graphview
    from ..resolver import DependencyGraph, UnknownServiceError

    deps = DependencyGraph.from_services(ctx.workspace.org().services.values())
    try:
        v = graphview.view(deps, service, reverse)
    except UnknownServiceError as exc:
        raise GoosetermError(str(exc)) from None
    if fmt == "json":
        emit(True, graphview.to_json(v), "")
    else:
        click.echo(graphview.to_dot(v) if fmt == "dot" else graphview.to_text(v))


@main.command()
@click.argument("name")
@click.option("--owner", "owners", multiple=True, metavar="OWNER", help="A person or group of the org; repeat for several.")
@click.option("--description", default="", help="One line about the service.")
@json_option
@pass_ctx
def onboard(ctx: Context, name: str, owners: tuple[str, ...], description: str, as_json: bool):
    """Write services/NAME.yaml from the org's template and record the onboarding in the ledger.

    The whole config is checked with the new file before anything is written. Without --owner,
    records a service that is already in the config but not yet in the ledger.
    """
    from ..onboarding import onboard as onboard_service

    out = onboard_service(ctx.workspace, name, list(owners), description)

    def text() -> str:
        lines = [f"onboarded {name} at seq {out.seq} ({out.time}) in {out.seconds:.2f} s"]
        if out.file:
            lines.append(f"  wrote {out.file} from the template: fill in its dependencies, then `gooseterm config check`")
        lines.append(f"  next: gooseterm evidence add --service {name} --kind junit FILE (and sarif, coverage, metrics), then {out.next}")
        lines.append("  the plan's goal is a first promotion within a day of this entry; `gooseterm metrics` measures it")
        return "\n".join(lines)

    emit(as_json, out.to_json(), text)


@main.command()
@json_option
@pass_ctx
def metrics(ctx: Context, as_json: bool):
    """The plan's success metrics, computed from the ledger, each beside its target."""
    from ..metrics import compute, to_text

    states = ctx.workspace.org().states
    with ctx.workspace.open_ledger() as ledger:
        found = compute(ledger, initial=states.initial, compliant=states.compliant)
    emit(as_json, {"ledger": str(ctx.settings.ledger_path), "metrics": [m.to_json() for m in found]}, lambda: to_text(found))
