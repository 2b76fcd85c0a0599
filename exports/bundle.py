"""The audit bundle: everything an auditor needs to verify a period offline, byte for byte reproducible.

Entries are the exact leaf bytes (JSON Lines); rows carry each entry's chain hash, the ledger key's
row signature and, for a partial export, its inclusion proof against the checkpoint taken at
export time. Trust entries and the entries just outside the period ride along in entries.jsonl, so
the period's completeness and every key's validity window can be checked; what those entries cite
from outside the period (a request, the approvals of a quorum, transitively) is in cited.jsonl, so
every decision can be checked. A manifest lists every file's SHA-256 and is signed by the ledger key.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from gooseterm.ledger.kinds import EntryKind
from gooseterm.ledger.signing import canonical_json, sign_note
from gooseterm.ledger.store import Entry, Ledger
from gooseterm.ledger.verifier import (
    ANALYSIS_DB,
    BUNDLE_FORMAT,
    CHECKPOINT_NOTE,
    CITED,
    CITED_ROWS,
    CONSISTENCY,
    ENTRIES,
    MANIFEST,
    MANIFEST_NOTE,
    ROWS,
    TRUST_KINDS,
    entry_cites,
    manifest_note_body,
    parse_checkpoint,
    split_note,
)

from .analysis import analysis_db
from .audit_tree import audit_tree_files, promotion_id
from .oscal import PLAN, RESULTS, assessment_plan, assessment_results
from .standalone import standalone_verifier

ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed member times: the same ledger gives the same zip
ZIP_LEVEL = 3  # deflate level: twice level 6's speed on entries and signatures for ~6% more bytes
VERIFY_MD = Path(__file__).with_name("VERIFY.md")


class ExportError(Exception):
    """The export cannot be made as asked; nothing was written."""


@dataclass(frozen=True)
class Selection:
    """What to export: a period (dates, inclusive) and optionally one service's evidence."""

    since: date | None = None
    until: date | None = None
    service: str | None = None

    def to_json(self) -> dict:
        """JSON form for the manifest."""
        return {"since": self.since and self.since.isoformat(), "until": self.until and self.until.isoformat(),
                "service": self.service}


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode()


def _period(ledger: Ledger, sel: Selection, size: int) -> tuple[int, int]:
    """The contiguous seq range [first, last] whose writer time falls in the selected days."""
    first, last = 0, size - 1
    if sel.since:
        found = ledger.storage.first_seq_since(sel.since.isoformat(), size)
        first = found if found is not None else size
    if sel.until:
        end = (sel.until + timedelta(days=1)).isoformat()
        found = ledger.storage.last_seq_before(end, size)
        last = found if found is not None else -1
    return first, last


def _support_seqs(ledger: Ledger, first: int, last: int, size: int) -> set[int]:
    """Entries outside the period that entries.jsonl carries: trust entries and the two fences."""
    seqs = {r[0] for r in ledger.storage.entries(kinds=TRUST_KINDS)}
    seqs |= {s for s in (first - 1, last + 1) if 0 <= s < size}
    return {s for s in seqs if s < size}


def _cited_rows(ledger: Ledger, carried: set[int], cites: set[int]) -> list[tuple]:
    """The rows of the entries cited (transitively) by the carried ones and not carried themselves, by seq."""
    found: dict[int, tuple] = {}
    todo = sorted(cites - carried)
    while todo:
        seq = todo.pop()
        if seq in found or seq in carried:
            continue
        row = ledger.storage.entry(seq)
        if row is not None:
            found[seq] = row
            todo += entry_cites(json.loads(row[5]))
    return [found[s] for s in sorted(found)]


