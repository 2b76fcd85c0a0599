"""JUnit XML parsing: real reports from many runners, counted over unique test cases."""

from __future__ import annotations

import json

import pytest
from evidence_samples import TOOL_FIXTURES, VENDORED_SAMPLES, sample_key, shared_sample_params, vendored

from gooseterm.adapters.errors import EvidenceError
from gooseterm.adapters.junit import MAX_LISTED_FAILURES, MAX_MESSAGE_CHARS, JUnitFacts, parse_junit

COUNTS = ("tests", "passed", "failed", "errors", "skipped", "flaky", "suites", "duplicates")

# Hand-counted from the XML, per shared sample (path relative to the samples folder).
EXPECTED: dict[str, dict] = {
    "junit/pytest/junit.fail.xml": dict(
        tests=5, passed=3, failed=1, errors=0, skipped=1, flaky=0, suites=1, duplicates=0, duration_seconds=2.481
    ),
    "junit/jest/jest-junit.xml": dict(
        tests=2, passed=2, failed=0, errors=0, skipped=0, flaky=0, suites=1, duplicates=0, duration_seconds=0.929
    ),
    # Mocha: 109 <testcase> entries, 8 of them repeat a (classname, name) pair.
    "junit/mocha/latex-utensils.xml": dict(
        tests=101, passed=101, failed=0, errors=0, skipped=0, flaky=0, suites=1, duplicates=8, duration_seconds=0.29
    ),
    "junit/no-cases-but-tests.xml": dict(
        tests=0, passed=0, failed=0, errors=0, skipped=0, flaky=0, suites=1, duplicates=0, duration_seconds=0.01
    ),
    "junit/no-cases.xml": dict(tests=0, passed=0, failed=0, errors=0, skipped=0, suites=1, duplicates=0),
    # One case carries <skipped/>, <failure> and <error>: the error wins.
    "junit/junit.multiresult.xml": dict(
        tests=4, passed=1, failed=1, errors=1, skipped=1, flaky=0, suites=1, duplicates=0, duration_seconds=1.158
    ),
    "junit/no-attributes.xml": dict(tests=4, passed=1, failed=1, errors=1, skipped=1, suites=1, duplicates=0),
    "junit/minimal-attributes.xml": dict(tests=4, passed=1, failed=1, errors=1, skipped=1, suites=1, duplicates=0),
    "junit/testsuite-in-testsuite.xml": dict(
        tests=5, passed=5, failed=0, errors=0, skipped=0, suites=4, duplicates=0, duration_seconds=4.807419
    ),
    "junit/testsuite-root.xml": dict(
        tests=5, passed=5, failed=0, errors=0, skipped=0, suites=4, duplicates=0, duration_seconds=4.807419
    ),
    # tst: status='disabled' with no <skipped/> child counts as skipped.
    "junit/tst/disabled.xml": dict(
        tests=31, passed=6, failed=19, errors=1, skipped=5, suites=2, duplicates=0, duration_seconds=0.002
    ),
    "junit/with-xml-entities.xml": dict(tests=4, passed=0, failed=1, errors=1, skipped=2, suites=1),
    "junit/unsupported-unicode.xml": dict(tests=7, passed=1, failed=2, errors=2, skipped=2, duration_seconds=8.61),
    # The suite claims tests="173"; the file holds two cases (and starts with a byte-order mark).
    "junit/xunit/xunit.xml": dict(tests=2, passed=2, failed=0, errors=0, skipped=0, suites=1, duration_seconds=4.26),
    "junit/bazel/suite-logs.xml": dict(tests=1, passed=0, failed=0, errors=1, skipped=0, duration_seconds=0.0),
    "junit/empty-system-out-err.xml": dict(tests=1, passed=1, duration_seconds=1.234),
    "junit/scalatest/TEST-uk.co.gresearch.spark.diff.DiffOptionsSuite.xml": dict(
        tests=5, passed=5, failed=0, errors=0, skipped=0, duration_seconds=2.238
    ),
    "junit/pytest/junit.gloo.standalone.xml": dict(tests=97, passed=80, skipped=17, failed=0, errors=0),
    "junit/pytest/junit.gloo.elastic.xml": dict(tests=14, passed=10, skipped=4, duration_seconds=72.194),
}

# Shared samples that must be refused, with a fragment of the message and the line reported.
BROKEN: dict[str, tuple[str, int | None]] = {
    "junit/pytest/corrupt-xml.xml": ("not well-formed XML", 11),
    "junit/non-junit.xml": ("root element is <suites>", None),
}

VENDORED = [key for key in EXPECTED if (VENDORED_SAMPLES / key).is_file()]


def assert_matches(facts: JUnitFacts, expected: dict) -> None:
    actual = {name: getattr(facts, name) for name in expected}
    assert actual == pytest.approx(expected)


