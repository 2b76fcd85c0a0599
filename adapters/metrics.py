"""Metric snapshots into metric facts, flagging NaN and Inf.

Two shapes are read: a plain JSON object of name to number (written by hand or by a CI job), and
the snapshot `gooseterm collect` writes from Prometheus (SNAPSHOT_FORMAT), which also says which
query gave each value, where and when, and which objectives had no data.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, PlainSerializer

from gooseterm.adapters.documents import load_json
from gooseterm.adapters.errors import EvidenceError
from gooseterm.adapters.numbers import NumberError, decimal



def _prometheus_json(value: float) -> float | str:
    # JSON has no NaN or Infinity: write them the way Prometheus does.
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return value


MetricValue = Annotated[float, PlainSerializer(_prometheus_json, when_used="json")]
"""A sample value; NaN and +/-Inf are kept, and dumped to JSON as "NaN", "+Inf", "-Inf"."""


SNAPSHOT_FORMAT = "gooseterm.metrics-snapshot/v1"
"""The `format` of a snapshot document written by `snapshot_document`."""


class MetricsFacts(BaseModel):
    """Named metric values, with the ones that are not finite numbers listed apart."""

    model_config = ConfigDict(frozen=True, use_attribute_docstrings=True)

    kind: Literal["metrics"] = "metrics"
    """Evidence kind, for dispatch and storage."""
    source: str | None
    """Where the snapshot came from, as the caller named it."""
    values: dict[str, MetricValue]
    """Every metric, by name, as a float (NaN and Inf included)."""
    non_finite: list[str]
    """Names whose value is NaN or Inf, sorted: a gate reading them must fail closed."""
    no_data: dict[str, str] = {}
    """Names the source had no value for, with why (a snapshot only): a gate applies its no-data policy."""
    queries: dict[str, str] = {}
    """The query behind each value (a snapshot only)."""
    url: str | None = None
    """The server the snapshot was taken from (a snapshot only)."""
    taken_at: str | None = None
    """When the snapshot was taken, RFC 3339 UTC (a snapshot only)."""


def parse_metrics(data: bytes, source: str | None = None) -> MetricsFacts:
    """Parse a JSON object of metric name to number (or numeric string)."""
    document = load_json(data, source)
    if isinstance(document, dict) and document.get("format") == SNAPSHOT_FORMAT:
        return _parse_snapshot(document, source)
    if not isinstance(document, dict):
        raise EvidenceError(
            "metrics must be a JSON object of name to number",
            path=source,
            hint='Write e.g. {"error_rate": 0.002, "p99_latency_seconds": "0.41"}',
        )
    values = {name: _number(name, value, source) for name, value in document.items()}
    return MetricsFacts(
        source=source,
        values=values,
        non_finite=sorted(name for name, value in values.items() if not math.isfinite(value)),
    )


def snapshot_document(source: str, url: str, taken_at: str, metrics: dict[str, dict[str, Any]]) -> dict:
    """A snapshot document: per metric its `query` and `value` (a Prometheus value string), or
    `value: None` with a `no_data` reason, plus anything else worth keeping (window, series...)."""
    return {"format": SNAPSHOT_FORMAT, "source": source, "url": url, "taken_at": taken_at, "metrics": metrics}


def _parse_snapshot(document: dict, source: str | None) -> MetricsFacts:
    metrics = document.get("metrics")
    if not isinstance(metrics, dict):
        raise EvidenceError("a metrics snapshot needs a `metrics` object", path=source, field="metrics")
    values, no_data, queries = {}, {}, {}
    for name, entry in metrics.items():
        if not isinstance(entry, dict) or "value" not in entry:
            raise EvidenceError("each snapshot metric is an object with a `value`", path=source, field=f"metrics.{name}")
        if isinstance(entry.get("query"), str):
            queries[name] = entry["query"]
        if entry["value"] is None:
            no_data[name] = str(entry.get("no_data") or "no value")
        else:
            values[name] = _number(name, entry["value"], source)
    text = {k: document.get(k) if isinstance(document.get(k), str) else None for k in ("url", "taken_at")}
    return MetricsFacts(
        source=source,
        values=values,
        non_finite=sorted(name for name, value in values.items() if not math.isfinite(value)),
        no_data=no_data,
        queries=queries,
        **text,
    )


def sample_value(text: str) -> float | None:
    """A Prometheus sample value ("0.93", "NaN", "+Inf", "1e-3") as a float, or None if it is none.

    Prometheus' HTTP API sends sample values as strings of ASCII digits, or NaN and +/-Inf."""
    try:
        return decimal(text, allow_non_finite=True)
    except NumberError:
        return None


def _number(name: str, value: Any, source: str | None) -> float:
    if not name:
        raise EvidenceError("a metric has an empty name", path=source, hint="Name every metric")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        number = sample_value(value)
        if number is not None:
            return number
    raise EvidenceError(
        f"value {value!r} is not a number",
        path=source,
        field=name,
        hint='Give a JSON number or a numeric string such as "0.5", "NaN" or "+Inf"',
    )
