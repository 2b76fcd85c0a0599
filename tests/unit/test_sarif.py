"""SARIF 2.1.0 parsing: effective levels, suppressions, failed runs, real tool output."""

from __future__ import annotations

import json

import pytest
from evidence_samples import TOOL_FIXTURES, VENDORED_SAMPLES, sample_key, shared_sample_params, vendored

from gooseterm.adapters.errors import EvidenceError
from gooseterm.adapters.sarif import LEVELS, SarifFacts, parse_sarif

NOTHING = dict.fromkeys(LEVELS, 0)

# Hand-counted from the logs, per shared sample (path relative to the samples folder).
EXPECTED: dict[str, dict] = {
    # Nine results: five hidden (status-less or accepted suppressions), four visible.
    "sarif/Suppressions.sarif": dict(results=4, suppressed=5, by_level={**NOTHING, "warning": 4}),
    # ruleIndex 0/1 point at rules TUT0001 (default error) and TUT0002 (default warning), even
    # though the results' ruleId say TUT1001/TUT1002: the index decides (§3.52.5).
    "sarif/DefaultRuleConfiguration.sarif": dict(results=2, by_level={**NOTHING, "error": 1, "warning": 1}),
    "sarif/Baseline.sarif": dict(
        results=4, baseline_states={"absent": 1, "unchanged": 1, "updated": 1, "new": 1}, execution_successful=True
    ),
    "sarif/Notifications.sarif": dict(runs=1, results=0, execution_successful=False),
    "sarif/ExceptionalConditions/Catastrophic configuration error.sarif": dict(
        runs=1, results=0, execution_successful=False, tools=["CodeScanner"]
    ),
    "sarif/ExceptionalConditions/Catastrophic execution error.sarif": dict(
        runs=1, results=0, execution_successful=False
    ),
    "sarif/ExceptionalConditions/Empty runs.sarif": dict(runs=0, results=0, execution_successful=True, tools=[]),
    "sarif/ExceptionalConditions/No runs.sarif": dict(runs=0, results=0, execution_successful=False),
    "sarif/ExceptionalConditions/One run empty results.sarif": dict(runs=1, results=0, execution_successful=True),
    "sarif/ExceptionalConditions/One run no results.sarif": dict(runs=1, results=0, execution_successful=False),
    "sarif/ExceptionalConditions/One run with results.sarif": dict(
        runs=1, results=1, by_level={**NOTHING, "warning": 1}, execution_successful=True
    ),
    "sarif/1-Introduction/simple-example.sarif": dict(results=1, by_level={**NOTHING, "error": 1}, tools=["ESLint"]),
    "sarif/RuleMetadata.sarif": dict(results=1, by_level={**NOTHING, "error": 1}),
    "sarif/Taxonomies.sarif": dict(results=2, by_level={**NOTHING, "error": 1, "warning": 1}),
    "sarif/RegionVariants.sarif": dict(results=18, by_level={**NOTHING, "warning": 18}),
    "sarif/2-Basics/empty-log.sarif.json": dict(runs=1, results=0, execution_successful=True),
}

# Shared files that are not SARIF logs at all.
BROKEN = {"sarif/sarif-schema-2.1.0.json": "not a SARIF log"}

VENDORED = [key for key in EXPECTED if (VENDORED_SAMPLES / key).is_file()]


def assert_matches(facts: SarifFacts, expected: dict) -> None:
    assert {name: getattr(facts, name) for name in expected} == expected


def assert_consistent(facts: SarifFacts) -> None:
    assert set(facts.by_level) == set(LEVELS)
    assert facts.results == sum(facts.by_level.values())
    assert sum(facts.baseline_states.values()) <= facts.results
    assert facts.execution_successful is not bool(facts.notes)
    json.dumps(facts.model_dump(mode="json"), allow_nan=False)


def sarif(results: list, rules: list | None = None, **run) -> bytes:
    driver = {"name": "T", **({"rules": rules} if rules is not None else {})}
    tool = {"driver": driver, **run.pop("tool", {})}
    return json.dumps({"version": "2.1.0", "runs": [{"tool": tool, "results": results, **run}]}).encode()


def level_of(result: dict, rules: list | None = None, **run) -> str:
    facts = parse_sarif(sarif([result], rules, **run))
    [(level, _)] = [(level, count) for level, count in facts.by_level.items() if count]
    return level


