"""Shared tools of the fuzz suite: deterministic hypothesis settings, number-shaped text, and a
runner that bounds each example's time and memory and allows only a parser's documented errors."""

from __future__ import annotations

import json
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

FUZZ = settings(max_examples=100, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])
"""Derandomized and database-free, so CI sees the same examples every run; the deadline is ours."""

MAX_SECONDS = 2.0
"""Per example, measured under tracemalloc (which slows Python down a few times)."""

MAX_PEAK_BYTES = 32 * 1024 * 1024
"""Peak memory allocated per example: the inputs here are a few KiB at most."""

# Text that Python's int() or float() reads but JSON, XML, HTTP and Prometheus do not, or reads
# as a wrong value: other scripts' digits, superscripts, underscores, spaces, signs, NaN/Inf
# spellings, and digit runs around Python's 4300-digit limit.
NUMBER_TEXT = st.one_of(
    st.text(alphabet="0123456789", min_size=1, max_size=25),
    st.text(alphabet="0123456789٣١۵०²³¹_ +-.eEnaNIifty\t\u00a0", max_size=12),
    st.sampled_from(["٣", "１２", "²", "1_000", " 7", "7 ", "+7", "-1", "0x1F", "017", "1:30", "nan", "NaN",
                     "inf", "-Infinity", "1e400", "-1e400", "1e-400", "", ".", "1.", ".5", "1e", "00"]),
    st.integers(min_value=4290, max_value=4400).map(lambda n: "9" * n),
)

JSON_NUMBERS = st.one_of(
    st.integers(min_value=-(10**25), max_value=10**25),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    NUMBER_TEXT,
)

JSON_VALUES = st.recursive(
    st.one_of(st.none(), JSON_NUMBERS, st.text(max_size=12)),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12,
)


def json_bytes(value: Any) -> bytes:
    return json.dumps(value).encode()


def bounded(call: Callable[..., Any], *args: Any, allowed: tuple[type[BaseException], ...], one_line: bool = True,
            **kwargs: Any) -> Any:
    """call(*args); an error must be one of `allowed` with a message (of one line, unless `one_line`
    is False: the config lists one issue a line). Returns the result, or the allowed error; asserts
    the call stayed within MAX_SECONDS and MAX_PEAK_BYTES."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        outcome = call(*args, **kwargs)
    except allowed as exc:
        outcome = exc
        assert str(exc) and (not one_line or "\n" not in str(exc)), f"not a one-line message: {str(exc)!r:.300}"
    finally:
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert elapsed < MAX_SECONDS, f"{elapsed:.2f} s for one example"
    assert peak < MAX_PEAK_BYTES, f"{peak} bytes at peak for one example"
    return outcome
