"""The plan's first-sprint acceptance (plan 4.4), run as one scenario through the installed
`gooseterm` command, the way an SRE and CI would drive it and an auditor would check it:

- [x] service-a and service-b deployed       -> onboarded from the example org (with service-c)
- [x] dependency resolution working          -> `plan` orders c, b, a in waves; a plan of a brings b and c
- [x] promotion blocking verified            -> service-a is blocked, exit 1, each gate's reason in --json
- [x] evidence chain complete                -> every gate result names the evidence it read, and
                                                those blobs are stored and hash to their digests
- [x] dashboards operational                 -> `status --json` and `metrics --json` answer from the ledger
and at the end `gooseterm verify --json` says valid, exit 0.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

import pytest

from helpers.orgs import CONFIG, EVIDENCE, EVIDENCE_FILES, GOOSETERM
from gooseterm.ledger.store import Ledger

ORIGIN = "gooseterm.example/demo-org"  # the example org's ledger_origin
EVIDENCE_READING_GATES = {"all_tests_passing", "sast_clean", "evidence_collection", "evidence_validation", "audit_trail"}


class Cli:
    """The real `gooseterm` binary with GOOSETERM_HOME set to one folder."""

    def __init__(self, home: Path):
        self.env = {**os.environ, "GOOSETERM_HOME": str(home)}
        for var in ("GOOSETERM_LEDGER", "GOOSETERM_CONFIG", "GOOSETERM_KEY", "GOOSETERM_PASSPHRASE"):
            self.env.pop(var, None)

    def __call__(self, *args: str, code: int = 0) -> subprocess.CompletedProcess:
        r = subprocess.run([str(GOOSETERM), *args], env=self.env, capture_output=True, text=True, timeout=120)
        assert r.returncode == code, f"gooseterm {' '.join(args)}: exit {r.returncode}, want {code}\n{r.stdout}\n{r.stderr}"
        assert "Traceback" not in r.stderr, r.stderr
        return r

    def json(self, *args: str, code: int = 0):
        return json.loads(self(*args, "--json", code=code).stdout)


def test_first_sprint_acceptance(isolated_home: Path, tmp_path: Path) -> None:
    gt = Cli(isolated_home)

    # -- set up: a ledger, dave as admin, the others' keys trusted; the config checks out ------
    gt("init", "--origin", ORIGIN, "--name", "dave")
    for name, role in (("alice", "approver"), ("bob", "approver"), ("carol", "approver"), ("ci", "ci")):
        gt("keys", "add", gt.json("keys", "new", name)["vkey"], "--role", role)
    check = gt.json("config", "check")
    assert check["issues"] == []

    # -- service-a and service-b deployed (onboarded, with service-c they depend on) -----------
    for service in ("service-c", "service-b", "service-a"):
        out = gt.json("onboard", service)
        assert out["service"] == service
    services = {s["service"]: s for s in gt.json("services")}
    assert all(s["onboarded"] and s["state"] == "sandbox" for s in services.values())
    # CI records evidence: the local-files source for c and b, file by file for a
    for service in ("service-c", "service-b"):
        collected = gt.json("--as", "ci", "collect", "--service", service, "--source", "files")
        assert sorted(r["kind"] for r in collected["recorded"]) == ["coverage", "junit", "metrics", "sarif"]
    for kind, name in EVIDENCE_FILES.items():
        gt("--as", "ci", "evidence", "add", "--service", "service-a", "--kind", kind, str(EVIDENCE / "service-a" / name))

    # -- dependency resolution working --------------------------------------------------------
    plan = gt.json("plan", "--to", "compliant")
    assert [[i["service"] for i in w] for w in plan["waves"]] == [["service-c"], ["service-b"], ["service-a"]]
    assert [[i["service"] for i in w] for w in gt.json("plan", "service-a", "--to", "compliant")["waves"]] == \
        [["service-c"], ["service-b"], ["service-a"]]
    assert services["service-a"]["required"] == ["service-b"]
    assert services["service-c"]["dependents"] == ["service-a", "service-b"]

    # -- promotion blocking verified: service-a, before anything else is compliant ----------------
    [blocked] = gt.json("--as", "alice", "promote", "service-a", "--to", "compliance_ready", code=1)
    assert blocked["status"] == "blocked" and blocked["state"] == "sandbox"
    gates = {g["gate"]: g for g in blocked["gates"]}
    assert gates["all_tests_passing"]["result"] == "fail" and "1 failed, 1 errors of 5 tests" in gates["all_tests_passing"]["reason"]
    assert gates["sast_clean"]["result"] == "fail" and "error-level" in gates["sast_clean"]["reason"]
    assert gates["dependency_check"]["result"] == "fail" and "service-b (runtime, required) is sandbox" in gates["dependency_check"]["reason"]
    assert sorted(r.split(":")[0] for r in blocked["reasons"]) == ["all_tests_passing", "dependency_check", "sast_clean"]

    # service-b is blocked by its dependency alone; service-c goes through with two approvals
    [b_first] = gt.json("--as", "alice", "promote", "service-b", "--to", "compliance_ready", code=1)
    assert b_first["reasons"] == ["dependency_check: fail - service-b: blocked: service-c (security, required) is sandbox"]
    for service in ("service-c", "service-b"):
        [ready] = gt.json("--as", "alice", "promote", service, "--to", "compliance_ready")
        assert ready["status"] == "promoted"
        [waiting] = gt.json("--as", "alice", "promote", service, "--to", "compliant")
        assert waiting["status"] == "awaiting_approval"
        gt("--as", "alice", "approve", waiting["promotion"], code=1)  # the requester may not approve
        assert gt.json("--as", "bob", "approve", waiting["promotion"])["status"] == "awaiting_approval"
        assert gt.json("--as", "carol", "approve", waiting["promotion"])["status"] == "promoted"

    # service-a is still blocked, now only by its own evidence; the whole plan reports it
    [again] = gt.json("--as", "alice", "promote", "service-a", "--to", "compliance_ready", code=1)
    assert {g["gate"] for g in again["gates"] if g["result"] == "fail"} == {"all_tests_passing", "sast_clean"}
    everything = {o["service"]: o for o in gt.json("--as", "alice", "promote", "--all", "--to", "compliant", code=1)}
    assert everything["service-c"]["status"] == everything["service-b"]["status"] == "done"
    assert everything["service-a"]["status"] == "blocked"

    # -- dashboards operational: status and metrics from the ledger -------------------------------
    status = {s["service"]: s for s in gt.json("status")}
    assert status["service-c"]["state"] == status["service-b"]["state"] == "compliant"
    assert status["service-a"]["state"] == "sandbox"
    assert any("all_tests_passing" in b for b in status["service-a"]["blockers"])
    assert status["service-a"]["next"] == "gooseterm promote service-a --to compliance_ready"
    metrics = {m["key"]: m for m in gt.json("metrics")["metrics"]}
    assert "time_to_onboard" in metrics and "first_promotion_success" in metrics

    # -- evidence chain complete ---------------------------------------------------------------
    results = gt.json("log", "--kind", "gate.result", "--limit", "1000")
    evidence = {e["predicate"]["digest"]: e for e in gt.json("log", "--kind", "evidence.", "--limit", "1000")}
    assert results and evidence
    with Ledger.open(isolated_home / "ledger.db", readonly=True) as ledger:
        for r in results:
            gate = r["predicate"]
            if gate["gate"] in EVIDENCE_READING_GATES:
                assert gate["evidence"], f"gate result seq {r['seq']} ({gate['gate']}) names no evidence"
            for digest in gate["evidence"]:
                assert digest in evidence, f"seq {r['seq']} names {digest}, which no evidence entry recorded"
                assert evidence[digest]["service"] == r["service"], "a gate read another service's evidence"
                blob = ledger.blob(digest)
                assert "sha256:" + hashlib.sha256(blob).hexdigest() == digest
        for req in ledger.entries(kind="promotion.requested"):
            for digest in req.predicate["evidence_refs"]:
                assert ledger.blob_info(digest) is not None
        assert ledger.blob(evidence_digest_of(EVIDENCE / "service-a" / "junit.xml")) == (EVIDENCE / "service-a" / "junit.xml").read_bytes()
    specs = [e for e in evidence.values() if e["kind"] == "evidence.spec"]
    assert {e["service"] for e in specs} == {"service-a", "service-b", "service-c"}
    assert all(e["predicate"]["digest"] == evidence_digest_of(CONFIG / "services" / f"{e['service']}.yaml") for e in specs)

    # -- and the auditor's check ----------------------------------------------------------------
    gt("checkpoint", "--out", str(tmp_path / "cp.note"))
    report = gt.json("verify", "--trusted-checkpoint", str(tmp_path / "cp.note"))
    assert report["valid"] is True and report["faults"] == []
    assert report["blobs_checked"] >= 15  # 4 evidence files x 3 services + 3 specs
    assert report["trusted_checkpoint_size"] == report["size"]


def evidence_digest_of(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
