"""Ledger commands: init, keys, append, log, checkpoint, prove, verify."""

from __future__ import annotations

import base64
import getpass
import hashlib
import json
import os
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..errors import EXIT_REFUSED, GoosetermError, Refusal
from . import Context, emit, json_option, main, pass_ctx, read_input
from .params import WholeNumber

if TYPE_CHECKING:
    from gooseterm.ledger.store import Ledger

JSONL_BATCH = 2000
IMPORT_KEY = "gooseterm.import"
"""The predicate key of a JSON Lines import's record: {"source": "sha256:<file digest>", "line": n}."""


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode()


@main.command()
@click.option("--origin", default="gooseterm.local/ledger", show_default=True, help="The ledger's origin line (names its checkpoints).")
@click.option("--name", default=None, help="Your key's name (default: your login name).")
@click.option("--seal", is_flag=True,
              help="Seal your key and the ledger key with one passphrase (asked on the terminal, or --passphrase-file).")
@json_option
@pass_ctx
def init(ctx: Context, origin: str, name: str | None, seal: bool, as_json: bool):
    """Create a ledger with genesis, a ledger key and your own admin key."""
    path = ctx.settings.ledger_path
    if path.exists():
        raise GoosetermError(f"{path} already exists; gooseterm never overwrites a ledger (use --ledger for another)")
    name = name or getpass.getuser()
    passphrase = None
    if seal:
        passphrase = ctx.settings.passphrase or (getpass.getpass(f"new passphrase for {name} and the ledger key: ") if os.isatty(0) else None)
        if not passphrase:
            raise GoosetermError("--seal needs a passphrase: use --passphrase-file or a terminal")
    from ..app.init import init_ledger

    done = init_ledger(ctx.workspace, origin, name, passphrase)
    emit(as_json, done.to_json(),
         lambda: f"created {done.ledger}\n  origin     {origin}\n  ledger key {done.ledger_key}\n  your key   {done.admin_key} (admin)")


@main.group()
def keys():
    """Manage signing keys: list, new, add (trust), revoke, export."""


@keys.command("list")
@json_option
@pass_ctx
def keys_list(ctx: Context, as_json: bool):
    """List local keys and, when a ledger exists, the keys it trusts."""
    local = [{"name": k.name, "vkey": k.vkey, "sealed": k.sealed} for k in ctx.workspace.keystore.list()]
    trusted = []
    if ctx.settings.ledger_path.exists():
        with ctx.workspace.open_ledger() as ledger:
            trusted = [
                {"keyid": r.keyid, "roles": r.roles, "added": r.added, "revoked": r.revoked, "vkey": r.vkey}
                for r in ledger.keys().values()
            ]

    def text() -> str:
        lines = ["local keys:"] + [f"  {k['name']}{' (sealed)' if k['sealed'] else ''}  {k['vkey']}" for k in local]
        lines.append("trusted by the ledger:")
        for t in trusted:
            state = f"revoked at seq {t['revoked']}" if t["revoked"] is not None else "valid"
            lines.append(f"  {t['keyid']}  roles={','.join(t['roles'])}  added at seq {t['added']}  {state}")
        return "\n".join(lines)

    emit(as_json, {"local": local, "trusted": trusted}, text)


@keys.command("new")
@click.argument("name")
@click.option("--seal", is_flag=True, help="Seal with a passphrase.")
@json_option
@pass_ctx
def keys_new(ctx: Context, name: str, seal: bool, as_json: bool):
    """Create a local key pair (private key mode 0600)."""
    passphrase = None
    if seal:
        passphrase = ctx.settings.passphrase or (getpass.getpass(f"new passphrase for {name}: ") if os.isatty(0) else None)
        if not passphrase:
            raise GoosetermError("--seal needs a passphrase: use --passphrase-file or a terminal")
    signer = ctx.workspace.keystore.create(name, passphrase)
    emit(as_json, {"name": name, "vkey": signer.vkey, "sealed": seal}, signer.vkey)


