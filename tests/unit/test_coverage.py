"""Coverage parsing: Cobertura XML, coverage.py JSON and LCOV into the same 0..1 facts."""

from __future__ import annotations

import json

import pytest
from evidence_samples import TOOL_FIXTURES, VENDORED_SAMPLES, sample_key, shared_sample_params, vendored

from gooseterm.adapters.coverage import CoverageFacts, parse_coverage
from gooseterm.adapters.errors import EvidenceError

# Hand-checked against coverage.py's gold files (path relative to the samples folder).
EXPECTED: dict[str, dict] = {
    "coverage/coveragepy_x_xml.xml": dict(
        format="cobertura",
        line_rate=2 / 3,
        branch_rate=None,
        lines_valid=3,
        lines_covered=2,
        branches_valid=0,
        branches_covered=0,
        files=1,
    ),
    "coverage/coveragepy_y_xml_branch.xml": dict(
        format="cobertura",
        line_rate=0.8,
        branch_rate=0.5,
        lines_valid=5,
        lines_covered=4,
        branches_valid=2,
        branches_covered=1,
        files=1,
    ),
}

VENDORED = [key for key in EXPECTED if (VENDORED_SAMPLES / key).is_file()]

LCOV = b"""TN:
SF:/src/app/a.py
DA:1,1
DA:2,0
DA:3,5
BRDA:3,0,0,1
BRDA:3,0,1,-
LF:3
LH:2
BRF:2
BRH:1
end_of_record
SF:/src/app/b.py
DA:1,1
DA:2,1
end_of_record
"""


def assert_matches(facts: CoverageFacts, expected: dict) -> None:
    assert {name: getattr(facts, name) for name in expected} == pytest.approx(expected)


def assert_consistent(facts: CoverageFacts) -> None:
    assert 0.0 <= facts.line_rate <= 1.0
    assert facts.branch_rate is None or 0.0 <= facts.branch_rate <= 1.0
    assert (facts.branch_rate is None) == (facts.branches_valid == 0)
    json.dumps(facts.model_dump(mode="json"), allow_nan=False)


def cobertura(attributes: str, body: str = "") -> bytes:
    return f'<?xml version="1.0" ?><coverage {attributes}><packages>{body}</packages></coverage>'.encode()


@pytest.mark.parametrize("key", VENDORED)
def test_vendored_gold_file_matches_hand_count(key):
    facts = parse_coverage(vendored(key), key)
    assert_matches(facts, EXPECTED[key])
    assert_consistent(facts)


@pytest.mark.parametrize("path", shared_sample_params("coverage", (".xml",)))
def test_every_shared_coverage_sample_parses(path):
    key = sample_key(path)
    facts = parse_coverage(path.read_bytes(), key)
    assert_consistent(facts)
    if key in EXPECTED:
        assert_matches(facts, EXPECTED[key])


@pytest.mark.parametrize("service", ["service-a", "service-b", "service-c"])
def test_xml_and_json_from_one_coverage_run_give_the_same_facts(service):
    xml = parse_coverage((TOOL_FIXTURES / service / "coverage.xml").read_bytes())
    from_json = parse_coverage((TOOL_FIXTURES / service / "coverage.json").read_bytes())
    assert (xml.format, from_json.format) == ("cobertura", "coveragepy-json")
    assert xml.model_dump(exclude={"format"}) == from_json.model_dump(exclude={"format"})
    assert_consistent(xml)


def test_coveragepy_json_line_rate_is_lines_not_the_blended_percentage():
    data = (TOOL_FIXTURES / "service-a" / "coverage.json").read_bytes()
    # With --branch, percent_covered is (7 + 1) / (10 + 2) = 66.67; the line rate is 7 / 10.
    assert json.loads(data)["totals"]["percent_covered"] == pytest.approx(66.6667, abs=1e-3)
    facts = parse_coverage(data)
    assert (facts.line_rate, facts.branch_rate) == (0.7, 0.5)


def test_line_only_run_has_no_branch_rate():
    facts = parse_coverage((TOOL_FIXTURES / "service-c" / "coverage.json").read_bytes())
    assert (facts.line_rate, facts.branch_rate, facts.branches_valid) == (1.0, None, 0)