def _csv(rows: list[list], header: list[str]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue().encode()


def _predicate(leaf: bytes) -> dict:
    """The statement's predicate, read without checking the envelope (verification does that)."""
    statement = json.loads(base64.b64decode(json.loads(leaf)["envelope"]["payload"]))
    return statement.get("predicate", {}) if isinstance(statement, dict) else {}


def _summaries(entries: list[Entry], service: str | None) -> dict[str, bytes]:
    decisions, evidence = [], []
    for e in entries:
        if service and e.service != service:
            continue
        if e.kind.startswith(("promotion.", "approval.", EntryKind.SERVICE_DEMOTED)):
            p = _predicate(e.leaf)
            reason = "; ".join(p.get("reasons", [])) or p.get("reason", "") or p.get("waiting_for", "")
            who = p.get("person") or p.get("requested_by") or ",".join(e.signers)
            decisions.append([e.seq, e.time, e.service or "", promotion_id(e) or "", e.kind, who, reason])
        elif e.kind.startswith("evidence."):
            p = _predicate(e.leaf)
            evidence.append([e.seq, e.time, e.service or "", p.get("kind", ""), p.get("digest", ""), p.get("size", ""),
                             p.get("source", ""), p.get("collector", "")])
    return {
        "summaries/decisions.csv": _csv(decisions, ["seq", "time", "service", "promotion", "kind", "by", "reason"]),
        "summaries/evidence.csv": _csv(evidence, ["seq", "time", "service", "kind", "digest", "size", "source", "collector"]),
    }


# The kinds the summaries, the OSCAL document and the audit tree read; other entries (custom.*,
# key events, annotations...) go into the bundle as bytes only, without decoding their statements.
_DECODED_KINDS = ("evidence.", "promotion.", "approval.", "gate.", "service.")
_NO_BLOBS = b'{"blobs":[],'  # a canonical leaf (sorted keys) that cites no blob starts so


def _row_line(seq: int, leaf_hash: bytes, chain: bytes, row_sig: bytes, proof: list[bytes] | None) -> bytes:
    """canonical_json of the row record, written out directly (a million of them per big export)."""
    head = b'{"chain":"' + base64.b64encode(chain) + b'","leaf_hash":"' + base64.b64encode(leaf_hash)
    if proof is not None:
        head += b'","proof":[' + b",".join(b'"' + base64.b64encode(p) + b'"' for p in proof) + b"]"
        return head + b',"row_sig":"' + base64.b64encode(row_sig) + b'","seq":' + str(seq).encode() + b"}\n"
    return head + b'","row_sig":"' + base64.b64encode(row_sig) + b'","seq":' + str(seq).encode() + b"}\n"


def _wanted_rows(ledger: Ledger, size: int, first: int, last: int, complete: bool):
    """The rows to export, in seq order: all of them, or the period plus the support entries."""
    rows = ledger.storage.entry_range
    if complete:
        yield from rows(0, size - 1)
        return
    support = sorted(_support_seqs(ledger, first, last, size) - set(range(first, last + 1)))
    before = [s for s in support if s < first]
    after = [s for s in support if s > last]
    for s in before:
        yield from rows(s, s)
    yield from rows(first, last)
    for s in after:
        yield from rows(s, s)


def build_bundle(
    ledger: Ledger,
    sel: Selection = Selection(),
    policy: dict | None = None,
    audit_tree: bool = False,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, bytes]:
    """Every file of the bundle, by relative name. Needs the ledger key (it checkpoints and signs)."""
    note = ledger.checkpoint()
    cp = parse_checkpoint(split_note(note).text)
    size = cp.size
    first, last = _period(ledger, sel, size)
    complete = sel.since is None and sel.until is None
    files: dict[str, bytes] = {CHECKPOINT_NOTE: note}
    leaves, rows, entries, blob_refs = [], [], [], []
    carried: set[int] = set()
    cites: set[int] = set()
    start_time = end_time = None
    done = 0
    for row in _wanted_rows(ledger, size, first, last, complete):
        seq, time, kind, service, _, leaf, leaf_hash, chain, row_sig = row
        done += 1
        if progress and done % 10_000 == 0:
            progress("entries", done, size)
        leaves.append(leaf)
        rows.append(_row_line(seq, leaf_hash, chain, row_sig, None if complete else ledger.inclusion_proof(seq, size)))
        if not complete:  # a complete export carries every entry, so whatever one cites
            carried.add(seq)
            cites |= entry_cites(json.loads(leaf))
        if not first <= seq <= last:
            continue
        start_time, end_time = start_time or time, time
        if kind.startswith(_DECODED_KINDS):
            entries.append(Entry(*row))
        if not leaf.startswith(_NO_BLOBS) and (sel.service is None or service == sel.service):
            blob_refs += json.loads(leaf).get("blobs", [])
    files[ENTRIES] = b"".join(leaf + b"\n" for leaf in leaves)
    files[ROWS] = b"".join(rows)
    del leaves, rows
    if not complete:
        outside = _cited_rows(ledger, carried, cites)
        files[CITED] = b"".join(r[5] + b"\n" for r in outside)
        files[CITED_ROWS] = b"".join(_row_line(r[0], *r[6:9], ledger.inclusion_proof(r[0], size)) for r in outside)
    files[ANALYSIS_DB] = analysis_db([line for line in (files[ENTRIES] + files.get(CITED, b"")).split(b"\n") if line])
    proofs = {}
    for cp_size, cp_note in ledger.checkpoints():
        if cp_size <= size:
            files[f"checkpoints/{cp_size:012d}.note"] = cp_note
            if 0 < cp_size < size:
                proofs[str(cp_size)] = [_b64(p) for p in ledger.consistency_proof(cp_size, size)]
    files[CONSISTENCY] = canonical_json(proofs)
    files["keys.json"] = canonical_json(
        [{"keyid": k.keyid, "vkey": k.vkey, "roles": k.roles, "valid_from_seq": k.added, "valid_until_seq": k.revoked}
         for k in sorted(ledger.keys().values(), key=lambda k: k.keyid)]
    )
    files["policy.json"] = canonical_json(policy or {})
    # The evidence the period's gate results read, even when it was collected before the period:
    # the assessment results link to it.
    blob_refs += [d for e in entries if e.kind == EntryKind.GATE_RESULT and (sel.service is None or e.service == sel.service)
                  for d in e.predicate.get("evidence", [])]
    archived = []
    for digest in dict.fromkeys(blob_refs):
        name = "blobs/" + digest.removeprefix("sha256:")
        try:
            files[name] = ledger.blob(digest)
        except LookupError:
            archived.append(digest)
    files.update(_summaries(entries, sel.service))
    period = (start_time, end_time) if start_time else None
    held = {"sha256:" + name.removeprefix("blobs/") for name in files if name.startswith("blobs/")}
    files[PLAN] = canonical_json(assessment_plan(ledger.origin, entries, sel.service, period))
    files[RESULTS] = canonical_json(assessment_results(ledger.origin, entries, sel.service, period, held))
    if audit_tree:
        files.update(audit_tree_files(entries, files, sel.service))
    files["VERIFY.md"] = VERIFY_MD.read_bytes()
    files["verifier.py"] = standalone_verifier()
    manifest = {
        "format": BUNDLE_FORMAT,
        "origin": ledger.origin,
        "ledger_key": ledger.ledger_key.vkey,
        "checkpoint_size": size,
        "complete": complete,
        "range": [first, last],
        "selection": sel.to_json(),
        "archived_blobs": sorted(archived),
        "files": {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())},
    }
    manifest_bytes = json.dumps(manifest, indent=2, sort_keys=True).encode() + b"\n"
    files[MANIFEST] = manifest_bytes
    files[MANIFEST_NOTE] = sign_note(manifest_note_body(ledger.origin, manifest_bytes), [ledger.signer])
    return files


