"""`gooseterm backup` of a ledger another process is appending to: the copy is the ledger at one
instant (a verifying prefix of the final ledger) and the writer is never held up.

The writer is tests/helpers/ledger_writer.py (the concurrency tests' writer), appending until
killed and printing each acknowledged seq; the backup is the real CLI in its own process.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers.exports import make_demo

from gooseterm.ledger.keys import KeyStore
from gooseterm.ledger.store import Draft, Ledger
from gooseterm.ledger.verifier import verify_ledger

WRITER = Path(__file__).resolve().parents[1] / "helpers" / "ledger_writer.py"
GOOSETERM = Path(sys.executable).with_name("gooseterm")

pytestmark = pytest.mark.slow


def acknowledged(out: Path) -> int:
    return len(out.read_text().splitlines())


def test_backup_while_another_process_appends_is_a_consistent_prefix(tmp_path: Path) -> None:
    home = tmp_path / "home"
    make_demo(home)
    store = KeyStore(home / "keys")
    with Ledger.open(home / "ledger.db", readonly=True) as ledger:
        signer = store.load(ledger.ledger_key.name)
    ci = store.load("ci")
    with Ledger.open(home / "ledger.db", signer=signer) as ledger:  # enough pages that the copy takes a while
        ledger.append_many((Draft("custom.load", {"i": i, "pad": "x" * 400}) for i in range(8_000)), [ci])
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps({"ledger": signer.skey, "actor": ci.skey}))
    out = tmp_path / "writer.out"
    with open(out, "w") as fh:
        writer = subprocess.Popen([sys.executable, str(WRITER), str(home / "ledger.db"), str(keys), "--writer", "w",
                                   "--mode", "batch", "--batch-size", "20", "--ready", str(tmp_path / "ready")],
                                  stdout=fh, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while acknowledged(out) < 200:
            assert writer.poll() is None and time.monotonic() < deadline, "the writer did not start appending"
            time.sleep(0.01)
        started = acknowledged(out)
        proc = subprocess.run([str(GOOSETERM), "backup", "--out", str(tmp_path / "copy.db"), "--json", "--jobs", "2"],
                              env={"GOOSETERM_HOME": str(home), "PATH": "/usr/bin:/bin"},
                              capture_output=True, text=True, timeout=300, check=False)
        during = acknowledged(out) - started
    finally:
        writer.kill()
        writer.wait()
    assert proc.returncode == 0, proc.stderr
    copied = json.loads(proc.stdout)["size"]
    assert during > 100, "the writer was held up by the backup"
    live = verify_ledger(str(home / "ledger.db"), jobs=2)
    assert live.ok and live.size > copied  # the writer went on past the copy's instant
    copy = verify_ledger(str(tmp_path / "copy.db"), jobs=2)
    assert copy.ok and copy.size == copied
    with Ledger.open(home / "ledger.db", readonly=True) as a, Ledger.open(tmp_path / "copy.db", readonly=True) as b:
        assert a.root(copied) == b.root(copied)  # a prefix of the final ledger, not a mixture
        assert b.latest_checkpoint() is not None
    acked = [int(line.split()[0]) for line in out.read_text().splitlines()]
    assert acked[0] < copied <= acked[-1] + 1
