"""The audit bundle: tamper classes named alike by `gooseterm verify` and the bundle's own verifier.py,
OSCAL validity against NIST's schema, byte-for-byte reproducibility, zips that cannot escape their
folder, the OpenSSL-only path of VERIFY.md, and the plan's audit-tree layout.

Each tamper test edits a copy of a bundle exported from the demo ledger as an attacker would and
expects the same fault classes, with the same first seq, from both verifiers.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import uuid
import zipfile
from pathlib import Path

import pytest
from helpers.exports import (
    NOW,
    append_notes,
    checkpoint,
    copy_bundle,
    export,
    make_demo,
    open_ledger,
    oscal_errors,
    oscal_validator,
    resign_manifest,
    verify_both,
    verify_with_gooseterm,
)
from helpers.orgs import EVIDENCE, clone_home
from jsonschema import Draft7Validator

from gooseterm import gates
from gooseterm.exports.analysis import analysis_db
from gooseterm.ledger import verifier
from gooseterm.ledger.verifier import bundle_walk
from gooseterm.ledger.signing import Signer, canonical_json, sign_note
from gooseterm.ledger.verifier import (
    Checkpoint,
    chain_hash,
    leaf_hash,
    parse_checkpoint,
    root_from_leaf_hashes,
    row_message,
    split_note,
)

REPO = Path(__file__).resolve().parents[2]
OSCAL_SCHEMA = REPO / "tests" / "fixtures" / "oscal" / "oscal_assessment-results_schema.json"
MALLORY = Signer("mallory.example", bytes([6]) * 32)
PERIOD = ("--since", "2026-03-06", "--until", "2026-03-06")  # service-c's approvals and promotion


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo home built once at NOW; tests that append clone it."""
    home = tmp_path_factory.mktemp("demo")
    make_demo(home)
    return home


