"""Auditor exports and keeping the ledger: the audit bundle, evidence archives, backup and restore."""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path

import click

from gooseterm.adapters.numbers import NumberError, whole_number
from ..errors import GoosetermError, Refusal
from . import Context, emit, json_option, main, pass_ctx
from .params import Seconds, WholeNumber

MAX_PORT = 65535


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
    from gooseterm.exports.bundle import Selection

    sel = Selection(since.date() if since else None, until.date() if until else None, service)
    bar = click.progressbar(length=1, label="exporting", file=sys.stderr) if not as_json and sys.stderr.isatty() else None

    def progress(stage: str, done: int, total: int) -> None:
        if bar is not None:
            bar.length = max(total, 1)
            bar.update(done - bar.pos)

    from ..app.export import export_bundle

    done = export_bundle(ctx.workspace, out, sel, audit_tree=layout == "audit-tree", progress=progress)
    emit(as_json, done.to_json(),
         f"wrote {out}: {done.files} files, {done.bytes} bytes\nverify it: python {out}/verifier.py {out}" if out.suffix != ".zip"
         else f"wrote {out}: {done.files} files\nverify it: unzip -p {out} verifier.py > verifier.py && python verifier.py {out}")


@main.group(invoke_without_command=True)
@click.option("--before", type=click.DateTime(["%Y-%m-%d"]), help="Archive evidence cited only by entries before this day (UTC).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="The archive to write: a new FILE.zip.")
@json_option
@pass_ctx
def archive(ctx: Context, before, out: Path | None, as_json: bool):
    """Move old evidence bytes to a signed zip; the ledger keeps their digests.

    `gooseterm archive --before DATE --out FILE.zip` writes the archive and drops the bytes it holds;
    `gooseterm archive restore FILE.zip` puts them back. `gooseterm verify --archive FILE.zip`
    checks archived bytes again.
    """
    from gooseterm.exports.archive import archive_blobs
    from gooseterm.exports.bundle import ExportError

    if click.get_current_context().invoked_subcommand is not None:
        return
    if before is None or out is None:
        raise GoosetermError("archive needs --before DATE and --out FILE.zip (or: archive restore FILE.zip)")
    with ctx.workspace.open_ledger(write=True) as ledger:
        try:
            result = archive_blobs(ledger, before.date(), out)
        except ExportError as exc:
            raise GoosetermError(str(exc)) from None
    if result.path is None:
        text = f"nothing to archive: no stored evidence is cited only by entries before {before.date()}; wrote nothing"
    else:
        text = (f"archived {result.blobs} blobs ({result.bytes} bytes) to {out}" + (f"; {result.skipped} cited again meanwhile kept their bytes" if result.skipped else "")
                + f"\ncheck it: gooseterm verify --archive {out}")
    emit(as_json, result.to_json(), text)


@archive.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@json_option
@pass_ctx
def archive_restore(ctx: Context, file: Path, as_json: bool):
    """Put an archive's evidence bytes back into the ledger, after checking every digest."""
    from gooseterm.exports.archive import ArchiveError, restore_archive

    with ctx.workspace.open_ledger(write=True) as ledger:
        try:
            result = restore_archive(ledger, file)
        except ArchiveError as exc:
            raise Refusal(str(exc)) from None
    emit(as_json, result.to_json(), f"restored {result.blobs} blobs ({result.bytes} bytes) from {file}"
         + (f"; {result.skipped} were already in the ledger" if result.skipped else ""))


@main.command()
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="The copy to write (a new file).")
@click.option("--jobs", type=WholeNumber(minimum=1), default=os.cpu_count() or 1, show_default="all cores",
              help="Processes verifying the copy.")
@json_option
@pass_ctx
def backup(ctx: Context, out: Path, jobs: int, as_json: bool):
    """Copy the live ledger with SQLite's online backup (writers may go on), then verify the copy.

    The copy is kept only if it verifies; exit 1 (and no file) otherwise.
    """
    from gooseterm.ledger.backup import BackupError, backup as ledger_backup

    try:
        report = ledger_backup(ctx.settings.ledger_path, out, jobs=jobs)
    except BackupError as exc:
        raise Refusal(str(exc)) from None
    emit(as_json, {"out": str(out), "size": report.size, "root": report.to_json()["root"], "valid": True},
         f"backed up {report.size} entries to {out}; the copy verifies")


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace the existing ledger (required when one exists).")
@click.option("--allow-rollback", is_flag=True, help="Accept a copy with fewer entries than the live ledger (drops the rest).")
@click.option("--jobs", type=WholeNumber(minimum=1), default=os.cpu_count() or 1, show_default="all cores",
              help="Processes verifying.")
@json_option
@pass_ctx
def restore(ctx: Context, file: Path, force: bool, allow_rollback: bool, jobs: int, as_json: bool):
    """Replace the ledger with a backup that verifies and is the same history (not a fork)."""
    from gooseterm.ledger.backup import BackupError, restore as ledger_restore

    live = ctx.settings.ledger_path
    try:
        plan = ledger_restore(file, live, force=force, allow_rollback=allow_rollback, jobs=jobs)
    except BackupError as exc:
        raise Refusal(str(exc)) from None
    what = {"new": "created", "same": "replaced (same entries)", "extends": "replaced (the copy is longer)",
            "rollback": "rolled back", "live_invalid": "replaced the ledger that did not verify"}[plan.relation]
    emit(as_json, {"ledger": str(live), "size": plan.copy_size, "previous_size": plan.live_size, "relation": plan.relation},
         f"{what}: {live} now has the {plan.copy_size} entries of {file}")


@main.command()
@click.option("--listen", default="127.0.0.1:9464", show_default=True, metavar="HOST:PORT",
              help="Where to serve /metrics (port 0: any free port).")
@click.option("--refresh", type=Seconds(), default=0, show_default=True,
              help="Seconds between reads of the ledger; 0 reads it at every scrape.")
@pass_ctx
def exporter(ctx: Context, listen: str, refresh: float):
    """Serve the ledger's state as Prometheus metrics, read-only, until stopped.

    compliance_state, promotion_status and service_dependencies answer the plan's dashboard
    queries (exports/grafana/); also the ledger's size, the last `gooseterm verify` and gate durations.
    """
    from ..exporter import serve

    host, _, port = listen.rpartition(":")
    try:
        number = whole_number(port, max_digits=5)
    except NumberError as exc:
        raise GoosetermError(f"--listen {listen!r}: want HOST:PORT, e.g. 127.0.0.1:9464 (port: {exc})") from None
    if not host or number > MAX_PORT:
        raise GoosetermError(f"--listen {listen!r}: want HOST:PORT with a port up to {MAX_PORT}, e.g. 127.0.0.1:9464")
    ctx.workspace.open_ledger().close()  # no ledger, or not one: say so now, not at the first scrape
    server, bound = serve(ctx.workspace, host, number, refresh)
    click.echo(f"serving {ctx.settings.ledger_path} as metrics on http://{host}:{bound}/metrics (Ctrl-C stops)")
    sys.stdout.flush()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(1):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
