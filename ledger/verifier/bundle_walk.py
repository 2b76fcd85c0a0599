"""The bundle walk: the ledger walk's checks on an audit bundle, with the same fault classes, plus
the manifest, the period's edges, cited entries, inclusion and consistency proofs and blobs."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import multiprocessing
from dataclasses import dataclass, field
from datetime import date, timedelta

from .analysis import ANALYSIS_DB, analysis_faults, expected_rows
from .bundle_files import BundleFiles
from .bundle_format import BUNDLE_FORMAT, CHECKPOINT_NOTE, CITED, CITED_ROWS, CONSISTENCY, ENTRIES, MANIFEST, MANIFEST_NOTE, ROWS, entry_cites, manifest_note_body
from .checkpoint import MAX_UINT64, Checkpoint, parse_checkpoint, parse_decimal
from .hashing import EMPTY_ROOT, GENESIS_CHAIN, node_hash
from .kinds import TRUST_KINDS
from .merkle import ProofError, root_from_leaf_hashes, roots_at_sizes, verify_consistency, verify_inclusion
from .note import NoteError, NoteVerifier, open_note, parse_vkey
from .report import Fault, Report
from .rows import RowChecks, check_across_rows, check_rows, classify_misplaced, merge_row_checks
from .trust import trust_timeline

BUNDLE_CHUNK = 1 << 12  # lines per task; a power of two, so a full chunk of a complete bundle is one Merkle node
_bundle: dict = {}  # the bundle's lines and what the checks need, set before the workers fork


@dataclass
class _BundleChunk(RowChecks):
    """A chunk's checks plus what only the whole bundle can judge: seqs in line order, trust entries
    seen, blobs cited within the selection, and the chunk's Merkle subtree (or its leaf hashes)."""

    seqs: list[int] = field(default_factory=list)
    trust: list[tuple[int, int, str]] = field(default_factory=list)  # (line, seq, kind)
    refs: set[str] = field(default_factory=set)
    cites: dict[int, int] = field(default_factory=dict)  # cited seq -> the first seq citing it (partial bundles)
    edges: dict[int, str] = field(default_factory=dict)  # writer time of the entries just outside the period
    subtree: bytes | None = None
    hashes: list[bytes] = field(default_factory=list)


def _parse_row_line(meta: bytes) -> tuple[int, bytes, bytes, bytes, list[bytes]] | None:
    """A rows.jsonl line: (seq, leaf hash, chain, row signature, inclusion proof), or None."""
    try:
        m = json.loads(meta)
        seq = m["seq"]
        if isinstance(seq, bool) or not isinstance(seq, int) or not 0 <= seq <= MAX_UINT64:
            return None
        return (seq, *(base64.b64decode(m[k]) for k in ("leaf_hash", "chain", "row_sig")),
                [base64.b64decode(p) for p in m.get("proof", [])])
    except (ValueError, KeyError, TypeError, binascii.Error):
        return None


