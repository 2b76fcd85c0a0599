"""C2SP signed notes: the spec's example, Go's byte-exact TestSign, and the ways a note goes wrong."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path

import pytest

from gooseterm.ledger import signing, verifier
from gooseterm.ledger.signing import Signer

VECTORS = Path(os.environ.get("GOOSETERM_VECTORS") or Path(__file__).resolve().parents[1] / "fixtures" / "vectors")
NOTES = json.loads((VECTORS / "signed-note" / "vectors.json").read_text())
VERIFY = NOTES["verify_cases"][0]
SIGN = NOTES["sign_cases"][0]


def _peter() -> Signer:
    return Signer.from_skey(SIGN["skey"])


def _signer(name: str) -> Signer:
    return Signer(name, hashlib.sha256(name.encode()).digest())


def test_spec_example_verifies() -> None:
    assert VERIFY["expect"] == "accept"
    key = verifier.parse_vkey(VERIFY["vkey"])
    note, good = verifier.open_note(VERIFY["note"].encode(), [key])
    assert note.text == b"This is an example message.\n"
    assert good == [key]


def test_go_sign_case_is_reproduced_byte_for_byte() -> None:
    signer = _peter()
    assert signer.vkey == SIGN["vkey"]
    assert signer.skey == SIGN["skey"]
    assert signer.sign_note(SIGN["text"].encode()) == SIGN["want_note"].encode()


def test_module_sign_note_matches_the_method() -> None:
    assert signing.sign_note(SIGN["text"].encode(), [_peter()]) == SIGN["want_note"].encode()


def test_tampered_text_is_refused() -> None:
    note = SIGN["want_note"].encode().replace(b"cryptography", b"blockchains!")
    with pytest.raises(verifier.NoteError, match="invalid signature by PeterNeumann"):
        verifier.open_note(note, [_peter().verifier])


def test_tampered_signature_is_refused() -> None:
    text, line = SIGN["want_note"].encode().rsplit(b"\n\n", 1)
    prefix, b64 = line.rsplit(b" ", 1)
    raw = bytearray(base64.b64decode(b64))
    raw[10] ^= 1  # inside the Ed25519 signature, after the 4-byte key id
    note = text + b"\n\n" + prefix + b" " + base64.b64encode(bytes(raw)) + b"\n"
    with pytest.raises(verifier.NoteError, match="invalid signature"):
        verifier.open_note(note, [_peter().verifier])


def test_note_signed_only_by_unknown_key_is_refused() -> None:
    with pytest.raises(verifier.NoteError, match="no signature by a known key"):
        verifier.open_note(SIGN["want_note"].encode(), [verifier.parse_vkey(VERIFY["vkey"])])


def test_same_name_with_another_key_counts_as_unknown() -> None:
    impostor = Signer("PeterNeumann", bytes(32))
    with pytest.raises(verifier.NoteError, match="no signature by a known key"):
        verifier.open_note(SIGN["want_note"].encode(), [impostor.verifier])


def test_signature_line_with_plus_in_key_name_is_refused() -> None:
    note = SIGN["want_note"].encode().replace(b"\xe2\x80\x94 PeterNeumann ", b"\xe2\x80\x94 Peter+Neumann ")
    with pytest.raises(verifier.NoteError, match="malformed signature line"):
        verifier.split_note(note)


def test_key_name_with_plus_or_space_is_refused() -> None:
    for name in ("Peter+Neumann", "Peter Neumann", ""):
        with pytest.raises(ValueError, match="invalid key name"):
            Signer(name, bytes(32))
    with pytest.raises(verifier.NoteError, match="malformed verifier key name"):
        verifier.parse_vkey("Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")


def test_note_without_final_newline_is_refused() -> None:
    with pytest.raises(verifier.NoteError, match="does not end in a newline"):
        verifier.split_note(SIGN["want_note"].encode()[:-1])
    with pytest.raises(verifier.NoteError, match="must end in a newline"):
        _peter().sign_note(SIGN["text"].encode()[:-1])


def test_text_with_control_characters_is_not_signed() -> None:
    with pytest.raises(verifier.NoteError, match="control character"):
        _peter().sign_note(b"tab\there\n")


def test_parse_vkey_keeps_plus_inside_the_base64_key() -> None:
    signer = Signer("example.com/plus", hashlib.sha256(b"gooseterm plus 2").digest())
    name, hexid, b64 = signer.vkey.split("+", 2)
    assert "+" in b64
    assert verifier.parse_vkey(signer.vkey) == signer.verifier
    assert (name, hexid) == ("example.com/plus", signer.id.hex())


def test_skey_with_plus_in_base64_round_trips() -> None:
    assert "+" in SIGN["skey"].split("+", 4)[4]
    assert Signer.from_skey(SIGN["skey"]).seed == _peter().seed


def test_skey_with_wrong_key_id_is_refused() -> None:
    bad = SIGN["skey"].replace("c74f20a3", "c74f20a4")
    with pytest.raises(verifier.NoteError, match="does not match"):
        Signer.from_skey(bad)


def test_cosigning_keeps_existing_signatures_and_appends_a_line() -> None:
    ledger_key, ci_key = _signer("ledger.example/log"), _signer("ci.example/runner")
    checkpoint = verifier.Checkpoint("ledger.example/log", 3, bytes(range(32))).body()
    note = ledger_key.sign_note(checkpoint)
    cosigned = signing.add_note_signature(note, ci_key)
    assert cosigned.startswith(note)
    assert cosigned.count(b"\n\xe2\x80\x94 ") == 2
    _, good = verifier.open_note(cosigned, [ledger_key.verifier, ci_key.verifier])
    assert good == [ledger_key.verifier, ci_key.verifier]
    assert verifier.parse_checkpoint(verifier.split_note(cosigned).text).size == 3


def test_cosigning_twice_with_the_same_key_is_refused() -> None:
    note = _peter().sign_note(SIGN["text"].encode())
    with pytest.raises(verifier.NoteError, match="already signed by PeterNeumann"):
        signing.add_note_signature(note, _peter())


def test_duplicate_signers_are_refused() -> None:
    with pytest.raises(verifier.NoteError, match="duplicate signer"):
        signing.sign_note(SIGN["text"].encode(), [_peter(), _peter()])


def test_several_signers_sign_in_order() -> None:
    a, b = _signer("a.example"), _signer("b.example")
    note = signing.sign_note(b"hello\n", [a, b])
    assert [s.name for s in verifier.split_note(note).signatures] == ["a.example", "b.example"]
    assert verifier.open_note(note, [b.verifier])[1] == [b.verifier]
