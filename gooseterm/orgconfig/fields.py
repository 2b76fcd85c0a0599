"""The scalar types of the organisation config: names, durations, the ledger origin."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, PlainSerializer

from gooseterm.adapters.numbers import NumberError, whole_number

_DNS_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
_IDENTIFIER = re.compile(r"[a-z][a-z0-9_]*")
_DOTTED_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)*")
_PERSON = re.compile(r"[a-z][a-z0-9._-]*")
# Kubernetes label key: optional DNS-subdomain prefix and '/', then a name of up to 63
# characters (alphanumerics, '-', '_', '.', starting and ending alphanumeric).
_LABEL_KEY = re.compile(
    r"([a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*/)?"
    r"[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?"
)
_DURATION = re.compile(r"(?:([0-9]+)w)?(?:([0-9]+)d)?(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?")
MAX_DURATION = timedelta(days=100 * 366)
"""Longest duration a config may give (a century): longer ones are typos, and timedelta ends at 999999999 days."""
_UNIT_SECONDS = (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60), ("s", 1))


def check_service_name(value: str) -> str:
    """`value` if it is a valid service name, else ValueError saying what one looks like."""
    if not _DNS_LABEL.fullmatch(value):
        raise ValueError(
            f"'{value}' is not a valid service name: use 1-63 lowercase letters, digits and '-', "
            "starting and ending with a letter or digit (a DNS label, usable as a Kubernetes "
            "label value)"
        )
    return value


def _identifier(value: str) -> str:
    if not _IDENTIFIER.fullmatch(value):
        raise ValueError(
            f"'{value}' is not a valid name: use lowercase letters, digits and '_', "
            "starting with a letter"
        )
    return value


def _registered_name(value: str) -> str:
    if not _DOTTED_IDENTIFIER.fullmatch(value):
        raise ValueError(
            f"'{value}' is not a valid registered name: use lowercase Python identifiers, "
            "optionally dotted (e.g. 'sast_results_clean' or 'coverage.line_rate_at_least')"
        )
    return value


def _person_name(value: str) -> str:
    if not _PERSON.fullmatch(value):
        raise ValueError(
            f"'{value}' is not a valid person name: use lowercase letters, digits, '.', '_' "
            "and '-', starting with a letter (it becomes part of the person's key name)"
        )
    return value


def _label_key(value: str) -> str:
    if not _LABEL_KEY.fullmatch(value) or len(value) > 317:
        raise ValueError(
            f"'{value}' is not a Kubernetes label key: use an optional DNS prefix and '/', "
            "then up to 63 letters, digits, '-', '_' or '.' (e.g. 'app' or "
            "'app.kubernetes.io/name')"
        )
    return value


def _ledger_origin(value: str) -> str:
    # C2SP tlog-checkpoint: the origin "should be a schema-less URL containing neither Unicode
    # spaces nor plus (U+002B)"; it is also the first line of every checkpoint note.
    if not value or not value.isascii() or not value.isprintable() or " " in value:
        raise ValueError(
            f"{value!r} is not a valid ledger origin: use printable ASCII with no spaces, "
            "e.g. 'gooseterm.example/demo-org'"
        )
    if "+" in value or "://" in value:
        raise ValueError(
            f"'{value}' is not a valid ledger origin: no '+' and no scheme (C2SP "
            "tlog-checkpoint); write e.g. 'gooseterm.example/demo-org'"
        )
    return value


def parse_duration(value: object) -> timedelta:
    """Parse a duration such as '72h', '30m', '7d' or '1d12h' (units w, d, h, m, s)."""
    if isinstance(value, timedelta):
        return value
    hint = "write a number and a unit, e.g. '72h', '30m', '7d' or '1d12h' (units w, d, h, m, s)"
    if not isinstance(value, str):
        # ValueError, not TypeError: pydantic turns only ValueError into a validation error.
        raise ValueError(f"{value!r} is not a duration: {hint}")  # noqa: TRY004
    match = _DURATION.fullmatch(value.strip())
    if not value.strip() or match is None:
        raise ValueError(f"'{value}' is not a duration: {hint}")
    try:
        seconds = sum(
            whole_number(amount) * unit for amount, (_, unit) in zip(match.groups(), _UNIT_SECONDS) if amount
        )
    except NumberError as exc:
        raise ValueError(f"'{value[:40]}' is not a duration: {exc}") from None
    if seconds == 0:
        raise ValueError(f"'{value}' is zero: an approval that expires at once can never count")
    if seconds > MAX_DURATION.total_seconds():
        raise ValueError(f"'{value[:40]}' is longer than {MAX_DURATION.days} days: {hint}")
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    """Render a duration in the form parse_duration reads, e.g. '1d12h'."""
    seconds = int(value.total_seconds())
    parts = []
    for name, unit in _UNIT_SECONDS:
        amount, seconds = divmod(seconds, unit)
        if amount:
            parts.append(f"{amount}{name}")
    return "".join(parts) or "0s"


ServiceName = Annotated[str, AfterValidator(check_service_name)]
"""A service's name: a DNS label, so it can be a Kubernetes label value and a file name."""
Identifier = Annotated[str, AfterValidator(_identifier)]
"""A name of a state, gate, rule, runbook, group or role."""
RegisteredName = Annotated[str, AfterValidator(_registered_name)]
"""A validator's or action's name as registered in code."""
PersonName = Annotated[str, AfterValidator(_person_name)]
"""A person's short name; their key names derive from it."""
LabelKey = Annotated[str, AfterValidator(_label_key)]
"""A Kubernetes label key."""
LedgerOrigin = Annotated[str, AfterValidator(_ledger_origin)]
"""The ledger's origin line (C2SP tlog-checkpoint)."""
Duration = Annotated[
    timedelta, BeforeValidator(parse_duration), PlainSerializer(format_duration, return_type=str)
]
"""A duration written as '72h'; serialised back in the same form."""
