"""DSSE envelopes (secure-systems-lab/dsse protocol.md) holding in-toto Statements v1."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass

from .ed25519 import ed25519_verify

INTOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"


class EnvelopeError(ValueError):
    """A DSSE envelope is malformed or its signatures do not meet the threshold."""


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding: "DSSEv1" SP len(type) SP type SP len(body) SP body."""
    t = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(payload), payload)


def b64decode_any(value: str) -> bytes:
    """Decode standard or URL-safe base64, padded or not (DSSE accepts both)."""
    if not isinstance(value, str):
        raise EnvelopeError("base64 field is not a string")
    s = value.strip()
    s += "=" * (-len(s) % 4)
    try:
        if "-" in s or "_" in s:
            return base64.b64decode(s, altchars=b"-_", validate=True)
        return base64.b64decode(s, validate=True)
    except binascii.Error:
        raise EnvelopeError("field is not valid base64") from None


@dataclass(frozen=True)
class Envelope:
    """A parsed DSSE envelope: payload type, payload bytes and (keyid, signature) pairs."""

    payload_type: str
    payload: bytes
    signatures: tuple[tuple[str, bytes], ...]


def parse_envelope(data: bytes | dict) -> Envelope:
    """Parse DSSE JSON (bytes or an already-decoded dict) into an Envelope."""
    if isinstance(data, (bytes, bytearray)):
        try:
            obj = json.loads(data)
        except (ValueError, UnicodeDecodeError) as exc:
            raise EnvelopeError(f"envelope is not JSON: {exc}") from None
    else:
        obj = data
    if not isinstance(obj, dict):
        raise EnvelopeError("envelope is not a JSON object")
    ptype, payload, sigs = obj.get("payloadType"), obj.get("payload"), obj.get("signatures")
    if not isinstance(ptype, str) or not isinstance(payload, str) or not isinstance(sigs, list):
        raise EnvelopeError("envelope needs payloadType, payload and signatures")
    pairs = []
    for i, s in enumerate(sigs):
        if not isinstance(s, dict) or not isinstance(s.get("sig"), str):
            raise EnvelopeError(f"signatures[{i}] has no sig")
        pairs.append((s.get("keyid") if isinstance(s.get("keyid"), str) else "", b64decode_any(s["sig"])))
    return Envelope(ptype, b64decode_any(payload), tuple(pairs))


def verify_envelope(
    env: Envelope, keys: dict[str, bytes], threshold: int = 1, payload_types: tuple[str, ...] = (INTOTO_PAYLOAD_TYPE,)
) -> list[str]:
    """Return the distinct trusted keyids with a valid signature; raise if fewer than threshold.

    The keyid is an unauthenticated hint that only narrows the keys to try (DSSE protocol.md):
    a signature naming a keyid not in `keys` is skipped, one without a keyid is tried against
    every trusted key not yet counted; each trusted key counts once however often it signed.
    """
    if env.payload_type not in payload_types:
        raise EnvelopeError(f"unsupported payloadType {env.payload_type!r}")
    message = pae(env.payload_type, env.payload)
    good: list[str] = []
    for keyid, sig in env.signatures:
        candidates = [keyid] if keyid else list(keys)
        for kid in candidates:
            pub = keys.get(kid)
            if pub is not None and kid not in good and ed25519_verify(pub, sig, message):
                good.append(kid)
                break
    if len(good) < threshold:
        raise EnvelopeError(f"{len(good)} valid signature(s) from trusted keys, need {threshold}")
    return good
