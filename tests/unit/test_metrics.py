"""The plan's success metrics (plan 7), computed from the ledger the demo and the tests write."""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers.orgs import CLEAN, EVIDENCE, EVIDENCE_FILES, build_org

from gooseterm.cli import main
from gooseterm.demo import build_demo
from gooseterm.metrics import DAY, MONTH, Metric, compute, to_text
from gooseterm.orgconfig import bundled_config_dir, load_org
from gooseterm.settings import Settings
from gooseterm.ledger.signing import sign_note
from gooseterm.ledger.store import Ledger
from gooseterm.ledger.verifier import Checkpoint

NOW = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
SLACK = 120  # seconds: the demo's clock adds 3 s per entry on top of its scripted times


def by_key(metrics: list[Metric]) -> dict[str, Metric]:
    return {m.key: m for m in metrics}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("demo")
    build_demo(Settings(home=home), load_org(bundled_config_dir()), now=lambda: NOW)
    return home


@pytest.fixture
def demo_metrics(demo: Path) -> dict[str, Metric]:
    with Ledger.open(demo / "ledger.db", readonly=True) as ledger:
        return by_key(compute(ledger))


# What the demo did (gooseterm/demo.py): service-c, -b and -a onboarded 4d20h before the end;
# service-c promoted to compliance_ready at 4d (20 h later) and, after approvals, to compliant at
# 3d2h; service-b promoted to compliance_ready at 1d8h (3.5 days after onboarding) and waits for
# its second approval; service-a's first request is blocked. CI collected every evidence file
# ("files"); only the onboarding specs came by hand.


def test_time_to_onboard_is_onboarded_to_first_promotion(demo_metrics) -> None:
    m = demo_metrics["time_to_onboard"]
    per = m.detail["per_service_seconds"]
    assert per["service-a"] is None
    assert per["service-c"] == pytest.approx(20 * 3600, abs=SLACK)
    assert per["service-b"] == pytest.approx(3.5 * DAY, abs=SLACK)
    assert m.value == pytest.approx((per["service-b"] + per["service-c"]) / 2)
    assert (m.detail["onboarded"], m.detail["promoted"]) == (3, 2)
    assert m.met is False and m.target == "< 1 day" and m.unit == "seconds"


def test_first_promotion_success_rate(demo_metrics) -> None:
    m = demo_metrics["first_promotion_success"]
    assert m.value == pytest.approx(2 / 3) and m.met is False
    assert m.detail["first_outcome"] == {"service-a": "blocked", "service-b": "promoted", "service-c": "promoted"}


def test_evidence_automation_leaves_out_the_onboarding_specs(demo_metrics) -> None:
    m = demo_metrics["evidence_automation"]
    assert m.value == 1.0 and m.met is True
    assert m.detail == {"automated": 12, "manual": 0, "by_collector": {"files": 12}, "specs_not_counted": 3}


def test_dependency_resolution_accuracy(demo_metrics) -> None:
    m = demo_metrics["dependency_accuracy"]
    assert m.value == 1.0 and m.met is True
    assert m.detail == {"promotions": 3, "with_dependencies_not_compliant": []}


def test_false_positive_rate(demo_metrics) -> None:
    m = demo_metrics["false_positive_rate"]
    assert m.value == 0.0 and m.met is True
    assert m.detail == {"blocked_or_failed": 1, "overridden": []}


def test_pipeline_p95_includes_the_wait_for_approvals(demo_metrics) -> None:
    m = demo_metrics["pipeline_p95"]
    # Two promotions to compliance_ready take seconds; service-c's to compliant waited 22 h.
    assert m.value == pytest.approx(22 * 3600, abs=SLACK) and m.met is False
    assert m.detail["promoted"] == 3 and m.detail["median_seconds"] < 60


def test_evidence_bytes_per_service_per_month(demo_metrics) -> None:
    m = demo_metrics["evidence_storage"]
    config = bundled_config_dir()
    expected = {
        s: (config / "services" / f"{s}.yaml").stat().st_size + sum((EVIDENCE / s / f).stat().st_size for f in EVIDENCE_FILES.values())
        for s in ("service-a", "service-b", "service-c")
    }
    assert m.detail["bytes"] == expected
    assert m.detail["bytes_per_month"] == expected  # five days of history count as one month
    assert m.value == max(expected.values()) and m.met is True


def test_evidence_chain_validation_checks_every_checkpoint(demo_metrics) -> None:
    m = demo_metrics["evidence_chain_validation"]
    assert m.value == 1.0 and m.met is True
    assert m.detail["checkpoints"] == 2 and m.detail["latest_ok"] is True
    assert m.detail["entries_after_latest"] == 0 and m.detail["bad"] == []


