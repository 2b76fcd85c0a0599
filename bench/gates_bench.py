"""Orchestration benchmark: planning a large graph, and the gates of a 100-service wave.

    .venv/bin/python bench/gates_bench.py [--services N] [--edges M] [--wave N] [--runs R]

(a) 10,000 services with 50,000 dependencies: `DependencyGraph.waves()` (Kahn generations plus
    the cycle check) beside the floor, raw `nx.topological_generations` on the same graph.
(b) A config of `--wave` services (default 100) that form one promotion wave on top of 5
    compliant platform services (each wave service depends on two of them, one optionally),
    every wave service onboarded with the example org's local evidence of service-b (JUnit,
    SARIF, coverage, metrics; collector "files"), in a ledger in a temporary folder. Timed:
    `Orchestrator.plan()` of the wave (its predicted gates), and the real `request()` of every
    wave service to compliance_ready, each in its own durable transaction (request entry, three
    gate results and the promotion, all signed). The floor is the raw parse of the same
    evidence files (4 per service) with gooseterm's own parsers, nothing else.

Medians of --runs runs (5 for planning; each request run on a fresh copy of the prepared ledger).
Prints a table and writes $GOOSETERM_CACHE/bench/gates_bench.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import networkx as nx
from nacl.signing import SigningKey

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench"), str(ROOT / "tests")]

from helpers.orgs import (
    EVIDENCE,
    EVIDENCE_FILES,
    build_org,
    service_yaml,
    utc_now,
    write_config,
)
from resolver_bench import median_seconds, random_dag

from gooseterm.adapters.evidence import parse_evidence
from gooseterm.errors import Refusal
from gooseterm.gates import VALIDATORS
from gooseterm.orgconfig import load_org
from gooseterm.projections import project_appended
from gooseterm.promotions import Orchestrator
from gooseterm.resolver import DependencyGraph
from gooseterm.ledger.keys import KeyStore
from gooseterm.ledger.store import Ledger

from benchdir import OUT  # noqa: E402
LIKE = "service-b"  # whose example evidence passes every gate of sandbox -> compliance_ready
PLATFORM = 5
GOALS = {"planning_s": 1.0, "wave_gates_s": 2.0}


def machine() -> dict:
    """CPU model, cores and versions, for the numbers to be read against."""
    model = "unknown"
    try:
        model = next(
            line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")
        )
    except (OSError, StopIteration):
        pass
    return {"cpu": model, "cores": os.cpu_count(), "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version, "platform": platform.platform()}


def bench_graph(services: int, edges: int, seed: int) -> dict:
    """(a) waves() of a large random DAG beside nx.topological_generations."""
    dag = random_dag(services, edges, random.Random(seed))
    graph = DependencyGraph(dag)
    raw = nx.DiGraph((e.dependent, e.dependency) for e in dag)
    waves_s, waves_min = median_seconds(graph.waves)
    floor_s, floor_min = median_seconds(lambda: list(nx.topological_generations(raw)))
    return {"services": services, "edges": edges, "waves": len(graph.waves()),
            "waves_s": waves_s, "waves_min_s": waves_min, "floor_s": floor_s, "floor_min_s": floor_min}


def wave_config(root: Path, size: int) -> list[str]:
    """A config of PLATFORM platform services and `size` services depending on them."""
    platform_names = [f"platform-{i}" for i in range(PLATFORM)]
    wave = [f"svc-{i:03d}" for i in range(size)]
    services = {p: service_yaml(p) for p in platform_names}
    for i, s in enumerate(wave):
        services[s] = service_yaml(s, [platform_names[i % PLATFORM]], [platform_names[(i + 1) % PLATFORM]])
    write_config(root, services)
    return wave


def prepare(work: Path, size: int) -> tuple[Path, Path, list[str]]:
    """The config and a ledger: platform services compliant, the wave onboarded with evidence."""
    config = work / "config"
    wave = wave_config(config, size)
    org = build_org(work / "home", config, clock=utc_now)
    for i in range(PLATFORM):
        org.make_compliant(f"platform-{i}", like=LIKE)
    for s in wave:
        org.onboard(s)
        org.collect(s, like=LIKE)
    path = org.ledger_path
    org.close()
    return config, path, wave


def bench_wave(size: int, runs: int) -> dict:
    """(b) plan and request() of a `size`-service wave, beside the raw parse of its evidence."""
    with tempfile.TemporaryDirectory(prefix="gates-bench-") as tmp:
        work = Path(tmp)
        t0 = time.perf_counter()
        config, path, wave = prepare(work, size)
        setup_s = time.perf_counter() - t0
        org = load_org(config, validators=VALIDATORS)
        store = KeyStore(work / "home" / "keys")
        alice = store.load("alice")
        ledger_key = store.load(org.org.ledger_origin)

        reader = Ledger.open(path, readonly=True)
        orch = Orchestrator(reader, org)
        plans = {}
        for target in ("compliance_ready", "compliant"):
            try:
                waves = orch.plan(wave, target)
            except Refusal as exc:  # see docs/PERFORMANCE.md: a dependency past the target is refused
                plans[target] = {"refused": str(exc)}
                continue
            median, fastest = median_seconds(lambda target=target: orch.plan(wave, target))
            planned = [i for w in waves for i in w if i["service"] in set(wave)]
            plans[target] = {"plan_s": median, "plan_min_s": fastest, "waves": len(waves),
                             "wave_services": len(planned), "predicted_blocked": sum(1 for i in planned if i["blockers"])}
        reader.close()

        files = {kind: (EVIDENCE / LIKE / name).read_bytes() for kind, name in EVIDENCE_FILES.items()}

        def parse_all() -> None:
            for s in wave:
                for kind, data in files.items():
                    parse_evidence(kind, data, f"evidence/{s}/{EVIDENCE_FILES[kind]}")

        floor_s, floor_min = median_seconds(parse_all)

        before = _size(path)
        request_times, outcomes = [], {}
        for run in range(runs):
            copy = work / f"run-{run}.db"
            shutil.copy(path, copy)
            ledger = Ledger.open(copy, signer=ledger_key, projector=project_appended)
            actor = Orchestrator(ledger, org, alice)
            start = time.perf_counter()
            results = [actor.request(s, "compliance_ready") for s in wave]
            request_times.append(time.perf_counter() - start)
            outcomes = {st: sum(1 for r in results if r.status == st) for st in {r.status for r in results}}
            per_request = (ledger.size() - before) / size
            ledger.close()
        write_floor = write_floor_s(work / "floor.db", size, round(per_request))
        return {
            "wave": size, "platform_services": PLATFORM, "evidence_files": 4 * size, "setup_s": setup_s,
            "plans": plans,
            "request_s": statistics.median(request_times), "request_min_s": min(request_times),
            "request_runs": runs, "request_outcomes": outcomes, "entries_per_request": per_request,
            "floor_parse_s": floor_s, "floor_parse_min_s": floor_min, "floor_write_s": write_floor,
        }


def _size(path: Path) -> int:
    with Ledger.open(path, readonly=True) as ledger:
        return ledger.size()


def write_floor_s(path: Path, transactions: int, rows: int) -> float:
    """What `transactions` durable commits of `rows` entries cost at least: per entry two
    Ed25519 signatures over 1 kB (the statement and the row) and one row insert, WAL with
    synchronous=FULL, as the ledger does; no JSON, hashing, tree or projections."""
    key = SigningKey(bytes(32))
    body = os.urandom(1024)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("CREATE TABLE entries (seq INTEGER PRIMARY KEY, leaf BLOB, sig BLOB)")
    seq = 0
    start = time.perf_counter()
    for _ in range(transactions):
        conn.execute("BEGIN IMMEDIATE")
        for _ in range(rows):
            leaf = key.sign(body).signature + body
            conn.execute("INSERT INTO entries VALUES (?, ?, ?)", (seq, leaf, key.sign(leaf[:96]).signature))
            seq += 1
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return elapsed


def table(r: dict) -> list[tuple[str, str, str, str]]:
    """Rows of (measure, gooseterm, floor, goal)."""
    a, b = r["graph"], r["wave"]

    def ms(seconds: float) -> str:
        return f"{seconds * 1e3:.1f} ms"

    rows = [(f"(a) waves(), {a['services']:,} services / {a['edges']:,} deps", ms(a["waves_s"]),
             f"{ms(a['floor_s'])} nx.topological_generations", f"< {GOALS['planning_s']:.0f} s")]
    for target, p in b["plans"].items():
        if "refused" in p:
            rows.append((f"(b) plan(wave, {target!r})", "refused", "(the refusal is printed below)", ""))
        else:
            rows.append((f"(b) plan(wave, {target!r}), predicted gates", ms(p["plan_s"]),
                         f"{ms(b['floor_parse_s'])} raw parse", f"< {GOALS['planning_s']:.0f} s"))
    rows.append((f"(b) request() x{b['wave']}, one transaction each", ms(b["request_s"]),
                 f"{ms(b['floor_parse_s'])} raw parse of {b['evidence_files']} files", f"< {GOALS['wave_gates_s']:.0f} s"))
    rows.append(("", "", f"{ms(b['floor_write_s'])} {b['wave']} durable commits of {b['entries_per_request']:.0f} signed rows", ""))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=10_000)
    parser.add_argument("--edges", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--wave", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3, help="request() runs, each on a fresh copy of the ledger")
    parser.add_argument("--out", type=Path, default=OUT / "gates_bench.json")
    args = parser.parse_args()
    result = {
        "command": "python bench/gates_bench.py " + " ".join(sys.argv[1:]),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "goals": GOALS,
        "graph": bench_graph(args.services, args.edges, args.seed),
        "wave": bench_wave(args.wave, args.runs),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    m = result["machine"]
    print(f"{m['cpu']}, {m['cores']} cores; Python {m['python']}, SQLite {m['sqlite']}\n")
    rows = [("measure", "gooseterm", "floor", "goal"), *table(result)]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        print(f"{row[0]:<{widths[0]}}  {row[1]:>{widths[1]}}  {row[2]:<{widths[2]}}  {row[3]}")
    w = result["wave"]
    for target, p in w["plans"].items():
        if "refused" in p:
            print(f"\nplan(wave, {target!r}) refused: {p['refused']}")
    print(f"\nrequest outcomes: {w['request_outcomes']}; setup (config, keys, ledger, {w['evidence_files']} evidence entries): {w['setup_s']:.1f} s")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
