"""Exports of a period that cuts through a promotion: the bundle carries what its entries cite
(the request, the approvals of a quorum) in cited.jsonl with inclusion proofs, both verifiers say
VALID, and a cited entry edited, stripped of its proof or dropped is a named fault at its seq. The
OSCAL plan and results are valid against NIST's schemas and link only to files the bundle holds.

The org's ledger spreads one promotion of service-c over three days: requested on 03-02, approved
by bob on 03-03 (then a note), by carol on 03-04 (which promotes it, citing both approvals), and a
note on 03-05.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from urllib.parse import urljoin, urlparse

import pytest
from helpers.exports import (
    three_day_promotion,
    copy_bundle,
    export,
    gooseterm,
    make_demo,
    open_ledger,
    oscal_errors,
    oscal_validator,
    resign_manifest,
    verify_both,
    verify_with_gooseterm,
)
from helpers.orgs import CLEAN
from jsonschema import Draft7Validator

from gooseterm.ledger.signing import Signer, canonical_json
from gooseterm.ledger.verifier import cited_seqs, leaf_hash

REPO = Path(__file__).resolve().parents[2]
OSCAL = REPO / "tests" / "fixtures" / "oscal"


@pytest.fixture(scope="module")
def org_home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    """The three-day promotion; returns the home and the seqs that matter."""
    home = tmp_path_factory.mktemp("org")
    return home, three_day_promotion(home)[0]


@pytest.fixture
def home(org_home: tuple[Path, dict[str, int]]) -> Path:
    return org_home[0]


@pytest.fixture
def seqs(org_home: tuple[Path, dict[str, int]]) -> dict[str, int]:
    return org_home[1]


@pytest.fixture(scope="module")
def last_day(org_home: tuple[Path, dict[str, int]], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """From 03-04 on: carol's approval and the promotion, which cite bob's approval and the request."""
    return export(org_home[0], tmp_path_factory.mktemp("last") / "bundle", "--since", "2026-03-04")


def rows_of(bundle: Path, name: str) -> list[dict]:
    return [json.loads(line) for line in (bundle / name).read_bytes().splitlines()]


def manifest(bundle: Path) -> dict:
    return json.loads((bundle / "manifest.json").read_bytes())


def ledger_signer(home: Path) -> Signer:
    with open_ledger(home) as ledger:
        return ledger.signer


def drop_line(bundle: Path, leaves: str, rows: str, seq: int) -> None:
    """Remove one entry from a pair of files (its leaf and its row)."""
    at = next(i for i, r in enumerate(rows_of(bundle, rows)) if r["seq"] == seq)
    for name in (leaves, rows):
        lines = (bundle / name).read_bytes().splitlines(keepends=True)
        del lines[at]
        (bundle / name).write_bytes(b"".join(lines))


# -- cited_seqs: the one place that knows how an entry cites another ----------------------------------


def _statement(predicate: dict) -> dict:
    return {"_type": "https://in-toto.io/Statement/v1", "predicate": predicate}


BOUND_TO_20 = {"binding": {"request": {"seq": 20, "leaf_hash": "x"}}}


@pytest.mark.parametrize(("kind", "promotion", "predicate", "cited"), [
    ("promotion.requested", "service-c-40", {}, set()),  # a request is named by its own seq: it cites nothing
    ("gate.result", "service-c-20", BOUND_TO_20, {20}),
    ("gate.result", "service-c-20", {"gate": "tests"}, set()),  # the promotion id is an unsigned index: no citation
    ("promotion.promoted", "service-c-20", {"quorum": {"approvals": [28, 29]}, **BOUND_TO_20}, {20, 28, 29}),
    ("promotion.promoted", "service-c-20", {"override": {"seq": 33}, **BOUND_TO_20}, {20, 33}),
    ("custom.note", None, {"binding": {"request": {"seq": 7, "leaf_hash": "x"}}}, {7}),
    ("promotion.approved", "service-c-x", {"quorum": {"approvals": [True, -1, "3", 40, 41, 12]}}, {12}),
])
def test_cited_seqs_names_what_an_entry_cites_and_only_earlier_entries(kind, promotion, predicate, cited) -> None:
    record = {"seq": 40, "kind": kind, "promotion": promotion}
    assert cited_seqs(kind, record, _statement(predicate)) == cited


# -- periods through a promotion verify, with what they cite -------------------------------------------


@pytest.mark.parametrize(("args", "cited"), [
    (("--since", "2026-03-04"), ("request", "bob")),
    (("--since", "2026-03-03", "--until", "2026-03-03"), ("request",)),  # bob's approval; the fence, carol's, cites it too
    (("--until", "2026-03-03"), ()),  # the fence (carol's approval) cites the request and bob's, both in the period
    (("--since", "2026-03-04", "--service", CLEAN), ("request", "bob")),
    (("--since", "2026-03-05"), ("request", "bob", "carol")),  # the fence is the promotion: its quorum, transitively
])
def test_a_period_through_a_promotion_carries_what_it_cites_and_verifies(
    home: Path, seqs: dict[str, int], tmp_path: Path, args: tuple[str, ...], cited: tuple[str, ...]
) -> None:
    bundle = export(home, tmp_path / "b", *args)
    assert verify_both(home, bundle) == {}
    first, last = manifest(bundle)["range"]
    carried = rows_of(bundle, "cited-rows.jsonl")
    assert [r["seq"] for r in carried] == sorted(seqs[c] for c in cited)
    assert all(not first <= r["seq"] <= last and r["proof"] for r in carried)
    assert not {r["seq"] for r in carried} & {r["seq"] for r in rows_of(bundle, "rows.jsonl")}
    assert {"cited.jsonl", "cited-rows.jsonl"} <= set(manifest(bundle)["files"])


def test_a_day_after_a_decision_no_longer_fails_its_quorum(tmp_path: Path) -> None:
    """The demo's 03-08 starts right after service-c's promotion (seq 37), which is the period's fence:
    its approvals were not carried, and both verifiers reported approval_quorum_not_met at 37."""
    demo = tmp_path / "demo"
    make_demo(demo)
    for args in (("--since", "2026-03-08", "--until", "2026-03-08"), ("--since", "2026-03-07", "--until", "2026-03-07")):
        bundle = export(demo, tmp_path / "-".join(args), *args)
        assert verify_both(demo, bundle) == {}
        assert [r["seq"] for r in rows_of(bundle, "cited-rows.jsonl")] == [20, 28, 29]


def test_a_complete_export_cites_nothing_from_outside(home: Path, tmp_path: Path) -> None:
    bundle = export(home, tmp_path / "b")
    assert verify_both(home, bundle) == {}
    assert not (bundle / "cited.jsonl").exists() and manifest(bundle)["complete"] is True


# -- a cited entry tampered with ---------------------------------------------------------------------------


def test_an_edited_cited_entry_is_leaf_modified_at_its_seq(home: Path, seqs: dict[str, int], last_day: Path, tmp_path: Path) -> None:
    b = copy_bundle(last_day, tmp_path / "b")
    at = [r["seq"] for r in rows_of(b, "cited-rows.jsonl")].index(seqs["bob"])
    leaves = (b / "cited.jsonl").read_bytes().splitlines(keepends=True)
    record = json.loads(leaves[at])
    statement = json.loads(base64.b64decode(record["envelope"]["payload"]))
    statement["predicate"]["person"] = "mallory"
    record["envelope"]["payload"] = base64.b64encode(canonical_json(statement)).decode()
    leaves[at] = canonical_json(record) + b"\n"
    (b / "cited.jsonl").write_bytes(b"".join(leaves))
    found = verify_both(home, b)
    assert found["leaf_modified"] == seqs["bob"] and found["statement_signature_bad"] == seqs["bob"]
    assert found["bundle_file_mismatch"] is None


def test_a_cited_entry_with_its_leaf_hash_recomputed_fails_its_inclusion_proof(
    home: Path, seqs: dict[str, int], last_day: Path, tmp_path: Path
) -> None:
    b = copy_bundle(last_day, tmp_path / "b")
    rows = rows_of(b, "cited-rows.jsonl")
    at = [r["seq"] for r in rows].index(seqs["request"])
    leaves = (b / "cited.jsonl").read_bytes().splitlines(keepends=True)
    leaves[at] = leaves[at].replace(b'"kind":"promotion.requested"', b'"kind":"promotion.requested" ', 1)
    rows[at]["leaf_hash"] = base64.b64encode(leaf_hash(leaves[at].rstrip(b"\n"))).decode()
    (b / "cited.jsonl").write_bytes(b"".join(leaves))
    (b / "cited-rows.jsonl").write_bytes(b"".join(canonical_json(r) + b"\n" for r in rows))
    resign_manifest(b, ledger_signer(home))  # even the ledger key's holder cannot make it fit the checkpoint
    found = verify_both(home, b)
    assert found["leaf_modified"] == seqs["request"]
    _, report = verify_with_gooseterm(home, b)
    assert any("not in the checkpoint's tree" in f["detail"] for f in report["faults"] if f["seq"] == seqs["request"])


def test_a_cited_entry_without_its_proof_is_leaf_modified(home: Path, seqs: dict[str, int], last_day: Path, tmp_path: Path) -> None:
    b = copy_bundle(last_day, tmp_path / "b")
    rows = rows_of(b, "cited-rows.jsonl")
    for r in rows:
        if r["seq"] == seqs["bob"]:
            del r["proof"]
    (b / "cited-rows.jsonl").write_bytes(b"".join(canonical_json(r) + b"\n" for r in rows))
    resign_manifest(b, ledger_signer(home))
    assert verify_both(home, b) == {"leaf_modified": seqs["bob"]}


def test_a_dropped_cited_approval_is_row_deleted_and_the_quorum_fails(
    home: Path, seqs: dict[str, int], last_day: Path, tmp_path: Path
) -> None:
    b = copy_bundle(last_day, tmp_path / "b")
    drop_line(b, "cited.jsonl", "cited-rows.jsonl", seqs["bob"])
    resign_manifest(b, ledger_signer(home))  # an insider holding the ledger key
    found = verify_both(home, b)
    assert found == {"row_deleted": seqs["bob"], "approval_quorum_not_met": seqs["approved"]}
    _, report = verify_with_gooseterm(home, b)
    detail = next(f["detail"] for f in report["faults"] if f["code"] == "row_deleted")
    assert detail == f"seq {seqs['bob']}, cited by seq {seqs['approved']}, is neither in the period nor in cited.jsonl"


def test_a_dropped_cited_request_is_row_deleted_not_a_quorum_judged_without_its_policy(
    home: Path, seqs: dict[str, int], last_day: Path, tmp_path: Path
) -> None:
    """Before cited.jsonl, a bundle without the request was VALID: the quorum was checked against the
    decision's own `required`, never the policy the request recorded."""
    b = copy_bundle(last_day, tmp_path / "b")
    drop_line(b, "cited.jsonl", "cited-rows.jsonl", seqs["request"])
    resign_manifest(b, ledger_signer(home))
    # and the first answer carried, bob's approval, now answers a request the bundle cannot show
    assert verify_both(home, b) == {"row_deleted": seqs["request"], "request_mismatch": seqs["bob"]}


