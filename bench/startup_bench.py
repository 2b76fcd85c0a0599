"""Start-up benchmark: what a person waits for before gooseterm shows anything, each beside its floor.

    .venv/bin/python bench/startup_bench.py [--runs N]

Each row is the median of N fresh processes (default 11), run in turn in the same run so that the
floors and gooseterm's numbers see the same machine:

- `python -c pass`: the interpreter alone (the floor of every command);
- `gooseterm --help` and `python -m gooseterm --help`: the console script and the module;
- first paint: from spawning a process to the dashboard's first paint (headless, 120x40), for a
  bare Textual app (header, table, footer: the floor) and for gooseterm's dashboard on the demo
  ledger (built once in $GOOSETERM_CACHE/bench/startup-demo), loading what `gooseterm` loads
  (the command's package, then the dashboard).

The child stamps the wall clock at its first paint; the parent stamped it just before spawning.
It prints a table with the machine (nproc, load average) and writes
$GOOSETERM_CACHE/bench/startup_bench.json; docs/PERFORMANCE.md records the numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from benchdir import OUT

BIN = Path(sys.executable).parent
DEMO = OUT / "startup-demo"
GOALS = {"gooseterm --help": 0.2, "first paint: gooseterm": 0.6}

# Run in the child: wait for the first paint, print the wall clock, leave.
PAINT = """
import asyncio, sys, time
{imports}
SIZE = (120, 40)

async def first_paint() -> None:
    app = {app}
    async with app.run_test(size=SIZE):
        done = asyncio.Event()
        app.screen.call_after_refresh(done.set)
        await done.wait()
        print(time.time(), flush=True)

asyncio.run(first_paint())
"""
BARE = PAINT.format(imports="""
from textual.app import App
from textual.widgets import DataTable, Footer, Header

class Bare(App):
    def compose(self):
        yield Header()
        yield DataTable()
        yield Footer()
""", app="Bare()")
GOOSETERM = PAINT.format(imports=f"""
import gooseterm.cli  # what the `gooseterm` command loads before it opens the dashboard
from gooseterm.settings import Settings
from gooseterm.tui.app import make_app
from gooseterm.workspace import Workspace
HOME = {str(DEMO)!r}
""", app="make_app(Workspace(Settings(home=HOME)), read_only=True, refresh=3600)")


def wall(command: list[str]) -> float:
    """Seconds from spawning `command` to its exit (stdout discarded)."""
    start = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, check=True, cwd=OUT)
    return time.perf_counter() - start


def first_paint(script: str) -> float:
    """Seconds from spawning a child to the wall-clock stamp it prints at its first paint."""
    start = time.time()
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=OUT)
    return float(result.stdout.split()[-1]) - start


def ensure_demo() -> None:
    env = {**os.environ, "GOOSETERM_HOME": str(DEMO)}
    subprocess.run([str(BIN / "gooseterm"), "demo", "--if-missing"], env=env, check=True, stdout=subprocess.DEVNULL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    ensure_demo()
    cases = {
        "python -c pass": lambda: wall([sys.executable, "-c", "pass"]),
        "gooseterm --help": lambda: wall([str(BIN / "gooseterm"), "--help"]),
        "python -m gooseterm --help": lambda: wall([sys.executable, "-m", "gooseterm", "--help"]),
        "first paint: bare Textual app": lambda: first_paint(BARE),
        "first paint: gooseterm": lambda: first_paint(GOOSETERM),
    }
    for case in cases.values():  # warm the file cache and the bytecode once
        case()
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.runs):  # interleaved: a busy moment hits every case alike
        for name, case in cases.items():
            samples[name].append(case())
    load = os.getloadavg()
    report = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"nproc": os.cpu_count(), "loadavg_after": [round(x, 2) for x in load],
                    "python": platform.python_version(), "platform": platform.platform()},
        "runs": args.runs,
        "median_s": {name: round(statistics.median(v), 4) for name, v in samples.items()},
        "min_s": {name: round(min(v), 4) for name, v in samples.items()},
        "goals_s": GOALS,
    }
    (OUT / "startup_bench.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"nproc {os.cpu_count()}, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, {args.runs} runs each")
    print(f"{'':34} {'median':>8} {'min':>8}  goal")
    for name in cases:
        goal = f"< {GOALS[name]} s" if name in GOALS else ""
        print(f"{name:34} {report['median_s'][name]:8.3f} {report['min_s'][name]:8.3f}  {goal}")


if __name__ == "__main__":
    main()