@pytest.fixture(scope="module")
def full(demo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A complete export of the demo, as a folder."""
    return export(demo, tmp_path_factory.mktemp("full") / "bundle")


@pytest.fixture(scope="module")
def partial(demo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One day of the demo (service-c's approvals), as a folder."""
    return export(demo, tmp_path_factory.mktemp("partial") / "bundle", *PERIOD)


@pytest.fixture
def home(demo: Path, tmp_path: Path) -> Path:
    """A private copy of the demo home, to append to."""
    return clone_home(demo, tmp_path / "home")


# -- helpers ---------------------------------------------------------------------------------------


def lines(bundle: Path, name: str) -> list[bytes]:
    return (bundle / name).read_bytes().splitlines(keepends=True)


def write_lines(bundle: Path, name: str, rows: list[bytes]) -> None:
    (bundle / name).write_bytes(b"".join(rows))


def line_of(bundle: Path, seq: int) -> int:
    """The line of rows.jsonl (and entries.jsonl) holding seq."""
    return next(i for i, r in enumerate(lines(bundle, "rows.jsonl")) if json.loads(r)["seq"] == seq)


def seqs_of(home: Path, kind: str) -> list[int]:
    with open_ledger(home) as ledger:
        return [e.seq for e in ledger.entries(kind=kind)]


def edit_payload(leaf: bytes, change) -> bytes:
    """The leaf with its statement's predicate changed by `change` (signatures left as they were)."""
    record = json.loads(leaf)
    statement = json.loads(base64.b64decode(record["envelope"]["payload"]))
    change(statement["predicate"])
    record["envelope"]["payload"] = base64.b64encode(canonical_json(statement)).decode()
    return canonical_json(record) + b"\n"


# -- a valid bundle ----------------------------------------------------------------------------------


def test_a_complete_export_verifies_with_both_verifiers(demo: Path, full: Path) -> None:
    assert verify_both(demo, full) == {}
    manifest = json.loads((full / "manifest.json").read_bytes())
    assert manifest["complete"] is True and manifest["range"] == [0, manifest["checkpoint_size"] - 1]
    assert len(lines(full, "entries.jsonl")) == manifest["checkpoint_size"]


def test_a_partial_export_carries_the_fences_and_verifies(demo: Path, partial: Path) -> None:
    assert verify_both(demo, partial) == {}
    manifest = json.loads((partial / "manifest.json").read_bytes())
    first, last = manifest["range"]
    seqs = [json.loads(r)["seq"] for r in lines(partial, "rows.jsonl")]
    assert manifest["complete"] is False
    assert {first - 1, last + 1} <= set(seqs)  # the entries just outside the period
    assert set(range(first, last + 1)) <= set(seqs)
    assert all(json.loads(r)["proof"] for r in lines(partial, "rows.jsonl"))
    with open_ledger(demo) as ledger:
        assert ledger.entry(first - 1).time < "2026-03-06" <= ledger.entry(first).time
        assert ledger.entry(last).time < "2026-03-07" <= ledger.entry(last + 1).time


# -- tamper classes ----------------------------------------------------------------------------------


def test_an_edited_entry_line_is_leaf_modified_at_its_seq(demo: Path, full: Path, tmp_path: Path) -> None:
    b = copy_bundle(full, tmp_path / "b")
    seq = seqs_of(demo, "gate.result")[-1]  # service-a's last gate, which failed
    rows = lines(b, "entries.jsonl")
    rows[seq] = edit_payload(rows[seq], lambda p: p.update(result="pass"))
    write_lines(b, "entries.jsonl", rows)
    found = verify_both(demo, b)
    assert found == {"leaf_modified": seq, "statement_signature_bad": seq, "bundle_file_mismatch": None}


def test_a_dropped_line_is_row_deleted_at_its_seq(demo: Path, full: Path, tmp_path: Path) -> None:
    b = copy_bundle(full, tmp_path / "b")
    seq = seqs_of(demo, "gate.result")[3]
    for name in ("entries.jsonl", "rows.jsonl"):
        rows = lines(b, name)
        del rows[seq]
        write_lines(b, name, rows)
    assert verify_both(demo, b) == {"row_deleted": seq, "bundle_file_mismatch": None}


def test_a_swapped_blob_is_blob_digest_mismatch(demo: Path, full: Path, tmp_path: Path) -> None:
    b = copy_bundle(full, tmp_path / "b")
    first, second = sorted((b / "blobs").iterdir())[:2]
    first.write_bytes(second.read_bytes())
    assert verify_both(demo, b) == {"blob_digest_mismatch": None, "bundle_file_mismatch": None}


def test_a_replaced_key_in_keys_json_is_bundle_file_mismatch(demo: Path, full: Path, tmp_path: Path) -> None:
    b = copy_bundle(full, tmp_path / "b")
    keys = json.loads((b / "keys.json").read_bytes())
    keys[0]["vkey"] = MALLORY.vkey
    (b / "keys.json").write_bytes(canonical_json(keys))
    _, report = verify_with_gooseterm(demo, b)
    assert verify_both(demo, b) == {"bundle_file_mismatch": None}
    assert report["faults"][0]["detail"] == "keys.json differs from the manifest's hash"


def test_a_ledger_key_replaced_and_resigned_by_an_attacker_fails_every_row_signature(
    demo: Path, full: Path, tmp_path: Path
) -> None:
    b = copy_bundle(full, tmp_path / "b")
    for note in [b / "checkpoint.note", *(b / "checkpoints").iterdir()]:
        note.write_bytes(sign_note(split_note(note.read_bytes()).text, [MALLORY]))
    resign_manifest(b, MALLORY, lambda m: m.update(ledger_key=MALLORY.vkey))
    found = verify_both(demo, b)
    assert found["genesis_invalid"] == 0 and found["row_signature_bad"] == 0
    assert "manifest_signature_bad" not in found  # self-consistent: only the ledger's own history betrays it
    real = json.loads((full / "manifest.json").read_bytes())["ledger_key"]
    pinned = verify_both(demo, b, "--ledger-key", real)
    assert pinned["genesis_invalid"] is None and pinned["manifest_signature_bad"] is None


def test_a_manifest_edit_is_manifest_signature_bad(demo: Path, full: Path, tmp_path: Path) -> None:
    b = copy_bundle(full, tmp_path / "b")
    text = (b / "manifest.json").read_bytes()
    (b / "manifest.json").write_bytes(text.replace(b'"service": null', b'"service": "service-a"'))
    assert (b / "manifest.json").read_bytes() != text
    assert verify_both(demo, b) == {"manifest_signature_bad": None}


def test_an_auditor_held_later_checkpoint_shows_the_cut_tail(home: Path, tmp_path: Path) -> None:
    with open_ledger(home) as ledger:
        size = ledger.size()
    bundle = export(home, tmp_path / "b.zip")
    append_notes(home, 3)
    held = tmp_path / "held.note"
    held.write_bytes(checkpoint(home))
    assert verify_both(home, bundle, "--trusted-checkpoint", str(held)) == {"tail_truncated": size}
    older = tmp_path / "older.note"
    with open_ledger(home) as ledger:
        older.write_bytes(dict(ledger.checkpoints())[size])
    assert verify_both(home, bundle, "--trusted-checkpoint", str(older)) == {}


def test_a_checkpoint_from_a_fork_with_the_same_keys_is_checkpoint_inconsistent(home: Path, tmp_path: Path) -> None:
    fork = clone_home(home, tmp_path / "fork")
    append_notes(fork, 2, tag="fork")
    fork_note = tmp_path / "fork.note"
    fork_note.write_bytes(checkpoint(fork))
    forked_size = parse_checkpoint(split_note(fork_note.read_bytes()).text).size
    append_notes(home, 2, tag="honest")
    honest_note = tmp_path / "honest.note"
    honest_note.write_bytes(checkpoint(home))  # the same size as the fork's, stored in the ledger
    append_notes(home, 2, tag="later")
    day = NOW.date().isoformat()
    for bundle in (export(home, tmp_path / "full.zip"), export(home, tmp_path / "day", "--since", day)):
        assert verify_both(home, bundle, "--trusted-checkpoint", str(fork_note)) == {"checkpoint_inconsistent": forked_size - 1}
        assert verify_both(home, bundle, "--trusted-checkpoint", str(honest_note)) == {}


def test_a_partial_export_missing_an_entry_of_its_period_is_row_deleted(demo: Path, partial: Path, tmp_path: Path) -> None:
    b = copy_bundle(partial, tmp_path / "b")
    first, last = json.loads((b / "manifest.json").read_bytes())["range"]
    seq = (first + last) // 2
    at = line_of(b, seq)
    for name in ("entries.jsonl", "rows.jsonl"):
        rows = lines(b, name)
        del rows[at]
        write_lines(b, name, rows)
    assert verify_both(demo, b) == {"row_deleted": seq, "bundle_file_mismatch": None}


def test_a_partial_export_with_an_edited_entry_and_its_leaf_hash_recomputed_fails_its_inclusion_proof(
    demo: Path, partial: Path, tmp_path: Path
) -> None:
    b = copy_bundle(partial, tmp_path / "b")
    seq = seqs_of(demo, "approval.granted")[1]  # carol's approval of service-c
    at = line_of(b, seq)
    leaves, rows = lines(b, "entries.jsonl"), lines(b, "rows.jsonl")
    leaves[at] = edit_payload(leaves[at], lambda p: p.update(person="mallory"))
    row = json.loads(rows[at])
    row["leaf_hash"] = base64.b64encode(leaf_hash(leaves[at].rstrip(b"\n"))).decode()
    rows[at] = canonical_json(row) + b"\n"
    write_lines(b, "entries.jsonl", leaves)
    write_lines(b, "rows.jsonl", rows)
    found = verify_both(demo, b)
    assert found["leaf_modified"] == seq
    _, report = verify_with_gooseterm(demo, b)
    assert report["first_fault"]["code"] == "leaf_modified" and report["first_fault"]["seq"] == seq
    assert any("not in the checkpoint's tree" in f["detail"] for f in report["faults"] if f["code"] == "leaf_modified")


# -- OSCAL ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def oscal() -> Draft7Validator:
    """NIST's assessment-results schema."""
    return oscal_validator(OSCAL_SCHEMA)


def test_oscal_assessment_results_are_valid_against_nists_schema(oscal: Draft7Validator, full: Path, partial: Path) -> None:
    for bundle in (full, partial):
        doc = json.loads((bundle / "oscal" / "assessment-results.json").read_bytes())
        assert oscal_errors(oscal, doc) == []
    doc = json.loads((full / "oscal" / "assessment-results.json").read_bytes())
    result = doc["assessment-results"]["results"][0]
    assert len(result["observations"]) == len(result["findings"]) > 0
    assert {f["target"]["status"]["state"] for f in result["findings"]} == {"satisfied", "not-satisfied"}


def test_oscal_of_one_service_is_valid_and_only_about_it(oscal: Draft7Validator, demo: Path, tmp_path: Path) -> None:
    bundle = export(demo, tmp_path / "b", "--service", "service-a")
    doc = json.loads((bundle / "oscal" / "assessment-results.json").read_bytes())
    assert oscal_errors(oscal, doc) == []
    titles = [o["title"] for o in doc["assessment-results"]["results"][0]["observations"]]
    assert titles and all("for service-a" in t for t in titles)


def test_the_oscal_check_catches_what_the_schema_forbids(oscal: Draft7Validator, full: Path) -> None:
    doc = json.loads((full / "oscal" / "assessment-results.json").read_bytes())
    result = doc["assessment-results"]["results"][0]
    result["observations"][0]["types"] = ["1-not-a-token"]  # a token starts with \p{L} or _
    result["findings"][0]["target"]["status"]["state"] = "fine"
    doc["assessment-results"]["uuid"] = str(uuid.uuid1())  # OSCAL wants version 4 or 5
    errors = oscal_errors(oscal, doc)
    assert any("'types'" in e for e in errors)
    assert any("state" in e for e in errors)
    assert any(e.startswith("['assessment-results', 'uuid']") for e in errors)


# -- reproducibility -------------------------------------------------------------------------------


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_the_same_ledger_gives_the_same_bundle_byte_for_byte(demo: Path, tmp_path: Path) -> None:
    for args in ((), PERIOD, ("--layout", "audit-tree")):
        one, two = export(demo, tmp_path / "1", *args), export(demo, tmp_path / "2", *args)
        assert _tree(one) == _tree(two)
        z1, z2 = export(demo, tmp_path / "1.zip", *args), export(demo, tmp_path / "2.zip", *args)
        assert z1.read_bytes() == z2.read_bytes()
        with zipfile.ZipFile(z1) as zf:
            assert {i.filename: zf.read(i) for i in zf.infolist()} == _tree(one)
            assert {i.date_time for i in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        for p in (one, two, z1, z2):
            shutil.rmtree(p) if p.is_dir() else p.unlink()


def test_a_second_ledger_built_from_the_same_keys_and_clock_gives_the_same_bundle(
    demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gates, "timer", lambda: 0.0)  # gate durations are measured: freeze them too
    first, again = tmp_path / "first", tmp_path / "again"
    shutil.copytree(demo / "keys", first / "keys")
    shutil.copytree(demo / "keys", again / "keys")
    make_demo(first)
    make_demo(again)
    one, two = export(first, tmp_path / "1.zip"), export(again, tmp_path / "2.zip")
    assert one.read_bytes() == two.read_bytes()


# -- zip safety --------------------------------------------------------------------------------------


def test_a_hostile_zip_is_verified_in_place_and_its_extra_names_reported(demo: Path, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    bundle = export(demo, work / "hostile.zip")
    escape = f"gooseterm-escape-{uuid.uuid4().hex}"
    absolute = f"/tmp/gooseterm-absolute-{uuid.uuid4().hex}"
    with zipfile.ZipFile(bundle, "a") as zf:
        zf.writestr(f"../{escape}", b"outside\n")
        zf.writestr(absolute, b"outside\n")
        link = zipfile.ZipInfo("blobs/link")
        link.external_attr = 0o120777 << 16  # a symbolic link whose target is its content
        zf.writestr(link, "/etc/passwd")
    before = {p for p in tmp_path.rglob("*")}
    found = verify_both(demo, bundle)
    _, report = verify_with_gooseterm(demo, bundle)
    assert found == {"bundle_file_mismatch": None}
    details = [f["detail"] for f in report["faults"]]
    assert f"../{escape} is not listed in the manifest" in details
    assert f"{absolute} is not listed in the manifest" in details
    assert "blobs/link is a symbolic link, not a file" in details
    assert not (tmp_path / escape).exists() and not (work.parent / escape).exists() and not Path(absolute).exists()
    assert {p for p in tmp_path.rglob("*")} == before | {work / "verifier.py"}


def test_a_zip_naming_a_file_twice_is_refused(demo: Path, tmp_path: Path) -> None:
    bundle = export(demo, tmp_path / "twice.zip")
    with pytest.warns(UserWarning, match="Duplicate name"), zipfile.ZipFile(bundle, "a") as zf:
        zf.writestr("policy.json", b'{"approvals":[]}')  # an extracting tool may keep this copy
    _, report = verify_with_gooseterm(demo, bundle)
    assert verify_both(demo, bundle) == {"bundle_file_mismatch": None}
    assert "policy.json appears more than once in the zip" in [f["detail"] for f in report["faults"]]


def test_a_symbolic_link_in_a_bundle_folder_is_not_followed(demo: Path, full: Path, tmp_path: Path) -> None:
    b = copy_bundle(full, tmp_path / "b")
    secret = tmp_path / "secret.json"
    secret.write_bytes((b / "policy.json").read_bytes())
    (b / "policy.json").unlink()
    (b / "policy.json").symlink_to(secret)  # same bytes, but from outside the bundle
    _, report = verify_with_gooseterm(demo, b)
    assert verify_both(demo, b) == {"bundle_file_mismatch": None}
    assert {f["detail"] for f in report["faults"]} == {
        "policy.json is a symbolic link, not a file", "policy.json is listed in the manifest but missing"}


# -- the OpenSSL-only path ---------------------------------------------------------------------------


def _openssl_script() -> str:
    """The shell block of VERIFY.md's section 2, exactly as an auditor would paste it."""
    text = (REPO / "exports" / "VERIFY.md").read_text()
    section = text[text.index("## 2."):text.index("## What else")]
    return re.search(r"```sh\n(.*?)```", section, re.DOTALL).group(1)


def _run_openssl_path(bundle: Path) -> subprocess.CompletedProcess:
    for tool in ("bash", "openssl", "xxd", "sha256sum", "python3"):
        if shutil.which(tool) is None:
            pytest.skip(f"VERIFY.md's OpenSSL path needs {tool}, which is not installed")
    return subprocess.run(["bash", "-c", _openssl_script()], cwd=bundle, capture_output=True, text=True, timeout=60, check=False)


def test_the_openssl_path_of_verify_md_checks_the_signatures_and_every_file(full: Path, tmp_path: Path) -> None:
    b = copy_bundle(full, tmp_path / "b")
    proc = _run_openssl_path(b)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("Signature Verified Successfully") == 2
    assert "manifest.json matches manifest.note" in proc.stdout
    assert "every file matches manifest.json" in proc.stdout


def test_the_openssl_path_fails_on_a_forged_note_and_on_an_edited_file(full: Path, tmp_path: Path) -> None:
    forged = copy_bundle(full, tmp_path / "forged")
    note = (forged / "checkpoint.note").read_bytes()
    origin, size, rest = split_note(note).text.split(b"\n", 2)
    claimed = b"\n".join([origin, str(int(size) + 1).encode(), rest])  # one more entry than was signed
    (forged / "checkpoint.note").write_bytes(note.replace(split_note(note).text, claimed, 1))
    proc = _run_openssl_path(forged)
    assert proc.returncode != 0 and "Signature Verification Failure" in proc.stdout + proc.stderr
    edited = copy_bundle(full, tmp_path / "edited")
    (edited / "policy.json").write_bytes(b"{}")
    proc = _run_openssl_path(edited)
    assert proc.returncode != 0 and "policy.json: FAILED" in proc.stdout + proc.stderr


# -- the plan's audit tree ---------------------------------------------------------------------------


def test_the_audit_tree_layout_holds_the_plans_folders_for_service_c(demo: Path, tmp_path: Path) -> None:
    bundle = export(demo, tmp_path / "b", "--layout", "audit-tree")
    assert verify_both(demo, bundle) == {}
    with open_ledger(demo) as ledger:
        c = ledger.entries(service="service-c")
    spec = next(e for e in c if e.kind == "evidence.spec")
    evidence = {e.predicate["kind"]: e for e in c if e.kind.startswith("evidence.") and e.kind != "evidence.spec"}
    requests = [e for e in c if e.kind == "promotion.requested"]
    day = requests[0].time[:10].replace("-", "")
    assert [r.time[:10].replace("-", "") for r in requests] == [day, day]  # two promotions on one day
    folders = {"junit": "tests", "sarif": "sast", "coverage": "coverage", "metrics": "metrics"}
    svc = bundle / "audit" / "services" / "service-c"
    assert (svc / "specs" / str(spec.seq) / "service-c.yaml").read_bytes() == (REPO / "config/services/service-c.yaml").read_bytes()
    for kind, e in evidence.items():
        name = Path(e.predicate["source"]).name
        assert (svc / "evidence" / day / folders[kind] / f"{e.seq}-{name}").read_bytes() == (EVIDENCE / "service-c" / name).read_bytes()
    pids = [f"service-c-{r.seq}" for r in requests]
    for pid in pids:
        for name in ("request.json", "validation.json", "approval.json"):
            assert (svc / "promotions" / pid / name).is_file()
    promo = bundle / "audit" / "promotions" / "service-c"
    assert sorted(p.name for p in promo.iterdir()) == [day, f"{day}-2"]
    for folder, pid, target in ((day, pids[0], "compliance_ready"), (f"{day}-2", pids[1], "compliant")):
        base = promo / folder
        metadata = json.loads((base / "request" / "metadata.json").read_bytes())
        assert metadata["promotion_id"] == pid and metadata["target_state"] == target and metadata["service"] == "service-c"
        assert json.loads((base / "request" / "dependencies.json").read_bytes()) == {"optional": [], "required": []}
        assert {p.name for p in (base / "evidence").iterdir()} == {
            "sast_results.json", "test_coverage.json", "metrics_snapshot.json", "test_results.json"}
        gates = json.loads((base / "approval" / "gate_results.json").read_bytes())
        assert gates and {p.name for p in (base / "validation").iterdir()} == {f"{g['gate']}.json" for g in gates}
    signatures = json.loads((promo / f"{day}-2" / "approval" / "signatures.json").read_bytes())
    assert sorted(s["person"] for s in signatures) == ["bob", "carol"]
    listed = json.loads((bundle / "manifest.json").read_bytes())["files"]
    assert all(str(p.relative_to(bundle)) in listed for p in (bundle / "audit").rglob("*") if p.is_file())


# -- the verifier's quick look for trust entries -------------------------------------------------------


def test_a_key_event_whose_kind_is_escaped_still_counts(demo: Path, full: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An insider (holding the ledger key) rewrites a key_added leaf with its kind JSON-escaped, the
    same entry to a JSON reader, and re-signs everything. The verifier's quick look for trust entries
    misses it; the workers' full parse notices, and the checks run again with the right keys. (The
    insider rebuilds analysis.db from the rewritten entries too, or it would name the changed leaf.)"""
    b = copy_bundle(full, tmp_path / "b")
    with open_ledger(demo) as ledger:
        signer, origin = ledger.signer, ledger.origin
        seq = ledger.entries(kind="ledger.key_added")[1].seq
    leaves, rows = lines(b, "entries.jsonl"), [json.loads(r) for r in lines(b, "rows.jsonl")]
    leaves[seq] = leaves[seq].replace(b'"kind":"ledger.key_added"', b'"kind":"ledger\\u002ekey_added"')
    assert b"ledger." not in leaves[seq]
    chain = base64.b64decode(rows[seq - 1]["chain"])
    for s in range(seq, len(rows)):
        lh = leaf_hash(leaves[s].rstrip(b"\n"))
        chain = chain_hash(chain, lh)
        rows[s].update(leaf_hash=base64.b64encode(lh).decode(), chain=base64.b64encode(chain).decode(),
                       row_sig=base64.b64encode(signer.sign(row_message(origin, s, chain))).decode())
    write_lines(b, "entries.jsonl", leaves)
    write_lines(b, "rows.jsonl", [canonical_json(r) + b"\n" for r in rows])
    (b / "analysis.db").write_bytes(analysis_db([leaf.rstrip(b"\n") for leaf in leaves]))
    hashes = [base64.b64decode(r["leaf_hash"]) for r in rows]
    (b / "checkpoint.note").write_bytes(sign_note(Checkpoint(origin, len(rows), root_from_leaf_hashes(hashes)).body(), [signer]))
    shutil.rmtree(b / "checkpoints")
    (b / "consistency.json").write_bytes(b"{}")
    resign_manifest(b, signer, lambda m: m.update(files={n: h for n, h in m["files"].items() if not n.startswith("checkpoints/")}))
    runs = []
    real = bundle_walk._run_bundle_chunks
    monkeypatch.setattr(bundle_walk, "_run_bundle_chunks", lambda *a: runs.append(1) or real(*a))
    report = verifier.verify_bundle(str(b))
    assert report.ok, report.by_class()
    assert len(runs) == 2  # the quick look missed the key event; the second run had it
    assert verify_both(demo, b) == {}
