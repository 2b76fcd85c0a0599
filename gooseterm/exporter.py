"""The Prometheus exporter: the ledger's current state as metrics, for the plan's dashboards (3.6).

    compliance_state{service,state}                  1 for the service's current state, 0 for the others
    promotion_status{service,promotion_id,status}    1 for the current status, 0 for the other open statuses
                                                     and those seen; each service's open promotions and latest
    service_dependencies{service,dependency,kind}    1 for a required dependency, 0 for an optional one
    gooseterm_ledger_entries                         the ledger's size
    gooseterm_ledger_checkpoint_entries              the size of its newest signed checkpoint
    gooseterm_last_verification_valid                1/0, from the last `gooseterm verify` (verification_record)
    gooseterm_last_verification_timestamp_seconds    when it ran
    gooseterm_last_verification_entries              how many entries it verified
    gooseterm_last_verification_faults{code}         its faults by class
    gooseterm_gate_duration_seconds{gate}            histogram of the recorded gate results' durations
    gooseterm_gate_results_total{gate,result}        recorded gate results by verdict

Read-only: every refresh opens the ledger read-only (SQLite mode=ro) and reads the projections;
gate results are read once each, incrementally, by seq. A refresh happens at each scrape, or at
most every `refresh_seconds`.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric

from gooseterm.ledger.store import Ledger

from .kinds import EntryKind
from .orgconfig import OrgConfig
from .promotions import Orchestrator
from .statuses import OPEN_STATUSES
from .verification_record import last_verification
from .workspace import Workspace

DURATION_BUCKETS = (0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0)


class LedgerCollector:
    """A prometheus-client collector over one ledger and its org config."""

    def __init__(self, workspace: Workspace, org: OrgConfig, refresh_seconds: float = 0.0):
        self.workspace = workspace
        self.org = org
        self.refresh_seconds = refresh_seconds
        self._lock = threading.Lock()  # scrapes arrive on several threads; one refresh at a time
        self._metrics: list[Metric] | None = None
        self._refreshed = 0.0
        self._gates_after = -1
        self._durations: dict[str, list[float]] = defaultdict(lambda: [0.0] * (len(DURATION_BUCKETS) + 2))
        """Per gate: a count per bucket (le), then the count of all, then the sum of seconds."""
        self._results: dict[tuple[str, str], int] = defaultdict(int)

    def describe(self) -> list[Metric]:
        """Nothing up front: registering must not read the ledger."""
        return []

    def collect(self) -> Iterator[Metric]:
        """The metrics as of now, or as of the last refresh when it is younger than refresh_seconds."""
        with self._lock:
            stale = time.monotonic() - self._refreshed >= self.refresh_seconds
            if self._metrics is None or stale:
                self._metrics = self._read()
                self._refreshed = time.monotonic()
            metrics = list(self._metrics)
        yield from metrics

    def _read(self) -> list[Metric]:
        with Ledger.open(self.workspace.settings.ledger_path, readonly=True) as ledger:
            orch = Orchestrator(ledger, self.org)
            states = orch.states()
            promotions = orch.promotions()
            size = ledger.size()
            cps = ledger.checkpoints()
            self._read_gates(ledger)
        return [
            self._compliance(states),
            self._promotions(promotions),
            self._dependencies(),
            GaugeMetricFamily("gooseterm_ledger_entries", "Entries in the ledger.", value=size),
            GaugeMetricFamily("gooseterm_ledger_checkpoint_entries", "Size of the newest signed checkpoint.",
                              value=cps[-1][0] if cps else 0),
            *self._verification(),
            *self._gate_metrics(),
        ]

    def _compliance(self, states: dict[str, str]) -> Metric:
        m = GaugeMetricFamily("compliance_state", "1 for the service's current compliance state, 0 for the others.",
                              labels=["service", "state"])
        for service, current in sorted(states.items()):
            for state in self.org.states.states:
                m.add_metric([service, state], 1.0 if state == current else 0.0)
        return m

    def _promotions(self, promotions: list[dict]) -> Metric:
        m = GaugeMetricFamily("promotion_status", "1 for the promotion's current status, 0 for the others; "
                              "each service's open promotions and its latest.", labels=["service", "promotion_id", "status"])
        latest = {p["service"]: p["id"] for p in promotions}  # oldest first, so the last one wins
        statuses = sorted(set(OPEN_STATUSES) | {p["status"] for p in promotions})
        for p in promotions:
            if p["status"] in OPEN_STATUSES or latest[p["service"]] == p["id"]:
                for status in statuses:
                    m.add_metric([p["service"], p["id"], status], 1.0 if status == p["status"] else 0.0)
        return m

    def _dependencies(self) -> Metric:
        m = GaugeMetricFamily("service_dependencies", "A dependency of a service (plan 3.1): 1 required, 0 optional.",
                              labels=["service", "dependency", "kind"])
        for name, service in sorted(self.org.services.items()):
            for kind, _, ref in service.spec.dependencies.by_kind():
                m.add_metric([name, ref.name, kind], 1.0 if ref.required else 0.0)
        return m

    def _verification(self) -> list[Metric]:
        last = last_verification(self.workspace.settings)
        if last is None:
            return []
        when = datetime.fromisoformat(last["time"]).timestamp()
        faults = GaugeMetricFamily("gooseterm_last_verification_faults", "Faults of the last verification, by class.",
                                   labels=["code"])
        for code, count in sorted(last["faults"].items()):
            faults.add_metric([code], count)
        return [
            GaugeMetricFamily("gooseterm_last_verification_valid", "1 when the last `gooseterm verify` found the ledger valid.",
                              value=1.0 if last["valid"] else 0.0),
            GaugeMetricFamily("gooseterm_last_verification_timestamp_seconds", "When the last verification ran (UTC).",
                              value=when),
            GaugeMetricFamily("gooseterm_last_verification_entries", "Entries the last verification checked.", value=last["size"]),
            faults,
        ]

    def _read_gates(self, ledger: Ledger) -> None:
        for e in ledger.entries(kind=EntryKind.GATE_RESULT, after=self._gates_after):
            p = e.predicate
            gate = str(p.get("gate"))
            self._results[(gate, str(p.get("result")))] += 1
            if isinstance(p.get("duration_ms"), (int, float)):
                seconds, counts = p["duration_ms"] / 1000, self._durations[gate]
                for i, bound in enumerate(DURATION_BUCKETS):
                    counts[i] += seconds <= bound
                counts[-2] += 1
                counts[-1] += seconds
            self._gates_after = e.seq

    def _gate_metrics(self) -> list[Metric]:
        hist = HistogramMetricFamily("gooseterm_gate_duration_seconds", "How long each recorded gate evaluation took.",
                                     labels=["gate"])
        for gate, counts in sorted(self._durations.items()):
            buckets = [(str(b), counts[i]) for i, b in enumerate(DURATION_BUCKETS)] + [("+Inf", counts[-2])]
            hist.add_metric([gate], buckets, sum_value=counts[-1])
        results = CounterMetricFamily("gooseterm_gate_results", "Recorded gate results by gate and verdict.",
                                      labels=["gate", "result"])
        for (gate, result), n in sorted(self._results.items()):
            results.add_metric([gate, result], n)
        return [hist, results]


def serve(workspace: Workspace, host: str, port: int, refresh_seconds: float = 0.0):
    """Start the exporter's HTTP server on a thread; returns (server, bound port)."""
    registry = CollectorRegistry()
    registry.register(LedgerCollector(workspace, workspace.org(), refresh_seconds))
    server, _ = start_http_server(port, addr=host, registry=registry)
    return server, server.server_address[1]
