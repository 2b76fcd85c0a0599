"""Coverage reports (Cobertura XML, coverage.py JSON, LCOV) into coverage facts."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from gooseterm.adapters.documents import load_json, load_text, load_xml
from gooseterm.adapters.errors import EvidenceError
from gooseterm.adapters.numbers import NumberError, json_count, whole_number

CoverageFormat = Literal["cobertura", "coveragepy-json", "lcov"]
COVERAGE_FORMATS: tuple[CoverageFormat, ...] = ("cobertura", "coveragepy-json", "lcov")

_CONDITION = re.compile(r"\(([0-9]+)/([0-9]+)\)")

# lines_valid, lines_covered, branches_valid, branches_covered, files
_Counts = tuple[int, int, int, int, int]


class CoverageFacts(BaseModel):
    """What a coverage report says, as counts and 0..1 rates whatever the input format."""

    model_config = ConfigDict(frozen=True, use_attribute_docstrings=True)

    kind: Literal["coverage"] = "coverage"
    """Evidence kind, for dispatch and storage."""
    source: str | None
    """Where the report came from, as the caller named it."""
    format: CoverageFormat
    """The input format, detected or forced."""
    line_rate: float
    """lines_covered / lines_valid, from 0 to 1 (0 when there are no lines)."""
    branch_rate: float | None
    """branches_covered / branches_valid, from 0 to 1; None when the report has no branch data."""
    lines_valid: int
    """Measurable lines (statements)."""
    lines_covered: int
    """Measurable lines that ran."""
    branches_valid: int
    """Branch destinations measured (0 without branch coverage)."""
    branches_covered: int
    """Branch destinations taken."""
    files: int
    """Source files in the report."""


def parse_coverage(data: bytes, source: str | None = None, fmt: CoverageFormat | None = None) -> CoverageFacts:
    """Parse a coverage report, detecting its format unless fmt forces one.

    Rates are always fractions from 0 to 1, computed from the line and branch counts. Cobertura's
    line-rate and branch-rate attributes are such fractions already. coverage.py JSON's
    totals.percent_covered is a percentage from 0 to 100 and, when branch coverage is on, blends
    statements and branches; a line-only report's percent_covered divided by 100 equals line_rate,
    and in every case line_rate is covered_lines / num_statements so that the JSON and XML written
    from one run give the same facts.
    """
    chosen = fmt or _detect(data, source)
    if chosen not in _PARSERS:
        raise EvidenceError(
            f"unknown coverage format {chosen!r}",
            path=source,
            hint=f"Use one of: {', '.join(COVERAGE_FORMATS)}",
        )
    counts = _PARSERS[chosen](data, source)
    lines_valid, lines_covered, branches_valid, branches_covered, files = counts
    for covered, valid, what in ((lines_covered, lines_valid, "lines"), (branches_covered, branches_valid, "branches")):
        if not 0 <= covered <= valid:
            raise EvidenceError(
                f"{what}: {covered} covered out of {valid} is impossible",
                path=source,
                hint="The report is inconsistent; regenerate it with the coverage tool",
            )
    return CoverageFacts(
        source=source,
        format=chosen,
        line_rate=lines_covered / lines_valid if lines_valid else 0.0,
        branch_rate=branches_covered / branches_valid if branches_valid else None,
        lines_valid=lines_valid,
        lines_covered=lines_covered,
        branches_valid=branches_valid,
        branches_covered=branches_covered,
        files=files,
    )


def _detect(data: bytes, source: str | None) -> CoverageFormat:
    head = data[:256].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        return "cobertura"
    if head.startswith(b"{"):
        return "coveragepy-json"
    if head:
        return "lcov"
    raise EvidenceError("coverage report is empty", path=source, hint="Check that the coverage tool wrote its report")


def _cobertura(data: bytes, source: str | None) -> _Counts:
    root = load_xml(data, source)
    if root.tag != "coverage":
        raise EvidenceError(
            f"root element is <{root.tag}>, not <coverage>: this is not a Cobertura report",
            path=source,
            field=f"<{root.tag}>",
            hint="Record the output of `coverage xml` (or another Cobertura writer)",
        )
    # Per-line data, for reports without the summary attributes. Keyed by file and line because
    # Java Cobertura lists a line both under its method and under its class.
    hits: dict[tuple[str | None, str | None], bool] = {}
    conditions: dict[tuple[str | None, str | None], tuple[int, int]] = {}
    files = set()
    for klass in root.iter("class"):
        filename = klass.get("filename")
        files.add(filename)
        for line in klass.iter("line"):
            key = (filename, line.get("number"))
            hits[key] = hits.get(key, False) or _attribute_int(line, "hits", source) > 0
            taken = _CONDITION.search(line.get("condition-coverage") or "")
            if taken:
                conditions[key] = (_whole(taken.group(1), line, "condition-coverage", source),
                                   _whole(taken.group(2), line, "condition-coverage", source))
    return (
        _summary_int(root, "lines-valid", len(hits), source),
        _summary_int(root, "lines-covered", sum(hits.values()), source),
        _summary_int(root, "branches-valid", sum(valid for _, valid in conditions.values()), source),
        _summary_int(root, "branches-covered", sum(covered for covered, _ in conditions.values()), source),
        len(files),
    )


def _summary_int(root: Any, name: str, recounted: int, source: str | None) -> int:
    return _attribute_int(root, name, source) if root.get(name) is not None else recounted


def _attribute_int(element: Any, name: str, source: str | None) -> int:
    return _whole(element.get(name, "0"), element, name, source)


def _whole(text: str, element: Any, name: str, source: str | None) -> int:
    try:
        return whole_number(text)
    except NumberError as exc:
        raise EvidenceError(
            f"attribute {name}={exc}",
            path=source,
            field=f"<{element.tag} {name}>",
            hint="Regenerate the report with the coverage tool",
        ) from None


def _coveragepy_json(data: bytes, source: str | None) -> _Counts:
    report = load_json(data, source)
    totals = report.get("totals") if isinstance(report, dict) else None
    if not isinstance(totals, dict) or "num_statements" not in totals:
        raise EvidenceError(
            "not a coverage.py JSON report: no totals.num_statements",
            path=source,
            field="totals",
            hint="Record the output of `coverage json`",
        )
    files = report.get("files")
    return (
        _json_int(totals, "num_statements", source),
        _json_int(totals, "covered_lines", source),
        _json_int(totals, "num_branches", source),
        _json_int(totals, "covered_branches", source),
        len(files) if isinstance(files, dict) else 0,
    )


def _json_int(totals: dict, name: str, source: str | None) -> int:
    try:
        return json_count(totals.get(name, 0))
    except NumberError as exc:
        raise EvidenceError(
            str(exc),
            path=source,
            field=f"totals.{name}",
            hint="Regenerate the report with `coverage json`",
        ) from None


def _lcov(data: bytes, source: str | None) -> _Counts:
    text = load_text(data, source)
    totals = [0, 0, 0, 0]
    files = 0
    record: _LcovRecord | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if line == "end_of_record":
            if record is None:
                raise _lcov_error("end_of_record without an SF: line before it", source, number)
            totals = [total + count for total, count in zip(totals, record.counts(), strict=True)]
            files += 1
            record = None
            continue
        key, colon, value = line.partition(":")
        if not colon:
            raise _lcov_error(f"{line[:40]!r} is not an LCOV KEY:VALUE line", source, number)
        if key == "SF":
            if record is not None:
                raise _lcov_error("SF: inside a record (end_of_record missing)", source, number)
            record = _LcovRecord()
        elif record is not None:
            record.read(key, value, source, number)
        elif key not in ("TN", "VER"):
            raise _lcov_error(f"{key}: outside a record (no SF: line before it)", source, number)
    if record is not None:
        raise _lcov_error("the file ends inside a record: it is truncated", source, None)
    if not files:
        raise _lcov_error("no SF: records: this is not an LCOV report", source, None)
    return totals[0], totals[1], totals[2], totals[3], files


class _LcovRecord:
    """One SF ... end_of_record block: summary lines when given, else the per-line data."""

    def __init__(self) -> None:
        self.summary: dict[str, int] = {}
        self.hits: dict[int, bool] = {}
        self.branches: dict[tuple[str, ...], bool] = {}

    def read(self, key: str, value: str, source: str | None, number: int) -> None:
        fields = value.split(",")
        if key in ("LF", "LH", "BRF", "BRH"):
            self.summary[key] = _lcov_int(value, key, source, number)
        elif key == "DA":
            if len(fields) < 2:
                raise _lcov_error("DA needs a line number and a hit count", source, number)
            line = _lcov_int(fields[0], key, source, number)
            self.hits[line] = self.hits.get(line, False) or _lcov_int(fields[1], key, source, number) > 0
        elif key == "BRDA":
            if len(fields) != 4:
                raise _lcov_error("BRDA needs line, block, branch and taken", source, number)
            branch = tuple(fields[:3])
            taken = fields[3] != "-" and _lcov_int(fields[3], key, source, number) > 0
            self.branches[branch] = self.branches.get(branch, False) or taken

    def counts(self) -> tuple[int, int, int, int]:
        recounted = {
            "LF": len(self.hits),
            "LH": sum(self.hits.values()),
            "BRF": len(self.branches),
            "BRH": sum(self.branches.values()),
        }
        lf, lh, brf, brh = (self.summary.get(key, recounted[key]) for key in ("LF", "LH", "BRF", "BRH"))
        return lf, lh, brf, brh


def _lcov_int(value: str, key: str, source: str | None, number: int) -> int:
    try:
        return whole_number(value)
    except NumberError as exc:
        raise _lcov_error(f"{key} value {exc}", source, number) from None


def _lcov_error(problem: str, source: str | None, number: int | None) -> EvidenceError:
    hint = "Regenerate the report (lcov --capture, or the test runner's lcov reporter)"
    return EvidenceError(problem, path=source, line=number, hint=hint)


_PARSERS: dict[str, Callable[[bytes, str | None], _Counts]] = {
    "cobertura": _cobertura,
    "coveragepy-json": _coveragepy_json,
    "lcov": _lcov,
}
