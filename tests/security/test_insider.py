"""The insider who holds the ledger key and edits the file: what they try, and who names it.

Every local writer holds the ledger key (it signs rows), so the insider can append any leaf, make
the chain, the row signatures, the Merkle tree and the checkpoints good again, and edit every
derived table. What they cannot make is another person's signature over what that person did not
sign. Each test plays one attack on the demo ledger with the installed command and sqlite3, then
checks that the application refuses to act on it (writing nothing) and that `gooseterm verify`,
the standalone verifier on the ledger file, and the verifier inside an exported bundle all name it.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from gooseterm.ledger.signing import Signer
from gooseterm.ledger.verifier import make_binding, policy_digest

from .conftest import gooseterm
from .insider import Insider

ORIGIN = "gooseterm.example/demo-org"
PENDING = "service-b-47"  # the demo's promotion awaiting a second approval (bob's is recorded)


@pytest.fixture(scope="module")
def pristine_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("demo")
    run = gooseterm("demo", env={"GOOSETERM_HOME": str(home)})
    assert run.code == 0, run.text
    assert PENDING in run.out
    return home


@pytest.fixture
def home(pristine_demo: Path, isolated_home: Path) -> Path:
    """A private copy of the demo in this test's GOOSETERM_HOME."""
    shutil.rmtree(isolated_home)
    shutil.copytree(pristine_demo, isolated_home)
    return isolated_home


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def faults_of(report: dict) -> dict[str, int | None]:
    """fault class -> first seq, from a --json report of either verifier."""
    return {code: c["first_seq"] for code, c in report["faults_by_class"].items()}


def verify_everywhere(home: Path, tmp: Path) -> list[dict[str, int | None]]:
    """The faults each verifier names: gooseterm verify, the standalone verifier, and the bundle's own."""
    ledger = home / "ledger.db"
    found = []
    run = gooseterm("verify", ledger, "--json")
    assert run.code in (0, 1), run.text
    found.append(faults_of(json.loads(run.out)))
    standalone = subprocess.run([sys.executable, "-m", "gooseterm.ledger.verifier", str(ledger), "--json"],
                                capture_output=True, text=True, timeout=120)
    assert standalone.returncode in (0, 1), standalone.stderr
    found.append(faults_of(json.loads(standalone.stdout)))
    bundle = tmp / "bundle"
    export = gooseterm("export", "--out", bundle)
    assert export.code == 0, export.text
    offline = subprocess.run([sys.executable, str(bundle / "verifier.py"), str(bundle), "--json"],
                             capture_output=True, text=True, timeout=120, cwd=bundle)
    assert offline.returncode in (0, 1), offline.stderr
    found.append(faults_of(json.loads(offline.stdout)))
    return found


def later(insider: Insider, seconds: int = 1) -> str:
    """A writer time just after the ledger's last entry."""
    last = insider.conn.execute("SELECT max(time) FROM entries").fetchone()[0]
    t = datetime.fromisoformat(last.replace("Z", "+00:00")) + timedelta(seconds=seconds)
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def rerequest(home: Path) -> str:
    """carol rejects the pending promotion and alice requests service-b again, with the same evidence."""
    assert gooseterm("--as", "carol", "reject", PENDING, "--reason", "needs another look").code == 0
    run = gooseterm("--as", "alice", "promote", "service-b", "--to", "compliant", "--json")
    assert run.code == 0, run.text
    out = json.loads(run.out)
    outcome = out[0] if isinstance(out, list) else out
    assert outcome["status"] == "awaiting_approval", outcome
    return outcome["promotion"]


# -- moving a signed approval -----------------------------------------------------------------------


def test_an_approval_moved_to_another_promotion_is_refused_and_named_by_every_verifier(home: Path, tmp_path: Path) -> None:
    again = rerequest(home)
    with Insider(home, ORIGIN) as x:
        bob_seq = x.seqs("approval.granted", PENDING)[0]
        old = x.record(bob_seq)
        moved = x.append_leaf(old["envelope"], "approval.granted", "service-b", again, later(x))
        promo = x.projection("promotion", again)
        promo["approvals"].append({**x.projection("promotion", PENDING)["approvals"][0], "promotion": again, "seq": moved})
        x.set_projection("promotion", again, promo)
    before = digest(home / "ledger.db")

    run = gooseterm("--as", "carol", "approve", again)
    assert run.code == 1, run.text
    assert f"promotion {again}'s approvals do not verify against the entries" in run.err
    assert digest(home / "ledger.db") == before  # carol's approval was not written either

    for found in verify_everywhere(home, tmp_path):
        assert found.get("index_mismatch") == moved, found