def test_dropping_cited_jsonl_altogether_names_every_missing_seq(
    home: Path, seqs: dict[str, int], last_day: Path, tmp_path: Path
) -> None:
    b = copy_bundle(last_day, tmp_path / "b")
    (b / "cited.jsonl").unlink()
    (b / "cited-rows.jsonl").unlink()
    _, report = verify_with_gooseterm(home, b)
    found = verify_both(home, b)
    assert found["row_deleted"] == seqs["request"] and found["bundle_file_mismatch"] is None
    missing = sorted(f["seq"] for f in report["faults"] if f["code"] == "row_deleted")
    assert missing == sorted([seqs["request"], seqs["bob"]])


def test_a_cited_entry_also_in_the_period_is_row_inserted(home: Path, seqs: dict[str, int], last_day: Path, tmp_path: Path) -> None:
    b = copy_bundle(last_day, tmp_path / "b")
    at = next(i for i, r in enumerate(rows_of(b, "rows.jsonl")) if r["seq"] == seqs["carol"])
    for src, dst in (("entries.jsonl", "cited.jsonl"), ("rows.jsonl", "cited-rows.jsonl")):
        line = (b / src).read_bytes().splitlines(keepends=True)[at]
        (b / dst).write_bytes((b / dst).read_bytes() + line)
    resign_manifest(b, ledger_signer(home))
    # the copy is carried after later entries, so it also runs back in time
    assert verify_both(home, b) == {"row_inserted": seqs["carol"], "time_regressed": seqs["carol"]}


