"""Dashboard benchmark: first frame on a ledger of 1,000,000 entries, screen switches, and the
dependency graph of 1,000 services.

    .venv/bin/python bench/tui_bench.py [--big PATH] [--services N] [--runs N]

(a) first frame: the app (headless, 120x40) from start to its first paint, and to the Overview
    showing the ledger's data (the snapshot worker reads projections only); on the million-entry
    ledger the ledger benchmark built ($GOOSETERM_CACHE/bench/ledger-1000000.db, read-only, with the example
    org's config), else on one this script builds once: the demo plus custom.* entries;
(b) screen switches: each mode from the key press to its next paint, the first visit (the screen
    is composed) and later ones;
(c) graph of N services (default 1,000; a random DAG, 3 dependencies each on average):
    graphview.view() (the layers), the Graph screen's first paint, and moving the cursor to
    the next service (the highlight of its edges redrawn).
It prints a table and writes $GOOSETERM_CACHE/bench/tui_bench.json. Timings are medians of --runs runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import shutil
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from gooseterm.demo import build_demo  # noqa: E402
from gooseterm.graphview import view  # noqa: E402
from gooseterm.resolver import DependencyGraph  # noqa: E402
from gooseterm.settings import Settings  # noqa: E402
from gooseterm.tui.actions import MODES  # noqa: E402
from gooseterm.tui.app import make_app  # noqa: E402
from gooseterm.workspace import Workspace  # noqa: E402
from gooseterm.ledger.keys import KeyStore  # noqa: E402
from gooseterm.ledger.store import Draft, Ledger  # noqa: E402

from benchdir import OUT  # noqa: E402
BIG = OUT / "ledger-1000000.db"
OWN_BIG = OUT / "tui-demo-1m"
SIZE = (120, 40)
GOALS = {"first_frame_s": 1.0, "switch_s": 0.1, "graph_layout_s": 0.5}


def log(msg: str) -> None:
    print(f"[tui_bench] {msg}", file=sys.stderr, flush=True)


def median(samples: list[float]) -> float:
    return statistics.median(samples)


async def painted(app) -> None:
    """Wait for the screen's next refresh (paint) to complete."""
    done = asyncio.Event()
    app.screen.call_after_refresh(done.set)
    await done.wait()


async def until(predicate, timeout: float = 60.0) -> None:
    end = time.perf_counter() + timeout
    while not predicate():
        if time.perf_counter() > end:
            raise TimeoutError("the dashboard did not get there in time")
        await asyncio.sleep(0.001)


# -- (a) first frame ------------------------------------------------------------------------------


def big_settings() -> tuple[Settings, str]:
    """Settings for a million-entry ledger: the ledger benchmark's, else one built here once."""
    if BIG.exists():
        return Settings(home=OUT / "tui-home", ledger=BIG), f"{BIG.name} (bench/ledger_bench.py), example org config"
    ledger_path = OWN_BIG / "ledger.db"
    if not ledger_path.exists():
        log("building the demo plus 1,000,000 custom.* entries once (about 2-3 minutes)")
        shutil.rmtree(OWN_BIG, ignore_errors=True)
        ws = Workspace(Settings(home=OWN_BIG))
        build_demo(ws.settings, ws.org())
        with ws.open_ledger(write=True) as ledger:
            ci = ws.load_key("ci")
            ledger.append_many((Draft("custom.load", {"n": n, "note": "bench"}) for n in range(1_000_000)), [ci])
    return Settings(home=OWN_BIG), "the demo plus 1,000,000 custom.* entries (built here)"


async def first_frame(settings: Settings) -> tuple[float, float, int]:
    """Seconds to the first paint and to the Overview showing data; the ledger's size."""
    start = time.perf_counter()
    app = make_app(Workspace(settings), read_only=True, refresh=3600)
    async with app.run_test(size=SIZE) as pilot:
        await painted(app)
        first = time.perf_counter() - start
        await until(lambda: app.snapshot is not None)
        await painted(app)
        data = time.perf_counter() - start
        size = app.snapshot.size
        await pilot.pause()
    return first, data, size


