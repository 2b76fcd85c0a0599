"""The ledger CLI through click's CliRunner: init, keys, append, log, checkpoint, prove, verify.

Bad input is refused with one `gooseterm: ...` line and exit 2 (exit 1 when the ledger or a rule
says no), and nothing is appended; the proofs the CLI prints check out with the standalone
verifier's own functions.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sqlite3
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from nacl.pwhash import argon2id

from gooseterm.cli import main
from gooseterm.ledger.keys import KeyStore
from gooseterm.ledger.verifier import ProofError, parse_checkpoint, split_note, verify_consistency, verify_inclusion

ORIGIN = "gooseterm.test/ledger"


def gt(*args: str, code: int | None = 0, stdin: str | bytes | None = None) -> Result:
    result = CliRunner().invoke(main, list(args), input=stdin)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"gooseterm {' '.join(args)} crashed") from result.exception
    if code is not None:
        assert result.exit_code == code, f"exit {result.exit_code}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    return result


def error(result: Result, *fragments: str) -> str:
    err = result.stderr.strip()
    assert err.startswith("gooseterm: ") and "\n" not in err and "Traceback" not in err, err
    for f in fragments:
        assert f in err, f"{f!r} not in {err!r}"
    return err


def size(home: Path) -> int:
    conn = sqlite3.connect(f"file:{home / 'ledger.db'}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT count(*) FROM entries").fetchone()[0]
    finally:
        conn.close()


def b64(s: str) -> bytes:
    return base64.b64decode(s)


@pytest.fixture
def home(isolated_home: Path) -> Path:
    """A ledger created by `gooseterm init` with dave as its admin."""
    gt("init", "--origin", ORIGIN, "--name", "dave")
    return isolated_home


def payload(tmp_path: Path, name: str, text: str) -> str:
    p = tmp_path / name
    p.write_text(text)
    return str(p)


# -- init and keys ---------------------------------------------------------------------------


def test_init_creates_a_ledger_with_genesis_and_an_admin_key(isolated_home: Path) -> None:
    out = json.loads(gt("init", "--origin", ORIGIN, "--name", "dave", "--json").stdout)
    assert out["origin"] == ORIGIN and out["size"] == 1
    assert out["admin_key"].startswith("dave+") and out["ledger_key"].startswith(ORIGIN + "+")
    assert (isolated_home / "identity").read_text().strip() == "dave"
    trusted = json.loads(gt("keys", "list", "--json").stdout)["trusted"]
    assert {tuple(k["roles"]) for k in trusted} == {("admin", "approver"), ("ledger",)}
    gt("verify", code=0)


def test_init_never_overwrites_a_ledger(home: Path) -> None:
    before = (home / "ledger.db").read_bytes()
    error(gt("init", "--name", "eve", code=2), "already exists", "never overwrites")
    assert (home / "ledger.db").read_bytes() == before


@pytest.mark.parametrize(("flag", "value"), [("--origin", "two words"), ("--origin", "a+b"), ("--name", "eve smith")])
def test_init_with_a_name_no_key_can_carry_writes_nothing(isolated_home: Path, flag: str, value: str) -> None:
    error(gt("init", flag, value, code=2), f"{flag} {value!r} cannot name a key")
    assert list(isolated_home.iterdir()) == []  # no key, no ledger, no identity


def test_private_key_files_are_mode_0600_and_the_folder_0700(home: Path) -> None:
    gt("keys", "new", "alice")
    keys = home / "keys"
    assert stat.S_IMODE(keys.stat().st_mode) == 0o700
    private = sorted(keys.glob("*.key"))
    assert len(private) == 3  # dave, the ledger key, alice
    for f in private:
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f


def test_key_open_to_other_users_is_refused(home: Path) -> None:
    (home / "keys" / "dave.key").chmod(0o644)
    error(gt("append", "--kind", "annotation", "--payload", "-", stdin="{}", code=2), "mode 0644", "chmod 600")


def test_keys_add_and_revoke_appear_in_keys_list(home: Path) -> None:
    new = json.loads(gt("keys", "new", "alice", "--json").stdout)
    vkey = gt("keys", "export", "alice").stdout.strip()
    assert vkey == new["vkey"]
    added = json.loads(gt("keys", "add", vkey, "--role", "approver", "--role", "ci", "--json").stdout)
    assert added["roles"] == ["approver", "ci"]
    listed = {k["keyid"]: k for k in json.loads(gt("keys", "list", "--json").stdout)["trusted"]}
    alice = listed[added["keyid"]]
    assert alice["vkey"] == vkey and alice["added"] == added["seq"] and alice["revoked"] is None
    assert "alice" in {k["name"] for k in json.loads(gt("keys", "list", "--json").stdout)["local"]}
    revoked = json.loads(gt("keys", "revoke", added["keyid"], "--reason", "left the company", "--json").stdout)
    alice = {k["keyid"]: k for k in json.loads(gt("keys", "list", "--json").stdout)["trusted"]}[added["keyid"]]
    assert alice["revoked"] == revoked["seq"]
    # a revoked key can no longer sign
    before = size(home)
    error(gt("--as", "alice", "append", "--kind", "annotation", "--payload", "-", stdin="{}", code=1), "revoked")
    assert size(home) == before
    gt("verify", code=0)


def test_keys_add_of_a_malformed_key_says_what_a_key_looks_like(home: Path) -> None:
    before = size(home)
    error(gt("keys", "add", "not-a-key", code=2), "name+1a2b3c4d+AbCd")
    assert size(home) == before


def test_keys_add_needs_an_admin(home: Path) -> None:
    gt("keys", "new", "alice")
    gt("keys", "new", "bob")
    gt("keys", "add", gt("keys", "export", "alice").stdout.strip())
    before = size(home)
    error(gt("--as", "alice", "keys", "add", gt("keys", "export", "bob").stdout.strip(), code=1), "admin")
    assert size(home) == before


def test_revoking_an_unknown_key_is_refused(home: Path) -> None:
    before = size(home)
    error(gt("keys", "revoke", "nobody+00000000", "--reason", "r", code=1), "no key 'nobody+00000000'")
    assert size(home) == before


def test_untrusted_local_key_cannot_append(home: Path) -> None:
    gt("keys", "new", "mallory")
    before = size(home)
    error(gt("--as", "mallory", "append", "--kind", "annotation", "--payload", "-", stdin="{}", code=1), "not trusted")
    assert size(home) == before


# -- append and log ----------------------------------------------------------------------------


def test_append_a_payload_and_read_it_back_in_the_log(home: Path, tmp_path: Path) -> None:
    p = payload(tmp_path, "note.json", '{"text": "rotated the TLS cert", "ticket": "OPS-1"}')
    out = json.loads(gt("append", "--kind", "incident.note", "--service", "service-a", "--payload", p, "--json").stdout)
    assert out == {"appended": 1, "first_seq": 1, "last_seq": 1}
    rows = json.loads(gt("log", "--service", "service-a", "--json").stdout)
    assert [r["seq"] for r in rows] == [1]
    assert rows[0]["kind"] == "incident.note" and rows[0]["predicate"]["ticket"] == "OPS-1"
    assert rows[0]["signers"][0].startswith("dave+")


def test_append_from_stdin(home: Path) -> None:
    gt("append", "--kind", "custom.deploy", "--payload", "-", stdin='{"version": "1.2.3"}')
    assert json.loads(gt("log", "--kind", "custom.deploy", "--json").stdout)[0]["predicate"] == {"version": "1.2.3"}


def test_malformed_json_names_line_and_column(home: Path, tmp_path: Path) -> None:
    p = payload(tmp_path, "bad.json", '{\n  "a": 1,\n  "b": \n}')
    before = size(home)
    error(gt("append", "--kind", "annotation", "--payload", p, code=2), f"{p}: line 4 column 1")
    assert size(home) == before


def test_payload_must_be_a_json_object(home: Path) -> None:
    error(gt("append", "--kind", "annotation", "--payload", "-", stdin="[1, 2]", code=2), "must be a JSON object, got list")


def test_bad_line_in_jsonl_is_named_and_nothing_is_appended(home: Path, tmp_path: Path) -> None:
    lines = [json.dumps({"n": i}) for i in range(1, 7)]
    lines.insert(6, '{"n": 7,}')  # line 7 has a trailing comma
    p = payload(tmp_path, "bulk.jsonl", "\n".join(lines) + "\n")
    before = size(home)
    error(gt("append", "--kind", "custom.import", "--payload-jsonl", p, code=2), f"{p}:7: line 1 column 9")
    assert size(home) == before


def test_jsonl_import_appends_every_line(home: Path, tmp_path: Path) -> None:
    p = payload(tmp_path, "bulk.jsonl", "\n".join(json.dumps({"n": i}) for i in range(25)) + "\n\n")
    out = json.loads(gt("append", "--kind", "custom.import", "--payload-jsonl", p, "--json").stdout)
    digest = "sha256:" + hashlib.sha256(Path(p).read_bytes()).hexdigest()
    assert out == {"appended": 25, "first_seq": 1, "last_seq": 25, "last_line": 25, "source": digest}
    rows = json.loads(gt("log", "--kind", "custom.", "--limit", "100", "--json").stdout)
    assert [r["predicate"]["n"] for r in rows] == list(range(24, -1, -1))
    assert [r["predicate"]["gooseterm.import"] for r in rows] == [{"source": digest, "line": n} for n in range(25, 0, -1)]


def test_empty_jsonl_is_refused(home: Path, tmp_path: Path) -> None:
    error(gt("append", "--kind", "custom.import", "--payload-jsonl", payload(tmp_path, "e.jsonl", "\n\n"), code=2), "no entries")


@pytest.mark.parametrize("kind", ["bogus", "custom.", "promotions", ""])
def test_unknown_kind_is_refused(home: Path, kind: str) -> None:
    before = size(home)
    error(gt("append", "--kind", kind, "--payload", "-", stdin="{}", code=2), f"unknown kind {kind!r}")
    assert size(home) == before


def test_append_needs_exactly_one_payload_source(home: Path, tmp_path: Path) -> None:
    p = payload(tmp_path, "p.json", "{}")
    error(gt("append", "--kind", "annotation", code=2), "exactly one of")
    error(gt("append", "--kind", "annotation", "--payload", p, "--payload-jsonl", p, code=2), "exactly one of")


def test_missing_key_is_a_usage_error(home: Path) -> None:
    before = size(home)
    error(gt("--as", "nobody", "append", "--kind", "annotation", "--payload", "-", stdin="{}", code=2), "no key named 'nobody'")
    assert size(home) == before


def test_unreadable_payload_file_is_a_usage_error(home: Path, tmp_path: Path) -> None:
    error(gt("append", "--kind", "annotation", "--payload", str(tmp_path / "missing.json"), code=2), "cannot read", "missing.json")
    error(gt("append", "--kind", "annotation", "--payload", str(tmp_path), code=2), "cannot read", "Is a directory")


def test_log_filters_by_kind_family_and_limit(home: Path) -> None:
    gt("append", "--kind", "custom.a", "--payload", "-", stdin="{}")
    gt("append", "--kind", "custom.b", "--payload", "-", stdin="{}")
    gt("append", "--kind", "annotation", "--payload", "-", stdin="{}")
    assert [r["kind"] for r in json.loads(gt("log", "--kind", "custom.", "--json").stdout)] == ["custom.b", "custom.a"]
    assert [r["seq"] for r in json.loads(gt("log", "--limit", "2", "--json").stdout)] == [3, 2]
    assert gt("log", "--kind", "nothing.here").stdout.strip() == "no entries match"
    bad = gt("log", "--limit", "0", code=2)  # click's own usage error: exit 2, no traceback
    assert "--limit" in bad.stderr and "Traceback" not in bad.stderr


# -- sealed keys ---------------------------------------------------------------------------------


@pytest.fixture
def sealed(home: Path, tmp_path: Path) -> Path:
    """A key `sam` sealed with the passphrase in right.txt (cheap Argon2id), trusted as approver."""
    store = KeyStore(home / "keys", opslimit=argon2id.OPSLIMIT_MIN, memlimit=argon2id.MEMLIMIT_MIN)
    signer = store.create("sam", "correct horse battery staple")
    gt("keys", "add", signer.vkey)
    (tmp_path / "right.txt").write_text("correct horse battery staple\n")
    (tmp_path / "wrong.txt").write_text("Tr0ub4dor&3\n")
    for name in ("right.txt", "wrong.txt"):
        (tmp_path / name).chmod(0o600)  # a passphrase file others may read is refused
    return tmp_path


def test_wrong_passphrase_for_a_sealed_key_is_refused(home: Path, sealed: Path) -> None:
    before = size(home)
    result = gt("--as", "sam", "--passphrase-file", str(sealed / "wrong.txt"), "append", "--kind", "annotation",
                "--payload", "-", stdin="{}", code=2)
    error(result, "wrong passphrase for key 'sam'")
    assert size(home) == before
    gt("--as", "sam", "--passphrase-file", str(sealed / "right.txt"), "append", "--kind", "annotation", "--payload", "-", stdin="{}")
    assert size(home) == before + 1
    assert json.loads(gt("keys", "list", "--json").stdout)["local"][-1] == {
        "name": "sam", "sealed": True, "vkey": gt("keys", "export", "sam").stdout.strip()}


def test_sealed_key_without_a_passphrase_says_how_to_give_one(home: Path, sealed: Path) -> None:
    error(gt("--as", "sam", "append", "--kind", "annotation", "--payload", "-", stdin="{}", code=2), "key 'sam'", "passphrase")


def test_passphrase_file_that_does_not_exist_is_a_usage_error(home: Path, tmp_path: Path) -> None:
    result = gt("--passphrase-file", str(tmp_path / "nope.txt"), "log", code=2)
    assert "nope.txt" in result.stderr and "Traceback" not in result.stderr


# -- checkpoints and proofs ---------------------------------------------------------------------


@pytest.fixture
def grown(home: Path, tmp_path: Path) -> Path:
    """A ledger of 12 entries."""
    gt("append", "--kind", "custom.import", "--payload-jsonl", payload(tmp_path, "b.jsonl", "\n".join('{"n": %d}' % i for i in range(11))))
    return home


def test_checkpoint_is_a_signed_note_of_the_current_tree(grown: Path, tmp_path: Path) -> None:
    out = json.loads(gt("checkpoint", "--out", str(tmp_path / "cp.note"), "--json").stdout)
    assert out["size"] == 12 and out["origin"] == ORIGIN
    note = (tmp_path / "cp.note").read_bytes()
    assert note.decode() == out["note"]
    cp = parse_checkpoint(split_note(note).text)
    assert (cp.origin, cp.size, base64.b64encode(cp.root).decode()) == (ORIGIN, 12, out["root"])
    assert "\u2014 " + ORIGIN in out["note"]  # signed by the ledger key


@pytest.mark.parametrize("seq,tree", [(0, None), (5, None), (11, None), (3, 7), (6, 7)])
def test_inclusion_proof_verifies_with_the_standalone_verifier(grown: Path, seq: int, tree: int | None) -> None:
    args = ["prove", "inclusion", str(seq), "--json"] + (["--size", str(tree)] if tree else [])
    p = json.loads(gt(*args).stdout)
    assert p["seq"] == seq and p["tree_size"] == (tree or 12)
    proof = [b64(x) for x in p["proof"]]
    verify_inclusion(seq, p["tree_size"], b64(p["leaf_hash"]), proof, b64(p["root"]))
    if proof:  # and the proof is not vacuous: a flipped byte fails
        bad = [bytes([proof[0][0] ^ 1]) + proof[0][1:], *proof[1:]]
        with pytest.raises(ProofError):
            verify_inclusion(seq, p["tree_size"], b64(p["leaf_hash"]), bad, b64(p["root"]))


def test_inclusion_root_matches_a_checkpoint(grown: Path) -> None:
    cp = json.loads(gt("checkpoint", "--json").stdout)
    p = json.loads(gt("prove", "inclusion", "4", "--json").stdout)
    assert p["root"] == cp["root"]


def test_inclusion_proof_out_of_range_is_a_usage_error(grown: Path) -> None:
    error(gt("prove", "inclusion", "12", code=2), "seq 12 is not in a tree of size 12")
    error(gt("prove", "inclusion", "1", "--size", "99", code=2), "fewer than --size 99")


def test_consistency_proof_against_an_old_checkpoint_verifies(home: Path, tmp_path: Path) -> None:
    gt("append", "--kind", "custom.import", "--payload-jsonl", payload(tmp_path, "a.jsonl", '{"n": 1}\n{"n": 2}\n'))
    gt("checkpoint", "--out", str(tmp_path / "old.note"))
    gt("append", "--kind", "custom.import", "--payload-jsonl", payload(tmp_path, "b.jsonl", "\n".join('{"n": %d}' % i for i in range(9))))
    p = json.loads(gt("prove", "consistency", str(tmp_path / "old.note"), "--json").stdout)
    assert (p["old_size"], p["new_size"]) == (3, 12)
    old = parse_checkpoint(split_note((tmp_path / "old.note").read_bytes()).text)
    assert b64(p["old_root"]) == old.root
    proof = [b64(x) for x in p["proof"]]
    verify_consistency(3, 12, proof, old.root, b64(p["new_root"]))
    with pytest.raises(ProofError):
        verify_consistency(3, 12, proof, b64(p["new_root"]), b64(p["new_root"]))


def test_consistency_against_another_ledgers_checkpoint_is_refused(home: Path, tmp_path: Path, monkeypatch) -> None:
    other = tmp_path / "other-home"
    monkeypatch.setenv("GOOSETERM_HOME", str(other))
    gt("init", "--origin", "elsewhere.test/ledger", "--name", "eve")
    gt("checkpoint", "--out", str(tmp_path / "foreign.note"))
    monkeypatch.setenv("GOOSETERM_HOME", str(home))
    error(gt("prove", "consistency", str(tmp_path / "foreign.note"), code=1), "elsewhere.test/ledger")


def test_consistency_with_a_garbage_note_is_a_usage_error(home: Path, tmp_path: Path) -> None:
    error(gt("prove", "consistency", payload(tmp_path, "junk.note", "hello\n"), code=2), "junk.note")


# -- verify -----------------------------------------------------------------------------------------


def test_verify_a_valid_ledger(grown: Path, tmp_path: Path) -> None:
    gt("checkpoint", "--out", str(tmp_path / "cp.note"))
    report = json.loads(gt("verify", "--json", "--trusted-checkpoint", str(tmp_path / "cp.note")).stdout)
    assert report["valid"] is True and report["size"] == 12 and report["faults"] == []
    assert report["trusted_checkpoint_size"] == 12
    assert "VALID" in gt("verify").stdout


def test_verify_pins_the_ledger_key(grown: Path) -> None:
    gt("keys", "new", "imposter")
    imposter = gt("keys", "export", "imposter").stdout.strip()
    report = json.loads(gt("verify", "--json", "--ledger-key", imposter, code=1).stdout)
    assert report["valid"] is False and "genesis_invalid" in report["faults_by_class"]
    error(gt("verify", "--ledger-key", "garbage", code=2), "--ledger-key")


def test_verify_a_foreign_file_is_invalid(isolated_home: Path, tmp_path: Path) -> None:
    text = payload(tmp_path, "notes.txt", "just some notes\n")
    report = json.loads(gt("verify", text, "--json", code=1).stdout)
    assert report["valid"] is False and report["first_fault"]["code"] == "foreign_file"
    db = tmp_path / "other.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    report = json.loads(gt("verify", str(db), "--json", code=1).stdout)
    assert report["first_fault"]["code"] == "foreign_file"
    assert "foreign_file" in gt("verify", str(db), code=1).stdout


def test_verify_a_nonexistent_file_could_not_run(isolated_home: Path, tmp_path: Path) -> None:
    error(gt("verify", str(tmp_path / "nothing.db"), code=2), "no ledger at")
    error(gt("verify", code=2), "no ledger at")


def test_verify_reports_a_modified_entry(grown: Path) -> None:
    conn = sqlite3.connect(grown / "ledger.db")
    triggers = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")]
    for t in triggers:
        conn.execute(f"DROP TRIGGER {t}")
    leaf = conn.execute("SELECT leaf FROM entries WHERE seq = 5").fetchone()[0]
    forged = leaf.replace(b'"v":1', b'"v":2', 1)
    assert forged != leaf
    conn.execute("UPDATE entries SET leaf = ? WHERE seq = 5", (forged,))
    conn.commit()
    conn.close()
    report = json.loads(gt("verify", "--json", code=1).stdout)
    assert report["first_fault"]["code"] == "leaf_modified" and report["first_fault"]["seq"] == 5
