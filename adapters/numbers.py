"""Numbers from outside text, strictly: the one place adapters (and the config) turn text into numbers.

Python's own conversions are too lenient for evidence: int() takes other scripts' digits
(int('٣') == 3), underscores ('1_000'), surrounding whitespace and signs, and refuses more than
4300 digits with a ValueError; float() also takes 'nan', 'inf' and 'infinity'; str.isdigit()
is true for superscripts that int() then refuses. JSON, XML, HTTP and Prometheus only ever write
ASCII digits, so anything else is refused here with a NumberError (a ValueError) saying why, and
each caller names the file, line and field.
"""

from __future__ import annotations

import math
import re

MAX_DIGITS = 20
"""Most digits a whole number may have: a 64-bit unsigned integer has 20, and no report,
API or header sends anything longer (it would also refuse to fit any tool's counters)."""

MAX_DECIMAL_CHARS = 400
"""Longest decimal text read: Go writes float64 values in full ('f' format) in up to ~330 characters."""

_WHOLE = re.compile(r"[0-9]+")
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


class NumberError(ValueError):
    """Text that is not the number it claims to be; the message says why, in one line."""


def whole_number(text: str, *, max_digits: int = MAX_DIGITS) -> int:
    """A non-negative whole number written in ASCII digits only ([0-9]+, leading zeros allowed):
    no sign, whitespace, underscore, or another script's digits, and at most `max_digits` digits."""
    if not isinstance(text, str):
        raise NumberError(f"{_show(text)} is not text of a whole number")
    if len(text) > max_digits and _WHOLE.fullmatch(text):
        raise NumberError(f"{_show(text)} has {len(text)} digits, more than the {max_digits} allowed")
    if not _WHOLE.fullmatch(text):
        raise NumberError(f"{_show(text)} is not a whole number (ASCII digits 0-9 only)")
    return int(text)


def json_count(value: object, *, max_digits: int = MAX_DIGITS) -> int:
    """A JSON integer that counts something: an int (not a bool, not 1.0), from 0 up to `max_digits` digits."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise NumberError(f"{_show(value)} is not a whole number")
    if value < 0:
        raise NumberError(f"{value} is negative")
    if value >= 10**max_digits:
        raise NumberError(f"a number of more than {max_digits} digits is out of range")
    return value


def decimal(text: str, *, allow_non_finite: bool = False) -> float:
    """An ASCII decimal ('0.93', '-1e-3', '.5'), as JSON, XML and Prometheus write them.

    'NaN', 'Inf', '+Inf', '-Inf' and 'Infinity' (any case) are read only with `allow_non_finite`;
    a decimal too large for a float (1e400) is refused rather than silently becoming Inf.
    """
    if not isinstance(text, str):
        raise NumberError(f"{_show(text)} is not text of a number")
    if len(text) > MAX_DECIMAL_CHARS:
        raise NumberError(f"a number of {len(text)} characters is longer than the {MAX_DECIMAL_CHARS} allowed")
    if _DECIMAL.fullmatch(text):
        value = float(text)
        if math.isinf(value):
            raise NumberError(f"{_show(text)} is too large for a 64-bit float")
        return value
    if allow_non_finite and text.lower() in _NON_FINITE:
        return _NON_FINITE[text.lower()]
    raise NumberError(f"{_show(text)} is not a decimal number (ASCII digits, optional sign, point and exponent)")


def finite(value: float) -> float:
    """`value` if it is a finite float, else a NumberError (a JSON number like 1e400 reads as Inf)."""
    if not math.isfinite(value):
        raise NumberError(f"{value!r} is not a finite number")
    return value


_NON_FINITE = {
    "nan": math.nan,
    "inf": math.inf,
    "+inf": math.inf,
    "-inf": -math.inf,
    "infinity": math.inf,
    "+infinity": math.inf,
    "-infinity": -math.inf,
}


def _show(value: object) -> str:
    """The value as repr, cut to 40 characters so an error stays one short line."""
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:37]}..."
