"""The signed binding. Every statement's predicate carries a `binding`: the ledger's origin, the
entry's kind, service, promotion and blobs, the time its actor made it and, for an entry that answers
a promotion request, that request's seq and leaf hash. The leaf's own fields are an index checked
against the binding, so whoever rewrites leaves (an insider holds the ledger key) can neither move a
decision to another promotion nor count it twice.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from .report import Fault

PREDICATE_BASE = "https://gooseterm.dev/predicates/"
BINDING = "binding"
CLOCK_SKEW = timedelta(minutes=5)
"""How far an entry's time may differ from its actor's signed time, or fall behind earlier entries."""


def canonical_json(obj: object, *, ascii_only: bool = True) -> bytes:
    """Deterministic JSON: sorted keys, no spaces, no NaN; UTF-8 when not ascii_only."""
    return json.dumps(obj, separators=(",", ":"), sort_keys=True, ensure_ascii=ascii_only, allow_nan=False).encode()


def predicate_type(kind: str) -> str:
    """gooseterm's versioned predicate type for an entry kind."""
    return f"{PREDICATE_BASE}{kind}/v1"


def make_binding(origin: str, kind: str, service: str | None, promotion: str | None, blobs: tuple[str, ...] | list[str],
                 time: str, request: tuple[int, bytes] | None) -> dict:
    """The binding an actor signs: where the statement belongs and when it was made."""
    return {"origin": origin, "kind": kind, "service": service, "promotion": promotion, "blobs": list(blobs),
            "time": time, "request": None if request is None else {"seq": request[0], "leaf_hash": request[1].hex()}}


def parse_time(value: str) -> datetime:
    """An RFC 3339 UTC time as the ledger writes it (`2026-03-02T09:00:01.000000Z`); ValueError otherwise."""
    if not isinstance(value, str) or not value.endswith("Z"):
        raise ValueError(f"time {value!r} is not RFC 3339 UTC")
    return datetime.fromisoformat(value[:-1] + "+00:00")


def binding_faults(seq: int, origin: str, record: dict, statement: object) -> tuple[list[Fault], datetime | None]:
    """Check a leaf's index fields against the binding its actor signed; return faults and the signed time."""
    predicate = statement.get("predicate") if isinstance(statement, dict) else None
    binding = predicate.get(BINDING) if isinstance(predicate, dict) else None
    if not isinstance(binding, dict):
        return [Fault("index_mismatch", seq, "the statement carries no signed binding")], None
    index = {"origin": origin, "kind": record.get("kind"), "service": record.get("service"),
             "promotion": record.get("promotion"), "blobs": record.get("blobs")}
    differ = [k for k, v in index.items() if binding.get(k) != v]
    faults = [Fault("index_mismatch", seq, f"{', '.join(differ)} differ from the signed binding")] if differ else []
    try:
        signed, written = parse_time(binding.get("time")), parse_time(record.get("time"))
    except (ValueError, TypeError):
        return faults + [Fault("index_mismatch", seq, "the entry's time or its signed time is not RFC 3339 UTC")], None
    if abs(written - signed) > CLOCK_SKEW:
        faults.append(Fault("index_mismatch", seq, f"written at {record.get('time')}, signed at {binding.get('time')}: "
                                                   f"more than {int(CLOCK_SKEW.total_seconds())} s apart"))
    return faults, signed
