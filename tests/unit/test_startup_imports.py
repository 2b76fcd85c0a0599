"""`gooseterm --help` pays only for what it shows (DESIGN: start-up): the command modules import the
domain, the ledger, adapters and exports inside the commands that use them, so printing the help
loads none of the heavy libraries below. A cheap check of what is loaded, not a timing (timings are
bench/startup_bench.py's, recorded in docs/PERFORMANCE.md)."""

from __future__ import annotations

import subprocess
import sys

# What `--help` must not load. It loaded all of the first group before the command modules
# deferred their imports; the second group is the heaviest the commands use besides.
DEFERRED = (
    "pydantic",            # the org config, settings and evidence models
    "pydantic_settings",   # Settings, built when a command runs
    "networkx",            # the dependency graph
    "nacl",                # signing and verification
    "yaml",                # the org config and kubeconfig files
    "defusedxml",          # the JUnit and coverage parsers
    "sqlite3",             # the ledger
    "gooseterm.ledger",
    "gooseterm.orgconfig",
    "gooseterm.exports",
    # --
    "httpx",               # the live sources and the Kubernetes client (and, through httpx, rich)
    "textual",             # the dashboard
    "rich",
    "prometheus_client",   # the exporter
)


def test_help_loads_none_of_the_heavy_modules() -> None:
    probe = (
        "import sys\n"
        "from gooseterm.cli import main\n"
        "try:\n"
        "    main(['--help'], prog_name='gooseterm')\n"
        "except SystemExit as exc:\n"
        "    assert exc.code == 0, exc.code\n"
        f"print('loaded:', ','.join(sorted(d for d in {DEFERRED!r} if d in sys.modules)))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert "Usage: gooseterm" in result.stdout
    assert result.stdout.rstrip().endswith("loaded:"), f"--help {result.stdout.splitlines()[-1]}"
