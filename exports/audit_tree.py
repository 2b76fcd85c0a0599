"""The plan's folder layout (plan 3.1 and 3.4) for auditors used to folders:

    audit/services/{service}/specs/{seq}/spec.yaml
    audit/services/{service}/evidence/{YYYYMMDD}/{tests|sast|coverage|metrics}/{seq}-{file}
    audit/services/{service}/promotions/{promotion-id}/{request,validation,approval}.json
    audit/promotions/{service}/{YYYYMMDD}/request/{metadata,dependencies}.json
    audit/promotions/{service}/{YYYYMMDD}/validation/{gate}.json
    audit/promotions/{service}/{YYYYMMDD}/evidence/{sast_results,test_coverage,metrics_snapshot,...}.json
    audit/promotions/{service}/{YYYYMMDD}/approval/{gate_results,signatures}.json

The plan has one folder per service and day; a service's second promotion requested on the same
day goes to `{YYYYMMDD}-2` (the third to `-3`, ...), in request order, so none overwrites another.
The same bytes as the bundle's blobs and entries, arranged differently; the manifest lists them too.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from urllib.parse import quote

from gooseterm.ledger.signing import canonical_json
from gooseterm.ledger.kinds import EntryKind
from gooseterm.ledger.store import Entry

_EVIDENCE_FOLDER = {"junit": "tests", "sarif": "sast", "coverage": "coverage", "metrics": "metrics", "spec": "specs"}
_PROMOTION_EVIDENCE = {"sarif": "sast_results", "coverage": "test_coverage", "metrics": "metrics_snapshot", "junit": "test_results"}
REQUESTED = EntryKind.PROMOTION_REQUESTED
MAX_SEGMENT_BYTES = 200
"""Longest folder or file name written (file systems stop at 255 bytes); longer names are cut and
keep a digest of the whole, so two long names stay apart."""


def segment(name: object) -> str:
    """`name` as one folder or file name that stays where it is put.

    Services, sources, gates and times come from ledger entries, which anyone with a signing key
    can fill (`gooseterm append --service ../../x`): a separator, a control character or `%` is
    percent-encoded, `.` and `..` are spelt out, and an overlong name is cut. Names gooseterm
    itself writes (DNS labels, file names, dates) come through unchanged.
    """
    text = str(name)
    safe = "".join(c if c.isprintable() and c not in "/\\%" else quote(c, safe="") for c in text)
    if safe in ("", ".", ".."):
        safe = quote(safe, safe="").replace(".", "%2E") or "%00"
    if len(safe.encode()) > MAX_SEGMENT_BYTES:
        digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]
        safe = safe.encode()[: MAX_SEGMENT_BYTES - 17].decode("utf-8", "ignore") + "-" + digest
    return safe


def _path(*parts: object) -> str:
    return "/".join(segment(part) for part in parts)


def promotion_id(e: Entry) -> str | None:
    """The promotion an entry belongs to. A request is appended before its id exists, so its id is
    derived the way gooseterm/promotions.py names it: `{service}-{seq of the request}`."""
    if e.promotion is None and e.kind == REQUESTED and e.service:
        return f"{e.service}-{e.seq}"
    return e.promotion


def _day(e: Entry) -> str:
    return e.time[:10].replace("-", "")


def audit_tree_files(entries: list[Entry], files: dict[str, bytes], service: str | None) -> dict[str, bytes]:
    """The audit/ tree for the exported entries; blob bytes are taken from the bundle's blobs/."""
    out: dict[str, bytes] = {}
    by_promotion: dict[str, list[Entry]] = defaultdict(list)
    evidence_by_digest: dict[str, Entry] = {}
    for e in entries:
        if service and e.service != service:
            continue
        p = e.predicate
        digest, kind = p.get("digest"), p.get("kind")
        if e.kind.startswith("evidence.") and isinstance(digest, str) and isinstance(kind, str):
            data = files.get("blobs/" + digest.removeprefix("sha256:"))
            if data is None:
                continue
            name = str(p.get("source") or kind).replace("\\", "/").rsplit("/", 1)[-1]
            if kind == "spec":
                out[_path("audit", "services", e.service, "specs", e.seq, name)] = data
            else:
                folder = _EVIDENCE_FOLDER.get(kind, kind)
                out[_path("audit", "services", e.service, "evidence", _day(e), folder, f"{e.seq}-{name}")] = data
            evidence_by_digest[digest] = e
        pid = promotion_id(e)
        if pid:
            by_promotion[pid].append(e)
    day_folders: dict[tuple[str, str], int] = defaultdict(int)
    for pid, group in sorted(by_promotion.items(), key=lambda item: item[1][0].seq):
        request = next((e for e in group if e.kind == REQUESTED), None)
        svc = group[0].service
        base = _path("audit", "services", svc, "promotions", pid)
        gates = [{"seq": e.seq, **e.predicate} for e in group if e.kind == EntryKind.GATE_RESULT]
        approvals = [{"seq": e.seq, "signers": e.signers, **e.predicate} for e in group if e.kind.startswith("approval.")]
        decisions = [{"seq": e.seq, "kind": e.kind, "time": e.time, **e.predicate} for e in group
                     if e.kind.startswith("promotion.") and e.kind != REQUESTED]
        if request is not None:
            out[f"{base}/request.json"] = canonical_json({"seq": request.seq, "time": request.time, "promotion_id": pid, **request.predicate})
        out[f"{base}/validation.json"] = canonical_json(gates)
        out[f"{base}/approval.json"] = canonical_json({"approvals": approvals, "decisions": decisions})
        day = _day(request or group[0])
        day_folders[(svc, day)] += 1
        n = day_folders[(svc, day)]
        pbase = _path("audit", "promotions", svc, day + (f"-{n}" if n > 1 else ""))
        if request is not None:
            p = request.predicate
            out[f"{pbase}/request/metadata.json"] = canonical_json(
                {"promotion_id": pid, "timestamp": request.time, "service": svc, "target_state": p.get("target_state"),
                 "evidence_refs": p.get("evidence_refs", []), "requested_by": p.get("requested_by")})
            out[f"{pbase}/request/dependencies.json"] = canonical_json(p.get("dependencies", {}))
            for digest in p.get("evidence_refs", []):
                ev = evidence_by_digest.get(digest)
                if ev is not None and ev.predicate["kind"] in _PROMOTION_EVIDENCE:
                    out[f"{pbase}/evidence/{_PROMOTION_EVIDENCE[ev.predicate['kind']]}.json"] = canonical_json(
                        {"digest": digest, "seq": ev.seq, "facts": ev.predicate.get("facts", {})})
        for g in gates:
            out[f"{pbase}/validation/{segment(g.get('gate'))}.json"] = canonical_json(g)
        out[f"{pbase}/approval/gate_results.json"] = canonical_json(gates)
        out[f"{pbase}/approval/signatures.json"] = canonical_json(approvals)
    return out