@pytest.mark.parametrize("key", VENDORED)
def test_vendored_sample_matches_hand_count(key):
    facts = parse_sarif(vendored(key), key)
    assert_matches(facts, EXPECTED[key])
    assert_consistent(facts)


@pytest.mark.parametrize("path", shared_sample_params("sarif", (".sarif", ".json")))
def test_every_shared_sarif_sample_parses_or_is_refused(path):
    key = sample_key(path)
    if key in BROKEN:
        with pytest.raises(EvidenceError, match=BROKEN[key]):
            parse_sarif(path.read_bytes(), key)
        return
    facts = parse_sarif(path.read_bytes(), key)
    assert_consistent(facts)
    if key in EXPECTED:
        assert_matches(facts, EXPECTED[key])


# Effective level, SARIF §3.27.10, one rule at a time.


def test_explicit_level_wins_over_everything():
    rules = [{"id": "R1", "defaultConfiguration": {"level": "error"}}]
    assert level_of({"ruleId": "R1", "ruleIndex": 0, "level": "note", "message": {}}, rules) == "note"


@pytest.mark.parametrize("kind", ["pass", "open", "informational", "notApplicable", "review"])
def test_kind_other_than_fail_without_level_is_none(kind):
    rules = [{"id": "R1", "defaultConfiguration": {"level": "error"}}]
    assert level_of({"ruleId": "R1", "ruleIndex": 0, "kind": kind}, rules) == "none"


def test_explicit_kind_fail_still_looks_up_the_rule():
    rules = [{"id": "R1", "defaultConfiguration": {"level": "error"}}]
    assert level_of({"ruleId": "R1", "ruleIndex": 0, "kind": "fail"}, rules) == "error"


def test_rule_configuration_override_beats_the_default():
    rules = [{"id": "R1", "defaultConfiguration": {"level": "error"}}]
    override = {"descriptor": {"index": 0}, "configuration": {"level": "note"}}
    invocations = [{"executionSuccessful": True, "ruleConfigurationOverrides": [override]}]
    assert level_of({"ruleId": "R1", "ruleIndex": 0}, rules, invocations=invocations) == "note"


def test_override_is_read_from_the_invocation_the_result_names():
    rules = [{"id": "R1", "defaultConfiguration": {"level": "error"}}]
    invocations = [
        {"executionSuccessful": True},
        {
            "executionSuccessful": True,
            "ruleConfigurationOverrides": [{"descriptor": {"id": "R1"}, "configuration": {"level": "note"}}],
        },
    ]
    named_first = {"ruleId": "R1", "provenance": {"invocationIndex": 0}}
    named_second = {"ruleId": "R1", "provenance": {"invocationIndex": 1}}
    assert level_of(named_first, rules, invocations=invocations) == "error"
    assert level_of(named_second, rules, invocations=invocations) == "note"


def test_override_for_another_rule_does_not_apply():
    rules = [{"id": "R1", "defaultConfiguration": {"level": "error"}}, {"id": "R2"}]
    override = {"descriptor": {"index": 1}, "configuration": {"level": "note"}}
    invocations = [{"executionSuccessful": True, "ruleConfigurationOverrides": [override]}]
    assert level_of({"ruleId": "R1"}, rules, invocations=invocations) == "error"


def test_override_without_a_level_falls_through_to_the_default():
    rules = [{"id": "R1", "defaultConfiguration": {"level": "error"}}]
    override = {"descriptor": {"index": 0}, "configuration": {"enabled": True}}
    invocations = [{"executionSuccessful": True, "ruleConfigurationOverrides": [override]}]
    assert level_of({"ruleId": "R1"}, rules, invocations=invocations) == "error"


def test_rule_default_found_by_rule_index():
    rules = [{"id": "R0"}, {"id": "R1", "defaultConfiguration": {"level": "note"}}]
    assert level_of({"ruleIndex": 1}, rules) == "note"


def test_rule_default_found_by_rule_id():
    rules = [{"id": "R0"}, {"id": "R1", "defaultConfiguration": {"level": "error"}}]
    assert level_of({"ruleId": "R1"}, rules) == "error"


def test_rule_index_wins_over_a_disagreeing_rule_id():
    rules = [
        {"id": "R0", "defaultConfiguration": {"level": "note"}},
        {"id": "R1", "defaultConfiguration": {"level": "error"}},
    ]
    assert level_of({"ruleId": "R1", "ruleIndex": 0}, rules) == "note"