def test_a_period_without_the_entry_just_before_it_is_row_deleted(home: Path, last_day: Path, tmp_path: Path) -> None:
    """The fences prove where the period starts and ends; before, a bundle without one was VALID."""
    b = copy_bundle(last_day, tmp_path / "b")
    first = manifest(b)["range"][0]
    drop_line(b, "entries.jsonl", "rows.jsonl", first - 1)
    resign_manifest(b, ledger_signer(home))
    assert verify_both(home, b) == {"row_deleted": first - 1}


def test_a_range_narrowed_to_leave_out_an_entry_of_the_selected_days_is_row_deleted(home: Path, last_day: Path, tmp_path: Path) -> None:
    b = copy_bundle(last_day, tmp_path / "b")
    first, last = manifest(b)["range"]
    resign_manifest(b, ledger_signer(home), lambda m: m.update(range=[first + 1, last]))
    assert verify_both(home, b) == {"row_deleted": first}
    _, report = verify_with_gooseterm(home, b)
    assert "belongs to the selected days" in report["first_fault"]["detail"]


# -- OSCAL: a real plan, valid documents, links that resolve ------------------------------------------------


@pytest.fixture(scope="module")
def oscal() -> tuple[Draft7Validator, Draft7Validator]:
    """NIST's complete schema (every model, the plan's among them) and its 1.2.1 assessment-results schema."""
    return oscal_validator(OSCAL / "oscal_complete_schema.json"), oscal_validator(OSCAL / "oscal_assessment-results_schema.json")


