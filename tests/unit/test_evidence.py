"""Evidence dispatch, safety limits, metrics and specs, and the adapters' layering."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest
from evidence_samples import REPO, SHARED_SAMPLES, TOOL_FIXTURES, VENDORED_SAMPLES
from hypothesis import given, settings
from hypothesis import strategies as st

from gooseterm.adapters.errors import EvidenceError
from gooseterm.adapters.evidence import EVIDENCE_KINDS, MAX_EVIDENCE_BYTES, parse_evidence
from gooseterm.adapters.junit import parse_junit
from gooseterm.adapters.sarif import parse_sarif

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
  <!ENTITY lol "lol">
  <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<testsuites><testsuite name="&lol4;"/></testsuites>
"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE coverage [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<coverage lines-valid="1" lines-covered="1">&secret;</coverage>
"""

TOOL_EVIDENCE = [
    ("junit", "service-a/junit.xml"),
    ("coverage", "service-b/coverage.xml"),
    ("coverage", "service-b/coverage.json"),
    ("sarif", "service-a/bandit.sarif"),
    ("sarif", "service-c/ruff.sarif"),
]


def test_evidence_kinds_are_the_recorded_kinds():
    assert EVIDENCE_KINDS == ("junit", "sarif", "coverage", "metrics", "spec", "kubernetes", "mesh", "environment_approvals")


@pytest.mark.parametrize(("kind", "relative"), TOOL_EVIDENCE)
def test_dispatch_returns_facts_of_the_requested_kind(kind, relative):
    facts = parse_evidence(kind, (TOOL_FIXTURES / relative).read_bytes(), relative)
    assert (facts.kind, facts.source) == (kind, relative)
    json.dumps(facts.model_dump(mode="json"), allow_nan=False)


def test_unknown_kind_is_refused_listing_the_valid_ones():
    with pytest.raises(EvidenceError) as refused:
        parse_evidence("lint", b"{}", "x.json")
    assert str(refused.value) == (
        "x.json: unknown evidence kind 'lint'. Use one of: junit, sarif, coverage, metrics, spec, kubernetes, mesh, environment_approvals"
    )


@pytest.mark.parametrize("kind", EVIDENCE_KINDS)
def test_oversized_evidence_is_refused_before_parsing(kind):
    with pytest.raises(EvidenceError, match="over the limit of 67108864 bytes") as refused:
        parse_evidence(kind, b" " * (MAX_EVIDENCE_BYTES + 1), "huge")
    assert refused.value.path == "huge"


def test_parsers_called_directly_also_refuse_oversized_input():
    with pytest.raises(EvidenceError, match="64 MiB"):
        parse_sarif(b" " * (MAX_EVIDENCE_BYTES + 1))


@pytest.mark.parametrize("kind", ["junit", "coverage"])
def test_billion_laughs_entity_declarations_are_refused(kind):
    with pytest.raises(
        EvidenceError, match=r"document type declaration \(<!DOCTYPE \.\.\.>\), which is refused"
    ) as refused:
        parse_evidence(kind, BILLION_LAUGHS, "lolz.xml")
    assert (refused.value.line, refused.value.field) == (2, "<!DOCTYPE>")


@pytest.mark.parametrize("kind", ["junit", "coverage"])
def test_external_entities_are_refused(kind):
    with pytest.raises(EvidenceError, match=r"document type declaration \(<!DOCTYPE \.\.\.>\), which is refused"):
        parse_evidence(kind, EXTERNAL_ENTITY, "xxe.xml")


def test_any_doctype_is_refused_even_without_entities():
    with pytest.raises(EvidenceError, match="remove it"):
        parse_junit(b'<?xml version="1.0"?>\n<!DOCTYPE testsuites>\n<testsuites/>')


def test_error_names_path_line_field_and_what_to_do():
    error = EvidenceError("x is wrong", path="a.xml", line=3, field="<b c>", hint="Fix x")
    assert (error.path, error.line, error.field, error.problem, error.hint) == (
        "a.xml",
        3,
        "<b c>",
        "x is wrong",
        "Fix x",
    )
    assert str(error) == "a.xml:3 (<b c>): x is wrong. Fix x"
    assert str(EvidenceError("bad")) == "<evidence>: bad"


def test_invalid_utf8_is_refused_with_its_line():
    with pytest.raises(EvidenceError, match="not valid utf-8") as refused:
        parse_evidence("sarif", b'{\n"version":\n"\xff"}', "bad.sarif")
    assert refused.value.line == 3


def test_deeply_nested_json_is_refused():
    with pytest.raises(EvidenceError, match="nested too deeply"):
        parse_evidence("metrics", b"[" * 100_000, "deep.json")


def test_bare_nan_literal_is_not_json():
    with pytest.raises(EvidenceError, match="bare literal NaN") as refused:
        parse_evidence("metrics", b'{"error_rate": NaN}', "m.json")
    assert refused.value.path == "m.json"


SEEDS = [path.read_bytes() for path in sorted(TOOL_FIXTURES.rglob("*")) if path.suffix in (".xml", ".json", ".sarif")]
SEEDS += [b'{"a": "NaN", "b": 2}', b"service:\n  name: a\n", b"SF:a\nDA:1,1\nBRDA:1,0,0,1\nend_of_record\n"]
SPLICES = [b"<", b">", b'"', b"{", b"}", b"]", b",", b"null", b"-1", b"NaN", b"\xff", b"\x00", b"&", b"\n", b"*a"]
SPLICES += [b'encoding="bogus"', b'"level": 5', b'"suppressions": 3', b'time="x"', b'hits="-1"', b"<!DOCTYPE x>"]


