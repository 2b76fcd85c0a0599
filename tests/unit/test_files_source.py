"""The local-files evidence source: what it picks up, and what it refuses."""

from __future__ import annotations

from pathlib import Path

import pytest

from gooseterm.adapters.errors import EvidenceError
from gooseterm.adapters.files import find_evidence, kind_of

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "evidence"


@pytest.mark.parametrize(
    ("name", "kind"),
    [("junit.xml", "junit"), ("TEST-com.acme.Suite.xml", "junit"), ("bandit.sarif", "sarif"), ("ruff.sarif.json", "sarif"),
     ("coverage.xml", "coverage"), ("lcov.info", "coverage"), ("metrics.json", "metrics"), ("README.md", None), ("notes.xml", None)],
)
def test_file_names_map_to_evidence_kinds(name: str, kind: str | None) -> None:
    assert kind_of(name) == kind


def test_the_example_org_has_one_report_of_each_kind_per_service() -> None:
    found = find_evidence(EXAMPLE, "service-a")
    assert [(f.kind, f.path.name) for f in found] == [
        ("coverage", "coverage.xml"), ("junit", "junit.xml"), ("metrics", "metrics.json"), ("sarif", "bandit.sarif")]
    assert found[1].data == (EXAMPLE / "service-a" / "junit.xml").read_bytes()


def test_two_reports_of_one_kind_are_refused(tmp_path: Path) -> None:
    (tmp_path / "svc").mkdir()
    (tmp_path / "svc" / "junit.xml").write_text("<testsuite/>")
    (tmp_path / "svc" / "junit-rerun.xml").write_text("<testsuite/>")
    with pytest.raises(EvidenceError, match=r"2 junit files \(junit-rerun.xml, junit.xml\) for svc"):
        find_evidence(tmp_path, "svc")


def test_a_missing_service_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(EvidenceError, match="no evidence folder for svc"):
        find_evidence(tmp_path, "svc")


def test_a_link_out_of_the_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "svc").mkdir()
    secret = tmp_path / "secret.xml"
    secret.write_text("<testsuite/>")
    (tmp_path / "svc" / "junit.xml").symlink_to(secret)
    with pytest.raises(EvidenceError, match="links outside its folder"):
        find_evidence(tmp_path, "svc")