def test_an_approval_of_another_request_cited_from_an_edited_table_is_refused(home: Path, tmp_path: Path) -> None:
    again = rerequest(home)
    with Insider(home, ORIGIN) as x:
        bob = x.projection("promotion", PENDING)["approvals"][0]
        promo = x.projection("promotion", again)
        promo["approvals"].append({**bob, "promotion": again})  # bob's approval of the old request, not re-signed
        x.set_projection("promotion", again, promo)
    before = digest(home / "ledger.db")
    run = gooseterm("--as", "carol", "approve", again)
    assert run.code == 1, run.text
    assert "do not verify against the entries" in run.err
    assert digest(home / "ledger.db") == before
    assert "projection_mismatch" in json.loads(gooseterm("verify", "--json").out)["faults_by_class"]


def test_the_same_approval_appended_twice_is_a_replay(home: Path, tmp_path: Path) -> None:
    with Insider(home, ORIGIN) as x:
        bob_seq = x.seqs("approval.granted", PENDING)[0]
        old = x.record(bob_seq)
        copy = x.append_leaf(old["envelope"], "approval.granted", "service-b", PENDING, old["time"])
    for found in verify_everywhere(home, tmp_path):
        assert found.get("statement_replayed") == copy, found


def test_a_request_moved_to_another_seq_answers_to_no_promotion(home: Path, tmp_path: Path) -> None:
    with Insider(home, ORIGIN) as x:
        request = x.seqs("promotion.requested", PENDING)[0]
        old = x.record(request)
        copy = x.append_leaf(old["envelope"], "promotion.requested", "service-b", PENDING, old["time"])
    for found in verify_everywhere(home, tmp_path):
        assert found.get("request_mismatch") == found.get("statement_replayed") == copy, found


# -- decisions the insider signs with keys they hold -------------------------------------------------


def bound(x: Insider, kind: str, predicate: dict, service: str, promotion: str | None, time: str, request: int | None = None,
          override: dict | None = None) -> dict:
    """A predicate with a binding as the ledger would write it (fields replaced by `override`)."""
    ref = None
    if request is not None:
        ref = (request, bytes.fromhex(x.conn.execute("SELECT hex(leaf_hash) FROM entries WHERE seq = ?", (request,)).fetchone()[0]))
    binding = make_binding(ORIGIN, kind, service, promotion, [], time, ref)
    return {**predicate, "binding": {**binding, **(override or {})}}


def forge_approval(x: Insider, person: str, groups: list[str], request: int) -> int:
    """An approval of the pending promotion, signed by `person`'s own key, bound as the ledger binds one."""
    req = x.statement(request)["predicate"]
    body = {"promotion": PENDING, "decision": "approve", "person": person, "groups": groups,
            "evidence_digest": req["evidence_digest"], "policy_digest": policy_digest(req["policy"])}
    t = later(x)
    return x.forge(x.key(person), "approval.granted", bound(x, "approval.granted", body, "service-b", PENDING, t, request),
                   "service-b", PENDING, t)


def forge_completion(x: Insider, approvals: list[int], request: int) -> int:
    """alice completes the pending promotion, citing `approvals` as its quorum."""
    evidence = x.statement(request)["predicate"]["evidence_digest"]
    body = {"promotion": PENDING, "from": "compliance_ready", "to": "compliant", "compliant": True,
            "quorum": {"required": 2, "approvals": approvals, "evidence_digest": evidence}}
    t = later(x)
    return x.forge(x.key("alice"), "promotion.promoted", bound(x, "promotion.promoted", body, "service-b", PENDING, t, request),
                   "service-b", PENDING, t)


def test_a_promotion_completed_without_its_quorum_is_named(home: Path, tmp_path: Path) -> None:
    with Insider(home, ORIGIN) as x:
        request = x.seqs("promotion.requested", PENDING)[0]
        t = later(x)
        body = {"promotion": PENDING, "from": "compliance_ready", "to": "compliant", "compliant": True}
        seq = x.forge(x.key("alice"), "promotion.promoted", bound(x, "promotion.promoted", body, "service-b", PENDING, t, request),
                      "service-b", PENDING, t)
    for found in verify_everywhere(home, tmp_path):
        assert found.get("approval_quorum_not_met") == seq, found


def test_a_promotion_completed_a_second_time_by_the_same_quorum_is_named(home: Path, tmp_path: Path) -> None:
    """service-c was promoted with bob's and carol's approvals; their quorum cannot complete it again."""
    with Insider(home, ORIGIN) as x:
        (done,) = [s for s in x.seqs("promotion.promoted") if x.record(s)["service"] == "service-c"
                   and x.statement(s)["predicate"].get("quorum")]
        pid = x.record(done)["promotion"]
        request = x.seqs("promotion.requested", pid)[0]
        t = later(x)
        body = {k: v for k, v in x.statement(done)["predicate"].items() if k != "binding"}
        seq = x.forge(x.key("alice"), "promotion.promoted", bound(x, "promotion.promoted", body, "service-c", pid, t, request),
                      "service-c", pid, t)
    for found in verify_everywhere(home, tmp_path):
        assert found.get("promotion_ended") == seq, found