def assert_consistent(facts: JUnitFacts) -> None:
    assert facts.tests == facts.passed + facts.failed + facts.errors + facts.skipped
    assert facts.flaky <= facts.passed
    assert len(facts.failures) == min(facts.failed + facts.errors, MAX_LISTED_FAILURES)
    assert all(getattr(facts, name) >= 0 for name in COUNTS)
    json.dumps(facts.model_dump(mode="json"), allow_nan=False)


def junit(cases: str, root: str = "testsuites") -> bytes:
    return f'<?xml version="1.0"?><{root}><testsuite name="s">{cases}</testsuite></{root}>'.encode()


@pytest.mark.parametrize("key", VENDORED)
def test_vendored_sample_matches_hand_count(key):
    facts = parse_junit(vendored(key), key)
    assert_matches(facts, EXPECTED[key])
    assert_consistent(facts)


@pytest.mark.parametrize("path", shared_sample_params("junit", (".xml",)))
def test_every_shared_junit_sample_parses_or_is_refused(path):
    key = sample_key(path)
    if key in BROKEN:
        fragment, line = BROKEN[key]
        with pytest.raises(EvidenceError, match=fragment) as refused:
            parse_junit(path.read_bytes(), key)
        assert refused.value.line == line
        assert refused.value.path == key
        return
    facts = parse_junit(path.read_bytes(), key)
    assert_consistent(facts)
    if key in EXPECTED:
        assert_matches(facts, EXPECTED[key])


def test_failing_case_is_listed_with_the_first_line_of_its_message():
    facts = parse_junit(vendored("junit/pytest/junit.fail.xml"))
    [failure] = facts.failures
    assert failure.id == "test.test_spark.SparkTests::test_rsh_events"
    assert failure.outcome == "failure"
    # The message attribute holds raw newlines, which XML attribute-value normalisation (XML 1.0
    # §3.3.3) turns into spaces: it arrives as one long line, cut at MAX_MESSAGE_CHARS.
    assert failure.message.startswith("self = <test_spark.SparkTests testMethod=test_rsh_events>")
    assert len(failure.message) == MAX_MESSAGE_CHARS


def test_jest_counts_come_from_the_cases_not_the_suite_attributes():
    # jest-junit writes no skipped= and may write wrong totals; the parser never reads them.
    lying = junit('<testcase classname="" name="a"/><testcase classname="" name="b"><skipped/></testcase>')
    lying = lying.replace(b"<testsuites>", b'<testsuites tests="0" failures="3">')
    facts = parse_junit(lying)
    assert (facts.tests, facts.passed, facts.skipped, facts.failed) == (2, 1, 1, 0)
    assert facts.notes == [
        "the report declares tests=0 but holds 2 <testcase> entries; all counts here are recomputed from the entries"
    ]


def test_jest_empty_classname_uses_the_name_as_id():
    report = junit('<testcase classname="" name="Mount iframe"><failure message="boom"/></testcase>')
    assert parse_junit(report).failures[0].id == "Mount iframe"


def test_suite_that_claims_tests_but_has_no_cases_counts_zero_with_a_note():
    facts = parse_junit(vendored("junit/no-cases-but-tests.xml"))
    assert facts.tests == 0
    assert "declares tests=6 but holds 0 <testcase> entries" in facts.notes[0]


def test_zero_tests_is_a_valid_parse_not_an_error():
    facts = parse_junit(b"<testsuites/>")
    assert (facts.tests, facts.suites, facts.duration_seconds, facts.notes) == (0, 0, 0.0, [])


def test_duplicate_names_count_once():
    facts = parse_junit(vendored("junit/mocha/latex-utensils.xml"))
    assert (facts.tests, facts.duplicates) == (101, 8)
    assert any("merged 8 repeated <testcase> entries" in note for note in facts.notes)


@pytest.mark.parametrize(
    ("outcomes", "expected"),
    [
        (["<failure/>", "", "<error/>"], "errors"),
        (["<failure/>", ""], "failed"),
        (["", "<skipped/>"], "skipped"),
        (["", ""], "passed"),
    ],
)
def test_reruns_of_one_case_keep_the_worst_outcome(outcomes, expected):
    cases = "".join(f'<testcase classname="c" name="flappy">{child}</testcase>' for child in outcomes)
    facts = parse_junit(junit(cases))
    assert facts.tests == 1
    assert getattr(facts, expected) == 1
    assert facts.duplicates == len(outcomes) - 1


def test_same_name_in_another_class_is_another_case():
    facts = parse_junit(junit('<testcase classname="a" name="t"/><testcase classname="b" name="t"/>'))
    assert (facts.tests, facts.duplicates) == (2, 0)


def test_unnamed_cases_are_never_merged():
    facts = parse_junit(vendored("junit/no-attributes.xml"))
    assert facts.tests == 4
    assert [failure.id for failure in facts.failures] == ["<unnamed testcase #3>", "<unnamed testcase #4>"]