def _verify_bundle_chunk(bounds: tuple[int, int]) -> _BundleChunk:
    """Check lines [start, stop) of the loaded bundle: each line is parsed here, once, in the worker;
    the chain restarts at every gap in seq (a partial export has several runs)."""
    start, stop = bounds
    b = _bundle
    leaves, metas, cp = b["leaves"], b["metas"], b["checkpoint"]
    first, last, service = b["range"]
    out = _BundleChunk()
    rows: list[tuple] = []
    records: list[object] = []
    for n in range(start, stop):
        meta = _parse_row_line(metas[n])
        if meta is None:
            out.faults.append(Fault("leaf_modified", None, f"{ROWS} line {n + 1} is not a row record"))
            continue
        seq, lh, chain, sig, proof = meta
        leaf = leaves[n]
        try:
            record = json.loads(leaf)
            cols = (record.get("time"), record.get("kind"), record.get("service"), record.get("promotion"))
        except (ValueError, AttributeError):
            record, cols = None, (None, None, None, None)
        out.seqs.append(seq)
        if seq in (first - 1, last + 1) and isinstance(cols[0], str):
            out.edges[seq] = cols[0]
        if cols[1] in TRUST_KINDS:
            out.trust.append((n, seq, cols[1]))
        if isinstance(record, dict) and first <= seq <= last and (service is None or cols[2] == service):
            refs = record.get("blobs") or ()
            out.refs.update(r for r in refs if isinstance(r, str))
        if not b["complete"]:
            try:
                verify_inclusion(seq, cp.size, lh, proof, cp.root)
            except ProofError as exc:
                out.faults.append(Fault("leaf_modified", seq, f"entry is not in the checkpoint's tree ({exc})"))
            if isinstance(record, dict):
                for cited in entry_cites(record):
                    out.cites[cited] = min(out.cites.get(cited, seq), seq)
        rows.append((seq, *cols, leaf, lh, chain, sig))
        records.append(record)
    before = _parse_row_line(metas[start - 1]) if start else None

    def flush(lo: int, hi: int, before_seq: int | None, before_chain: bytes | None) -> None:
        if lo == hi:
            return
        head = rows[lo][0]
        prev_chain = GENESIS_CHAIN if head == 0 else (before_chain if before_seq == head - 1 else None)
        merge_row_checks(out, check_rows(rows[lo:hi], prev_chain, b["origin"], b["ledger_pub"], b["keys"], records[lo:hi]))

    lo = 0
    before_seq, before_chain = (before[0], before[2]) if before else (None, None)
    for i in range(1, len(rows)):
        if rows[i][0] != rows[i - 1][0] + 1:
            flush(lo, i, before_seq, before_chain)
            before_seq, before_chain, lo = rows[i - 1][0], rows[i - 1][7], i
    flush(lo, len(rows), before_seq, before_chain)
    hashes = [r[6] for r in rows]
    if b["complete"]:
        if len(rows) == BUNDLE_CHUNK and start % BUNDLE_CHUNK == 0 and out.seqs == list(range(start, stop)):
            out.subtree = root_from_leaf_hashes(hashes)
        else:
            out.hashes = hashes
    return out


def _merge_bundle(into: _BundleChunk, r: _BundleChunk) -> None:
    merge_row_checks(into, r)
    into.seqs += r.seqs
    into.trust += r.trust
    into.refs |= r.refs
    for cited, by in r.cites.items():
        into.cites[cited] = min(into.cites.get(cited, by), by)
    into.edges.update(r.edges)


def _complete_root(results: list[_BundleChunk]) -> bytes:
    """The Merkle root from the chunks' subtrees (full chunks) and leaf hashes (the last one)."""
    level = BUNDLE_CHUNK.bit_length() - 1
    stack: list[tuple[int, bytes]] = []

    def push(height: int, node: bytes) -> None:
        while stack and stack[-1][0] == height:
            node = node_hash(stack.pop()[1], node)
            height += 1
        stack.append((height, node))

    for r in results:
        if r.subtree is not None:
            push(level, r.subtree)
        for h in r.hashes:
            push(0, h)
    if not stack:
        return EMPTY_ROOT
    node = stack.pop()[1]
    while stack:
        node = node_hash(stack.pop()[1], node)
    return node


def _run_bundle_chunks(chunks: list[tuple[int, int]], jobs: int, progress, total: int) -> list[_BundleChunk]:
    results: list[_BundleChunk] = []
    done = 0
    if jobs > 1 and len(chunks) > 1:
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            for r in pool.imap(_verify_bundle_chunk, chunks):  # in order: seqs and subtrees are positional
                results.append(r)
                done += r.rows
                if progress:
                    progress(done, total)
    else:
        for c in chunks:
            results.append(_verify_bundle_chunk(c))
            done += results[-1].rows
            if progress:
                progress(done, total)
    return results


def _split_lines(data: bytes | None) -> list[bytes]:
    lines = (data or b"").split(b"\n")
    return lines[:-1] if lines and lines[-1] == b"" else lines


