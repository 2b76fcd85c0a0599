"""The checks on a run of consecutive entries, shared by the ledger walk and the bundle walk: leaf,
row columns, chain, row signature, statement signatures, signed binding and time; then what only
all runs together can judge (deleted, inserted or reordered rows, replays, time, the decisions)."""

from __future__ import annotations

import bisect
import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime

from .binding import CLOCK_SKEW, binding_faults, parse_time
from .decisions import Decision, check_decisions, decision_of
from .dsse import parse_envelope
from .ed25519 import ed25519_verify
from .hashing import chain_hash, leaf_hash, row_message
from .report import Fault, Report
from .trust import TrustedKey, signature_faults


@dataclass
class RowChecks:
    """What the checks of one run of rows found, and what the checks across runs need from it."""

    faults: list[Fault] = field(default_factory=list)
    misplaced: list[tuple[int, int]] = field(default_factory=list)  # (position, seq the leaf claims)
    blob_refs: set[str] = field(default_factory=set)
    decisions: list[Decision] = field(default_factory=list)
    statements: dict[int, int] = field(default_factory=dict)  # first 8 bytes of the payload's SHA-256 -> seq
    replayed: list[tuple[int, int]] = field(default_factory=list)  # (seq, seq of the first copy)
    times: list[tuple[int, datetime, datetime]] = field(default_factory=list)  # per run: (seq of its minimum, minimum, maximum)
    rows: int = 0


def check_rows(rows, prev_chain: bytes | None, origin: str, ledger_pub: bytes, keys: dict[str, TrustedKey],
                records: list | None = None) -> RowChecks:
    """Check a run of consecutive rows: leaf, columns, chain, row signature, statement signatures, the
    signed binding and time; collect what the whole-ledger checks need (decisions, statement ids).

    `records`: the leaves already decoded by the caller, row by row (a bundle's worker decodes each
    once); None decodes them here.
    """
    out = RowChecks()
    low: tuple[int, datetime] | None = None
    high: datetime | None = None
    for i, (seq, time, kind, service, promotion, leaf, stored_leaf_hash, chain, row_sig) in enumerate(rows):
        out.rows += 1
        if leaf_hash(leaf) != stored_leaf_hash:
            out.faults.append(Fault("leaf_modified", seq, "entry bytes do not hash to the stored leaf hash"))
        if prev_chain is not None and chain_hash(prev_chain, stored_leaf_hash) != chain:
            out.faults.append(Fault("chain_broken", seq, "chain hash does not follow from the previous entry"))
        prev_chain = chain
        if not ed25519_verify(ledger_pub, row_sig, row_message(origin, seq, chain)):
            out.faults.append(Fault("row_signature_bad", seq, "ledger key signature over (origin, seq, chain) is invalid"))
        try:
            record = records[i] if records is not None and records[i] is not None else json.loads(leaf)
            env = parse_envelope(record["envelope"])
            claimed = record["seq"]
            columns = (record["time"], record["kind"], record["service"], record["promotion"])
            statement = json.loads(env.payload)
        except (ValueError, KeyError, TypeError) as exc:
            out.faults.append(Fault("leaf_modified", seq, f"entry is not a readable gooseterm leaf ({exc})"))
            continue
        if type(claimed) is not int:
            out.faults.append(Fault("leaf_modified", seq, f"the leaf's seq {claimed!r} is not a whole number"))
            continue
        if claimed != seq:
            out.misplaced.append((seq, claimed))
        if columns != (time, kind, service, promotion):
            out.faults.append(Fault("leaf_modified", seq, "row columns (time, kind, service, promotion) differ from the signed leaf"))
        faults, good = signature_faults(seq, env, keys)
        out.faults += faults
        out.blob_refs.update(b for b in record.get("blobs") or () if isinstance(b, str))
        statement_id = int.from_bytes(hashlib.sha256(env.payload).digest()[:8], "big")
        first = out.statements.setdefault(statement_id, seq)
        if first != seq:
            out.replayed.append((seq, first))
        faults, signed = binding_faults(seq, origin, record, statement)
        out.faults += faults
        try:
            written = parse_time(time)
        except (ValueError, TypeError):
            continue  # binding_faults named it
        if high is not None and written < high - CLOCK_SKEW:
            out.faults.append(Fault("time_regressed", seq, _regressed(written, high)))
        high = written if high is None else max(high, written)
        if low is None or written < low[1]:
            low = (seq, written)
        if signed is not None and not faults and promotion:
            out.decisions.append(decision_of(seq, record, statement["predicate"], stored_leaf_hash, signed, good))
    if low is not None and high is not None:
        out.times.append((low[0], low[1], high))
    return out