def test_every_plan_metric_is_reported_with_its_target(demo_metrics) -> None:
    assert [(k, m.target) for k, m in demo_metrics.items()] == [
        ("time_to_onboard", "< 1 day"),
        ("first_promotion_success", "> 90%"),
        ("evidence_automation", "100%"),
        ("dependency_accuracy", "100%"),
        ("false_positive_rate", "< 0.1%"),
        ("evidence_chain_validation", "100%"),
        ("mesh_latency", "< 10 ms"),
        ("pipeline_p95", "< 30 min"),
        ("evidence_storage", "< 1 GB/service/month"),
    ]
    assert demo_metrics["mesh_latency"].value is None and demo_metrics["mesh_latency"].met is None


def test_text_table_shows_value_target_and_verdict(demo_metrics) -> None:
    lines = to_text(list(demo_metrics.values())).splitlines()
    assert lines[0].split() == ["metric", "value", "target"]
    cells = {row[0]: row[1:] for row in (re.split(r"\s{2,}", line) for line in lines[1:])}
    assert cells["First-promotion success rate"] == ["66.7%", "> 90%", "NOT MET"]
    assert cells["Evidence collection automated"] == ["100.0%", "100%", "met"]
    assert cells["Service mesh latency overhead"] == ["no data", "< 10 ms", "-"]


def test_cli_metrics(demo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOSETERM_HOME", str(demo))
    result = CliRunner().invoke(main, ["metrics", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["ledger"] == str(demo / "ledger.db")
    assert [m["key"] for m in data["metrics"]][:2] == ["time_to_onboard", "first_promotion_success"]
    text = CliRunner().invoke(main, ["metrics"])
    assert text.exit_code == 0 and "Promotion pipeline P95" in text.output and "NOT MET" in text.output


# Ledgers the tests write


@pytest.fixture
def org(tmp_path: Path):
    t = build_org(tmp_path / "home")
    yield t
    t.close()


def test_an_empty_ledger_has_no_data(org) -> None:
    metrics = by_key(compute(org.ledger))
    assert {k for k, m in metrics.items() if m.value is not None} == {"evidence_chain_validation"}
    assert all(m.met is None for k, m in metrics.items() if k != "evidence_chain_validation")


def test_an_overridden_block_is_a_false_positive_and_a_dependency_miss(org) -> None:
    org.make_compliant("service-c")
    org.as_("dave").demote("service-c", "drift")
    org.onboard("service-b")
    org.collect("service-b", CLEAN)
    blocked = org.as_("alice").request("service-b", "compliance_ready")
    assert blocked.status == "blocked"
    org.as_("dave").override(blocked.promotion, "hotfix")
    metrics = by_key(compute(org.ledger))
    assert metrics["false_positive_rate"].value == 1.0 and metrics["false_positive_rate"].met is False
    assert metrics["false_positive_rate"].detail["overridden"] == [blocked.promotion]
    accuracy = metrics["dependency_accuracy"]
    assert accuracy.value == pytest.approx(2 / 3)
    (miss,) = accuracy.detail["with_dependencies_not_compliant"]
    assert miss["promotion"] == blocked.promotion and miss["not_compliant"] == ["service-c"]
    assert metrics["first_promotion_success"].detail["first_outcome"] == {"service-b": "overridden", "service-c": "promoted"}


def test_evidence_added_by_hand_is_not_automated(org) -> None:
    org.onboard(CLEAN)
    org.collect(CLEAN)
    org.add(CLEAN, "junit", EVIDENCE / CLEAN / "junit.xml")
    m = by_key(compute(org.ledger))["evidence_automation"]
    assert m.value == pytest.approx(4 / 5) and m.met is False
    assert m.detail["by_collector"] == {"files": 4, "cli": 1}


def test_storage_is_spread_over_the_months_it_spans(org) -> None:
    org.onboard(CLEAN)
    org.clock.advance(timedelta(days=91))
    org.collect(CLEAN)
    m = by_key(compute(org.ledger))["evidence_storage"]
    total = m.detail["bytes"][CLEAN]
    assert m.value == pytest.approx(total / (91 * DAY / MONTH), rel=1e-3)


def test_a_checkpoint_whose_root_differs_is_reported(org) -> None:
    org.onboard(CLEAN)
    size = org.size()
    body = Checkpoint(org.ledger.origin, size - 1, bytes(32)).body()
    conn = sqlite3.connect(org.ledger_path)
    conn.execute("INSERT INTO checkpoints (size, note, created) VALUES (?, ?, ?)", (size - 1, sign_note(body, [org.ledger.signer]), "x"))
    conn.commit()
    conn.close()
    m = by_key(compute(org.ledger))["evidence_chain_validation"]
    assert m.value == 0.5 and m.met is False
    assert m.detail["bad"] == [{"size": size - 1, "problem": "root or size differs from the stored tree"}]