def verify_bundle(
    path: str, trusted_checkpoint: bytes | None = None, ledger_vkey: str | None = None, jobs: int = 1, progress=None
) -> Report:
    """Verify an audit bundle (folder or zip) with the same fault classes as a ledger file."""
    report = Report(source=str(path))
    try:
        files = BundleFiles(path)
    except (OSError, ValueError) as exc:
        report.faults.append(Fault("foreign_file", None, f"not a bundle folder or zip: {exc}"))
        return report
    manifest_bytes, note = files.read(MANIFEST), files.read(MANIFEST_NOTE)
    if manifest_bytes is None or note is None:
        report.faults.append(Fault("foreign_file", None, f"no {MANIFEST} and {MANIFEST_NOTE}: not a gooseterm bundle"))
        return report
    try:
        manifest = json.loads(manifest_bytes)
        origin = manifest["origin"]
        ledger_key = parse_vkey(ledger_vkey or manifest["ledger_key"])
        if manifest.get("format") != BUNDLE_FORMAT:
            raise ValueError(f"format {manifest.get('format')!r}")
    except (ValueError, KeyError, TypeError, NoteError) as exc:
        report.faults.append(Fault("manifest_signature_bad", None, f"{MANIFEST} is unreadable: {exc}"))
        return report
    if ledger_vkey and manifest["ledger_key"] != ledger_key.vkey:
        report.faults.append(Fault("genesis_invalid", None, "the bundle names a different ledger key than the one pinned"))
    try:
        opened, _ = open_note(note, [ledger_key])
        if opened.text != manifest_note_body(origin, manifest_bytes):
            raise NoteError(f"{MANIFEST} was edited after it was signed")
    except NoteError as exc:
        report.faults.append(Fault("manifest_signature_bad", None, str(exc)))

    kept = _check_listed_files(files, manifest.get("files", {}), report)
    analysis = kept.pop(ANALYSIS_DB, None)

    try:
        cp_note = files.read(CHECKPOINT_NOTE) or b""
        cp = parse_checkpoint(open_note(cp_note, [ledger_key])[0].text)
        if cp.origin != origin:
            raise NoteError(f"checkpoint is for origin {cp.origin!r}")
    except NoteError as exc:
        report.faults.append(Fault("checkpoint_signature_bad", None, f"{CHECKPOINT_NOTE}: {exc}"))
        return report
    report.size, report.root = cp.size, cp.root
    report.checkpoints_checked += 1

    def pair(entries: str, rows: str) -> tuple[list[bytes], list[bytes]]:
        """The lines of an entries file and its rows file, as many of each."""
        leaves = _split_lines(kept[entries] if entries in kept else files.read(entries))
        metas = _split_lines(kept[rows] if rows in kept else files.read(rows))
        if len(leaves) != len(metas):
            report.faults.append(Fault("leaf_modified", None, f"{entries} has {len(leaves)} lines but {rows} has {len(metas)}"))
        n = min(len(leaves), len(metas))
        return leaves[:n], metas[:n]

    # The period's lines, then the cited entries' (one walk; a chunk never spans the two files).
    leaves, metas = pair(ENTRIES, ROWS)
    cited_leaves, cited_metas = pair(CITED, CITED_ROWS)
    kept.clear()
    lines = len(leaves)
    leaves += cited_leaves
    metas += cited_metas
    first, last = manifest.get("range", [0, -1])
    complete = bool(manifest.get("complete"))
    sel_service = (manifest.get("selection") or {}).get("service")

    # Trust entries decide which keys were valid when, so they come before the signature checks:
    # found here by a quick look for their kind, then confirmed by the workers' full parse of every
    # line (an entry that hid its kind from the quick look makes the checks run again).
    trust = []
    for n in range(len(leaves)):
        if b"ledger." in leaves[n]:
            meta = _parse_row_line(metas[n])
            try:
                kind = json.loads(leaves[n]).get("kind")
            except (ValueError, AttributeError):
                continue
            if meta is not None and kind in TRUST_KINDS:
                trust.append((n, meta[0], kind))
    chunks = [(a, min(a + BUNDLE_CHUNK, lines)) for a in range(0, lines, BUNDLE_CHUNK)]
    entry_chunks = len(chunks)
    chunks += [(a, min(a + BUNDLE_CHUNK, len(leaves))) for a in range(lines, len(leaves), BUNDLE_CHUNK)]
    global _bundle
    try:
        for _ in range(2):
            timeline = Report(source=report.source)
            keys = trust_timeline([(seq, kind, leaves[n]) for n, seq, kind in sorted(trust, key=lambda t: t[1])],
                                  origin, ledger_key, timeline)
            _bundle = {"leaves": leaves, "metas": metas, "checkpoint": cp, "range": (first, last, sel_service),
                       "complete": complete, "origin": origin, "ledger_pub": ledger_key.public_key, "keys": keys}
            results = _run_bundle_chunks(chunks, jobs, progress, len(leaves))
            seen = [t for r in results for t in r.trust]
            if seen == trust:
                break
            trust = seen
    finally:
        _bundle = {}
    merged = _BundleChunk()
    for r in results[:entry_chunks]:
        _merge_bundle(merged, r)
    seqs = list(merged.seqs)
    for r in results[entry_chunks:]:
        _merge_bundle(merged, r)
    cited = merged.seqs[len(seqs):]
    report.faults += timeline.faults + merged.faults

    _check_carried_seqs(seqs, cited, (first, last), cp.size, merged.cites, report)
    if not complete:
        _check_period_edges(first, last, cp.size, manifest.get("selection") or {}, merged.edges, report)
    classify_misplaced(merged.misplaced, report)
    check_across_rows(merged, keys, report)

    try:
        proofs = {parse_decimal(k): [base64.b64decode(p) for p in v] for k, v in json.loads(files.read(CONSISTENCY) or b"{}").items()}
    except (ValueError, AttributeError, binascii.Error):
        proofs = {}
        report.faults.append(Fault("bundle_file_mismatch", None, f"{CONSISTENCY} is unreadable"))
    root_at = None
    if complete and seqs == list(range(cp.size)):
        if _complete_root(results[:entry_chunks]) != cp.root:
            report.faults.append(Fault("checkpoint_root_mismatch", cp.size - 1, "the entries do not produce the checkpoint's root"))

        def root_at(size: int) -> bytes:
            """Every leaf is here: a root at any size comes from the leaves themselves."""
            return roots_at_sizes(((_parse_row_line(m) or (0, b""))[1:2] for m in metas[:lines]), {size}).get(size, b"")

    notes = [(files.read(n) or b"", False) for n in sorted(files.names()) if n.startswith("checkpoints/") and n.endswith(".note")]
    notes += [(trusted_checkpoint, True)] if trusted_checkpoint is not None else []
    for note_bytes, trusted in notes:
        _check_bundle_checkpoint(note_bytes, cp, proofs, root_at, ledger_key, report, trusted=trusted)
    _check_bundle_blobs(files, merged.refs, set(manifest.get("archived_blobs", [])), report)
    if analysis is not None:
        _check_analysis(analysis, leaves, report)
    return report


