"""`gooseterm exporter`'s metrics, read from the demo ledger through prometheus-client's own text
format and parser (the real Prometheus answering the plan's queries is in
tests/integration/test_exporter_prometheus.py), gate durations in the ledger, the record of the
last verification, and the Grafana dashboard's JSON model.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from helpers.exports import append_notes, gooseterm, make_demo, open_ledger
from helpers.orgs import clone_home
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from gooseterm.exporter import LedgerCollector
from gooseterm.settings import Settings
from gooseterm.workspace import Workspace

REPO = Path(__file__).resolve().parents[2]
DASHBOARD = REPO / "exports" / "grafana" / "service-compliance.json"
PLAN_QUERIES = ('compliance_state{service=~"service-[abc]"}', 'promotion_status{service=~"service-[abc]"}', "service_dependencies")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("demo")
    make_demo(home)
    return home


@pytest.fixture
def home(demo: Path, tmp_path: Path) -> Path:
    return clone_home(demo, tmp_path / "home")


def collector(home: Path, refresh: float = 0.0) -> CollectorRegistry:
    ws = Workspace(Settings(home=home))
    registry = CollectorRegistry()
    registry.register(LedgerCollector(ws, ws.org(), refresh))
    return registry


def scrape(registry: CollectorRegistry) -> dict[str, dict[tuple, float]]:
    """{sample name: {sorted label items: value}} from the exposition text, as Prometheus reads it."""
    out: dict[str, dict[tuple, float]] = {}
    for family in text_string_to_metric_families(generate_latest(registry).decode()):
        for s in family.samples:
            out.setdefault(s.name, {})[tuple(sorted(s.labels.items()))] = s.value
    return out


def lit(samples: dict[tuple, float], *keys: str) -> set[tuple]:
    """The label values (in `keys` order) of the series whose value is 1."""
    return {tuple(dict(labels)[k] for k in keys) for labels, v in samples.items() if v == 1.0}


def test_compliance_state_lights_each_services_current_state(demo: Path) -> None:
    m = scrape(collector(demo))
    assert lit(m["compliance_state"], "service", "state") == {
        ("service-a", "sandbox"), ("service-b", "compliance_ready"), ("service-c", "compliant")}
    assert len(m["compliance_state"]) == 3 * 3  # every state of every service, 0 or 1


def test_promotion_status_shows_open_and_latest_promotions(demo: Path) -> None:
    m = scrape(collector(demo))
    current = lit(m["promotion_status"], "service", "status")
    assert current == {("service-a", "blocked"), ("service-b", "awaiting_approval"), ("service-c", "promoted")}
    with open_ledger(demo) as ledger:
        latest = {e.service: e.promotion for e in ledger.entries(kind="promotion.")}
    assert {dict(k)["promotion_id"] for k in m["promotion_status"]} == set(latest.values())


def test_service_dependencies_are_the_config_edges(demo: Path) -> None:
    m = scrape(collector(demo))
    ws = Workspace(Settings(home=demo))
    expected = {(name, ref.name, kind): 1.0 if ref.required else 0.0
                for name, s in ws.org().services.items() for kind, _, ref in s.spec.dependencies.by_kind()}
    got = {(dict(k)["service"], dict(k)["dependency"], dict(k)["kind"]): v for k, v in m["service_dependencies"].items()}
    assert got == expected and expected


def test_ledger_size_and_a_refresh_at_each_scrape(home: Path) -> None:
    registry = collector(home)
    before = scrape(registry)["gooseterm_ledger_entries"][()]
    append_notes(home, 2)
    assert scrape(registry)["gooseterm_ledger_entries"][()] == before + 2


def test_refresh_seconds_keeps_the_last_read(home: Path) -> None:
    registry = collector(home, refresh=3600)
    before = scrape(registry)["gooseterm_ledger_entries"][()]
    append_notes(home, 2)
    assert scrape(registry)["gooseterm_ledger_entries"][()] == before


def test_the_exporter_only_reads(home: Path) -> None:
    db = home / "ledger.db"
    before = db.read_bytes()
    registry = collector(home)
    for _ in range(3):
        scrape(registry)
    wal = home / "ledger.db-wal"
    assert db.read_bytes() == before
    assert not wal.exists() or wal.stat().st_size == 0


def test_gate_results_record_their_duration_and_the_histogram_counts_them(demo: Path) -> None:
    with open_ledger(demo) as ledger:
        gates = [e.predicate for e in ledger.entries(kind="gate.result")]
    assert gates and all(isinstance(g["duration_ms"], float) and g["duration_ms"] >= 0 for g in gates)
    m = scrape(collector(demo))
    counts = {dict(k)["gate"]: v for k, v in m["gooseterm_gate_duration_seconds_count"].items()}
    assert sum(counts.values()) == len(gates)
    assert counts == {g: sum(x["gate"] == g for x in gates) for g in {x["gate"] for x in gates}}
    sums = {dict(k)["gate"]: v for k, v in m["gooseterm_gate_duration_seconds_sum"].items()}
    for gate, total in sums.items():
        assert total == pytest.approx(sum(x["duration_ms"] for x in gates if x["gate"] == gate) / 1000)
    results = {(dict(k)["gate"], dict(k)["result"]): v for k, v in m["gooseterm_gate_results_total"].items()}
    assert sum(results.values()) == len(gates) and results.get(("all_tests_passing", "fail"), 0) >= 1


def test_the_last_verification_is_recorded_and_exported(home: Path, tmp_path: Path) -> None:
    assert "gooseterm_last_verification_valid" not in scrape(collector(home))
    code, _, _ = gooseterm(home, "verify", "--jobs", "1")
    assert code == 0
    m = scrape(collector(home))
    assert m["gooseterm_last_verification_valid"][()] == 1.0
    assert m["gooseterm_last_verification_entries"][()] == m["gooseterm_ledger_entries"][()]
    record = json.loads((home / "last-verify.json").read_text())
    assert record["valid"] is True and record["ledger"] == str((home / "ledger.db").resolve())
    code, _, _ = gooseterm(home, "export", "--out", str(tmp_path / "b"))
    gooseterm(home, "verify", "--jobs", "1", str(tmp_path / "b"))  # a bundle is not the ledger: not recorded
    assert json.loads((home / "last-verify.json").read_text()) == record


def test_an_invalid_verification_is_exported_with_its_faults(home: Path) -> None:
    with sqlite3.connect(home / "ledger.db") as conn:
        conn.execute("DROP TRIGGER entries_no_update")
        conn.execute("UPDATE entries SET row_sig = zeroblob(64) WHERE seq = 7")
    code, _, _ = gooseterm(home, "verify", "--jobs", "1")
    assert code == 1
    m = scrape(collector(home))
    assert m["gooseterm_last_verification_valid"][()] == 0.0
    assert m["gooseterm_last_verification_faults"][(("code", "row_signature_bad"),)] == 1.0


# -- the Grafana dashboard ---------------------------------------------------------------------------


def test_the_grafana_dashboard_has_the_plans_panels_and_queries() -> None:
    model = json.loads(DASHBOARD.read_text())
    assert model["title"] == "Service Compliance Status" and model["refresh"] == "5m"
    assert isinstance(model["schemaVersion"], int) and model["uid"]
    panels = model["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    by_title = {p["title"]: p for p in panels}
    expected = {"Compliance State": ("status-history", PLAN_QUERIES[0]), "Promotion Pipeline": ("table", PLAN_QUERIES[1]),
                "Dependency Graph": ("nodeGraph", PLAN_QUERIES[2])}
    for title, (kind, query) in expected.items():
        panel = by_title[title]
        assert panel["type"] == kind and any(query in t["expr"] for t in panel["targets"])
    variables = {v["name"]: v for v in model["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    for p in panels:
        assert set(p["gridPos"]) == {"h", "w", "x", "y"} and p["gridPos"]["x"] + p["gridPos"]["w"] <= 24
        assert p["datasource"]["uid"] == "${datasource}"
        assert all(t["refId"] and t["expr"] and t["datasource"]["uid"] == "${datasource}" for t in p["targets"])
