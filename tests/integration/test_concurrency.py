"""Concurrent writers: several processes appending to one ledger at once get gapless, valid history.

Each writer (tests/helpers/ledger_writer.py) opens the ledger, signals it is ready, waits for a
common start signal, appends entries naming itself, and prints each acknowledged seq. SQLite
serialises the writers and does not promise fairness (a writer often keeps the lock for a long
run of appends), so the tests check the history, not how the writers interleaved.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from gooseterm.ledger import verifier
from gooseterm.ledger.signing import Signer
from gooseterm.ledger.store import Draft, Ledger

WRITER = Path(__file__).resolve().parents[1] / "helpers" / "ledger_writer.py"
ORIGIN = "example.org/gooseterm-concurrency"
LEDGER_KEY = Signer("ledger.example", bytes([1]) * 32)
ADMIN = Signer("admin.example", bytes([2]) * 32)
CI = Signer("ci.example", bytes([3]) * 32)
BASE = 2  # genesis and the key_added for CI


def run_writers(tmp_path: Path, names: list[str], *args: str, timeout: float = 120) -> dict[str, dict[int, bytes]]:
    """Start one writer per name, release them together, and return each one's acknowledged seqs."""
    path, keys = tmp_path / "ledger.db", tmp_path / "keys.json"
    with Ledger.create(path, ORIGIN, LEDGER_KEY, admins=[(ADMIN.vkey, ["admin"])], checkpoint_every=100) as ledger:
        ledger.append(Draft("ledger.key_added", {"vkey": CI.vkey, "roles": ["ci"]}), [ADMIN])
    keys.write_text(json.dumps({"ledger": LEDGER_KEY.skey, "actor": CI.skey}))
    go = tmp_path / "go"
    children = []
    try:
        for name in names:
            cmd = [sys.executable, str(WRITER), str(path), str(keys), "--writer", name, *args,
                   "--ready", str(tmp_path / f"{name}.ready"), "--go", str(go)]
            with open(tmp_path / f"{name}.out", "w") as out:  # the child keeps its own descriptor
                children.append((name, subprocess.Popen(cmd, stdout=out, stderr=subprocess.PIPE)))
        deadline = time.monotonic() + 30
        while not all((tmp_path / f"{n}.ready").exists() for n in names):
            assert time.monotonic() < deadline, "writers did not start"
            time.sleep(0.01)
        go.touch()
        acked = {}
        for name, child in children:
            _, err = child.communicate(timeout=timeout)
            assert child.returncode == 0, err.decode()
            lines = (tmp_path / f"{name}.out").read_text().splitlines()
            acked[name] = {int(seq): bytes.fromhex(h) for seq, h in (line.split() for line in lines)}
    finally:
        for _, child in children:
            if child.poll() is None:
                child.kill()
                child.wait()
    return acked


def assert_history(tmp_path: Path, acked: dict[str, dict[int, bytes]], per_writer: int) -> None:
    """Gapless seqs, every writer's entries present once and in its own order, a valid ledger."""
    path = tmp_path / "ledger.db"
    all_seqs = [s for seqs in acked.values() for s in seqs]
    assert len(all_seqs) == len(set(all_seqs)) == per_writer * len(acked)
    with Ledger.open(path, readonly=True) as ledger:
        assert ledger.size() == BASE + per_writer * len(acked)
        entries = ledger.entries()
        assert [e.seq for e in entries] == list(range(ledger.size()))
        for name, seqs in acked.items():
            mine = [e for e in entries if e.service == name]
            assert [e.seq for e in mine] == sorted(seqs)
            assert [e.predicate["i"] for e in mine] == list(range(per_writer))  # each writer's order kept
            assert all(e.predicate["writer"] == name and e.leaf_hash == seqs[e.seq] for e in mine)
    report = verifier.verify_ledger(str(path), jobs=2)
    assert report.ok, report.sorted_faults()[:5]
    assert report.size == BASE + per_writer * len(acked)


def test_four_processes_appending_at_once_get_gapless_valid_history(tmp_path: Path) -> None:
    names = [f"writer-{n}" for n in range(4)]
    acked = run_writers(tmp_path, names, "--mode", "single", "--count", "200")
    assert_history(tmp_path, acked, per_writer=200)


def test_two_processes_appending_batches_at_once_get_gapless_valid_history(tmp_path: Path) -> None:
    acked = run_writers(tmp_path, ["bulk-a", "bulk-b"], "--mode", "batch", "--count", "3000", "--batch-size", "250")
    assert_history(tmp_path, acked, per_writer=3000)
    for seqs in acked.values():  # a batch is one transaction, so its seqs are contiguous
        ordered = sorted(seqs)
        for start in range(0, 3000, 250):
            run = ordered[start : start + 250]
            assert run == list(range(run[0], run[0] + 250))
