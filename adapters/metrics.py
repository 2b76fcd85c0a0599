"""Metric snapshots (a JSON object of name to number) into metric facts, flagging NaN and Inf."""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, PlainSerializer

from adapters.documents import load_json
from adapters.errors import EvidenceError

# Prometheus' HTTP API sends sample values as strings ("0.93", "NaN", "+Inf").
_DECIMAL = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_NON_FINITE = {
    "nan": math.nan,
    "inf": math.inf,
    "+inf": math.inf,
    "-inf": -math.inf,
    "infinity": math.inf,
    "+infinity": math.inf,
    "-infinity": -math.inf,
}


def _prometheus_json(value: float) -> float | str:
    # JSON has no NaN or Infinity: write them the way Prometheus does.
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return value


MetricValue = Annotated[float, PlainSerializer(_prometheus_json, when_used="json")]
"""A sample value; NaN and +/-Inf are kept, and dumped to JSON as "NaN", "+Inf", "-Inf"."""


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


def parse_metrics(data: bytes, source: str | None = None) -> MetricsFacts:
    """Parse a JSON object of metric name to number (or numeric string)."""
    document = load_json(data, source)
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


def _number(name: str, value: Any, source: str | None) -> float:
    if not name:
        raise EvidenceError("a metric has an empty name", path=source, hint="Name every metric")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        if _DECIMAL.fullmatch(text):
            return float(text)
        if text.lower() in _NON_FINITE:
            return _NON_FINITE[text.lower()]
    raise EvidenceError(
        f"value {value!r} is not a number",
        path=source,
        field=name,
        hint='Give a JSON number or a numeric string such as "0.5", "NaN" or "+Inf"',
    )