@st.composite
def damaged_evidence(draw) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        if draw(st.booleans()):
            del data[at : at + draw(st.integers(1, 20))]
        else:
            data[at:at] = draw(st.sampled_from(SPLICES) | st.binary(min_size=1, max_size=4))
    return bytes(data)


@settings(max_examples=300, derandomize=True, deadline=None)
@given(kind=st.sampled_from(EVIDENCE_KINDS), data=damaged_evidence())
def test_damaged_evidence_gives_facts_or_an_evidence_error_never_another_exception(kind, data):
    try:
        facts = parse_evidence(kind, data, "damaged")
    except EvidenceError:
        return
    json.dumps(facts.model_dump(mode="json"), allow_nan=False)


@pytest.mark.parametrize("declaration", [b'encoding="bogus"', b'encoding="shift_jis"'])
def test_xml_in_an_unreadable_encoding_is_refused(declaration):
    with pytest.raises(EvidenceError, match="encoding that cannot be read"):
        parse_junit(b'<?xml version="1.0" ' + declaration + b"?><testsuites/>")


# Metrics.


def test_metrics_accept_numbers_and_numeric_strings():
    facts = parse_evidence("metrics", b'{"requests": 120, "error_rate": "0.002", "p99": "1e-1", "neg": "-3"}', "m")
    assert facts.values == {"requests": 120.0, "error_rate": 0.002, "p99": 0.1, "neg": -3.0}
    assert facts.non_finite == []


def test_prometheus_nan_and_inf_are_recorded_and_flagged():
    facts = parse_evidence("metrics", b'{"b": "+Inf", "a": "NaN", "c": "-Inf", "d": "Inf", "ok": 1}', "m")
    assert facts.non_finite == ["a", "b", "c", "d"]
    assert math.isnan(facts.values["a"]) and facts.values["b"] == math.inf and facts.values["c"] == -math.inf
    dumped = facts.model_dump(mode="json")
    assert dumped["values"] == {"b": "+Inf", "a": "NaN", "c": "-Inf", "d": "+Inf", "ok": 1.0}
    json.dumps(dumped, allow_nan=False)


@pytest.mark.parametrize("value", ["true", "null", '"fast"', '"1_000"', '""', "[1]", '{"v": 1}'])
def test_metric_values_that_are_not_numbers_are_refused(value):
    with pytest.raises(EvidenceError, match="is not a number") as refused:
        parse_evidence("metrics", f'{{"latency": {value}}}'.encode(), "m")
    assert refused.value.field == "latency"


@pytest.mark.parametrize(("document", "fragment"), [(b"[1, 2]", "JSON object"), (b'{"": 1}', "empty name")])
def test_metrics_must_be_an_object_of_named_values(document, fragment):
    with pytest.raises(EvidenceError, match=fragment):
        parse_evidence("metrics", document, "m")


# Specs.


def test_yaml_spec_names_its_service():
    facts = parse_evidence("spec", b"service:\n  name: service-a\n  tier: 1\ndepends_on: [service-b]\n", "a.yaml")
    assert facts.service_name == "service-a"
    assert facts.spec == {"service": {"name": "service-a", "tier": 1}, "depends_on": ["service-b"]}


def test_json_spec_is_read_too():
    assert parse_evidence("spec", b'{"service": {"name": "service-c"}}', "c.json").service_name == "service-c"


@pytest.mark.parametrize(
    ("document", "fragment"),
    [
        (b"- a\n- b\n", "not a mapping"),
        (b"1: x\n", "not a mapping"),
        (b"service: service-a\n", "service.name"),
        (b"service:\n  name: ''\n", "service.name"),
        (b"name: service-a\n", "service.name"),
    ],
)
def test_spec_without_a_service_name_is_refused(document, fragment):
    with pytest.raises(EvidenceError, match=fragment):
        parse_evidence("spec", document, "s.yaml")


def test_bad_yaml_reports_its_line():
    with pytest.raises(EvidenceError, match="not valid YAML") as refused:
        parse_evidence("spec", b"service:\n  name: a\n  tier: [1, 2\n", "s.yaml")
    assert refused.value.line == 4


def test_yaml_python_tags_are_refused():
    with pytest.raises(EvidenceError, match="not valid YAML"):
        parse_evidence("spec", b"service: !!python/object/apply:os.system ['true']\n", "s.yaml")


def test_yaml_alias_bomb_is_refused():
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 8)]
    bomb = ("\n".join(lines) + "\nservice: {name: s}\n").encode()
    with pytest.raises(EvidenceError, match="expands to more than"):
        parse_evidence("spec", bomb, "bomb.yaml")


def test_impossible_yaml_date_is_refused():
    with pytest.raises(EvidenceError, match="not valid YAML"):
        parse_evidence("spec", b"service: {name: s}\nsince: 2024-13-45\n", "s.yaml")


# Test data and layering.


def test_vendored_samples_match_shared():
    if not SHARED_SAMPLES.is_dir():
        pytest.skip(f"shared samples not found at {SHARED_SAMPLES}")
    copies = [path for path in VENDORED_SAMPLES.rglob("*") if path.is_file() and path.name != "PROVENANCE.md"]
    assert copies
    for copy in copies:
        original = SHARED_SAMPLES / copy.relative_to(VENDORED_SAMPLES)
        assert copy.read_bytes() == original.read_bytes(), f"{copy} differs from {original}"


def test_adapters_import_nothing_of_ledger_gooseterm_or_the_tui():
    # At run time, beside the static contract "adapters-alone" in pyproject.toml.
    probe = (
        "import sys, gooseterm.adapters.evidence; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich') "
        "or (m.startswith('gooseterm.') and not m.startswith('gooseterm.adapters'))))"
    )
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=REPO)
    loaded = run.stdout
    assert loaded.strip() == "[]"