def _check_listed_files(files: BundleFiles, listed: dict[str, str], report: Report) -> dict[str, bytes | None]:
    """Every file is listed in the manifest and has the bytes it lists. Returns the files read again
    later (entries, rows, cited ones: read, and for a zip inflated, once), and analysis.db only when
    its bytes are those the signed manifest lists."""
    for problem in files.problems:
        report.faults.append(Fault("bundle_file_mismatch", None, problem))
    for name in files.names():
        if name not in listed and name not in (MANIFEST, MANIFEST_NOTE):
            report.faults.append(Fault("bundle_file_mismatch", None, f"{name} is not listed in the manifest"))
    kept: dict[str, bytes | None] = {}
    for name, digest in sorted(listed.items()):
        data = files.read(name)
        if name in (ENTRIES, ROWS, CITED, CITED_ROWS):
            kept[name] = data
        if data is None:
            report.faults.append(Fault("bundle_file_mismatch", None, f"{name} is listed in the manifest but missing"))
        elif hashlib.sha256(data).hexdigest() != digest:
            report.faults.append(Fault("bundle_file_mismatch", None, f"{name} differs from the manifest's hash"))
        elif name == ANALYSIS_DB:
            kept[name] = data
    return kept


def _check_carried_seqs(seqs: list[int], cited: list[int], period: tuple[int, int], size: int, cites: dict[int, int],
                        report: Report) -> None:
    """The seqs the bundle carries, in entries.jsonl (`seqs`) and cited.jsonl (`cited`): the whole
    period, each once, in order, within the checkpoint, and everything a carried entry cites."""
    first, last = period
    present = set(seqs)
    for s in range(first, last + 1):
        if s not in present:
            report.faults.append(Fault("row_deleted", s, f"seq {s} of the exported range {first}..{last} is missing"))
            break
    carried = seqs + cited
    if len(set(carried)) != len(carried):
        seen_seqs: set[int] = set()
        dup = next(s for s in carried if s in seen_seqs or seen_seqs.add(s))
        report.faults.append(Fault("row_inserted", dup, f"seq {dup} appears more than once"))
    for name, order in ((ENTRIES, seqs), (CITED, cited)):
        if order != sorted(order):
            bad = next(i for i in range(1, len(order)) if order[i] < order[i - 1])
            report.faults.append(Fault("row_reordered", order[bad], f"seq {order[bad]} comes after seq {order[bad - 1]} in {name}"))
    if any(s >= size for s in carried):
        report.faults.append(Fault("row_inserted", max(carried), f"seq {max(carried)} lies beyond the checkpoint's {size} entries"))
    # Every entry carried must have what it cites carried too, or its checks (a quorum against the
    # request's policy, an approval's request) would pass on what is not there.
    carried_set = set(carried)
    for s, by in sorted(cites.items()):
        if s not in carried_set and not first <= s <= last:
            report.faults.append(Fault("row_deleted", s, f"seq {s}, cited by seq {by}, is neither in the period nor in {CITED}"))


