"""`gooseterm onboard`: a service file from the org's template, checked with the whole config
before it is written, and its onboarding recorded in the ledger; all or nothing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers.orgs import row_count

from gooseterm.cli import main
from gooseterm.onboarding import onboard
from gooseterm.orgconfig import bundled_config_dir, load_org
from gooseterm.settings import Settings
from gooseterm.workspace import Workspace
from gooseterm.ledger.store import Ledger


@pytest.fixture
def org_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A writable copy of the example org, configured, with a ledger whose admin is dave."""
    root = Path(shutil.copytree(bundled_config_dir(), tmp_path / "my-org"))
    monkeypatch.setenv("GOOSETERM_CONFIG", str(root))
    assert run("init", "--name", "dave").exit_code == 0
    return root


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def ledger_size() -> int:
    return row_count(Settings().ledger_path)


def onboarded(service: str) -> list:
    with Ledger.open(Settings().ledger_path, readonly=True) as ledger:
        return ledger.entries(kind="service.onboarded", service=service)


def test_onboard_writes_the_service_from_the_template_and_records_it(org_dir: Path) -> None:
    result = run("onboard", "service-d", "--owner", "alice", "--owner", "sre", "--description", "Payments: refunds")
    assert result.exit_code == 0, result.output
    file = org_dir / "services" / "service-d.yaml"
    service = load_org(org_dir).services["service-d"]
    assert service.owners == ["alice", "sre"] and service.description == "Payments: refunds"
    (entry,) = onboarded("service-d")
    with Ledger.open(Settings().ledger_path, readonly=True) as ledger:
        assert ledger.blob(entry.predicate["spec_digest"]) == file.read_bytes()
    first = result.output.splitlines()[0]
    assert first.startswith(f"onboarded service-d at seq {entry.seq} ({entry.time}) in ") and first.endswith(" s")
    assert f"wrote {file} from the template" in result.output
    assert "gooseterm promote service-d --to compliance_ready" in result.output
    assert not [p for p in file.parent.iterdir() if p.name.startswith(".")]  # no temporary file left


def test_onboard_as_json(org_dir: Path) -> None:
    result = run("onboard", "service-d", "--owner", "alice", "--json")
    data = json.loads(result.output)
    assert result.exit_code == 0
    assert data["service"] == "service-d" and data["file"] == str(org_dir / "services" / "service-d.yaml")
    assert data["seq"] == onboarded("service-d")[0].seq and data["seqs"][-1] == data["seq"]
    assert 0 <= data["seconds"] < 60
    assert data["next"] == "gooseterm promote service-d --to compliance_ready"


def test_a_service_already_in_the_config_is_recorded_without_writing(org_dir: Path) -> None:
    file = org_dir / "services" / "service-a.yaml"
    before = file.read_bytes()
    result = run("onboard", "service-a")
    assert result.exit_code == 0, result.output
    assert "wrote" not in result.output and file.read_bytes() == before
    assert len(onboarded("service-a")) == 1
    again = run("onboard", "service-a")
    assert again.exit_code == 1
    assert f"service-a was onboarded at seq {onboarded('service-a')[0].seq}" in again.stderr


def test_a_service_not_in_the_config_needs_an_owner(org_dir: Path) -> None:
    result = run("onboard", "service-z")
    assert result.exit_code == 2
    assert f"service-z is not in the config at {org_dir}; pass --owner to create services/service-z.yaml" in result.stderr


def test_description_without_owner_is_a_usage_error(org_dir: Path) -> None:
    assert run("onboard", "service-a", "--description", "x").exit_code == 2


def test_an_invalid_name_is_refused_and_nothing_is_written(org_dir: Path) -> None:
    size = ledger_size()
    result = run("onboard", "Service_D", "--owner", "alice")
    assert result.exit_code == 2
    assert "service.name: 'Service_D' is not a valid service name" in result.stderr
    assert sorted(p.name for p in (org_dir / "services").iterdir()) == ["service-a.yaml", "service-b.yaml", "service-c.yaml"]
    assert ledger_size() == size


def test_an_existing_service_file_is_not_overwritten(org_dir: Path) -> None:
    file = org_dir / "services" / "service-b.yaml"
    before = file.read_bytes()
    result = run("onboard", "service-b", "--owner", "alice")
    assert result.exit_code == 2
    assert f"{file} already exists; to record it in the ledger run `gooseterm onboard service-b` without --owner" in result.stderr
    assert file.read_bytes() == before and onboarded("service-b") == []


def test_the_bundled_example_is_never_edited(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GOOSETERM_CONFIG", raising=False)
    assert run("init", "--name", "dave").exit_code == 0
    result = run("onboard", "service-d", "--owner", "alice")
    assert result.exit_code == 2
    bundled = bundled_config_dir()
    assert f"cp -r {bundled} ./my-org && export GOOSETERM_CONFIG=./my-org" in result.stderr
    assert not (bundled / "services" / "service-d.yaml").exists()


def test_the_whole_config_is_checked_with_the_new_file_before_writing(org_dir: Path) -> None:
    size = ledger_size()
    result = run("onboard", "service-e", "--owner", "nobody")
    assert result.exit_code == 2
    new = org_dir / "services" / "service-e.yaml"
    assert f"{new}:7:12: service.owners[0]: unknown owner 'nobody'" in result.stderr
    assert not new.exists() and ledger_size() == size


def test_a_config_broken_elsewhere_stops_onboarding(org_dir: Path) -> None:
    states = org_dir / "states.yaml"
    states.write_text(states.read_text().replace("initial: sandbox", "initial: sandbx"))
    result = run("onboard", "service-d", "--owner", "alice")
    assert result.exit_code == 2
    assert f"{states}:" in result.stderr and "unknown state 'sandbx'" in result.stderr
    assert not (org_dir / "services" / "service-d.yaml").exists()


def test_the_file_is_removed_again_when_the_ledger_refuses(org_dir: Path) -> None:
    assert run("onboard", "service-d", "--owner", "alice").exit_code == 0
    file = org_dir / "services" / "service-d.yaml"
    file.unlink()
    size = ledger_size()
    result = run("onboard", "service-d", "--owner", "alice")
    assert result.exit_code == 1 and "service-d was onboarded at seq" in result.stderr
    assert not file.exists() and ledger_size() == size


def test_without_a_signing_identity_nothing_is_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = Path(shutil.copytree(bundled_config_dir(), tmp_path / "org"))
    monkeypatch.setenv("GOOSETERM_CONFIG", str(root))
    result = run("onboard", "service-d", "--owner", "alice")
    assert result.exit_code == 2 and "no signing identity" in result.stderr
    assert not (root / "services" / "service-d.yaml").exists()


def test_onboarding_time_is_measured(org_dir: Path) -> None:
    ticks = iter([100.0, 100.25])
    out = onboard(Workspace(Settings()), "service-d", ["alice"], clock=lambda: next(ticks))
    assert out.seconds == 0.25 and out.file == str(org_dir / "services" / "service-d.yaml")
