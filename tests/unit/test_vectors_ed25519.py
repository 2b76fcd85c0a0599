"""Ed25519: RFC 8032 known answers and Wycheproof's 151 verify cases under libsodium's strict rules."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from gooseterm.ledger import verifier
from gooseterm.ledger.signing import Signer

VECTORS = Path(os.environ.get("GOOSETERM_VECTORS") or Path(__file__).resolve().parents[1] / "fixtures" / "vectors")
RFC8032 = json.loads((VECTORS / "ed25519" / "rfc8032.json").read_text())["cases"]
WYCHEPROOF = json.loads((VECTORS / "ed25519" / "wycheproof_ed25519_test.json").read_text())
WYCHEPROOF_CASES = [(bytes.fromhex(g["publicKey"]["pk"]), t) for g in WYCHEPROOF["testGroups"] for t in g["tests"]]

L = 2**252 + 27742317777372353535851937790883648493  # the order of the Ed25519 base point
IDENTITY = (1).to_bytes(32, "little")  # the neutral element (0, 1), a point of small order


@pytest.mark.parametrize("case", RFC8032, ids=lambda c: c["name"])
def test_rfc8032_signature_is_reproduced(case: dict) -> None:
    signer = Signer("rfc8032", bytes.fromhex(case["seed"]))
    assert signer.public_key.hex() == case["public"]
    assert signer.sign(bytes.fromhex(case["message"])).hex() == case["signature"]


@pytest.mark.parametrize("case", RFC8032, ids=lambda c: c["name"])
def test_rfc8032_signature_verifies(case: dict) -> None:
    pub, sig, msg = (bytes.fromhex(case[k]) for k in ("public", "signature", "message"))
    assert verifier.ed25519_verify(pub, sig, msg)
    assert not verifier.ed25519_verify(pub, sig, msg + b"\x00")


def test_all_wycheproof_cases_are_present() -> None:
    assert len(WYCHEPROOF_CASES) == WYCHEPROOF["numberOfTests"] == 151


@pytest.mark.parametrize(
    ("public_key", "case"), WYCHEPROOF_CASES, ids=[f"tc{t['tcId']}-{'-'.join(t['flags'])}" for _, t in WYCHEPROOF_CASES]
)
def test_wycheproof_case(public_key: bytes, case: dict) -> None:
    # Policy (docs/CRYPTO.md): accept exactly the "valid" cases; "acceptable" ones would be refused.
    got = verifier.ed25519_verify(public_key, bytes.fromhex(case["sig"]), bytes.fromhex(case["msg"]))
    assert got is (case["result"] == "valid")


def test_s_at_or_above_the_group_order_is_refused() -> None:
    case = RFC8032[0]
    pub, sig = bytes.fromhex(case["public"]), bytes.fromhex(case["signature"])
    s = int.from_bytes(sig[32:], "little")
    malleated = sig[:32] + (s + L).to_bytes(32, "little")
    assert not verifier.ed25519_verify(pub, malleated, b"")


def test_small_order_public_key_is_refused() -> None:
    # With A and R the identity and S = 0, [S]B = R + [k]A holds for every message.
    assert not verifier.ed25519_verify(IDENTITY, IDENTITY + bytes(32), b"any message")


def test_small_order_r_is_refused() -> None:
    # R = identity, S = k * a makes [S]B = R + [k]A hold; only the small-order check refuses it.
    case = RFC8032[0]
    pub, message = bytes.fromhex(case["public"]), b"small order R"
    h = hashlib.sha512(bytes.fromhex(case["seed"])).digest()
    a = int.from_bytes(h[:32], "little") & ~7 & ((1 << 254) - 1) | (1 << 254)  # RFC 8032 5.1.5 clamping
    k = int.from_bytes(hashlib.sha512(IDENTITY + pub + message).digest(), "little") % L
    forged = IDENTITY + (k * a % L).to_bytes(32, "little")
    assert not verifier.ed25519_verify(pub, forged, message)


def test_wrong_lengths_are_refused_without_raising() -> None:
    case = RFC8032[0]
    pub, sig = bytes.fromhex(case["public"]), bytes.fromhex(case["signature"])
    assert not verifier.ed25519_verify(pub[:31], sig, b"")
    assert not verifier.ed25519_verify(pub, sig + b"\x00", b"")