@keys.command("add")
@click.argument("vkey")
@click.option("--role", "roles", multiple=True, default=("approver",), show_default=True,
              help="Role of the key (repeat): admin, approver, ci, ...")
@json_option
@pass_ctx
def keys_add(ctx: Context, vkey: str, roles: tuple[str, ...], as_json: bool):
    """Trust a public key in the ledger (an entry signed by your admin key)."""
    from gooseterm.ledger.store import Draft
    from gooseterm.ledger.verifier import NoteError, parse_vkey

    from ..kinds import EntryKind

    try:
        v = parse_vkey(vkey)
    except NoteError as exc:
        raise GoosetermError(f"{exc}; a key looks like name+1a2b3c4d+AbCd... (see `gooseterm keys export`)") from None
    with ctx.workspace.open_ledger(write=True) as ledger:
        r = ledger.append(Draft(EntryKind.KEY_ADDED, {"vkey": v.vkey, "roles": sorted(set(roles))}), [ctx.workspace.me()])
    emit(as_json, {"seq": r.seq, "keyid": v.keyid, "roles": sorted(set(roles))}, f"seq {r.seq}: trusted {v.keyid} as {', '.join(sorted(set(roles)))}")


@keys.command("revoke")
@click.argument("keyid")
@click.option("--reason", required=True, help="Why the key is revoked (recorded).")
@json_option
@pass_ctx
def keys_revoke(ctx: Context, keyid: str, reason: str, as_json: bool):
    """Revoke a key from the next entry on (an entry signed by your admin key)."""
    from gooseterm.ledger.store import Draft

    from ..kinds import EntryKind

    with ctx.workspace.open_ledger(write=True) as ledger:
        r = ledger.append(Draft(EntryKind.KEY_REVOKED, {"keyid": keyid, "reason": reason}), [ctx.workspace.me()])
    emit(as_json, {"seq": r.seq, "keyid": keyid}, f"seq {r.seq}: revoked {keyid}")


@keys.command("export")
@click.argument("name", required=False)
@pass_ctx
def keys_export(ctx: Context, name: str | None):
    """Print a public key in signed-note form (default: your own)."""
    name = name or ctx.settings.identity
    if not name:
        raise GoosetermError("name a key, or run `gooseterm init` first")
    click.echo(ctx.workspace.keystore.export(name))