def test_hierarchical_rule_id_matches_its_rule():
    rules = [{"id": "CA5350", "defaultConfiguration": {"level": "error"}}]
    assert level_of({"ruleId": "CA5350/md5"}, rules) == "error"
    assert level_of({"ruleId": "CA53500"}, rules) == "warning"


def test_rule_reference_object_is_read_like_rule_id_and_index():
    rules = [{"id": "R0"}, {"id": "R1", "defaultConfiguration": {"level": "note"}}]
    assert level_of({"rule": {"index": 1}}, rules) == "note"
    assert level_of({"rule": {"id": "R1"}}, rules) == "note"


def test_rule_in_an_extension_named_by_tool_component():
    extension = {"name": "plugin", "rules": [{"id": "P1", "defaultConfiguration": {"level": "error"}}]}
    result = {"ruleId": "P1", "rule": {"index": 0, "toolComponent": {"index": 0}}}
    assert level_of(result, [{"id": "P1"}], tool={"extensions": [extension]}) == "error"


def test_rule_in_an_extension_named_by_guid():
    extension = {"guid": "g-1", "rules": [{"id": "P1", "defaultConfiguration": {"level": "note"}}]}
    result = {"rule": {"index": 0, "toolComponent": {"guid": "g-1"}}}
    assert level_of(result, [], tool={"extensions": [extension]}) == "note"


def test_rule_in_an_extension_found_by_id_alone():
    extension = {"name": "plugin", "rules": [{"id": "P1", "defaultConfiguration": {"level": "error"}}]}
    assert level_of({"ruleId": "P1"}, [], tool={"extensions": [extension]}) == "error"


def test_no_level_anywhere_is_warning():
    assert level_of({"ruleId": "unknown"}) == "warning"
    assert level_of({"ruleId": "R1"}, [{"id": "R1"}]) == "warning"


def test_bandit_medium_finding_has_no_level_and_defaults_to_warning():
    data = (TOOL_FIXTURES / "bandit-medium" / "bandit.sarif").read_bytes()
    assert "level" not in json.loads(data)["runs"][0]["results"][0]
    facts = parse_sarif(data)
    assert facts.by_level == {**NOTHING, "warning": 1}


def test_invalid_level_is_refused_with_its_json_path():
    with pytest.raises(EvidenceError) as refused:
        parse_sarif(sarif([{"ruleId": "R", "level": "info"}]), "x.sarif")
    assert refused.value.field == "runs[0].results[0].level"
    assert "'info'" in str(refused.value)


def test_invalid_kind_is_refused():
    with pytest.raises(EvidenceError, match="kind 'bad'"):
        parse_sarif(sarif([{"ruleId": "R", "kind": "bad"}]))


# Suppressions, §3.27.23 and §3.35.3.


@pytest.mark.parametrize(
    ("suppressions", "hidden"),
    [
        (None, False),
        ([], False),
        ([{"kind": "inSource"}], True),
        ([{"kind": "external", "status": "accepted"}], True),
        ([{"kind": "external", "status": "rejected"}], False),
        ([{"kind": "external", "status": "underReview"}], False),
        ([{"kind": "external", "status": "rejected"}, {"kind": "inSource"}], True),
        ([{"kind": "external", "status": "underReview"}, {"kind": "external", "status": "rejected"}], False),
    ],
)
def test_suppression_status_decides_whether_a_result_is_hidden(suppressions, hidden):
    result = {"ruleId": "R", "level": "error", **({"suppressions": suppressions} if suppressions is not None else {})}
    facts = parse_sarif(sarif([result]))
    assert (facts.suppressed, facts.results, facts.by_level["error"]) == ((1, 0, 0) if hidden else (0, 1, 1))


def test_baseline_states_count_only_unsuppressed_results():
    results = [
        {"ruleId": "R", "baselineState": "new"},
        {"ruleId": "R", "baselineState": "new", "suppressions": [{"kind": "inSource"}]},
        {"ruleId": "R", "baselineState": "unchanged"},
    ]
    assert parse_sarif(sarif(results)).baseline_states == {"new": 1, "unchanged": 1}


# Failed runs.


def test_execution_successful_false_fails_the_scan():
    facts = parse_sarif(sarif([], invocations=[{"executionSuccessful": False}]))
    assert facts.execution_successful is False
    assert facts.notes == ["runs[0] (T): invocations[0] reports executionSuccessful: false (§3.20.14)"]