def test_surefire_flaky_failure_on_a_passing_case_is_flaky_and_passed():
    cases = (
        '<testcase classname="Svc" name="retried"><flakyFailure message="timeout"/></testcase>'
        '<testcase classname="Svc" name="retried_error"><flakyError message="npe"/></testcase>'
        '<testcase classname="Svc" name="steady"/>'
    )
    facts = parse_junit(junit(cases))
    assert (facts.tests, facts.passed, facts.flaky, facts.failed) == (3, 3, 2, 0)


def test_surefire_case_that_failed_every_rerun_is_failed_not_flaky():
    case = '<testcase classname="Svc" name="broken"><failure message="x"/><rerunFailure message="x"/></testcase>'
    facts = parse_junit(junit(case))
    assert (facts.failed, facts.flaky, facts.passed) == (1, 0, 0)


def test_pytest_xfail_written_by_pytest_counts_as_skipped():
    facts = parse_junit((TOOL_FIXTURES / "service-b" / "junit.xml").read_bytes())
    assert (facts.tests, facts.passed, facts.skipped, facts.failed, facts.errors) == (5, 3, 2, 0, 0)


def test_pytest_failure_and_setup_error_from_a_real_run():
    facts = parse_junit((TOOL_FIXTURES / "service-a" / "junit.xml").read_bytes(), "service-a/junit.xml")
    assert (facts.tests, facts.passed, facts.failed, facts.errors) == (5, 3, 1, 1)
    assert [(f.id, f.outcome, f.message) for f in facts.failures] == [
        ("billing_checks::test_discount_rounds_in_customer_favour", "failure", "assert 900 == 899"),
        (
            "billing_checks::test_invoice_is_stored",
            "error",
            'failed on setup with "ConnectionError: ledger database unreachable"',
        ),
    ]


def test_nested_testsuites_are_walked_and_counted():
    facts = parse_junit(vendored("junit/testsuite-in-testsuite.xml"))
    assert (facts.tests, facts.suites, facts.duration_seconds) == (5, 4, 4.807419)


def test_status_disabled_without_skipped_element_counts_as_skipped():
    assert parse_junit(vendored("junit/tst/disabled.xml")).skipped == 5


def test_predefined_and_character_entities_are_legitimate():
    facts = parse_junit(vendored("junit/with-xml-entities.xml"))
    assert [failure.id for failure in facts.failures] == [
        "Test with 'apostrophe' in the test name",
        "Test with & in the test name",
    ]
    assert parse_junit(junit('<testcase name="caf&#233; &#x2713;"/>')).tests == 1


def test_corrupt_xml_reports_the_parser_line():
    with pytest.raises(EvidenceError) as refused:
        parse_junit(vendored("junit/pytest/corrupt-xml.xml"), "corrupt-xml.xml")
    assert refused.value.line == 11
    assert str(refused.value).startswith("corrupt-xml.xml:11: not well-formed XML")


def test_xml_that_is_not_junit_is_refused_naming_its_root():
    with pytest.raises(EvidenceError) as refused:
        parse_junit(vendored("junit/non-junit.xml"), "non-junit.xml")
    assert refused.value.field == "<suites>"
    assert "not a JUnit XML report" in str(refused.value)
    assert "pytest --junitxml" in str(refused.value)


def test_failure_list_is_capped_but_counts_are_not():
    cases = "".join(f'<testcase classname="c" name="t{i}"><failure message="m{i}"/></testcase>' for i in range(25))
    facts = parse_junit(junit(cases))
    assert facts.failed == 25
    assert len(facts.failures) == MAX_LISTED_FAILURES
    assert facts.failures[0].message == "m0"


def test_failure_message_falls_back_to_the_element_text():
    case = '<testcase name="t"><failure>\n\n  first line\nsecond line</failure></testcase>'
    assert parse_junit(junit(case)).failures[0].message == "first line"
    assert parse_junit(junit('<testcase name="t"><error/></testcase>')).failures[0].message == "(no message)"


def test_duration_falls_back_to_the_sum_of_case_times():
    facts = parse_junit(vendored("junit/junit.multiresult.xml"))
    assert facts.duration_seconds == pytest.approx(1.158)


def test_unreadable_times_are_ignored_with_a_note():
    facts = parse_junit(junit('<testcase name="a" time="1,5"/><testcase name="b" time="2"/>'))
    assert facts.duration_seconds == 2.0
    assert facts.notes == ["ignored 1 time attributes that are not a non-negative number"]


def test_root_testsuite_is_accepted():
    facts = parse_junit(b'<testsuite name="x" time="3"><testcase name="a"/></testsuite>')
    assert (facts.tests, facts.suites, facts.duration_seconds) == (1, 1, 3.0)
