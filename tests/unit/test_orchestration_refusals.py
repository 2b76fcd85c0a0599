"""Every rule of issue #3 that says no: the refusal's type and exit code, a message naming the
reason, and nothing written where nothing should be.

The org is the example one (config/): alice and dave are sre and own every service (dave is the
admin), bob is security, carol is compliance. Promotions to compliant need 2 approvals with one
from security (service-a: security and compliance), expire after 72h (service-a: 24h).
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest

from gooseterm.errors import EXIT_CONFLICT, EXIT_REFUSED, EXIT_USAGE, Conflict, GoosetermError, Refusal
from gooseterm.gates import VALIDATORS, Outcome, Result
from gooseterm.status import service_status
from helpers.orgs import (
    CLEAN,
    DIRTY,
    SAMPLES,
    TestOrg,
    build_org,
    evidence_bytes,
    example_rules,
    service_yaml,
    write_config,
)

ZERO_TESTS = SAMPLES / "junit" / "no-cases-but-tests.xml"
SCAN_CRASHED = SAMPLES / "sarif" / "ExceptionalConditions" / "Catastrophic execution error.sarif"


@pytest.fixture
def org(isolated_home: Path):
    o = build_org(isolated_home)
    o.onboard("service-c", "service-b", "service-a")
    yield o
    o.close()


@contextmanager
def nothing_written(o: TestOrg):
    """Assert the block appends no entry."""
    before = o.size()
    yield
    assert o.size() == before, f"entries were written: {o.kinds(before - 1)}"


def refused(exc_type: type[GoosetermError], code: int, fn, *args, **kwargs) -> str:
    """Call fn, expect exactly `exc_type` with `code`; return the message."""
    with pytest.raises(GoosetermError) as caught:
        fn(*args, **kwargs)
    assert type(caught.value) is exc_type, f"{type(caught.value).__name__}: {caught.value}"
    assert caught.value.exit_code == code
    return str(caught.value)


def awaiting(o: TestOrg, service: str = CLEAN, requester: str = "alice") -> str:
    """A promotion of `service` to compliant, awaiting approval; returns its id."""
    o.make_ready(service)
    out = o.as_(requester).request(service, "compliant")
    assert out.status == "awaiting_approval", out
    return out.promotion


def gate(out, name: str) -> dict:
    return next(g.to_json() for g in out.gates if g.name == name)


# -- who may approve ------------------------------------------------------------------------


def test_requester_cannot_approve_own_promotion(org: TestOrg) -> None:
    pid = awaiting(org, requester="bob")  # bob owns nothing, so only the requester rule applies
    with nothing_written(org):
        msg = refused(Refusal, EXIT_REFUSED, org.as_("bob").approve, pid)
    assert "bob requested this promotion" in msg and "self-approval" in msg


def test_owner_cannot_approve_promotion_of_their_service(org: TestOrg) -> None:
    pid = awaiting(org)  # requested by alice; dave owns service-c through the sre group
    with nothing_written(org):
        msg = refused(Refusal, EXIT_REFUSED, org.as_("dave").approve, pid)
    assert "dave owns service-c" in msg and "owners may not approve" in msg


def test_trusted_key_of_someone_outside_the_org_cannot_approve(org: TestOrg) -> None:
    pid = awaiting(org)
    with nothing_written(org):
        msg = refused(Refusal, EXIT_REFUSED, org.as_("ci").approve, pid)  # the CI key is no person
    assert "ci is not a person in the org config" in msg


def test_approver_outside_the_approver_groups_is_refused(isolated_home: Path, tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "org",
        {"svc": service_yaml("svc", owners=["alice"])},
        approvals=[{"target_state": "compliant", "required": 1, "approver_groups": ["security"], "expires_after": "72h"}],
    )
    o = build_org(isolated_home, config)
    try:
        o.make_ready("svc")
        pid = o.as_("alice").request("svc", "compliant").promotion
        with nothing_written(o):
            msg = refused(Refusal, EXIT_REFUSED, o.as_("carol").approve, pid)
        assert "carol is in none of the approver groups security" in msg
        assert o.as_("bob").approve(pid).status == "promoted"  # the group member may
    finally:
        o.close()


def test_key_without_the_approver_role_cannot_approve(org: TestOrg, tmp_path: Path) -> None:
    from gooseterm.promotions import Orchestrator
    from gooseterm.ledger.keys import KeyStore
    from gooseterm.ledger.store import KEY_ADDED, Draft

    pid = awaiting(org)
    build_bot = KeyStore(tmp_path / "bot-keys").create("carol")  # a CI bot key that happens to be called carol
    org.ledger.append(Draft(KEY_ADDED, {"vkey": build_bot.vkey, "roles": ["ci"]}), [org.signers["dave"]])
    with nothing_written(org):
        msg = refused(Refusal, EXIT_REFUSED, Orchestrator(org.ledger, org.org, build_bot).approve, pid)
    assert "approver" in msg


def test_same_person_cannot_approve_twice(org: TestOrg) -> None:
    pid = awaiting(org)
    assert org.as_("bob").approve(pid).status == "awaiting_approval"
    with nothing_written(org):
        msg = refused(Refusal, EXIT_REFUSED, org.as_("bob").approve, pid)
    assert "bob already approved" in msg
    assert [a["person"] for a in org.reader().promotion(pid)["approvals"]] == ["bob"]


# -- approvals expire and are bound to the evidence ----------------------------------------


def test_expired_request_refuses_approval_and_records_the_expiry(org: TestOrg) -> None:
    pid = awaiting(org)
    org.as_("bob").approve(pid)
    org.clock.advance(timedelta(hours=72, seconds=1))
    before = org.size()
    msg = refused(Refusal, EXIT_REFUSED, org.as_("carol").approve, pid)
    assert f"promotion {pid} expired" in msg and "request it again" in msg
    assert org.kinds(before - 1) == ["promotion.expired"]  # the expiry, and no approval
    expired = org.entries(kind="promotion.expired")[-1]
    assert expired.promotion == pid and "no decision before" in expired.predicate["reasons"][0]
    assert org.reader().promotion(pid)["status"] == "expired"
    assert org.reader().service(CLEAN)["state"] == "compliance_ready"


def test_approval_just_before_expiry_still_counts(org: TestOrg) -> None:
    pid = awaiting(org)
    org.as_("bob").approve(pid)
    org.clock.advance(timedelta(hours=71, minutes=59))
    assert org.as_("carol").approve(pid).status == "promoted"


def test_service_a_approvals_expire_sooner(org: TestOrg) -> None:
    org.make_compliant("service-c")
    org.make_compliant("service-b", like="service-b")
    org.make_ready("service-a", like="service-b")
    pa = org.as_("alice").request("service-a", "compliant").promotion
    org.clock.advance(timedelta(hours=24, seconds=1))  # service-a's policy says 24h, not 72h
    assert "expired" in refused(Refusal, EXIT_REFUSED, org.as_("bob").approve, pa)


def test_new_evidence_after_the_request_voids_approval(org: TestOrg) -> None:
    pid = awaiting(org)
    org.as_("ci").add_evidence(CLEAN, "junit", evidence_bytes("service-b", "junit"), "junit.xml")
    with nothing_written(org):
        msg = refused(Refusal, EXIT_REFUSED, org.as_("bob").approve, pid)
    assert "evidence" in msg and "request the promotion again" in msg


def test_identical_evidence_resubmitted_does_not_void_approval(org: TestOrg) -> None:
    pid = awaiting(org)
    org.collect(CLEAN, kinds=["junit"])  # the same bytes again: the digest the approver saw holds
    assert org.as_("bob").approve(pid).status == "awaiting_approval"


def test_following_the_voided_approval_advice_requests_again(org: TestOrg) -> None:
    pid = awaiting(org)
    org.as_("ci").add_evidence(CLEAN, "junit", evidence_bytes("service-b", "junit"), "junit.xml")
    with pytest.raises(Refusal):
        org.as_("bob").approve(pid)
    again = org.as_("alice").request(CLEAN, "compliant")
    assert again.status == "awaiting_approval" and again.promotion != pid


def test_request_after_expiry_is_accepted(org: TestOrg) -> None:
    pid = awaiting(org)
    org.clock.advance(timedelta(hours=73))
    again = org.as_("alice").request(CLEAN, "compliant")
    assert again.status == "awaiting_approval" and again.promotion != pid
    assert org.reader().promotion(pid)["status"] == "expired"


# -- gates fail closed -----------------------------------------------------------------------


def test_missing_evidence_fails_the_gate_with_the_evidence_add_hint(org: TestOrg) -> None:
    out = org.as_("alice").request(CLEAN, "compliance_ready")
    assert out.status == "blocked"
    tests = gate(out, "all_tests_passing")
    assert tests["result"] == "fail" and tests["evidence"] == []
    assert "no junit evidence recorded" in tests["reason"]
    assert "gooseterm evidence add --service service-c --kind junit FILE" in tests["reason"]
    assert "no sarif evidence recorded" in gate(out, "sast_clean")["reason"]
    assert org.reader().service(CLEAN)["state"] == "sandbox"


def test_missing_metrics_fails_evidence_collection_for_compliant(org: TestOrg) -> None:
    org.collect(CLEAN, kinds=["junit", "sarif", "coverage"])
    assert org.as_("alice").request(CLEAN, "compliance_ready").status == "promoted"
    out = org.as_("alice").request(CLEAN, "compliant")
    assert out.status == "blocked"  # a blocking failure ends it before anyone is asked to approve
    assert gate(out, "evidence_collection")["reason"] == "missing evidence: metrics"
    assert "no metrics evidence recorded" in gate(out, "evidence_validation")["reason"]
    assert not org.entries(kind="promotion.awaiting_approval")


def test_illegal_transition_is_refused_listing_the_allowed_ones(org: TestOrg) -> None:
    org.collect(CLEAN)
    with nothing_written(org):
        msg = refused(Refusal, EXIT_REFUSED, org.as_("alice").request, CLEAN, "compliant")
    assert "service-c is sandbox; it cannot be promoted to compliant" in msg
    assert "allowed next: compliance_ready" in msg


def test_demotion_is_not_a_promotion_target(org: TestOrg) -> None:
    org.make_compliant(CLEAN)
    with nothing_written(org):
        msg = refused(Refusal, EXIT_REFUSED, org.as_("alice").request, CLEAN, "sandbox")
    assert "no promotion leads out of it" in msg


def test_service_not_onboarded_cannot_be_promoted(isolated_home: Path) -> None:
    o = build_org(isolated_home)
    try:
        o.collect(CLEAN)
        with nothing_written(o):
            msg = refused(Refusal, EXIT_REFUSED, o.as_("alice").request, CLEAN, "compliance_ready")
        assert "not onboarded" in msg and "gooseterm onboard service-c" in msg
    finally:
        o.close()


def test_onboarding_twice_is_refused(org: TestOrg) -> None:
    with nothing_written(org):
        msg = refused(Refusal, EXIT_REFUSED, org.onboard, CLEAN)
    assert "service-c was onboarded at seq" in msg


def test_unknown_service_is_a_usage_error(org: TestOrg) -> None:
    with nothing_written(org):
        msg = refused(GoosetermError, EXIT_USAGE, org.as_("alice").request, "service-x", "compliance_ready")
    assert "unknown service 'service-x'" in msg and "service-a, service-b, service-c" in msg


def test_dependency_not_compliant_blocks_naming_the_dependency(org: TestOrg) -> None:
    org.collect("service-b")
    out = org.as_("alice").request("service-b", "compliance_ready")
    assert out.status == "blocked"
    dep = gate(out, "dependency_check")
    assert dep["result"] == "fail"
    assert "service-c (security, required) is sandbox" in dep["reason"]
    assert [r for r in out.reasons if r.startswith("dependency_check")]  # the only reason
    assert len(out.reasons) == 1


def test_zero_tests_in_junit_fails(org: TestOrg) -> None:
    org.collect(CLEAN, kinds=["sarif"])
    org.add(CLEAN, "junit", ZERO_TESTS)
    out = org.as_("alice").request(CLEAN, "compliance_ready")
    assert out.status == "blocked"
    tests = gate(out, "all_tests_passing")
    assert tests["result"] == "fail" and "zero tests" in tests["reason"]
    assert len(tests["evidence"]) == 1  # it names the report it judged


def test_sarif_with_execution_unsuccessful_fails(org: TestOrg) -> None:
    org.collect(CLEAN, kinds=["junit"])
    org.add(CLEAN, "sarif", SCAN_CRASHED)  # zero results, but the scanner ran out of memory
    out = org.as_("alice").request(CLEAN, "compliance_ready")
    assert out.status == "blocked"
    sast = gate(out, "sast_clean")
    assert sast["result"] == "fail" and "executionSuccessful: false" in sast["reason"]


def test_error_level_sast_finding_fails(org: TestOrg) -> None:
    org.collect(CLEAN, kinds=["junit"])
    org.collect(CLEAN, like=DIRTY, kinds=["sarif"])
    out = org.as_("alice").request(CLEAN, "compliance_ready")
    assert gate(out, "sast_clean")["result"] == "fail"
    assert "1 error-level findings" in gate(out, "sast_clean")["reason"]


def test_coverage_below_threshold_fails(org: TestOrg) -> None:
    org.make_ready(CLEAN)
    org.collect(CLEAN, like=DIRTY, kinds=["coverage"])  # line rate 0.7
    out = org.as_("alice").request(CLEAN, "compliant")
    assert out.status == "blocked"
    rule = gate(out, "evidence_validation")
    assert rule["result"] == "fail"
    assert "line coverage 70.0% is below 80%" in rule["reason"]
    check = next(c for c in rule["checks"] if c["validator"] == "test_coverage_threshold")
    assert check["result"] == "fail"


def test_validator_that_raises_gives_error_never_pass(org: TestOrg, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(ctx, params) -> Outcome:
        raise RuntimeError("scanner API returned 502")

    monkeypatch.setitem(VALIDATORS, "sast_results_clean", broken)
    org.collect(CLEAN)
    out = org.as_("alice").request(CLEAN, "compliance_ready")
    sast = gate(out, "sast_clean")
    assert sast["result"] == "error"
    assert "sast_results_clean raised RuntimeError: scanner API returned 502" in sast["reason"]
    assert out.status == "blocked"
    assert org.reader().service(CLEAN)["state"] == "sandbox"


def test_broken_validator_registered_in_a_rules_config_errors(
    isolated_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def flaky_probe(ctx, params) -> Outcome:
        raise TimeoutError("probe timed out")

    monkeypatch.setitem(VALIDATORS, "flaky_probe", flaky_probe)
    rules = example_rules()
    rules["rules"]["evidence_validation"]["checks"].append({"validator": "flaky_probe", "params": {"url": "http://x"}})
    config = write_config(tmp_path / "org", {"svc": service_yaml("svc")}, rules=rules)
    o = build_org(isolated_home, config)
    try:
        o.make_ready("svc")
        out = o.as_("alice").request("svc", "compliant")
        rule = gate(out, "evidence_validation")
        assert rule["result"] == "error"  # the worst of pass, pass, pass and error
        assert "flaky_probe raised TimeoutError: probe timed out" in rule["reason"]
        assert out.status == "blocked"
    finally:
        o.close()


def test_violation_check_that_raises_still_fails_closed(org: TestOrg, monkeypatch: pytest.MonkeyPatch) -> None:
    org.make_compliant(CLEAN)

    def broken(ctx, params) -> Outcome:
        raise RuntimeError("boom")

    monkeypatch.setitem(VALIDATORS, "all_tests_passing", broken)
    _, demotion = org.as_("ci").add_evidence(CLEAN, "junit", evidence_bytes("service-b", "junit"), "junit.xml")
    assert demotion is not None and org.reader().service(CLEAN)["state"] == "sandbox"


def test_advisory_gate_never_blocks(isolated_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(VALIDATORS, "always_fails", lambda ctx, params: Outcome(Result.FAIL, "dry run of a new gate"))
    rules = example_rules()
    rules["gates"]["new_gate"] = {"type": "advisory", "validator": "always_fails"}
    config = write_config(tmp_path / "org", {"svc": service_yaml("svc")}, rules=rules)
    states = (config / "states.yaml").read_text().replace(
        "gates: [all_tests_passing, sast_clean, dependency_check]",
        "gates: [all_tests_passing, sast_clean, dependency_check, new_gate]")
    (config / "states.yaml").write_text(states)
    o = build_org(isolated_home, config)
    try:
        o.onboard("svc")
        o.collect("svc", like=CLEAN)
        out = o.as_("alice").request("svc", "compliance_ready")
        assert gate(out, "new_gate")["result"] == "fail"  # recorded ...
        assert out.status == "promoted"  # ... and not blocking
    finally:
        o.close()


# -- break glass, rejection, conflicts -----------------------------------------------------


def test_override_refused_for_non_admin(org: TestOrg) -> None:
    pid = awaiting(org)
    for person in ("carol", "alice", "ci"):
        with nothing_written(org):
            msg = refused(Refusal, EXIT_REFUSED, org.as_(person).override, pid, "we need it today")
        assert f"{person} may not override" in msg and "admin" in msg
    assert org.reader().promotion(pid)["status"] == "awaiting_approval"


def test_override_refused_without_reason(org: TestOrg) -> None:
    pid = awaiting(org)
    for reason in ("", "   "):
        with nothing_written(org):
            msg = refused(GoosetermError, EXIT_USAGE, org.as_("dave").override, pid, reason)
        assert "override needs a reason" in msg


def test_override_of_a_finished_promotion_is_refused(org: TestOrg) -> None:
    pid = org.make_compliant(CLEAN)
    with nothing_written(org):
        msg = refused(Refusal, EXIT_REFUSED, org.as_("dave").override, pid, "again")
    assert "is promoted; only a blocked or waiting promotion can be overridden" in msg


def advisory(o: TestOrg) -> set[str]:
    rules = o.org.rules
    return {n for n in [*rules.gates, *rules.rules] if rules.requirement(n).type == "advisory"}


def test_override_by_admin_promotes_and_records_bypassed_gates(org: TestOrg) -> None:
    pid = awaiting(org)
    out = org.as_("dave").override(pid, "auditor on site; approvals by phone, INC-42")
    assert out.status == "promoted" and out.state == "compliant"
    ov = org.entries(kind="promotion.overridden")[-1]
    predicate = ov.predicate
    bypassed = predicate.pop("bypassed")
    assert predicate == {"promotion": pid, "person": "dave", "reason": "auditor on site; approvals by phone, INC-42"}
    assert [g for g in bypassed if g not in advisory(org)] == ["approval_check"]
    assert ov.signers == [org.signers["dave"].keyid]
    promoted = org.entries(kind="promotion.promoted", promotion=pid)[-1]
    assert promoted.predicate["override"] == {"seq": ov.seq, "person": "dave", "reason": "auditor on site; approvals by phone, INC-42"}
    assert "quorum" not in promoted.predicate


def test_override_of_a_blocked_promotion_names_every_failed_gate(org: TestOrg) -> None:
    org.collect(CLEAN, like=DIRTY)  # failing test and a high-severity finding
    pid = org.as_("alice").request(CLEAN, "compliance_ready").promotion
    org.as_("dave").override(pid, "hotfix; findings triaged in SEC-7")
    assert org.entries(kind="promotion.overridden")[-1].predicate["bypassed"] == ["all_tests_passing", "sast_clean"]
    assert org.reader().service(CLEAN)["state"] == "compliance_ready"


def test_override_does_not_list_advisory_gates_as_bypassed(isolated_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(VALIDATORS, "always_fails", lambda ctx, params: Outcome(Result.FAIL, "dry run of a new gate"))
    rules = example_rules()
    rules["gates"]["new_gate"] = {"type": "advisory", "validator": "always_fails"}
    config = write_config(tmp_path / "org", {"svc": service_yaml("svc")}, rules=rules)
    states = (config / "states.yaml").read_text().replace(
        "gates: [all_tests_passing, sast_clean, dependency_check]",
        "gates: [all_tests_passing, sast_clean, dependency_check, new_gate]")
    (config / "states.yaml").write_text(states)
    o = build_org(isolated_home, config)
    try:
        o.onboard("svc")
        o.collect("svc", like=DIRTY)
        pid = o.as_("alice").request("svc", "compliance_ready").promotion
        o.as_("dave").override(pid, "hotfix")
        assert o.entries(kind="promotion.overridden")[-1].predicate["bypassed"] == ["all_tests_passing", "sast_clean"]
    finally:
        o.close()


def test_override_records_the_gates_failing_at_override_time(org: TestOrg) -> None:
    pid = awaiting(org)
    org.collect(CLEAN, like=DIRTY, kinds=["sarif"])  # an error-level finding arrives: the request is voided
    assert org.reader().promotion(pid)["status"] == "blocked"
    org.as_("dave").override(pid, "ship before the freeze")
    assert "evidence_validation" in org.entries(kind="promotion.overridden")[-1].predicate["bypassed"]


def test_reject_needs_a_reason(org: TestOrg) -> None:
    pid = awaiting(org)
    with nothing_written(org):
        msg = refused(GoosetermError, EXIT_USAGE, org.as_("bob").reject, pid, " ")
    assert "rejection needs a reason" in msg


def test_reject_by_requester_is_refused_and_by_approver_recorded(org: TestOrg) -> None:
    pid = awaiting(org)
    with nothing_written(org):
        msg = refused(Refusal, EXIT_REFUSED, org.as_("alice").reject, pid, "changed my mind")
    assert "alice requested this promotion" in msg
    out = org.as_("bob").reject(pid, "pen test not done")
    assert out.status == "rejected"
    assert org.kinds()[-2:] == ["approval.rejected", "promotion.rejected"]
    assert org.reader().promotion(pid)["reasons"] == ["rejected by bob: pen test not done"]
    with nothing_written(org):
        assert "is rejected, not awaiting approval" in refused(Refusal, EXIT_REFUSED, org.as_("carol").approve, pid)


def test_second_open_promotion_for_a_service_is_a_conflict(org: TestOrg) -> None:
    pid = awaiting(org)
    with nothing_written(org):
        msg = refused(Conflict, EXIT_CONFLICT, org.as_("bob").request, CLEAN, "compliant")
    assert f"already has open promotion {pid}" in msg


def test_unknown_promotion_id_is_a_usage_error(org: TestOrg) -> None:
    with nothing_written(org):
        msg = refused(GoosetermError, EXIT_USAGE, org.as_("bob").approve, "service-c-9999")
    assert "no promotion 'service-c-9999'" in msg


# -- demotion --------------------------------------------------------------------------------


def test_demotion_marks_dependents_at_risk_and_blocks_their_open_promotions(org: TestOrg) -> None:
    org.make_compliant(CLEAN)
    org.make_ready("service-b", like="service-b")
    pb = org.as_("alice").request("service-b", "compliant").promotion
    org.as_("bob").approve(pb)
    out = org.as_("dave").demote(CLEAN, "token signing key leaked")
    assert out.status == "demoted" and out.state == "sandbox"
    demoted = org.entries(kind="service.demoted")[-1]
    assert demoted.predicate["at_risk"] == ["service-a", "service-b"]  # a depends on c through b
    reader = org.reader()
    assert reader.service(CLEAN)["state"] == "sandbox"
    for dependent in ("service-a", "service-b"):
        assert "service-c demoted" in reader.service(dependent)["at_risk"][CLEAN]
        assert "token signing key leaked" in reader.service(dependent)["at_risk"][CLEAN]
    promo = reader.promotion(pb)
    assert promo["status"] == "blocked"
    assert promo["reasons"] == ["dependency service-c was demoted: token signing key leaked"]
    with nothing_written(org):
        assert "is blocked" in refused(Refusal, EXIT_REFUSED, org.as_("carol").approve, pb)
    st = service_status(reader, "service-b")
    assert st.at_risk and any("demoted" in b for b in st.blockers)


def test_demotion_needs_a_compliant_service_and_a_reason(org: TestOrg) -> None:
    with nothing_written(org):
        assert "no demotion leads out of" in refused(Refusal, EXIT_REFUSED, org.as_("dave").demote, CLEAN, "drift")
        assert "demotion needs a reason" in refused(GoosetermError, EXIT_USAGE, org.as_("dave").demote, CLEAN, "")


def test_compliant_service_with_failing_new_junit_is_demoted_automatically(org: TestOrg) -> None:
    org.make_compliant(CLEAN)
    before = org.size()
    rec, demotion = org.as_("ci").add_evidence(CLEAN, "junit", evidence_bytes(DIRTY, "junit"), "ci/junit.xml")
    assert demotion is not None and demotion.status == "demoted"
    assert org.kinds(before - 1) == ["evidence.junit", "service.demoted"]
    reason = org.entries(kind="service.demoted")[-1].predicate["reason"]
    assert f"seq {rec.seq}" in reason and "all_tests_passing" in reason and "1 failed, 1 errors of 5 tests" in reason
    assert org.reader().service(CLEAN)["state"] == "sandbox"
    assert CLEAN in org.reader().service("service-b")["at_risk"]


def test_compliant_service_with_failing_new_sarif_is_demoted_automatically(org: TestOrg) -> None:
    org.make_compliant(CLEAN)
    _, demotion = org.as_("ci").add_evidence(CLEAN, "sarif", evidence_bytes(DIRTY, "sarif"), "ci/bandit.sarif")
    assert demotion is not None
    assert "sast_results_clean" in org.entries(kind="service.demoted")[-1].predicate["reason"]


def test_passing_new_evidence_keeps_a_compliant_service(org: TestOrg) -> None:
    org.make_compliant(CLEAN)
    _, demotion = org.as_("ci").add_evidence(CLEAN, "junit", evidence_bytes("service-b", "junit"), "ci/junit.xml")
    assert demotion is None
    assert org.reader().service(CLEAN)["state"] == "compliant"
    assert not org.entries(kind="service.demoted")


# -- quorum -----------------------------------------------------------------------------------


def test_quorum_with_required_group_waits_for_a_security_member(isolated_home: Path, tmp_path: Path) -> None:
    # alice alone owns svc, so dave (sre) and carol (compliance) may approve: two approvals, no security.
    config = write_config(tmp_path / "org", {"svc": service_yaml("svc", owners=["alice"])})
    o = build_org(isolated_home, config)
    try:
        o.make_ready("svc")
        pid = o.as_("alice").request("svc", "compliant").promotion
        o.as_("dave").approve(pid)
        out = o.as_("carol").approve(pid)
        assert out.status == "awaiting_approval"
        assert out.reasons == ["2 of 2 approvals; needs one from security"]
        assert not o.entries(kind="promotion.approved")
        assert o.reader().service("svc")["state"] == "compliance_ready"
        done = o.as_("bob").approve(pid)
        assert done.status == "promoted"
        quorum = o.entries(kind="promotion.promoted", promotion=pid)[-1].predicate["quorum"]
        assert len(quorum["approvals"]) == 3 and quorum["required"] == 2
    finally:
        o.close()


def test_service_a_needs_security_and_compliance(org: TestOrg) -> None:
    org.make_compliant(CLEAN)
    org.make_compliant("service-b", like="service-b")
    org.make_ready("service-a", like="service-b")
    pid = org.as_("alice").request("service-a", "compliant").promotion
    out = org.as_("bob").approve(pid)
    assert out.reasons == ["1 of 2 approvals; needs one from compliance"]
    assert org.as_("carol").approve(pid).status == "promoted"


def test_no_double_transition_after_an_override(org: TestOrg) -> None:
    org.make_ready(CLEAN)
    org.collect(CLEAN, like=DIRTY, kinds=["coverage"])
    blocked = org.as_("alice").request(CLEAN, "compliant").promotion
    org.collect(CLEAN, kinds=["coverage"])
    waiting = org.as_("alice").request(CLEAN, "compliant").promotion
    org.as_("dave").override(blocked, "coverage tool misconfigured, INC-9")
    assert org.reader().service(CLEAN)["state"] == "compliant"
    with pytest.raises((Conflict, Refusal)):
        org.as_("bob").approve(waiting)
        org.as_("carol").approve(waiting)
    assert len(org.entries(kind="promotion.promoted", service=CLEAN)) == 2  # ready, then compliant once