def merge_row_checks(into: RowChecks, r: RowChecks) -> None:
    """Add the results of one run to `into`; a statement seen in both is a replay of the earlier one."""
    into.faults += r.faults
    into.misplaced += r.misplaced
    into.blob_refs |= r.blob_refs
    into.decisions += r.decisions
    for statement_id, seq in r.statements.items():
        first = into.statements.setdefault(statement_id, seq)
        if first != seq:
            into.replayed.append((max(first, seq), min(first, seq)))
    into.replayed += r.replayed
    into.times += r.times
    into.rows += r.rows


def classify_misplaced(misplaced: list[tuple[int, int]], report: Report) -> None:
    """Turn leaves whose signed seq differs from their position into deleted/inserted/reordered.

    Only a change of offset (signed seq minus position) starts a finding, so one deletion
    followed by renumbering is one `row_deleted`, not a fault on every later row.
    """
    offsets = dict(misplaced)
    claimers: dict[int, list[int]] = {}
    for pos, claimed in misplaced:
        claimers.setdefault(claimed, []).append(pos)
    claimed_anywhere = sorted(claimers)
    reordered: list[tuple[int, int]] = []  # [low, high) runs of seqs that a reordering skipped over
    for pos, claimed in sorted(misplaced):
        expected = pos + (offsets[pos - 1] - (pos - 1) if pos - 1 in offsets else 0)
        if claimed == expected:
            continue
        detail = f"position {pos} holds the entry signed as seq {claimed}"
        if claimed > expected:
            i = bisect.bisect_left(claimed_anywhere, expected)
            if i < len(claimed_anywhere) and claimed_anywhere[i] < claimed:  # a skipped seq is held elsewhere
                reordered.append((expected, claimed))
                report.faults.append(Fault("row_reordered", pos, detail))
            else:
                report.faults.append(Fault("row_deleted", expected, detail + f"; seq {expected}..{claimed - 1} missing"))
        elif any(low <= claimed < high for low, high in reordered):
            continue
        elif len(claimers[claimed]) > 1 or claimed < pos:
            report.faults.append(Fault("row_inserted", claimed, detail + "; an entry was inserted before it"))


def _regressed(written: datetime, latest: datetime) -> str:
    return f"written at {written:%Y-%m-%dT%H:%M:%S.%fZ}, after an entry written at {latest:%Y-%m-%dT%H:%M:%S.%fZ}"


def check_across_rows(merged: RowChecks, keys: dict[str, TrustedKey], report: Report) -> None:
    """What no single run of rows can judge: replayed statements, time across runs, and the decisions."""
    for seq, first in sorted(set(merged.replayed)):
        report.faults.append(Fault("statement_replayed", seq, f"the statement signed at seq {first} appears again"))
    high: datetime | None = None
    for seq, low, top in sorted(merged.times, key=lambda t: t[0]):
        if high is not None and low < high - CLOCK_SKEW:
            report.faults.append(Fault("time_regressed", seq, _regressed(low, high)))
        high = top if high is None else max(high, top)
    check_decisions(merged.decisions, keys, report)