async def bare_first_paint() -> float:
    """The floor: a bare Textual app (header, a table, footer) from start to first paint."""
    from textual.app import App
    from textual.widgets import DataTable, Footer, Header

    class Bare(App):
        def compose(self):
            yield Header()
            yield DataTable()
            yield Footer()

    start = time.perf_counter()
    app = Bare()
    async with app.run_test(size=SIZE) as pilot:
        await painted(app)
        first = time.perf_counter() - start
        await pilot.pause()
    return first


# -- (b) screen switches ----------------------------------------------------------------------------


async def switches(settings: Settings, rounds: int) -> dict[str, list[float]]:
    """Per mode: the first visit, then `rounds - 1` later visits, each key press to paint."""
    app = make_app(Workspace(settings), read_only=True, refresh=3600)
    times: dict[str, list[float]] = {m: [] for m in MODES}
    async with app.run_test(size=SIZE) as pilot:
        await until(lambda: app.snapshot is not None)
        await pilot.pause()
        for _ in range(rounds):
            for mode in MODES:
                start = time.perf_counter()
                await app.switch_mode(mode)
                await painted(app)
                times[mode].append(time.perf_counter() - start)
                await app.workers.wait_for_complete()
                await pilot.pause()
    return times


# -- (c) a graph of many services -------------------------------------------------------------------


