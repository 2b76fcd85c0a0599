"""OSCAL assessment results (NIST OSCAL 1.2.1) from the ledger: each gate result an observation,
each gate that did not pass a finding. UUIDs are derived from the origin and seq, and times are
the entries' own, so the same ledger gives the same document."""

from __future__ import annotations

import uuid

from ledger.store import Entry

OSCAL_VERSION = "1.2.1"
_NAMESPACE = uuid.UUID("8f0e3c52-6f1b-5c55-9a3d-2c0e6a1f7b10")


def _uuid(origin: str, *parts: object) -> str:
    return str(uuid.uuid5(_NAMESPACE, "/".join([origin, *map(str, parts)])))


def _subject(origin: str, service: str | None) -> list[dict]:
    return [{"subject-uuid": _uuid(origin, "service", service or "-"), "type": "component",
             "title": service or "ledger"}]


def assessment_results(origin: str, entries: list[Entry], service: str | None, period: tuple[str, str] | None = None) -> dict:
    """An OSCAL assessment-results document for the exported period (valid against NIST's schema).

    `period`: the times of the period's first and last entries (default: of `entries`).
    """
    observations, findings = [], []
    times = list(period) if period else [e.time for e in entries] or ["1970-01-01T00:00:00Z"]
    for e in entries:
        if service and e.service != service:
            continue
        if e.kind == "gate.result":
            p = e.predicate
            obs_uuid = _uuid(origin, "observation", e.seq)
            evidence = [{"href": f"blobs/{d.removeprefix('sha256:')}", "description": f"evidence {d}"} for d in p.get("evidence", [])]
            obs = {
                "uuid": obs_uuid,
                "title": f"{p.get('gate')} for {e.service} ({p.get('transition')})",
                "description": f"{p.get('result')}: {p.get('reason') or 'no reason given'}",
                "methods": ["TEST"],
                "types": ["finding"] if p.get("result") != "pass" else ["control-objective"],
                "subjects": _subject(origin, e.service),
                "collected": e.time,
                "remarks": f"ledger seq {e.seq}, promotion {e.promotion}",
            }
            if evidence:
                obs["relevant-evidence"] = evidence
            observations.append(obs)
            state = "satisfied" if p.get("result") in ("pass", "warn") else "not-satisfied"
            findings.append({
                "uuid": _uuid(origin, "finding", e.seq),
                "title": f"{p.get('gate')}: {p.get('result')}",
                "description": p.get("reason") or f"gate {p.get('gate')} {p.get('result')}",
                "target": {"type": "objective-id", "target-id": str(p.get("gate") or "gate"),
                           "status": {"state": state}},
                "related-observations": [{"observation-uuid": obs_uuid}],
            })
    result = {
        "uuid": _uuid(origin, "result", times[0], times[-1], service or "*"),
        "title": f"gooseterm gate results{' for ' + service if service else ''}",
        "description": f"Gate results recorded in the gooseterm ledger {origin}, verifiable with the bundle's verifier.",
        "start": times[0],
        "end": times[-1],
        "reviewed-controls": {"control-selections": [{"include-all": {}}]},
    }
    if observations:
        result["observations"] = observations
        result["findings"] = findings
    return {
        "assessment-results": {
            "uuid": _uuid(origin, "assessment-results", times[0], times[-1], service or "*"),
            "metadata": {
                "title": f"gooseterm assessment results: {origin}",
                "last-modified": times[-1],
                "version": times[-1],
                "oscal-version": OSCAL_VERSION,
            },
            "import-ap": {"href": "./policy.json"},
            "results": [result],
        }
    }