def _check_period_edges(first: int, last: int, size: int, selection: dict, edges: dict[int, str], report: Report) -> None:
    """The entries just before and after a period prove where it starts and ends: each must be in the
    bundle and dated outside the selected days, or an entry of the period was left out of it."""
    since, until = selection.get("since"), selection.get("until")
    try:
        end = (date.fromisoformat(until) + timedelta(days=1)).isoformat() if until else None
    except (TypeError, ValueError):
        end = None
    for seq, bound, outside in ((first - 1, since, lambda t: t < since), (last + 1, end, lambda t: t >= end)):
        if not 0 <= seq < size:
            continue
        if seq not in edges:
            report.faults.append(Fault("row_deleted", seq, f"seq {seq}, just outside the exported range {first}..{last}, is missing"))
        elif not isinstance(bound, str) or not outside(edges[seq]):
            report.faults.append(Fault("row_deleted", seq, f"seq {seq} ({edges[seq]}) belongs to the selected days but not to the exported range {first}..{last}"))


def _check_bundle_checkpoint(note: bytes, cp: Checkpoint, proofs: dict, root_at, ledger_key: NoteVerifier,
                             report: Report, trusted: bool) -> None:
    """An older (or auditor-held) checkpoint against the bundle's: by the consistency proof the bundle
    carries (RFC 9162 2.1.4.2), or, in a complete bundle without one, by the root the leaves give."""
    label = "trusted checkpoint" if trusted else "checkpoint"
    code = "checkpoint_inconsistent" if trusted else "checkpoint_root_mismatch"
    try:
        old = parse_checkpoint(open_note(note, [ledger_key])[0].text)
    except NoteError as exc:
        report.faults.append(Fault("checkpoint_signature_bad", None, f"{label}: {exc}"))
        return
    if trusted:
        report.trusted_checkpoint = old.size
    else:
        report.checkpoints_checked += 1
    if old.origin != cp.origin:
        report.faults.append(Fault("checkpoint_signature_bad", None, f"{label} is for origin {old.origin!r}"))
    elif old.size > cp.size:
        report.faults.append(Fault("tail_truncated", cp.size, f"{label} covers {old.size} entries, the bundle's checkpoint {cp.size}"))
    elif old.size == 0:
        return
    elif old.size == cp.size:
        if old.root != cp.root:
            report.faults.append(Fault(code, cp.size - 1, f"{label} of the same size has another root (fork)"))
    elif old.size in proofs:
        try:
            verify_consistency(old.size, cp.size, proofs[old.size], old.root, cp.root)
        except ProofError as exc:
            report.faults.append(Fault(code, old.size - 1, f"{label} of size {old.size} is not a prefix of the bundle's tree ({exc})"))
    elif root_at is not None:
        if root_at(old.size) != old.root:
            report.faults.append(Fault(code, old.size - 1, f"{label} of size {old.size} has a root the entries do not produce"))
    else:
        report.faults.append(Fault(code, old.size - 1, f"the bundle carries no consistency proof from {label} size {old.size}"))


def _check_bundle_blobs(files: BundleFiles, refs: set[str], archived: set[str], report: Report) -> None:
    """Every blob file hashes to its name; every blob the selected entries cite is present or archived."""
    for name in files.names():
        data = files.read(name) if name.startswith("blobs/") else None
        if data is None:  # not a blob, or a link or duplicate already reported
            continue
        report.blobs_checked += 1
        digest = "sha256:" + name.removeprefix("blobs/")
        if "sha256:" + hashlib.sha256(data).hexdigest() != digest:
            report.faults.append(Fault("blob_digest_mismatch", None, f"blob {digest} does not hash to its name"))
    for digest in sorted(refs):
        if digest in archived:
            report.blobs_archived += 1
        elif files.read("blobs/" + digest.removeprefix("sha256:")) is None:
            report.faults.append(Fault("blob_missing", None, f"blob {digest} is referred to but not in the bundle"))


def _check_analysis(data: bytes, leaves: list[bytes], report: Report) -> None:
    """analysis.db against the rows the bundle's entries give. Entries already faulted are left to
    those faults: an edited or missing entry is named once, by the check that caught it."""
    skip = {f.seq for f in report.faults if f.seq is not None}
    report.faults += analysis_faults(data, expected_rows(leaves), skip)
