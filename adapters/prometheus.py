"""Prometheus' HTTP API (/api/v1/query and /api/v1/query_range) into typed samples.

Why httpx and not prometheus-api-client: the client's `custom_query` returns only `data.result`
and turns every non-200 answer into an exception whose text is the repr of the body, so the API's
own error envelope (`errorType: bad_data` for bad PromQL, `execution`, `timeout`) and its
`warnings` are lost, and retries come from urllib3 rather than the backoff and rate-limit handling
every other source here shares (adapters/http.py). Timeouts and auth it does support; telling a
person *why* a query failed, naming the source, it does not. The HTTP API is small and stable
(https://prometheus.io/docs/prometheus/latest/querying/api/), so we speak it directly.

Values arrive as strings ("0.93", "NaN", "+Inf"); they are parsed to floats and the non-finite
ones flagged, never dropped, so a gate can fail closed on them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from gooseterm.adapters.errors import SourceError
from gooseterm.adapters.http import SourceClient
from gooseterm.adapters.metrics import sample_value

Aggregate = Literal["avg", "min", "max", "last", "sum"]
AGGREGATES: tuple[str, ...] = ("avg", "min", "max", "last", "sum")
MAX_POINTS = 11_000  # Prometheus refuses more than 11,000 points per series in a range query


@dataclass(frozen=True)
class Sample:
    """One value at one time; `raw` is the string Prometheus sent."""

    time: float
    value: float
    raw: str

    @property
    def finite(self) -> bool:
        """False for NaN and +/-Inf."""
        return math.isfinite(self.value)


@dataclass(frozen=True)
class Series:
    """One labelled series: one sample for an instant vector, many for a range."""

    labels: dict[str, str]
    samples: list[Sample]


@dataclass(frozen=True)
class QueryResult:
    """An answer of the query API: what was asked, where, and the series it returned."""

    query: str
    url: str
    result_type: str
    series: list[Series]
    warnings: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """True when no series (or no sample) came back: the no-data case."""
        return not any(s.samples for s in self.series)


class PrometheusClient:
    """Instant and range queries against one Prometheus server."""

    def __init__(self, client: SourceClient):
        self.http = client
        """The HTTP client (base URL, credentials, timeout, retries)."""

    @property
    def url(self) -> str:
        """The server's base URL."""
        return self.http.base_url

    def close(self) -> None:
        """Close the HTTP client."""
        self.http.close()

    def query(self, promql: str, at: datetime | None = None) -> QueryResult:
        """An instant query (GET /api/v1/query), evaluated at `at` or now."""
        params: dict[str, Any] = {"query": promql}
        if at is not None:
            params["time"] = f"{at.timestamp():.3f}"
        return self._ask("api/v1/query", params, promql)

    def query_range(self, promql: str, start: datetime, end: datetime, step_seconds: float) -> QueryResult:
        """A range query (GET /api/v1/query_range) over [start, end] every `step_seconds`."""
        if end <= start or step_seconds <= 0:
            raise ValueError("a range query needs start < end and a positive step")
        points = (end - start).total_seconds() / step_seconds
        if points > MAX_POINTS:
            step_seconds = (end - start).total_seconds() / MAX_POINTS
        params = {"query": promql, "start": f"{start.timestamp():.3f}", "end": f"{end.timestamp():.3f}",
                  "step": f"{step_seconds:g}"}
        return self._ask("api/v1/query_range", params, promql)

    def _ask(self, path: str, params: dict[str, Any], promql: str) -> QueryResult:
        # 400 (bad_data: bad PromQL) and 422 (execution) carry the API's error envelope; read it.
        response = self.http.get(path, params, passthrough=(400, 422))
        body = self.http.json_of(response)
        if not isinstance(body, dict) or body.get("status") not in ("success", "error"):
            raise self.http.error(response.url, "the answer is not a Prometheus API response", "bad_response")
        if body["status"] == "error":
            kind = body.get("errorType", "error")
            raise SourceError(
                "prometheus", self.url, f"query `{promql}` was refused ({kind}): {self.http.redact(str(body.get('error', 'no reason given')))}",
                reason="bad_query", status=response.status_code,
                hint="fix the query in the org config (slo objectives); try it in Prometheus' own UI",
            )
        return _result(body.get("data"), promql, self.url, [self.http.redact(str(w)) for w in body.get("warnings") or []],
                       lambda problem: self.http.error(response.url, problem, "bad_response"))


def _result(data: Any, promql: str, url: str, warnings: list[str], bad) -> QueryResult:
    if not isinstance(data, dict) or "resultType" not in data:
        raise bad("the answer has no data.resultType")
    kind, result = data["resultType"], data.get("result")
    if kind == "scalar":
        return QueryResult(promql, url, kind, [Series({}, [_sample(result, bad)])], warnings)
    if kind not in ("vector", "matrix") or not isinstance(result, list):
        raise bad(f"unexpected result type {kind!r}")
    series = []
    for item in result:
        if not isinstance(item, dict):
            raise bad("a series is not an object")
        labels = {str(k): str(v) for k, v in (item.get("metric") or {}).items()}
        points = [item["value"]] if kind == "vector" else item.get("values") or []
        series.append(Series(labels, [_sample(p, bad) for p in points]))
    return QueryResult(promql, url, kind, series, warnings)


def _sample(point: Any, bad) -> Sample:
    if not (isinstance(point, list) and len(point) == 2 and isinstance(point[1], str)
            and isinstance(point[0], (int, float)) and not isinstance(point[0], bool)):
        raise bad(f"a sample is not [time, \"value\"]: {point!r:.80}")
    value = sample_value(point[1])
    if value is None:
        raise bad(f"sample value {point[1]!r} is not a number")
    return Sample(float(point[0]), value, point[1])


def reduce(result: QueryResult, how: Aggregate = "avg") -> float:
    """One number from a one-series result: the instant value, or the range aggregated by `how`.

    NaN or Inf anywhere in the range makes the result NaN (or that Inf): a gate fails on it.
    Raises SourceError for an empty result (no_data) or for several series (ambiguous).
    """
    if result.empty:
        raise SourceError("prometheus", result.url, f"query `{result.query}` returned an empty result (no series)",
                          reason="no_data", hint="check the metric name and labels, and that the service is scraped")
    populated = [s for s in result.series if s.samples]
    if len(populated) > 1:
        labels = "; ".join(str(s.labels) for s in populated[:3])
        raise SourceError("prometheus", result.url,
                          f"query `{result.query}` returned {len(populated)} series ({labels}...), expected one",
                          reason="bad_query", hint="aggregate the query to one series, e.g. with sum(...) or max(...)")
    values = [s.value for s in populated[0].samples]
    bad = [v for v in values if not math.isfinite(v)]
    if bad:
        return math.nan if any(math.isnan(v) for v in bad) else bad[0]
    if how == "avg":
        return sum(values) / len(values)
    if how == "sum":
        return sum(values)
    if how == "min":
        return min(values)
    if how == "max":
        return max(values)
    return values[-1]


def utc_stamp(when: datetime | None = None) -> str:
    """RFC 3339 UTC with milliseconds, the form snapshots carry."""
    return (when or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