def _hrefs(node: object) -> list[str]:
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == "href"] + [h for v in node.values() for h in _hrefs(v)]
    if isinstance(node, list):
        return [h for v in node for h in _hrefs(v)]
    return []


def _check_oscal(bundle: Path, oscal: tuple[Draft7Validator, Draft7Validator]) -> tuple[dict, dict]:
    """Both documents valid, every link resolving (relative to the document) to a file in the bundle."""
    complete, results_schema = oscal
    plan = json.loads((bundle / "oscal" / "assessment-plan.json").read_bytes())
    results = json.loads((bundle / "oscal" / "assessment-results.json").read_bytes())
    assert oscal_errors(complete, plan) == []
    assert oscal_errors(complete, results) == oscal_errors(results_schema, results) == []
    listed = set(manifest(bundle)["files"])
    resources = {r["uuid"] for r in plan["assessment-plan"]["back-matter"]["resources"]}
    for name, doc in (("oscal/assessment-plan.json", plan), ("oscal/assessment-results.json", results)):
        for href in _hrefs(doc):
            if href.startswith("#"):
                assert href[1:] in resources, href
                continue
            target = urlparse(urljoin(f"https://bundle.invalid/{name}", href)).path.lstrip("/")
            assert target in listed and (bundle / target).is_file(), f"{name}: {href}"
    return plan, results


def test_the_results_import_the_bundles_assessment_plan(oscal, home: Path, seqs: dict[str, int], last_day: Path) -> None:
    plan, results = _check_oscal(last_day, oscal)
    assert results["assessment-results"]["import-ap"] == {"href": "assessment-plan.json"}
    ap = plan["assessment-plan"]
    assert [c["title"] for c in ap["local-definitions"]["components"]] == [CLEAN]
    gates = {o["title"].split(" for ")[0] for r in results["assessment-results"]["results"] for o in r["observations"]}
    assert {a["title"] for a in ap["local-definitions"]["activities"]} == {f"gate {g}" for g in gates}
    assert ap["back-matter"]["resources"][0]["rlinks"] == [{"href": "../policy.json", "media-type": "application/json"}]


def test_a_period_links_the_evidence_its_gates_read_though_collected_before(oscal, last_day: Path) -> None:
    _, results = _check_oscal(last_day, oscal)
    evidence = [ev for r in results["assessment-results"]["results"] for o in r["observations"] for ev in o.get("relevant-evidence", [])]
    assert evidence and all(ev["href"].startswith("../blobs/") for ev in evidence)


@pytest.mark.parametrize(("args", "some_archived"), [
    ((), True),
    (("--service", "service-a"), False),  # its gates read evidence of 03-09, kept
    (("--service", "service-c"), True),
    (("--since", "2026-03-06"), True),  # its gates read evidence of 03-05, archived
])
def test_archived_evidence_is_described_never_linked(oscal, tmp_path: Path, args: tuple[str, ...], some_archived: bool) -> None:
    demo = tmp_path / "demo"
    make_demo(demo)
    code, _, err = gooseterm(demo, "archive", "--before", "2026-03-06", "--out", str(tmp_path / "old.zip"))
    assert code == 0, err
    bundle = export(demo, tmp_path / "b", *args)
    assert verify_both(demo, bundle) == {}
    _, results = _check_oscal(bundle, oscal)
    archived = set(manifest(bundle)["archived_blobs"])
    unlinked = [ev for r in results["assessment-results"]["results"] for o in r.get("observations", [])
                for ev in o.get("relevant-evidence", []) if "href" not in ev]
    assert all(ev["description"].split()[1] in archived for ev in unlinked)
    assert bool(unlinked) is some_archived


def test_a_plan_of_an_empty_period_is_valid(oscal, home: Path, tmp_path: Path) -> None:
    bundle = export(home, tmp_path / "b", "--since", "2027-01-01")
    assert verify_both(home, bundle) == {}
    plan, _ = _check_oscal(bundle, oscal)
    assert plan["assessment-plan"]["assessment-subjects"] == [{"type": "component", "include-all": {}}]