def _parse_payload(data: bytes, where: str) -> dict:
    from gooseterm.adapters.documents import JsonNumberError, strict_loads

    try:
        obj = strict_loads(data)
    except JsonNumberError as exc:
        raise GoosetermError(f"{where}: {exc}") from None
    except UnicodeDecodeError:
        raise GoosetermError(f"{where}: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise GoosetermError(f"{where}: line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    if not isinstance(obj, dict):
        raise GoosetermError(f"{where}: the payload must be a JSON object, got {type(obj).__name__}")
    return obj


@main.command()
@click.option("--kind", required=True, help="Entry kind: annotation, incident.note, evidence.external or custom.<name>.")
@click.option("--service", help="The service the entry is about.")
@click.option("--payload", "payload", metavar="FILE|-", help="One JSON object to append.")
@click.option("--payload-jsonl", "payload_jsonl", metavar="FILE|-", help="JSON Lines: one entry per line, appended in batches.")
@click.option("--resume", is_flag=True, help="With --payload-jsonl: append only the lines of this file the ledger does not hold yet.")
@click.option("--batch-size", type=WholeNumber(minimum=1), default=JSONL_BATCH, show_default=True,
              help="With --payload-jsonl: entries per transaction.")
@json_option
@pass_ctx
def append(ctx: Context, kind: str, service: str | None, payload: str | None, payload_jsonl: str | None, resume: bool,
           batch_size: int, as_json: bool):
    """Sign and append JSON statement bodies; all are checked before any is written."""
    from gooseterm.ledger.store import Draft

    from ..kinds import check_appendable
    from ..orgconfig.fields import check_service_name

    if (payload is None) == (payload_jsonl is None):
        raise GoosetermError("give exactly one of --payload FILE|- or --payload-jsonl FILE|-")
    if resume and payload_jsonl is None:
        raise GoosetermError("--resume goes with --payload-jsonl")
    reason = check_appendable(kind)
    if reason:
        raise GoosetermError(reason)
    if service is not None:
        try:
            check_service_name(service)
        except ValueError as exc:
            raise GoosetermError(f"--service: {exc}") from None
    if payload_jsonl is not None:
        _append_jsonl(ctx, kind, service, payload_jsonl, resume, batch_size, as_json)
        return
    body = _parse_payload(read_input(payload), payload if payload != "-" else "stdin")
    with ctx.workspace.open_ledger(write=True) as ledger:
        r = ledger.append(Draft(kind, body, service=service), [ctx.workspace.me()])
    emit(as_json, {"appended": 1, "first_seq": r.seq, "last_seq": r.seq}, f"appended seq {r.seq}")


def _append_jsonl(ctx: Context, kind: str, service: str | None, path: str, resume: bool, batch_size: int,
                  as_json: bool) -> None:
    """A JSON Lines import: each entry's signed predicate records the file's digest and its line
    (IMPORT_KEY), so the ledger itself says how far an interrupted import got, and --resume
    appends exactly the lines after that: no duplicate, no gap."""
    from gooseterm.ledger.store import Draft, PartialAppend

    name = path if path != "-" else "stdin"
    data = read_input(path)
    source = f"sha256:{hashlib.sha256(data).hexdigest()}"
    lines = []
    for n, line in enumerate(data.splitlines(), 1):
        if line.strip():
            body = _parse_payload(line, f"{name}:{n}")
            if IMPORT_KEY in body:
                raise GoosetermError(f"{name}:{n}: the key {IMPORT_KEY!r} is reserved for the import's own record")
            lines.append((n, body))
    if not lines:
        raise GoosetermError(f"{name}: no entries")
    me = ctx.workspace.me()
    with ctx.workspace.open_ledger(write=True) as ledger:
        held = imported_lines(ledger, kind, source)
        if held:
            last = max(held)
            if sorted(held) != [n for n, _ in lines if n <= last]:
                raise Refusal(f"{name}: the ledger holds {len(held)} lines of this file through line {last}, but not "
                              "every line up to it, so the import cannot be resumed without a gap or a duplicate")
            if not resume:
                raise Refusal(f"{name}: already imported through line {last} (seq {held[last]}); "
                              "pass --resume to append the lines after it")
            lines = [(n, body) for n, body in lines if n > last]
            if not lines:
                emit(as_json, {"appended": 0, "last_line": last, "last_seq": held[last]},
                     f"{name}: every line is already in the ledger (through line {last}, seq {held[last]})")
                return
        drafts = (Draft(kind, {**body, IMPORT_KEY: {"source": source, "line": n}}, service=service) for n, body in lines)
        try:
            receipts = ledger.append_many(drafts, [me], batch_size=batch_size)
        except PartialAppend as exc:
            done = exc.receipts[-1]
            raise GoosetermError(f"{name}:{lines[len(exc.receipts)][0]}: {exc.cause}; committed through line "
                                 f"{lines[len(exc.receipts) - 1][0]} (seq {done.seq}); fix the line and rerun with --resume") from None
        except KeyboardInterrupt:
            # The interrupt may land between a batch's COMMIT and its receipts: ask the ledger.
            held = imported_lines(ledger, kind, source)
            done = f"committed through line {max(held)} (seq {held[max(held)]})" if held else "nothing was committed"
            raise GoosetermError(f"{name}: interrupted; {done}; rerun with --resume") from None
    first, last_seq = receipts[0].seq, receipts[-1].seq
    emit(
        as_json,
        {"appended": len(receipts), "first_seq": first, "last_seq": last_seq, "last_line": lines[-1][0], "source": source},
        f"appended seq {first}" if first == last_seq else f"appended {len(receipts)} entries, seq {first}..{last_seq}",
    )


def imported_lines(ledger: Ledger, kind: str, source: str) -> dict[int, int]:
    """Line number to seq of every `kind` entry the import of the file with digest `source` wrote."""
    found = {}
    for entry in ledger.entries(kind=kind):
        record = entry.predicate.get(IMPORT_KEY)
        if isinstance(record, dict) and record.get("source") == source and isinstance(record.get("line"), int):
            found[record["line"]] = entry.seq
    return found


@main.command()
@click.option("--service", help="Only entries about this service.")
@click.option("--kind", help="Only this kind (a prefix ending in '.' takes a family, e.g. 'evidence.').")
@click.option("--limit", type=WholeNumber(minimum=1), default=50, show_default=True, help="At most this many, newest first.")
@json_option
@pass_ctx
def log(ctx: Context, service: str | None, kind: str | None, limit: int, as_json: bool):
    """Show ledger entries, newest first."""
    with ctx.workspace.open_ledger() as ledger:
        entries = ledger.entries(service=service, kind=kind, limit=limit, newest_first=True)
        rows = [
            {"seq": e.seq, "time": e.time, "kind": e.kind, "service": e.service, "promotion": e.promotion,
             "signers": e.signers, "predicate": e.predicate}
            for e in entries
        ]

    def text() -> str:
        if not rows:
            return "no entries match"
        return "\n".join(
            f"{r['seq']:>7}  {r['time'][:19]}  {r['kind']:<24} {r['service'] or '-':<14} {', '.join(r['signers'])}" for r in rows
        )

    emit(as_json, rows, text)


@main.command()
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Also write the note to this file.")
@json_option
@pass_ctx
def checkpoint(ctx: Context, out: Path | None, as_json: bool):
    """Write a signed checkpoint note (C2SP tlog-checkpoint) of the current tree."""
    from gooseterm.ledger.verifier import parse_checkpoint, split_note

    with ctx.workspace.open_ledger(write=True) as ledger:
        note = ledger.checkpoint()
    if out:
        out.write_bytes(note)
    cp = parse_checkpoint(split_note(note).text)
    emit(as_json, {"origin": cp.origin, "size": cp.size, "root": _b64(cp.root), "note": note.decode()}, note.decode().rstrip("\n"))


@main.group()
def prove():
    """Merkle proofs (RFC 9162) for an auditor to check against a checkpoint."""


@prove.command("inclusion")
@click.argument("seq", type=WholeNumber())
@click.option("--size", type=WholeNumber(minimum=1), help="Tree size to prove against (default: the whole ledger).")
@json_option
@pass_ctx
def prove_inclusion(ctx: Context, seq: int, size: int | None, as_json: bool):
    """Print the inclusion proof of entry SEQ."""
    with ctx.workspace.open_ledger() as ledger:
        n = size or ledger.size()
        if seq >= n:
            raise GoosetermError(f"seq {seq} is not in a tree of size {n}")
        if n > ledger.size():
            raise GoosetermError(f"the ledger has {ledger.size()} entries, fewer than --size {n}")
        entry = ledger.entry(seq)
        data = {"seq": seq, "tree_size": n, "leaf_hash": _b64(entry.leaf_hash), "root": _b64(ledger.root(n)),
                "proof": [_b64(p) for p in ledger.inclusion_proof(seq, n)]}
    emit(as_json, data, lambda: "\n".join([f"seq {seq} in tree of size {n}", f"leaf hash {data['leaf_hash']}", f"root      {data['root']}", "proof:"] + [f"  {p}" for p in data["proof"]]))


@prove.command("consistency")
@click.argument("old_checkpoint", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@json_option
@pass_ctx
def prove_consistency(ctx: Context, old_checkpoint: Path, as_json: bool):
    """Prove the current ledger extends the tree of OLD_CHECKPOINT (a note file)."""
    from gooseterm.ledger.verifier import NoteError, parse_checkpoint, read_note_file, split_note

    try:
        old = parse_checkpoint(split_note(read_note_file(old_checkpoint)).text)
    except NoteError as exc:
        raise GoosetermError(f"{old_checkpoint}: {exc}") from None
    with ctx.workspace.open_ledger() as ledger:
        n = ledger.size()
        if old.origin != ledger.origin:
            raise Refusal(f"{old_checkpoint} is for origin {old.origin!r}, this ledger is {ledger.origin!r}")
        if old.size > n:
            raise Refusal(f"{old_checkpoint} covers {old.size} entries but the ledger has {n}: the ledger was cut or rolled back")
        if old.size and ledger.root(old.size) != old.root:
            raise Refusal(f"the ledger's tree at size {old.size} differs from {old_checkpoint}: a fork")
        proof = ledger.consistency_proof(old.size, n) if 0 < old.size < n else []
        data = {"old_size": old.size, "new_size": n, "old_root": _b64(old.root), "new_root": _b64(ledger.root(n)),
                "proof": [_b64(p) for p in proof]}
    emit(as_json, data, lambda: "\n".join([f"size {old.size} -> {n}", "proof:"] + [f"  {p}" for p in data["proof"]]))


@main.command()
@click.argument("target", required=False, type=click.Path(path_type=Path), metavar="[LEDGER|BUNDLE_DIR|BUNDLE.zip]")
@click.option("--trusted-checkpoint", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A checkpoint note held outside the ledger: catches a cut tail and forks.")
@click.option("--ledger-key", "ledger_vkey", help="Pin the ledger's public key (name+id+key).")
@click.option("--jobs", type=WholeNumber(minimum=1), default=os.cpu_count() or 1, show_default="all cores",
              help="Processes checking signatures.")
@click.option("--archive", "archives", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="An evidence archive (`gooseterm archive`): check its archived bytes again (repeatable).")
@json_option
@pass_ctx
def verify(ctx: Context, target: Path | None, trusted_checkpoint: Path | None, ledger_vkey: str | None, jobs: int,
           archives: tuple[Path, ...], as_json: bool):
    """Verify every hash, signature, key window, decision, checkpoint and blob of a ledger or bundle,
    and (for a ledger) the state derived from its entries.

    Exit 0 valid, 1 invalid (each fault class with its first bad seq), 2 could not run.
    """
    from gooseterm.ledger.verifier import FAULT_CLASSES, NoteError, read_note_file

    from ..app.verify import verify as run_verify

    try:
        trusted = read_note_file(trusted_checkpoint) if trusted_checkpoint else None
    except NoteError as exc:
        raise GoosetermError(f"--trusted-checkpoint: {exc}") from None
    show_bar = not as_json and sys.stderr.isatty()
    with ExitStack() as stack:
        bar = None

        def progress(done: int, total: int) -> None:
            nonlocal bar
            if show_bar:
                bar = bar or stack.enter_context(click.progressbar(length=1, label="verifying", file=sys.stderr))
                bar.length = max(total, 1)
                bar.update(done - bar.pos)

        done = run_verify(ctx.settings, target, trusted_checkpoint=trusted, ledger_vkey=ledger_vkey, jobs=jobs,
                          archives=archives, progress=progress)
    path, report = done.target, done.report
    if done.unrecorded:
        click.echo(f"gooseterm: note: {done.unrecorded}", err=True)

    def text() -> str:
        head = f"{path}: {'VALID' if report.ok else 'INVALID'}  size {report.size}  checkpoints {report.checkpoints_checked}  blobs {report.blobs_checked} (+{report.blobs_archived} archived)"
        lines = [head]
        for code, c in report.by_class().items():
            where = "whole" if c["first_seq"] is None else f"first seq {c['first_seq']}"
            lines.append(f"  {code:<26} {where:<16} x{c['count']}  {c['detail']}")
            lines.append(f"  {'':<26} {FAULT_CLASSES[code]}")
        return "\n".join(lines)

    emit(as_json, report.to_json(), text)
    if not report.ok:
        sys.exit(EXIT_REFUSED)
