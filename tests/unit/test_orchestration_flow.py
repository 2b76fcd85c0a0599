"""The compliance life cycle when things go right, and what the ledger proves about it.

Onboarding, evidence, the two promotions of the example org, wave plans where a failure stops
its dependents but not its siblings, cycles and their reviewed breaks, status, and the signed
approvals whose quorum the offline verifier re-checks.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from gooseterm.errors import EXIT_REFUSED, EXIT_USAGE, GoosetermError, Refusal
from gooseterm.status import service_status
from helpers.orgs import CLEAN, CONFIG, DIRTY, TestOrg, build_org, evidence_bytes, service_yaml, write_config
from gooseterm.ledger.store import Draft
from gooseterm.ledger.verifier import parse_envelope, parse_vkey, verify_envelope, verify_ledger


@pytest.fixture
def org(isolated_home: Path):
    o = build_org(isolated_home)
    yield o
    o.close()


def by_service(outcomes) -> dict:
    return {o.service: o for o in outcomes}


def faults(o: TestOrg) -> dict:
    return verify_ledger(str(o.ledger_path)).by_class()


# -- the happy path ---------------------------------------------------------------------------


def test_onboarding_records_the_spec_as_evidence(org: TestOrg) -> None:
    spec = (org.config / "services" / "service-c.yaml").read_bytes()
    out = org.as_("dave").onboard(CLEAN, spec)
    assert out.status == "onboarded" and out.state == "sandbox"
    spec_entry, onboarded = (org.ledger.entry(s) for s in out.seqs)
    assert (spec_entry.kind, onboarded.kind) == ("evidence.spec", "service.onboarded")
    digest = "sha256:" + hashlib.sha256(spec).hexdigest()
    assert {k: onboarded.predicate[k] for k in ("service", "spec_digest", "by")} == {"service": CLEAN, "spec_digest": digest, "by": "dave"}
    assert onboarded.record["blobs"] == [digest]
    assert org.ledger.blob(digest) == spec
    assert onboarded.signers == [org.signers["dave"].keyid]
    assert org.reader().service(CLEAN)["onboarded_seq"] == onboarded.seq


def test_evidence_is_stored_as_a_blob_and_a_signed_statement(org: TestOrg) -> None:
    org.onboard(CLEAN)
    data = evidence_bytes(CLEAN, "junit")
    rec, demotion = org.as_("ci").add_evidence(CLEAN, "junit", data, "ci/junit.xml", collector="github")
    assert demotion is None
    assert rec.digest == "sha256:" + hashlib.sha256(data).hexdigest()
    assert org.ledger.blob(rec.digest) == data
    entry = org.ledger.entry(rec.seq)
    assert entry.kind == "evidence.junit" and entry.signers == [org.signers["ci"].keyid]
    assert entry.predicate["facts"]["tests"] == 2 and entry.predicate["facts"]["passed"] == 2
    assert entry.predicate["collector"] == "github" and entry.predicate["source"] == "ci/junit.xml"


def test_compliance_ready_needs_no_approval(org: TestOrg) -> None:
    org.onboard(CLEAN)
    org.collect(CLEAN)
    before = org.size()
    out = org.as_("alice").request(CLEAN, "compliance_ready")
    assert out.status == "promoted" and out.state == "compliance_ready"
    assert [g.name for g in out.gates] == ["all_tests_passing", "sast_clean", "dependency_check"]
    assert all(g.result == "pass" for g in out.gates)
    assert org.kinds(before - 1) == ["promotion.requested", "gate.result", "gate.result", "gate.result", "promotion.promoted"]
    assert org.entries(kind="promotion.requested")[-1].predicate["policy"] is None
    assert org.reader().service(CLEAN)["state"] == "compliance_ready"


def test_compliant_after_two_approvals(org: TestOrg) -> None:
    org.onboard(CLEAN)
    org.make_ready(CLEAN)
    out = org.as_("alice").request(CLEAN, "compliant")
    assert out.status == "awaiting_approval"
    assert out.reasons == ["approval_check: 0 of 2 approvals; needs one from security"]
    pid = out.promotion
    first = org.as_("carol").approve(pid)
    assert first.status == "awaiting_approval" and first.reasons == ["1 of 2 approvals; needs one from security"]
    assert org.reader().service(CLEAN)["state"] == "compliance_ready"
    before = org.size()
    second = org.as_("bob").approve(pid)
    assert second.status == "promoted" and second.state == "compliant"
    gates = len(org.org.states.transition("compliance_ready", "compliant").requirements)
    assert org.kinds(before - 1) == ["approval.granted", "promotion.approved", *["gate.result"] * gates, "promotion.promoted"]
    assert org.reader().promotion(pid)["status"] == "promoted"
    assert org.reader().service(CLEAN)["state"] == "compliant"


def test_promotion_request_follows_the_plan_format(org: TestOrg) -> None:
    org.onboard("service-a")
    org.collect("service-a")
    org.as_("alice").request("service-a", "compliance_ready")
    req = org.entries(kind="promotion.requested")[-1].predicate
    assert req["service"] == "service-a" and req["target_state"] == "compliance_ready"
    assert req["dependencies"] == {"required": ["service-b"], "optional": ["service-c"]}
    digests = sorted("sha256:" + hashlib.sha256(evidence_bytes("service-a", k)).hexdigest()
                     for k in ("junit", "sarif", "coverage", "metrics"))
    spec = org.entries(kind="evidence.spec", service="service-a")[-1].predicate["digest"]
    assert req["evidence_refs"] == sorted([*digests, spec])
    assert req["requested_by"] == "alice"


def test_awaiting_request_records_the_policy_it_will_be_judged_by(org: TestOrg) -> None:
    org.onboard(CLEAN)
    org.make_ready(CLEAN)
    org.as_("alice").request(CLEAN, "compliant")
    policy = org.entries(kind="promotion.requested")[-1].predicate["policy"]
    assert policy["required"] == 2 and policy["groups_required"] == ["security"]
    assert policy["expires_after_seconds"] == 72 * 3600 and policy["allow_self_approval"] is False
    waiting = org.entries(kind="promotion.awaiting_approval")[-1].predicate
    assert waiting["expires_at"].startswith("2026-03-05")


def test_every_gate_result_names_the_evidence_it_read(org: TestOrg) -> None:
    org.onboard(CLEAN)
    org.make_ready(CLEAN)
    pid = org.as_("alice").request(CLEAN, "compliant").promotion
    latest = {e.kind.removeprefix("evidence."): e.predicate["digest"] for e in org.entries(service=CLEAN) if e.kind.startswith("evidence.")}
    results = {e.predicate["gate"]: e.predicate for e in org.entries(kind="gate.result", promotion=pid)}
    assert results["evidence_collection"]["evidence"] == [latest[k] for k in ("junit", "sarif", "coverage", "metrics")]
    assert set(results["evidence_validation"]["evidence"]) == {latest["sarif"], latest["coverage"], latest["metrics"]}
    assert set(results["audit_trail"]["evidence"]) == set(latest.values())
    for r in results.values():
        for digest in r["evidence"]:
            assert hashlib.sha256(org.ledger.blob(digest)).hexdigest() == digest.removeprefix("sha256:")


# -- waves: a failure stops its dependents, not its siblings ----------------------------------


@pytest.fixture
def diamond(isolated_home: Path, tmp_path: Path):
    """x and y depend on z; w depends on x. No approval policy, so compliant needs no approvals."""
    services = {"z": service_yaml("z"), "x": service_yaml("x", ["z"]), "y": service_yaml("y", ["z"]), "w": service_yaml("w", ["x"])}
    o = build_org(isolated_home, write_config(tmp_path / "org", services, approvals=[]))
    o.onboard("w", "x", "y", "z")
    for s in "wyz":
        o.collect(s, like=CLEAN)
    o.collect("x", like=DIRTY)  # a failing test and a high-severity finding
    yield o
    o.close()


def test_plan_orders_the_diamond_in_waves_and_predicts_blockers(diamond: TestOrg) -> None:
    before = diamond.size()
    waves = diamond.reader().plan(None, "compliant")
    assert diamond.size() == before  # planning writes nothing
    assert [[i["service"] for i in wave] for wave in waves] == [["z"], ["x", "y"], ["w"]]
    items = {i["service"]: i for wave in waves for i in wave}
    assert items["z"]["steps"] == ["compliance_ready", "compliant"]
    assert any(b.startswith("all_tests_passing:") for b in items["x"]["blockers"])
    assert any(b.startswith("sast_clean:") for b in items["x"]["blockers"])
    assert items["w"]["blockers"] == ["dependency_check: w: blocked: x (runtime, required) is sandbox"]


def test_a_failure_blocks_its_dependents_not_its_siblings(diamond: TestOrg) -> None:
    outcomes = by_service(diamond.as_("alice").promote_many(None, "compliant"))
    assert list(outcomes) == ["z", "x", "y", "w"]  # wave order
    assert outcomes["z"].status == "promoted" and outcomes["z"].state == "compliant"
    assert outcomes["x"].status == "blocked" and outcomes["x"].state == "sandbox"
    assert outcomes["y"].status == "promoted" and outcomes["y"].state == "compliant"  # the sibling goes on
    assert outcomes["w"].status == "waiting" and outcomes["w"].reasons == ["waits for x: not at target"]
    states = diamond.reader().states()
    assert states == {"w": "sandbox", "x": "sandbox", "y": "compliant", "z": "compliant"}
    assert not diamond.entries(kind="promotion.requested", service="w")  # w was never even tried


def test_a_blocked_service_stops_its_dependents_transitively(isolated_home: Path, tmp_path: Path) -> None:
    services = {"z": service_yaml("z"), "x": service_yaml("x", ["z"]), "w": service_yaml("w", ["x"]), "v": service_yaml("v", ["w"])}
    o = build_org(isolated_home, write_config(tmp_path / "org", services, approvals=[]))
    try:
        o.onboard(*services)
        o.collect("z", like=DIRTY)
        for s in "xwv":
            o.collect(s, like=CLEAN)
        outcomes = by_service(o.as_("alice").promote_many(None, "compliant"))
        assert outcomes["z"].status == "blocked"
        assert outcomes["x"].status == outcomes["w"].status == outcomes["v"].status == "waiting"
        assert outcomes["v"].reasons == ["waits for w: x"]
    finally:
        o.close()


def test_promote_many_with_approvals_stops_at_the_waiting_service(org: TestOrg) -> None:
    org.onboard("service-a", "service-b", "service-c")
    for s in ("service-a", "service-b", "service-c"):
        org.collect(s, like=CLEAN)
    outcomes = by_service(org.as_("alice").promote_many(None, "compliant"))
    assert outcomes["service-c"].status == "awaiting_approval" and outcomes["service-c"].state == "compliance_ready"
    assert outcomes["service-b"].status == "waiting" and outcomes["service-a"].status == "waiting"


def test_dry_run_writes_nothing_and_predicts(diamond: TestOrg) -> None:
    before = diamond.size()
    outcomes = by_service(diamond.as_("alice").promote_many(None, "compliant", dry_run=True))
    assert diamond.size() == before
    assert outcomes["z"].status == "would request" and outcomes["y"].status == "would block"  # z not compliant yet
    assert outcomes["x"].status == "would block"


def test_plan_of_one_service_brings_its_dependencies(org: TestOrg) -> None:
    org.onboard("service-a", "service-b", "service-c")
    waves = org.reader().plan(["service-b"], "compliance_ready")
    assert [[i["service"] for i in w] for w in waves] == [["service-c"], ["service-b"]]


def test_plan_skips_services_already_at_the_target(org: TestOrg) -> None:
    org.onboard(CLEAN)
    org.make_compliant(CLEAN)
    waves = org.reader().plan(None, "compliant")
    c = waves[0][0]
    assert c == {"service": CLEAN, "state": "compliant", "steps": [], "blockers": []}
    b = waves[1][0]
    assert b["steps"] == ["compliance_ready", "compliant"]
    assert "all_tests_passing: no junit evidence recorded (gooseterm evidence add --service service-b --kind junit FILE)" in b["blockers"]


def test_plan_to_an_unknown_state_is_a_usage_error(org: TestOrg) -> None:
    with pytest.raises(GoosetermError) as caught:
        org.reader().plan(None, "production")
    assert type(caught.value) is GoosetermError and caught.value.exit_code == EXIT_USAGE
    assert "unknown state 'production'" in str(caught.value) and "sandbox, compliance_ready, compliant" in str(caught.value)


def test_plan_predicts_no_approval_when_no_policy_applies(diamond: TestOrg) -> None:
    diamond.as_("alice").promote_many(["z"], "compliance_ready")
    z = diamond.reader().plan(["z"], "compliant")[0][0]
    assert z["blockers"] == []


# -- cycles -------------------------------------------------------------------------------------


@pytest.fixture
def cyclic(isolated_home: Path, tmp_path: Path):
    services = {"p": service_yaml("p", ["q"]), "q": service_yaml("q", ["p"]), "r": service_yaml("r")}
    o = build_org(isolated_home, write_config(tmp_path / "org", services, approvals=[]))
    o.onboard("p", "q", "r")
    for s in "pqr":
        o.collect(s, like=CLEAN)
    yield o
    o.close()


def test_cycle_refuses_the_plan_naming_the_cycle_and_the_cuts(cyclic: TestOrg) -> None:
    before = cyclic.size()
    with pytest.raises(GoosetermError) as caught:  # a cycle is a configuration error: exit 2
        cyclic.reader().plan(None, "compliant")
    msg = str(caught.value)
    assert caught.value.exit_code == EXIT_USAGE
    assert "p -> q -> p" in msg
    assert "cutting 1 dependency breaks them all" in msg and "q -> p" in msg
    assert "record a manual review" in msg
    assert cyclic.size() == before
    with pytest.raises(GoosetermError):
        cyclic.as_("alice").promote_many(None, "compliant")
    assert cyclic.size() == before


def test_accepted_cycle_break_is_recorded_and_lets_the_plan_through(cyclic: TestOrg) -> None:
    seq = cyclic.as_("dave").accept_cycle_break("q", "p", "q reads p only for a cache warm-up; ARCH-12")
    entry = cyclic.ledger.entry(seq)
    assert entry.kind == "cycle_break.reviewed" and entry.signers == [cyclic.signers["dave"].keyid]
    assert entry.predicate == {"dependent": "q", "dependency": "p", "reason": "q reads p only for a cache warm-up; ARCH-12", "reviewer": "dave"}
    waves = cyclic.reader().plan(None, "compliant")
    assert [[i["service"] for i in w] for w in waves] == [["q", "r"], ["p"]]


def test_cycle_break_must_name_an_edge_and_a_reason(cyclic: TestOrg) -> None:
    before = cyclic.size()
    with pytest.raises(GoosetermError, match="r does not depend on p"):
        cyclic.as_("dave").accept_cycle_break("r", "p", "no edge")
    with pytest.raises(GoosetermError, match="needs a reason"):
        cyclic.as_("dave").accept_cycle_break("q", "p", "  ")
    assert cyclic.size() == before


def test_services_in_a_reviewed_cycle_can_be_promoted(cyclic: TestOrg) -> None:
    cyclic.as_("dave").accept_cycle_break("q", "p", "q reads p only for a cache warm-up; ARCH-12")
    outcomes = by_service(cyclic.as_("alice").promote_many(None, "compliant"))
    assert outcomes["q"].status == "promoted"
    assert outcomes["p"].status == "promoted"


# -- status ----------------------------------------------------------------------------------------


@pytest.fixture
def demo_like(org: TestOrg) -> TestOrg:
    """service-c compliant, service-b waiting for a second approval, service-a blocked."""
    org.onboard("service-c", "service-b", "service-a")
    org.make_compliant(CLEAN)
    org.make_ready("service-b", like="service-b")
    pb = org.as_("alice").request("service-b", "compliant").promotion
    org.as_("bob").approve(pb)
    org.collect("service-a")
    assert org.as_("alice").request("service-a", "compliance_ready").status == "blocked"
    return org


def test_status_of_a_blocked_service_explains_each_gate(demo_like: TestOrg) -> None:
    st = service_status(demo_like.reader(), "service-a")
    assert st.state == "sandbox"
    assert [b.split(": ")[1] for b in st.blockers] == ["all_tests_passing", "sast_clean", "dependency_check"]
    assert any("1 failed, 1 errors of 5 tests" in b for b in st.blockers)
    assert any("service-b (runtime, required) is compliance_ready" in b for b in st.blockers)
    assert st.latest_promotion.status == "blocked"
    assert st.next == "gooseterm promote service-a --to compliance_ready"
    assert st.dependencies == ["service-b", "service-c"] and st.dependents == []


def test_status_shows_pending_approvals_and_who_approved(demo_like: TestOrg) -> None:
    st = service_status(demo_like.reader(), "service-b")
    assert st.state == "compliance_ready" and st.blockers == [] and st.next is None
    [pending] = st.pending_approvals
    assert pending.to == "compliant" and pending.approvals == ["bob"]
    assert pending.waiting_for == "1 of 2 approvals" and pending.missing_groups == []
    assert pending.id == st.latest_promotion.id


def test_status_of_a_compliant_service(demo_like: TestOrg) -> None:
    c = service_status(demo_like.reader(), CLEAN)
    assert c.state == "compliant" and c.blockers == [] and c.pending_approvals == []
    assert c.dependents == ["service-a", "service-b"] and c.at_risk == {}


def test_status_does_not_list_an_expired_request_as_pending(org: TestOrg) -> None:
    from datetime import timedelta

    org.onboard(CLEAN)
    org.make_ready(CLEAN)
    org.as_("alice").request(CLEAN, "compliant")
    org.clock.advance(timedelta(hours=73))
    st = service_status(org.reader(), CLEAN)
    assert st.pending_approvals == []
    assert st.next == "gooseterm promote service-c --to compliant (then approvals)"


def test_later_config_edits_do_not_change_an_open_requests_policy(org: TestOrg, tmp_path: Path) -> None:
    from gooseterm.gates import VALIDATORS
    from gooseterm.orgconfig import load_org
    from gooseterm.promotions import Orchestrator

    org.onboard(CLEAN)
    org.make_ready(CLEAN)
    pid = org.as_("alice").request(CLEAN, "compliant").promotion
    lenient = write_config(tmp_path / "lenient", {s: yaml_of(s) for s in ("service-a", "service-b", "service-c")},
                           approvals=[{"target_state": "compliant", "required": 1, "expires_after": "72h"}])
    edited = load_org(lenient, validators=VALIDATORS)
    out = Orchestrator(org.ledger, edited, org.signers["bob"]).approve(pid)
    assert out.status == "awaiting_approval" and out.reasons == ["1 of 2 approvals"]  # still the recorded 2


def yaml_of(service: str) -> dict:
    import yaml

    return yaml.safe_load((CONFIG / "services" / f"{service}.yaml").read_text())


def test_status_next_step_for_a_service_never_onboarded(org: TestOrg) -> None:
    st = service_status(org.reader(), CLEAN)
    assert st.state == "sandbox" and st.next == "gooseterm onboard service-c"


def test_status_predicts_blockers_before_any_request(org: TestOrg) -> None:
    org.onboard("service-b")
    st = service_status(org.reader(), "service-b")
    assert st.latest_promotion is None
    assert any(b.startswith("dependency_check would fail") and "service-c" in b for b in st.blockers)
    assert st.next == "gooseterm promote service-b --to compliance_ready"


def test_status_shows_at_risk_after_a_demotion(demo_like: TestOrg) -> None:
    demo_like.as_("dave").demote(CLEAN, "CVE-2026-1234 in the token library")
    st = service_status(demo_like.reader(), "service-b")
    assert "CVE-2026-1234" in st.at_risk[CLEAN]
    assert st.pending_approvals == []
    assert any("blocked: dependency service-c was demoted" in b for b in st.blockers)


def test_recovering_dependency_clears_at_risk(demo_like: TestOrg) -> None:
    demo_like.as_("dave").demote(CLEAN, "drift")
    assert demo_like.as_("alice").request(CLEAN, "compliance_ready").status == "promoted"
    pc = demo_like.as_("alice").request(CLEAN, "compliant").promotion
    demo_like.as_("bob").approve(pc)
    demo_like.as_("carol").approve(pc)
    assert demo_like.reader().service("service-b")["at_risk"] == {}


# -- what the ledger proves about approvals ---------------------------------------------------------


@pytest.fixture
def approved(org: TestOrg) -> tuple[TestOrg, str]:
    org.onboard(CLEAN)
    pid = org.make_compliant(CLEAN)
    return org, pid


def test_approval_entry_is_signed_by_the_approvers_own_key(approved) -> None:
    o, pid = approved
    grants = o.entries(kind="approval.granted", promotion=pid)
    assert [g.predicate["person"] for g in grants] == ["bob", "carol"]
    for g in grants:
        person = g.predicate["person"]
        assert g.signers == [o.signers[person].keyid]
        env = parse_envelope(g.record["envelope"])
        key = parse_vkey(o.signers[person].vkey)
        verify_envelope(env, {key.keyid: key.public_key})  # raises if bob's key did not sign it
        assert g.predicate["groups"] == sorted(o.org.org.people[person].groups)
        assert g.predicate["evidence_digest"] == o.reader().promotion(pid)["evidence_digest"]


def test_promoted_entry_carries_the_quorum_and_verifies(approved) -> None:
    o, pid = approved
    grants = [g.seq for g in o.entries(kind="approval.granted", promotion=pid)]
    promoted = o.entries(kind="promotion.promoted", promotion=pid)[-1]
    quorum = promoted.predicate["quorum"]
    assert quorum == {"required": 2, "approvals": grants, "evidence_digest": o.reader().promotion(pid)["evidence_digest"]}
    assert o.entries(kind="promotion.approved", promotion=pid)[-1].predicate["quorum"] == quorum
    report = verify_ledger(str(o.ledger_path))
    assert report.ok, report.to_json()["faults"]
    assert "approval_quorum_not_met" not in report.by_class()


def insider_decision(o: TestOrg, pid: str, quorum: dict) -> int:
    """An insider with a trusted key (and the ledger key) records a decision of their own."""
    promo = o.reader().promotion(pid)
    draft = Draft("promotion.promoted", {"promotion": pid, "from": "compliance_ready", "to": "compliant", "quorum": quorum},
                  service=CLEAN, promotion=pid, request=(promo["requested_seq"], bytes.fromhex(promo["request_leaf_hash"])))
    return o.ledger.append(draft, [o.signers["alice"]]).seq


def test_decision_citing_fewer_approvals_than_required_is_reported(approved) -> None:
    o, pid = approved
    bob_seq = o.entries(kind="approval.granted", promotion=pid)[0].seq
    digest = o.reader().promotion(pid)["evidence_digest"]
    seq = insider_decision(o, pid, {"required": 2, "approvals": [bob_seq], "evidence_digest": digest})
    found = faults(o)
    assert set(found) == {"approval_quorum_not_met", "promotion_ended"}  # and it was promoted already
    assert found["approval_quorum_not_met"]["first_seq"] == found["promotion_ended"]["first_seq"] == seq
    assert "1 valid distinct approvals" in found["approval_quorum_not_met"]["detail"]


def test_decision_citing_one_approval_twice_is_reported(approved) -> None:
    o, pid = approved
    bob_seq = o.entries(kind="approval.granted", promotion=pid)[0].seq
    digest = o.reader().promotion(pid)["evidence_digest"]
    seq = insider_decision(o, pid, {"required": 2, "approvals": [bob_seq, bob_seq], "evidence_digest": digest})
    assert faults(o)["approval_quorum_not_met"]["first_seq"] == seq


def test_decision_citing_approvals_of_other_evidence_is_reported(approved) -> None:
    o, pid = approved
    grants = [g.seq for g in o.entries(kind="approval.granted", promotion=pid)]
    seq = insider_decision(o, pid, {"required": 2, "approvals": grants, "evidence_digest": "sha256:" + "0" * 64})
    assert faults(o)["approval_quorum_not_met"]["first_seq"] == seq


def test_decision_citing_non_approval_entries_is_reported(approved) -> None:
    o, pid = approved
    gates = [g.seq for g in o.entries(kind="gate.result", promotion=pid)][:2]
    digest = o.reader().promotion(pid)["evidence_digest"]
    seq = insider_decision(o, pid, {"required": 2, "approvals": gates, "evidence_digest": digest})
    assert faults(o)["approval_quorum_not_met"]["first_seq"] == seq


def test_decision_lowering_the_required_count_is_reported(approved) -> None:
    o, pid = approved
    bob_seq = o.entries(kind="approval.granted", promotion=pid)[0].seq
    digest = o.reader().promotion(pid)["evidence_digest"]
    insider_decision(o, pid, {"required": 1, "approvals": [bob_seq], "evidence_digest": digest})
    assert "approval_quorum_not_met" in faults(o)


# -- an org's own names ------------------------------------------------------------------------


def test_an_org_may_call_its_compliant_state_something_else(isolated_home: Path, tmp_path: Path) -> None:
    config = write_config(tmp_path / "org", {"z": service_yaml("z"), "x": service_yaml("x", ["z"])}, approvals=[])
    states = (config / "states.yaml").read_text()
    for old, new in (("compliant: compliant", "compliant: certified"), ("  compliant:\n", "  certified:\n"),
                     ("to: compliant", "to: certified"), ("from: compliant", "from: certified")):
        assert old in states
        states = states.replace(old, new)
    (config / "states.yaml").write_text(states)
    for s in ("x", "z"):
        f = config / "services" / f"{s}.yaml"
        f.write_text(f.read_text().replace("compliance_mode: compliant", "compliance_mode: certified"))
    o = build_org(isolated_home, config)
    try:
        o.onboard("x", "z")
        o.collect("x", like=CLEAN)
        o.collect("z", like=CLEAN)
        outcomes = by_service(o.as_("alice").promote_many(None, "certified"))
        assert outcomes["z"].state == outcomes["x"].state == "certified"  # x's dependency check knew z was certified
        assert o.as_("dave").demote("z", "drift").state == "sandbox"
        assert "z" in o.reader().service("x")["at_risk"]
    finally:
        o.close()


# -- compliance is consistent with the evidence that earned it ---------------------------------------


def test_evidence_a_service_was_promoted_with_never_demotes_it(org: TestOrg) -> None:
    org.onboard(CLEAN)
    org.make_ready(CLEAN)
    org.collect(CLEAN, like=DIRTY, kinds=["junit"])  # the tests start failing while it waits
    out = org.as_("alice").request(CLEAN, "compliant")
    if out.status == "awaiting_approval":
        org.as_("bob").approve(out.promotion)
        out = org.as_("carol").approve(out.promotion)
    if out.status != "promoted":
        return  # refused with failing tests: consistent
    _, demotion = org.as_("ci").add_evidence(CLEAN, "junit", evidence_bytes(DIRTY, "junit"), "ci/junit.xml")
    assert demotion is None, "the very report it was promoted with now demotes it"
