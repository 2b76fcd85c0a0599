"""OSCAL (NIST OSCAL 1.2.1) from the ledger: an assessment plan (the services assessed, each gate an
activity, verifying the bundle a task) and the assessment results that import it (each gate result
an observation, each gate that did not pass a finding). UUIDs are derived from the origin and seq,
and times are the entries' own, so the same ledger gives the same documents.

Both documents live in the bundle's `oscal/` folder; every href is relative to it and names a file
the bundle holds: evidence is linked only when its blob is in the bundle (not archived, not another
service's), and the plan's system is `../policy.json`, since gooseterm keeps no OSCAL SSP.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection

from gooseterm.ledger.kinds import EntryKind
from gooseterm.ledger.store import Entry

OSCAL_VERSION = "1.2.1"
PLAN = "oscal/assessment-plan.json"
RESULTS = "oscal/assessment-results.json"
_NAMESPACE = uuid.UUID("8f0e3c52-6f1b-5c55-9a3d-2c0e6a1f7b10")


def _uuid(origin: str, *parts: object) -> str:
    return str(uuid.uuid5(_NAMESPACE, "/".join([origin, *map(str, parts)])))


def _subject(origin: str, service: str | None) -> list[dict]:
    return [{"subject-uuid": _uuid(origin, "service", service or "-"), "type": "component",
             "title": service or "ledger"}]


def _gate_results(entries: list[Entry], service: str | None) -> list[Entry]:
    return [e for e in entries if e.kind == EntryKind.GATE_RESULT and (not service or e.service == service)]


def _times(entries: list[Entry], period: tuple[str, str] | None) -> list[str]:
    return list(period) if period else [e.time for e in entries] or ["1970-01-01T00:00:00Z"]


def _metadata(title: str, times: list[str]) -> dict:
    return {"title": title, "last-modified": times[-1], "version": times[-1], "oscal-version": OSCAL_VERSION}


def assessment_plan(origin: str, entries: list[Entry], service: str | None, period: tuple[str, str] | None = None) -> dict:
    """An OSCAL assessment-plan document for the exported period (valid against NIST's schema).

    `period`: the times of the period's first and last entries (default: of `entries`).
    """
    times = _times(entries, period)
    gates = _gate_results(entries, service)
    services = sorted({e.service for e in gates if e.service})
    activities: dict[str, dict] = {}
    for e in gates:
        p = e.predicate
        name = str(p.get("gate") or "gate")
        activities.setdefault(name, {
            "uuid": _uuid(origin, "activity", name),
            "title": f"gate {name}",
            "description": f"gooseterm runs the {p.get('type') or 'blocking'} gate {name} on each promotion it guards and "
                           "records the result, with the digests of the evidence it read, as a signed gate.result entry.",
        })
    local: dict = {}
    if services:
        local["components"] = [{"uuid": _uuid(origin, "service", s), "type": "service", "title": s,
                                "description": f"{s}, as the gooseterm ledger {origin} tracks it",
                                "status": {"state": "operational"}} for s in services]
    if activities:
        local["activities"] = [activities[n] for n in sorted(activities)]
    system = _uuid(origin, "system", "policy")
    plan = {
        "uuid": _uuid(origin, "assessment-plan", times[0], times[-1], service or "*"),
        "metadata": _metadata(f"gooseterm assessment plan: {origin}", times),
        "import-ssp": {"href": f"#{system}",
                       "remarks": "gooseterm keeps no OSCAL system security plan: the approval policies, people and states "
                                  "in force at export time stand for it."},
        "reviewed-controls": {"control-selections": [{"include-all": {}}]},
        "assessment-subjects": [
            {"type": "component", "include-subjects": [{"subject-uuid": c["uuid"], "type": "component"} for c in local["components"]]}
            if services else {"type": "component", "include-all": {}}
        ],
        "tasks": [{
            "uuid": _uuid(origin, "task", "verify"),
            "type": "action",
            "title": "Verify the audit bundle offline",
            "description": "Run `python verifier.py BUNDLE` as VERIFY.md says: every entry, signature, proof, cited entry and "
                           "blob must check out (exit 0) before the results are relied on.",
        }],
        "back-matter": {"resources": [{
            "uuid": system,
            "title": "gooseterm approval policies, people and states",
            "rlinks": [{"href": "../policy.json", "media-type": "application/json"}],
        }]},
    }
    if local:
        plan["local-definitions"] = local
    return {"assessment-plan": plan}


def assessment_results(origin: str, entries: list[Entry], service: str | None, period: tuple[str, str] | None = None,
                       blobs: Collection[str] = ()) -> dict:
    """An OSCAL assessment-results document for the exported period (valid against NIST's schema),
    importing the bundle's assessment plan.

    `period`: the times of the period's first and last entries (default: of `entries`); `blobs`: the
    digests whose bytes the bundle holds, the only evidence linked.
    """
    observations, findings = [], []
    times = _times(entries, period)
    for e in _gate_results(entries, service):
        p = e.predicate
        obs_uuid = _uuid(origin, "observation", e.seq)
        evidence = []
        for d in p.get("evidence", []):
            if d in blobs:
                evidence.append({"href": f"../blobs/{d.removeprefix('sha256:')}", "description": f"evidence {d}"})
            else:
                evidence.append({"description": f"evidence {d} (its bytes are not in this bundle: archived, or outside the export)"})
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
            "metadata": _metadata(f"gooseterm assessment results: {origin}", times),
            "import-ap": {"href": PLAN.removeprefix("oscal/")},
            "results": [result],
        }
    }
