"""One retry policy for every HTTP source (CI APIs, Prometheus, Kubernetes): what is worth trying
again, how long to wait first, and when to give up.

A failure is transient when no answer came (a timeout, a refused or broken connection), when the
server is rate limiting us (429; GitHub's 403 with its rate-limit headers) or when it failed (5xx).
Before the next try we wait what the server asked (Retry-After in seconds or as an HTTP date, else
GitHub's or GitLab's rate-limit reset), or else our own exponential backoff with full jitter, so
clients that failed together do not come back together. A server that asks for longer than
`max_wait` is not waited for: the error says so at once.

This module does not import httpx (a response is read through its status and headers only), so the
Kubernetes client, which the headless domain imports, shares it without loading httpx on import.
"""

from __future__ import annotations

import email.utils
import random
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gooseterm.adapters.numbers import NumberError, whole_number

if TYPE_CHECKING:
    import httpx


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to try again after a transient failure."""

    attempts: int = 3
    """Tries in all, the first included."""
    backoff: float = 0.5
    """First wait in seconds; doubled per retry, with full jitter."""
    max_backoff: float = 8.0
    """Longest wait between two tries for a failure that names no wait."""
    max_wait: float = 60.0
    """Longest wait a server may ask for (retry-after, rate-limit reset) before we give up instead."""

    def delay(self, attempt: int) -> float:
        """Backoff before retry number `attempt` (1-based): exponential with full jitter."""
        return random.uniform(0, min(self.max_backoff, self.backoff * 2 ** (attempt - 1)))

    def wait(self, attempt: int, asked: float | None = None) -> float | None:
        """Seconds to wait after try number `attempt` failed transiently, or None to give up: that
        was the last try, or the server asked (`asked`, see `asked_wait`) for more than max_wait."""
        if attempt >= self.attempts or (asked is not None and asked > self.max_wait):
            return None
        return asked if asked is not None else self.delay(attempt)

    @staticmethod
    def transient(response: httpx.Response) -> bool:
        """Whether an error answer may succeed if tried again later: a rate limit or a server error."""
        return is_rate_limited(response) or response.status_code >= 500

    @staticmethod
    def asked_wait(response: httpx.Response, now: float) -> float | None:
        """Seconds the server asks us to wait: Retry-After (seconds or HTTP date), else a rate-limit reset."""
        value = response.headers.get("retry-after", "").strip()
        if value:
            seconds = _header_seconds(value)
            if seconds is not None:
                return seconds
            try:
                return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - now)
            except (TypeError, ValueError, OverflowError):
                pass
        # GitHub sends x-ratelimit-reset, GitLab ratelimit-reset: both UTC epoch seconds.
        for name in ("x-ratelimit-reset", "ratelimit-reset"):
            reset = _header_seconds(response.headers.get(name, "").strip())
            if reset is not None:
                return max(0.0, reset - now)
        return None


def is_rate_limited(response: httpx.Response) -> bool:
    """429, or GitHub's 403 when the primary (remaining 0) or a secondary (retry-after) limit is hit."""
    if response.status_code == 429:
        return True
    return response.status_code == 403 and (
        response.headers.get("x-ratelimit-remaining") == "0" or "retry-after" in response.headers
    )


def _header_seconds(value: str) -> float | None:
    """A header's whole seconds, or None when it holds none (e.g. '1_0', '٣', 30 digits): then we
    wait with our own backoff rather than a time the server did not clearly ask for."""
    try:
        return float(whole_number(value))
    except NumberError:
        return None
