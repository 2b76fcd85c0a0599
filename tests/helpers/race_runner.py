"""A racer process for the promotion race tests: runs `gooseterm` commands at a common start signal.

    python race_runner.py

Imports gooseterm once (the slow part), then reads jobs from stdin, one JSON object a line:
{"args": [...], "env": {...}, "ready": FILE, "go": FILE}. For each it touches `ready`, waits until
`go` exists, runs `gooseterm ARGS` in this process through click's CliRunner (the same `main`
the installed command runs), and prints {"code", "stdout", "stderr"} as one JSON line. Several
racers released by one `go` file reach the ledger within a millisecond or two of each other.
"""

from __future__ import annotations

import gc
import json
import sys
import time
from pathlib import Path

from click.testing import CliRunner

from gooseterm.cli import main as gooseterm


def run_job(job: dict) -> dict:
    Path(job["ready"]).touch()
    go = Path(job["go"])
    deadline = time.monotonic() + 60
    while not go.exists():
        if time.monotonic() > deadline:
            return {"code": -1, "stdout": "", "stderr": "race_runner: no start signal within 60 s"}
        time.sleep(0.0005)
    result = CliRunner().invoke(gooseterm, job["args"], env=job.get("env"), prog_name="gooseterm")
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        import traceback

        stderr += "".join(traceback.format_exception(result.exception))
    return {"code": result.exit_code, "stdout": result.stdout, "stderr": stderr}


def main() -> None:
    for line in sys.stdin:
        if line.strip():
            out = run_job(json.loads(line))
            # A command's ledger connection can outlive it in a reference cycle (through the
            # exception that exits with its code); close it now, as the end of a real process would.
            gc.collect()
            print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