def test_error_notification_fails_the_run_even_if_execution_claims_success():
    notification = {"level": "error", "message": {"text": "rule crashed"}}
    invocations = [{"executionSuccessful": True, "toolExecutionNotifications": [notification]}]
    facts = parse_sarif(sarif([], invocations=invocations))
    assert facts.execution_successful is False
    assert facts.notes == ["runs[0] (T): invocations[0].toolExecutionNotifications has an error: rule crashed"]


def test_notification_level_comes_from_its_descriptor():
    facts = parse_sarif(vendored("sarif/Notifications.sarif"))
    # TUTN9002 (default level error) fails the run; TUTN9001 (default warning) does not.
    assert facts.notes == [
        "runs[0] (SarifSamples): invocations[0] reports executionSuccessful: false (§3.20.14)",
        "runs[0] (SarifSamples): invocations[0].toolExecutionNotifications has an error: message id 'continue'",
    ]


def test_warning_notification_does_not_fail_the_run():
    invocations = [{"executionSuccessful": True, "toolConfigurationNotifications": [{"message": {"text": "w"}}]}]
    assert parse_sarif(sarif([], invocations=invocations)).execution_successful is True


def test_null_runs_means_the_producer_failed():
    facts = parse_sarif(vendored("sarif/ExceptionalConditions/No runs.sarif"))
    assert (facts.runs, facts.execution_successful) == (0, False)
    assert "§3.13.4" in facts.notes[0]


def test_run_without_results_array_did_not_complete():
    facts = parse_sarif(vendored("sarif/ExceptionalConditions/One run no results.sarif"))
    assert (facts.results, facts.execution_successful) == (0, False)
    assert "§3.14.23" in facts.notes[0]


def test_empty_runs_is_a_clean_parse():
    facts = parse_sarif(vendored("sarif/ExceptionalConditions/Empty runs.sarif"))
    assert (facts.runs, facts.results, facts.execution_successful) == (0, 0, True)


# Refusals.


def test_wrong_version_is_refused_with_its_line():
    data = b'{\n  "$schema": "x",\n  "version": "2.0.0",\n  "runs": []\n}'
    with pytest.raises(EvidenceError) as refused:
        parse_sarif(data, "old.sarif")
    assert (refused.value.line, refused.value.field) == (3, "version")
    assert "'2.0.0' is not supported" in str(refused.value)


@pytest.mark.parametrize("document", [b"[]", b'{"version": "2.1.0"}', b'{"runs": []}', b'{"$schema": "x"}'])
def test_json_that_is_not_sarif_is_refused(document):
    with pytest.raises(EvidenceError, match="not a SARIF log"):
        parse_sarif(document)


def test_bad_json_reports_its_line():
    with pytest.raises(EvidenceError) as refused:
        parse_sarif(b'{\n  "version": "2.1.0",\n  "runs": [\n    {"tool": }\n  ]\n}', "broken.sarif")
    assert refused.value.line == 4
    assert str(refused.value).startswith("broken.sarif:4: not valid JSON")


@pytest.mark.parametrize(
    ("document", "field"),
    [
        (b'{"version": "2.1.0", "runs": {}}', "runs"),
        (b'{"version": "2.1.0", "runs": [3]}', "runs[0]"),
        (b'{"version": "2.1.0", "runs": [{"results": {}}]}', "runs[0].results"),
        (b'{"version": "2.1.0", "runs": [{"results": ["x"]}]}', "runs[0].results[0]"),
    ],
)
def test_wrong_shapes_are_refused_with_their_json_path(document, field):
    with pytest.raises(EvidenceError) as refused:
        parse_sarif(document)
    assert refused.value.field == field


# Output of real tools.


def test_bandit_high_severity_finding_is_an_error():
    facts = parse_sarif((TOOL_FIXTURES / "service-a" / "bandit.sarif").read_bytes())
    assert (facts.results, facts.by_level["error"], facts.tools, facts.execution_successful) == (1, 1, ["Bandit"], True)


@pytest.mark.parametrize("service", ["service-a", "service-b", "service-c"])
def test_ruff_finds_nothing_in_any_service(service):
    facts = parse_sarif((TOOL_FIXTURES / service / "ruff.sarif").read_bytes())
    assert (facts.runs, facts.results, facts.tools, facts.execution_successful) == (1, 0, ["ruff"], True)


@pytest.mark.parametrize("service", ["service-b", "service-c"])
def test_bandit_finds_nothing_in_the_clean_services(service):
    facts = parse_sarif((TOOL_FIXTURES / service / "bandit.sarif").read_bytes())
    assert (facts.results, facts.suppressed, facts.execution_successful) == (0, 0, True)
