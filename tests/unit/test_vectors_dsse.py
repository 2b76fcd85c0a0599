"""DSSE envelopes and in-toto statements: the 9 DSSE vectors, then our own signing round trips."""

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
DSSE = json.loads((VECTORS / "dsse" / "vectors.json").read_text())
CASES = DSSE["vectors"]
PUBLIC = {kid: bytes.fromhex(k["public"]) for kid, k in DSSE["keys"].items()}
DIGEST = hashlib.sha256(b"service-a spec v3").hexdigest()


def _signer(name: str) -> Signer:
    return Signer(name, hashlib.sha256(name.encode()).digest())


def test_all_nine_vectors_are_present() -> None:
    assert len(CASES) == 9


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["id"])
def test_pae_matches_vector(case: dict) -> None:
    env = verifier.parse_envelope(case["envelope"])
    # The swapped vector's PAE is what was signed, before its payloadType was changed.
    signed_type = verifier.INTOTO_PAYLOAD_TYPE if case["id"] == "payload-type-swapped" else env.payload_type
    assert verifier.pae(signed_type, env.payload).hex() == case["pae"]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["id"])
def test_verdict_matches_vector(case: dict) -> None:
    env = verifier.parse_envelope(json.dumps(case["envelope"]).encode())
    keys = {kid: PUBLIC[kid] for kid in case["trustedKeys"]}
    args = (env, keys, case["threshold"], tuple(case["supportedPayloadTypes"]))
    if case["expect"] == "accept":
        assert len(verifier.verify_envelope(*args)) >= case["threshold"]
    else:
        with pytest.raises(verifier.EnvelopeError):
            verifier.verify_envelope(*args)


def test_vector_keys_are_rfc8032_test_keys() -> None:
    for k in DSSE["keys"].values():
        assert Signer("k", bytes.fromhex(k["seed"])).public_key.hex() == k["public"]


def test_signing_reproduces_the_single_signature_vector() -> None:
    case = CASES[0]
    signer = Signer("A", bytes.fromhex(DSSE["keys"]["A"]["seed"]))
    payload = base64.b64decode(case["envelope"]["payload"])
    env = verifier.parse_envelope(signing.sign_envelope(payload, [signer]))
    assert base64.b64encode(env.signatures[0][1]).decode() == case["envelope"]["signatures"][0]["sig"]


def _statement() -> bytes:
    return signing.make_statement(
        [{"name": "service-a", "digest": {"sha256": DIGEST}}],
        "https://gooseterm.dev/gate-result/v1",
        {"gate": "sast_clean", "result": "pass", "note": "grün"},
    )


def test_signed_envelope_round_trips_through_the_verifier() -> None:
    a = _signer("alice.example")
    data = signing.sign_envelope(_statement(), [a])
    env = verifier.parse_envelope(data)
    assert env.payload == _statement()
    assert verifier.verify_envelope(env, {a.keyid: a.public_key}) == [a.keyid]


def test_envelope_is_deterministic_standard_base64_with_keyids() -> None:
    a, b = _signer("alice.example"), _signer("bob.example")
    data = signing.sign_envelope(_statement(), [a, b])
    obj = json.loads(data)
    assert data == json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()
    assert data == signing.sign_envelope(_statement(), [a, b])
    assert [s["keyid"] for s in obj["signatures"]] == [a.keyid, b.keyid]
    for field in [obj["payload"]] + [s["sig"] for s in obj["signatures"]]:
        assert base64.b64encode(base64.b64decode(field, validate=True)).decode() == field


def test_threshold_two_needs_two_distinct_signers() -> None:
    a, b = _signer("alice.example"), _signer("bob.example")
    keys = {a.keyid: a.public_key, b.keyid: b.public_key}
    one = signing.sign_envelope(_statement(), [a])
    with pytest.raises(verifier.EnvelopeError, match="1 valid signature"):
        verifier.verify_envelope(verifier.parse_envelope(one), keys, threshold=2)
    both = signing.add_envelope_signature(one, b)
    assert verifier.verify_envelope(verifier.parse_envelope(both), keys, threshold=2) == [a.keyid, b.keyid]
    assert both == signing.sign_envelope(_statement(), [a, b])


def test_adding_a_signature_keeps_the_existing_ones() -> None:
    a, b = _signer("alice.example"), _signer("bob.example")
    one = json.loads(signing.sign_envelope(_statement(), [a]))
    both = json.loads(signing.add_envelope_signature(signing.sign_envelope(_statement(), [a]), b))
    assert both["signatures"][0] == one["signatures"][0]
    assert both["payload"] == one["payload"]


def test_adding_the_same_signer_twice_is_refused() -> None:
    a = _signer("alice.example")
    with pytest.raises(verifier.EnvelopeError, match="already signed by alice.example"):
        signing.add_envelope_signature(signing.sign_envelope(_statement(), [a]), a)
    with pytest.raises(verifier.EnvelopeError, match="duplicate signer"):
        signing.sign_envelope(_statement(), [a, a])


def test_signature_by_an_untrusted_key_does_not_count() -> None:
    a, mallory = _signer("alice.example"), _signer("mallory.example")
    env = verifier.parse_envelope(signing.sign_envelope(_statement(), [mallory]))
    with pytest.raises(verifier.EnvelopeError, match="0 valid signature"):
        verifier.verify_envelope(env, {a.keyid: a.public_key})


def test_statement_is_canonical_in_toto_v1() -> None:
    data = _statement()
    obj = json.loads(data)
    assert obj["_type"] == "https://in-toto.io/Statement/v1"
    assert obj["subject"] == [{"name": "service-a", "digest": {"sha256": DIGEST}}]
    assert obj["predicateType"] == "https://gooseterm.dev/gate-result/v1"
    assert data == json.dumps(obj, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()
    assert "grün".encode() in data


@pytest.mark.parametrize(
    "subject",
    [
        [],
        [{"name": "", "digest": {"sha256": DIGEST}}],
        [{"name": "a", "digest": {"sha256": DIGEST.upper()}}],
        [{"name": "a", "digest": {}}],
    ],
    ids=["no-subject", "empty-name", "uppercase-digest", "no-sha256"],
)
def test_malformed_subject_is_refused(subject: list[dict]) -> None:
    with pytest.raises(ValueError):
        signing.make_statement(subject, "https://gooseterm.dev/x/v1", {})


def test_statement_with_nan_is_refused() -> None:
    with pytest.raises(ValueError):
        signing.make_statement(
            [{"name": "a", "digest": {"sha256": DIGEST}}], "https://gooseterm.dev/x/v1", {"p95": float("nan")}
        )
