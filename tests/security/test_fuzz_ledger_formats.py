"""Fuzz the verifier's parsers: C2SP signed notes and checkpoints, signed-note keys, DSSE
envelopes, the in-toto statements inside them, and Merkle proofs. Only their documented errors
(NoteError, EnvelopeError, ProofError, all ValueErrors), one line, bounded time and memory."""

from __future__ import annotations

import base64
import json

from hypothesis import example, given
from hypothesis import strategies as st

from gooseterm.ledger.signing import Signer, make_statement, sign_envelope, sign_note
from gooseterm.ledger.verifier import (
    EnvelopeError,
    NoteError,
    ProofError,
    open_note,
    parse_checkpoint,
    parse_envelope,
    parse_vkey,
    split_note,
    verify_consistency,
    verify_envelope,
    verify_inclusion,
)

from .fuzzing import FUZZ, JSON_VALUES, NUMBER_TEXT, bounded

SIGNER = Signer(name="fuzz.example/log", seed=bytes(range(32)))
ROOT = base64.b64encode(bytes(32)).decode()


def _mutate(data: bytes, at: int, insert: bytes, cut: int) -> bytes:
    at = at % (len(data) + 1)
    return data[:at] + insert + data[at + cut:]


@FUZZ
@given(NUMBER_TEXT, st.text(max_size=20))
@example("٣", "")  # str.isdigit() accepted other scripts' digits, and int() read them: size 3
@example("²", "")  # isdigit() true, int() refuses: a traceback
@example("9" * 4301, "")
@example("18446744073709551616", "")  # one past uint64
def test_checkpoint_size(size: str, extension: str) -> None:
    body = f"fuzz.example/log\n{size}\n{ROOT}\n" + (f"{extension}\n" if extension else "")
    cp = bounded(parse_checkpoint, body.encode(), allowed=(NoteError,))
    if not isinstance(cp, NoteError):
        assert size.isascii() and size.isdigit() and str(cp.size) == size and cp.size < 2**64


@FUZZ
@given(st.integers(min_value=0, max_value=200), st.binary(max_size=12), st.integers(min_value=0, max_value=8))
def test_signed_note_mutations(at: int, insert: bytes, cut: int) -> None:
    note = sign_note(f"fuzz.example/log\n7\n{ROOT}\n".encode(), [SIGNER])
    data = _mutate(note, at, insert, cut)
    split = bounded(split_note, data, allowed=(NoteError,))
    opened = bounded(open_note, data, [SIGNER.verifier], allowed=(NoteError,))
    if data != note and not isinstance(opened, NoteError):
        assert opened[0].text == split_note(note).text, "a changed note still verified with different text"


@FUZZ
@given(st.text(max_size=80))
@example("name+00000000+" + "A" * 44)
@example("name+٣٣٣٣٣٣٣٣+AQ==")
def test_signed_note_keys(vkey: str) -> None:
    bounded(parse_vkey, vkey, allowed=(NoteError,))
    bounded(parse_vkey, SIGNER.vkey + vkey, allowed=(NoteError,))


@FUZZ
@given(JSON_VALUES, st.integers(min_value=0, max_value=300), st.binary(max_size=8), st.integers(min_value=0, max_value=6))
def test_dsse_envelopes_and_statements(predicate: object, at: int, insert: bytes, cut: int) -> None:
    statement = make_statement([{"name": "svc", "digest": {"sha256": "0" * 64}}], "https://example/p", {"v": predicate})
    envelope = sign_envelope(statement, [SIGNER])
    data = _mutate(envelope, at, insert, cut)
    parsed = bounded(parse_envelope, data, allowed=(EnvelopeError,))
    if isinstance(parsed, EnvelopeError):
        return
    good = bounded(verify_envelope, parsed, _trusted(), allowed=(EnvelopeError,))
    if not isinstance(good, EnvelopeError):
        assert parsed.payload == statement, "an envelope with another payload verified"
        assert json.loads(parsed.payload)["predicate"] == {"v": predicate}


def _trusted() -> dict[str, bytes]:
    envelope = json.loads(sign_envelope(b"{}", [SIGNER]))
    return {envelope["signatures"][0]["keyid"]: SIGNER.verifier.public_key}


@FUZZ
@given(st.integers(min_value=-2, max_value=2**64 + 2), st.integers(min_value=-2, max_value=2**64 + 2),
       st.lists(st.binary(min_size=0, max_size=40), max_size=70))
def test_merkle_proofs(index: int, size: int, proof: list[bytes]) -> None:
    bounded(verify_inclusion, index, size, b"leaf", proof, bytes(32), allowed=(ProofError,))
    bounded(verify_consistency, index, size, proof, bytes(32), bytes(32), allowed=(ProofError,))