def big_org(root: Path, services: int, seed: int) -> Path:
    """The example org's config with `services` services in a random DAG (about 3 dependencies each)."""
    rng = random.Random(seed)
    config = root / "config"
    shutil.rmtree(root, ignore_errors=True)
    config.mkdir(parents=True)
    example = REPO / "config"
    for name in ("states.yaml", "rules.yaml", "runbooks.yaml"):
        shutil.copy(example / name, config / name)
    # org.yaml and approvals.yaml name the example's services; keep what applies to any service.
    org = yaml.safe_load((example / "org.yaml").read_text())
    org.get("mesh", {}).pop("services", None)
    (config / "org.yaml").write_text(yaml.safe_dump(org, sort_keys=False))
    approvals = yaml.safe_load((example / "approvals.yaml").read_text())
    approvals["policies"] = [p for p in approvals["policies"] if "service" not in p]
    (config / "approvals.yaml").write_text(yaml.safe_dump(approvals, sort_keys=False))
    shutil.copytree(example / "templates", config / "templates")
    (config / "services").mkdir()
    names = [f"svc-{i:04d}" for i in range(services)]
    for i, name in enumerate(names):
        deps = sorted({names[rng.randrange(i)] for _ in range(min(i, rng.randint(0, 6)))})
        spec = {"service": {"name": name, "owners": ["sre"], "spec": {
            "api_version": "v1", "compliance_mode": "compliant",
            "dependencies": {"runtime": deps, "data": [], "security": []}}}}
        (config / "services" / f"{name}.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return config


def empty_ledger(home: Path, origin: str) -> None:
    store = KeyStore(home / "keys")
    me = store.create("bench")
    Ledger.create(home / "ledger.db", origin, store.create(origin), [(me.vkey, ["admin"])]).close()
    Settings(home=home).remember_identity("bench")


async def graph_screen(settings: Settings, moves: int) -> tuple[float, float, int]:
    """Seconds from the `2` key to the Graph screen's first paint; median seconds per cursor move."""
    app = make_app(Workspace(settings), read_only=True, refresh=3600)
    async with app.run_test(size=SIZE) as pilot:
        await until(lambda: app.snapshot is not None, timeout=300)
        await pilot.pause()
        start = time.perf_counter()
        await app.switch_mode("graph")
        await painted(app)
        await until(lambda: app.screen.query("#graph-tree") and app.screen.query_one("#graph-tree").root.children)
        await painted(app)
        first = time.perf_counter() - start
        nodes = len(app.screen.query_one("#graph-tree").root.children)
        tree = app.screen.query_one("#graph-tree")
        samples = []
        for _ in range(moves):
            start = time.perf_counter()
            tree.action_cursor_down()
            await pilot.pause()
            await painted(app)
            samples.append(time.perf_counter() - start)
    return first, median(samples), nodes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    results: dict = {"command": "python bench/tui_bench.py " + " ".join(sys.argv[1:]),
                     "date": datetime.now(UTC).isoformat(timespec="seconds"), "goals": GOALS,
                     "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
                                 "python": platform.python_version(), "platform": platform.platform()}}

    settings, which = big_settings()
    log(f"(a) first frame on {which}")
    runs = [asyncio.run(first_frame(settings)) for _ in range(args.runs)]
    floor = [asyncio.run(bare_first_paint()) for _ in range(args.runs)]
    results["first_frame"] = {"ledger": which, "entries": runs[0][2], "first_paint_s": median([r[0] for r in runs]),
                              "data_shown_s": median([r[1] for r in runs]), "bare_textual_first_paint_s": median(floor), "runs": runs}

    log("(b) screen switches on the same ledger")
    times = asyncio.run(switches(settings, args.runs + 1))
    results["switch"] = {m: {"first_visit_s": t[0], "later_median_s": median(t[1:]), "later_max_s": max(t[1:])} for m, t in times.items()}

    log(f"(c) graph of {args.services} services")
    work = OUT / f"tui-graph-{args.services}"
    config = big_org(work, args.services, args.seed)
    empty_ledger(work / "home", "bench.gooseterm.example/graph")
    org_settings = Settings(home=work / "home", config=config)
    graph = DependencyGraph.from_services(Workspace(org_settings).org().services.values())
    layout = []
    for _ in range(args.runs):
        start = time.perf_counter()
        v = view(graph)
        layout.append(time.perf_counter() - start)
    screen = [asyncio.run(graph_screen(org_settings, 20)) for _ in range(max(1, args.runs // 2))]
    results["graph"] = {"services": args.services, "dependencies": len(graph.edges()), "layers": len(v.layers),
                        "layout_s": median(layout), "screen_first_paint_s": median([s[0] for s in screen]),
                        "cursor_move_s": median([s[1] for s in screen]), "tree_roots": screen[0][2]}

    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "tui_bench.json").write_text(json.dumps(results, indent=2) + "\n")
    ff, sw, g = results["first_frame"], results["switch"], results["graph"]
    rows = [
        ("first paint, 1M-entry ledger", f"{ff['first_paint_s'] * 1000:.0f} ms", "first frame < 1 s"),
        ("Overview with data, 1M-entry ledger", f"{ff['data_shown_s'] * 1000:.0f} ms", "first frame < 1 s"),
        ("floor: bare Textual app (header, table, footer) first paint", f"{ff['bare_textual_first_paint_s'] * 1000:.0f} ms", ""),
        ("screen switch, later visits (median of modes' medians)", f"{median([s['later_median_s'] for s in sw.values()]) * 1000:.0f} ms", "< 100 ms"),
        ("screen switch, later visits (worst mode's max)", f"{max(s['later_max_s'] for s in sw.values()) * 1000:.0f} ms", "< 100 ms"),
        ("screen switch, first visit (worst mode)", f"{max(s['first_visit_s'] for s in sw.values()) * 1000:.0f} ms", "(composes the screen)"),
        (f"graph layout, {g['services']} services, {g['dependencies']} deps", f"{g['layout_s'] * 1000:.0f} ms", "< 500 ms"),
        (f"Graph screen first paint, {g['services']} services", f"{g['screen_first_paint_s'] * 1000:.0f} ms", "usable"),
        ("Graph cursor move (edges re-highlighted)", f"{g['cursor_move_s'] * 1000:.0f} ms", "usable"),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'time':>9}  goal")
    for name, value, goal in rows:
        print(f"{name:<{width}}  {value:>9}  {goal}")
    for mode, s in sw.items():
        print(f"  switch to {mode:<10} first {s['first_visit_s'] * 1000:6.0f} ms   later median {s['later_median_s'] * 1000:5.0f} ms  max {s['later_max_s'] * 1000:5.0f} ms")


if __name__ == "__main__":
    main()