def check_member_name(name: str) -> None:
    """Refuse a bundle file name that could land outside the bundle or that no file system takes:
    absolute, with `..`, `.` or empty parts, a backslash, NUL or other control character, or a
    part over 255 bytes. Names come from the ledger (digests, services), which a tampered file controls."""
    parts = name.split("/")
    if (not name.isprintable() or "\\" in name or any(part in ("", ".", "..") for part in parts)
            or any(len(part.encode()) > 255 for part in parts)):
        raise ExportError(f"the ledger yields the bundle file name {name!r}, which could land outside the bundle; "
                          "nothing was written. Run `gooseterm verify` on the ledger")


def write_bundle(files: dict[str, bytes], out: Path) -> Path:
    """Write the bundle as a folder, or as a zip (fsynced) when `out` ends in .zip; all or nothing.

    Every name is checked (check_member_name) before anything is written."""
    for name in files:
        check_member_name(name)
    if out.exists():
        raise ExportError(f"{out} already exists; choose a new path (an export never overwrites)")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".export-", dir=out.parent))
    try:
        if out.suffix == ".zip":
            target = tmp / out.name
            with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=ZIP_LEVEL) as zf:
                for name in sorted(files):
                    info = zipfile.ZipInfo(name, ZIP_TIME)
                    info.compress_type = zipfile.ZIP_DEFLATED
                    info.external_attr = 0o644 << 16
                    zf.writestr(info, files[name], compresslevel=ZIP_LEVEL)
            with open(target, "rb") as fh:  # on disk before we say so: an archive's bytes leave the ledger next
                os.fsync(fh.fileno())
            os.replace(target, out)
            dir_fd = os.open(out.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        else:
            target = tmp / "bundle"
            for name in sorted(files):
                path = target / name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(files[name])
            os.replace(target, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out