def test_lcov_sums_records_and_recounts_missing_summaries():
    facts = parse_coverage(LCOV, "lcov.info")
    assert_matches(
        facts,
        dict(format="lcov", lines_valid=5, lines_covered=4, branches_valid=2, branches_covered=1, files=2),
    )
    assert facts.line_rate == pytest.approx(0.8)


def test_lcov_summary_lines_are_taken_as_written():
    facts = parse_coverage(b"SF:a.c\nDA:1,1\nLF:10\nLH:9\nend_of_record\n")
    assert (facts.lines_valid, facts.lines_covered) == (10, 9)


@pytest.mark.parametrize(
    ("report", "fragment", "line"),
    [
        (b"SF:a.c\nDA:1,1\n", "ends inside a record", None),
        (b"SF:a.c\nDA:1,1\nDA:2,x\nend_of_record\n", "DA value 'x' is not a whole number", 3),
        (b"SF:a.c\nDA:one,1\nend_of_record\n", "DA value 'one' is not a whole number", 2),
        (b"SF:a.c\nthis is prose\nend_of_record\n", "not an LCOV KEY:VALUE line", 2),
        (b"TN:\nDA:1,1\n", "outside a record", 2),
        (b"TN:\n", "no SF: records", None),
        (b"SF:a.c\nSF:b.c\n", "end_of_record missing", 2),
        (b"end_of_record\n", "without an SF: line", 1),
        (b"SF:a.c\nBRDA:1,0,0\nend_of_record\n", "BRDA needs", 2),
    ],
)
def test_broken_lcov_is_refused_with_its_line(report, fragment, line):
    with pytest.raises(EvidenceError, match=fragment) as refused:
        parse_coverage(report, fmt="lcov")
    assert refused.value.line == line


def test_cobertura_without_summary_attributes_is_recounted_from_lines():
    body = (
        '<package><classes><class filename="a.py"><lines>'
        '<line number="1" hits="1"/><line number="2" hits="0" branch="true" condition-coverage="50% (1/2)"/>'
        '</lines><methods><method><lines><line number="1" hits="1"/></lines></method></methods>'
        "</class></classes></package>"
    )
    facts = parse_coverage(cobertura("", body))
    assert_matches(
        facts, dict(lines_valid=2, lines_covered=1, branches_valid=2, branches_covered=1, files=1, line_rate=0.5)
    )


def test_cobertura_with_more_covered_than_valid_lines_is_refused():
    with pytest.raises(EvidenceError, match="lines: 5 covered out of 3 is impossible"):
        parse_coverage(cobertura('lines-valid="3" lines-covered="5"'))


def test_cobertura_with_a_malformed_count_is_refused():
    with pytest.raises(EvidenceError) as refused:
        parse_coverage(cobertura('lines-valid="many" lines-covered="1"'))
    assert refused.value.field == "<coverage lines-valid>"


def test_report_with_no_lines_has_line_rate_zero():
    facts = parse_coverage(cobertura('lines-valid="0" lines-covered="0" line-rate="1"'))
    assert (facts.line_rate, facts.lines_valid) == (0.0, 0)


def test_xml_that_is_not_cobertura_is_refused_naming_its_root():
    with pytest.raises(EvidenceError, match=r"root element is <testsuites>, not <coverage>"):
        parse_coverage(b"<testsuites/>")


def test_json_that_is_not_coveragepy_is_refused():
    with pytest.raises(EvidenceError, match=r"not a coverage\.py JSON report"):
        parse_coverage(b'{"version": "2.1.0", "runs": []}')


def test_coveragepy_json_with_a_bad_count_is_refused():
    with pytest.raises(EvidenceError) as refused:
        parse_coverage(b'{"totals": {"num_statements": "10", "covered_lines": 1}}')
    assert refused.value.field == "totals.num_statements"


def test_format_can_be_forced():
    with pytest.raises(EvidenceError, match="not an LCOV KEY:VALUE line"):
        parse_coverage(vendored("coverage/coveragepy_x_xml.xml"), fmt="lcov")
    assert parse_coverage(b"\n\nSF:x\nend_of_record\n", fmt="lcov").files == 1


def test_unknown_format_is_refused_listing_the_known_ones():
    with pytest.raises(EvidenceError, match="cobertura, coveragepy-json, lcov"):
        parse_coverage(LCOV, fmt="jacoco")


def test_empty_report_is_refused():
    with pytest.raises(EvidenceError, match="coverage report is empty"):
        parse_coverage(b"  \n")
