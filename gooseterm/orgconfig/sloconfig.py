"""rules.yaml's `slo` section: the performance gate's objectives, in Keptn's SLO vocabulary.

    slo:
      total_score: {pass: 90%, warning: 75%}
      no_data: fail            # fail | warn | ignore: an objective with no value
      objectives:
        - sli: http_request_duration_p99_ms
          query: histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{service="${service}"}[5m]))) * 1000
          pass: ["<= 600", "<= +10%"]   # all must hold; or [{criteria: [...]}, ...] for alternatives
          warning: ["<= 800"]
          weight: 2
          key_sli: true

A criterion is an operator (<, <=, >, >=, =) and a number: absolute (`< 600`), or, with a sign,
relative to the service's last compliant baseline: a percentage (`<= +10%`) or an amount (`<= +50`).
An objective scores its weight when every criterion of one pass group holds, half its weight when
a warning group holds, else 0; the total is the share of the weights scored. A key SLI that fails
fails the evaluation whatever the total (Keptn's `key_sli`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, Strict, model_validator

from gooseterm.adapters.numbers import NumberError, decimal
from gooseterm.orgconfig.fields import Duration, Identifier

_CRITERION = re.compile(r"\s*(<=|>=|<|>|==|=)\s*([+-])?\s*([0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)\s*(%)?\s*")
_PERCENT = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*%?\s*")

NoData = Literal["fail", "warn", "ignore"]
Aggregate = Literal["avg", "min", "max", "last", "sum"]


@dataclass(frozen=True)
class Criterion:
    """One comparison: `value OP threshold`, the threshold absolute or relative to the baseline."""

    op: str
    number: float
    relative: Literal["percent", "amount"] | None
    text: str

    def threshold(self, baseline: float | None) -> float | None:
        """The bound to compare with; None for a relative criterion without a baseline."""
        if self.relative is None:
            return self.number
        if baseline is None:
            return None
        return baseline * (1 + self.number / 100) if self.relative == "percent" else baseline + self.number

    def holds(self, value: float, baseline: float | None) -> bool | None:
        """Whether value meets the criterion; None when it is relative and there is no baseline."""
        bound = self.threshold(baseline)
        if bound is None:
            return None
        return {"<": value < bound, "<=": value <= bound, ">": value > bound, ">=": value >= bound,
                "=": value == bound, "==": value == bound}[self.op]

    def __str__(self) -> str:
        return self.text


def parse_criterion(text: Any) -> Criterion:
    """Parse '< 600', '<= +10%', '>= -5%' or '<= +50'."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        raise ValueError(f"criterion {text!r} has no operator: write e.g. '<= {text}'")
    if not isinstance(text, str):
        raise ValueError(f"criterion {text!r} is not a string such as '< 600' or '<= +10%'")
    match = _CRITERION.fullmatch(text)
    if match is None:
        raise ValueError(f"'{text}' is not a criterion: write an operator and a number, absolute ('< 600') "
                         "or relative to the baseline ('<= +10%', '>= -5%', '<= +50')")
    op, sign, number, percent = match.groups()
    try:
        value = decimal(number) * (-1 if sign == "-" else 1)
    except NumberError as exc:
        raise ValueError(f"criterion '{text[:40]}': {exc}") from None
    if percent and not sign:
        raise ValueError(f"'{text}': a percentage is relative to the baseline, so give it a sign ('<= +10%')")
    relative = ("percent" if percent else "amount") if sign else None
    return Criterion(op, value, relative, " ".join(text.split()))


def _criteria_groups(value: Any) -> Any:
    """Accept ["< 600", "<= +10%"] (one group, all must hold) or Keptn's [{criteria: [...]}, ...] (any group)."""
    if not isinstance(value, list):
        return value
    if all(isinstance(v, dict) for v in value) and value:
        groups = []
        for item in value:
            if set(item) != {"criteria"}:
                raise ValueError("each alternative is {criteria: [...]}")
            groups.append(item["criteria"])
        return groups
    return [value] if value else []


def _percent(value: Any) -> float:
    text = str(value)
    match = _PERCENT.fullmatch(text) if not isinstance(value, bool) else None
    if match is None or not 0 <= decimal(match.group(1)) <= 100:
        raise ValueError(f"{value!r:.40} is not a percentage between 0 and 100, e.g. '90%'")
    return decimal(match.group(1))


CriterionItem = Annotated[Criterion, BeforeValidator(parse_criterion)]
Groups = Annotated[list[Annotated[list[CriterionItem], Field(min_length=1)]], BeforeValidator(_criteria_groups)]
Percent = Annotated[float, BeforeValidator(_percent)]


class SloModel(BaseModel):
    """Base of the SLO models: unknown keys are errors, values immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Objective(SloModel):
    """One service level objective: an SLI (query), its pass and warning criteria, weight, key."""

    sli: Identifier
    """The SLI's name; also the metric name in the metrics evidence."""
    display_name: str = ""
    query: Annotated[str, Field(min_length=1)] | None = None
    """PromQL; ${service} is replaced. Without it the value comes only from recorded metrics evidence."""
    window: Duration | None = None
    """Evaluate as a range query over this window before now, aggregated; without it, an instant query."""
    aggregate: Aggregate = "avg"
    """How a range is reduced to one value."""
    pass_: Groups = Field(default=[], alias="pass")
    """Alternative groups of criteria; the objective passes when all criteria of one group hold.
    Without pass criteria the objective is informative: recorded, not scored."""
    warning: Groups = []
    """Like pass; meeting them scores half the weight."""
    weight: Annotated[int, Strict(), Field(ge=1)] = 1
    key_sli: Annotated[bool, Strict()] = False
    """A key SLI that fails fails the whole evaluation."""
    no_data: NoData | None = None
    """Overrides the section's no_data policy for this objective."""

    @model_validator(mode="after")
    def _aggregate_needs_window(self) -> "Objective":
        if self.window is None and "aggregate" in self.model_fields_set:
            raise ValueError("aggregate applies to a range: give a window too (e.g. window: 10m)")
        if self.window is not None and self.window < timedelta(seconds=1):
            raise ValueError("window must be at least 1s")
        return self


class TotalScore(SloModel):
    """Thresholds on the share of weights scored."""

    pass_: Percent = Field(default=90.0, alias="pass")
    warning: Percent = 75.0

    @model_validator(mode="after")
    def _ordered(self) -> "TotalScore":
        if self.warning > self.pass_:
            raise ValueError(f"warning ({self.warning:g}%) must not be above pass ({self.pass_:g}%)")
        return self


class Slo(SloModel):
    """The performance gate's configuration."""

    total_score: TotalScore = TotalScore()
    no_data: NoData = "fail"
    """What an objective with no value does: fail (scores 0, and fails a key SLI), warn (half), ignore (not scored)."""
    missing_baseline: Literal["pass", "fail"] = "pass"
    """A relative criterion when the service was never compliant: counts as met (Keptn's rule) or not."""
    max_age: Duration | None = None
    """Metrics evidence older than this fails the gate (stale); none by default."""
    objectives: Annotated[list[Objective], Field(min_length=1)]

    @model_validator(mode="after")
    def _unique(self) -> "Slo":
        seen: set[str] = set()
        for objective in self.objectives:
            if objective.sli in seen:
                raise ValueError(f"objective '{objective.sli}' is listed twice")
            seen.add(objective.sli)
        return self