def test_approvals_voided_by_a_block_cannot_complete_the_promotion(home: Path, tmp_path: Path) -> None:
    """New evidence blocks service-b's open promotion; bob's and carol's approvals of the old evidence
    cannot then complete it, even with the quorum the request's policy asks for."""
    with Insider(home, ORIGIN) as x:
        request = x.seqs("promotion.requested", PENDING)[0]
        t = later(x)
        x.forge(x.key("alice"), "promotion.blocked", bound(x, "promotion.blocked", {"promotion": PENDING, "reasons": ["new evidence"]},
                                                        "service-b", PENDING, t, request), "service-b", PENDING, t)
        late = forge_approval(x, "carol", ["compliance"], request)
        seq = forge_completion(x, [x.seqs("approval.granted", PENDING)[0], late], request)
    for found in verify_everywhere(home, tmp_path):
        assert found.get("promotion_ended") == seq, found


def test_a_quorum_counting_the_requesters_own_approval_is_named(home: Path, tmp_path: Path) -> None:
    """alice holds an approver key, but she requested this promotion: she is not among its eligible approvers."""
    with Insider(home, ORIGIN) as x:
        request = x.seqs("promotion.requested", PENDING)[0]
        own = forge_approval(x, "alice", ["security"], request)
        seq = forge_completion(x, [x.seqs("approval.granted", PENDING)[0], own], request)
    for found in verify_everywhere(home, tmp_path):
        assert found.get("approval_quorum_not_met") == seq, found


@pytest.mark.parametrize(("signer", "person"), [("alice", "carol"), ("ci", "ci")], ids=["in-another-name", "key-without-approver-role"])
def test_an_approval_not_signed_by_the_approvers_own_approver_key_is_named(home: Path, tmp_path: Path, signer: str, person: str) -> None:
    with Insider(home, ORIGIN) as x:
        request = x.seqs("promotion.requested", PENDING)[0]
        t = later(x)
        body = {"promotion": PENDING, "decision": "approve", "person": person, "groups": [], "evidence_digest": None}
        seq = x.forge(x.key(signer), "approval.granted", bound(x, "approval.granted", body, "service-b", PENDING, t, request),
                      "service-b", PENDING, t)
    for found in verify_everywhere(home, tmp_path):
        assert found.get("signer_not_authorised") == seq, found


@pytest.mark.parametrize("field", ["origin", "kind", "service", "promotion", "blobs", "time"])
def test_an_index_field_that_differs_from_the_signed_binding_is_named(home: Path, tmp_path: Path, field: str) -> None:
    other = {"origin": "evil.example/other-ledger", "kind": "annotation", "service": "service-c", "promotion": "service-c-1",
             "blobs": ["sha256:" + "1" * 64], "time": "2001-01-01T00:00:00.000000Z"}[field]
    with Insider(home, ORIGIN) as x:
        t = later(x)
        seq = x.forge(x.key("alice"), "incident.note", bound(x, "incident.note", {"note": "hello"}, "service-b", None, t, override={field: other}),
                      "service-b", None, t)
    for found in verify_everywhere(home, tmp_path):
        assert found.get("index_mismatch") == seq, found


def test_an_entry_written_with_a_time_far_behind_the_ledger_is_named(home: Path, tmp_path: Path) -> None:
    with Insider(home, ORIGIN) as x:
        t = "2020-01-01T00:00:00.000000Z"
        seq = x.forge(x.key("alice"), "incident.note", bound(x, "incident.note", {"note": "backdated"}, "service-b", None, t),
                      "service-b", None, t)
    for found in verify_everywhere(home, tmp_path):
        assert found.get("time_regressed") == seq, found


# -- derived tables ----------------------------------------------------------------------------------


def test_a_service_state_edited_in_the_derived_table_is_named_by_plain_verify(home: Path) -> None:
    with Insider(home, ORIGIN) as x:
        rec = x.projection("service", "service-a")
        x.set_projection("service", "service-a", {**rec, "state": "compliant"})
    run = gooseterm("verify", "--json")
    assert run.code == 1
    report = json.loads(run.out)
    assert "projection_mismatch" in report["faults_by_class"]
    assert "service service-a: differs in state" in report["faults_by_class"]["projection_mismatch"]["detail"]


def test_key_roles_come_from_the_signed_key_events_not_from_any_table(home: Path) -> None:
    """No table holds key roles: a row claiming alice is an admin changes nothing the application does."""
    with Insider(home, ORIGIN) as x:
        alice = x.key("alice")
        x.conn.execute("INSERT INTO projections (name, key, value, seq) VALUES (?, ?, ?, ?)",
                       ("ledger.keys", alice.keyid, json.dumps({"keyid": alice.keyid, "vkey": alice.vkey, "roles": ["admin"], "added": 0}), 0))
    before = digest(home / "ledger.db")
    run = gooseterm("--as", "alice", "keys", "add", Signer.generate("mallory").vkey, "--role", "admin")
    assert run.code == 1, run.text
    assert "must be signed by an admin key" in run.err
    assert digest(home / "ledger.db") == before
