"""Crash safety: an acknowledged entry survives the writer being SIGKILLed at any moment.

A child process (tests/helpers/ledger_writer.py) appends and prints each entry's seq and leaf
hash only after the commit holding it returned. The parent kills it after a random delay, many
times over the same ledger, and checks that every printed entry is there, byte for byte, and
that the ledger still verifies. The random seed is printed so a failure can be replayed.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gooseterm.ledger import verifier
from gooseterm.ledger.signing import Signer
from gooseterm.ledger.store import Draft, Ledger

pytestmark = pytest.mark.slow

WRITER = Path(__file__).resolve().parents[1] / "helpers" / "ledger_writer.py"
ORIGIN = "example.org/gooseterm-crash"
LEDGER_KEY = Signer("ledger.example", bytes([1]) * 32)
ADMIN = Signer("admin.example", bytes([2]) * 32)
CI = Signer("ci.example", bytes([3]) * 32)
FULL_VERIFY_EVERY = 5  # rounds; a full verification of a growing ledger each round would dominate


def make_ledger(tmp_path: Path) -> tuple[Path, Path]:
    """A ledger trusting CI, and the keys file the writer reads."""
    path, keys = tmp_path / "ledger.db", tmp_path / "keys.json"
    with Ledger.create(path, ORIGIN, LEDGER_KEY, admins=[(ADMIN.vkey, ["admin"])]) as ledger:
        ledger.append(Draft("ledger.key_added", {"vkey": CI.vkey, "roles": ["ci"]}), [ADMIN])
    keys.write_text(json.dumps({"ledger": LEDGER_KEY.skey, "actor": CI.skey}))
    return path, keys


def acknowledged(out: Path) -> dict[int, bytes]:
    """The (seq, leaf hash) lines a writer printed; a line cut by the kill is not an acknowledgement."""
    text = out.read_text()
    complete = text[: text.rfind("\n") + 1]
    return {int(seq): bytes.fromhex(h) for seq, h in (line.split() for line in complete.splitlines())}


def assert_all_present(path: Path, acked: dict[int, bytes]) -> int:
    """Every acknowledged entry is stored with its leaf hash; seqs are gapless. Returns the size."""
    with Ledger.open(path, readonly=True) as ledger:
        stored = {e.seq: e.leaf_hash for e in ledger.scan()}
        size = ledger.size()
    missing = sorted(s for s in acked if s not in stored)
    assert not missing, f"acknowledged seqs lost after SIGKILL: {missing[:10]}"
    changed = sorted(s for s, h in acked.items() if stored[s] != h)
    assert not changed, f"acknowledged seqs with another leaf hash after SIGKILL: {changed[:10]}"
    assert sorted(stored) == list(range(size))
    return size


def assert_verifies(path: Path) -> None:
    report = verifier.verify_ledger(str(path), jobs=2)
    assert report.ok, report.sorted_faults()[:5]


def kill_rounds(tmp_path: Path, mode: str, rounds: int, budget_s: float, delays: tuple[float, float]) -> dict:
    """Run the writer `rounds` times against one ledger, SIGKILLing each after a random delay."""
    seed = int(os.environ.get("GOOSETERM_CRASH_SEED", random.randrange(2**32)))
    print(f"crash seed {seed} (set GOOSETERM_CRASH_SEED to replay)")
    rng = random.Random(seed)
    path, keys = make_ledger(tmp_path)
    acked: dict[int, bytes] = {}
    stats = {"rounds": 0, "killed_while_running": 0, "rounds_with_acks": 0}
    deadline = time.monotonic() + budget_s
    for n in range(rounds):
        if time.monotonic() > deadline:
            break
        out = tmp_path / f"round-{n}.out"
        batch = rng.choice([1, 10, 100, 400])
        with open(out, "w") as stdout:
            child = subprocess.Popen(
                [sys.executable, str(WRITER), str(path), str(keys), "--writer", f"round-{n}", "--mode", mode, "--batch-size", str(batch)],
                stdout=stdout,
            )
            time.sleep(rng.uniform(*delays))
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=30)
        stats["rounds"] += 1
        stats["killed_while_running"] += child.returncode == -signal.SIGKILL
        got = acknowledged(out)
        assert not got.keys() & acked.keys(), "a seq was acknowledged twice"
        acked |= got
        stats["rounds_with_acks"] += bool(got)
        assert_all_present(path, acked)
        if n % FULL_VERIFY_EVERY == FULL_VERIFY_EVERY - 1:
            assert_verifies(path)
    size = assert_all_present(path, acked)
    assert_verifies(path)
    # The next writer after the last kill still appends where the ledger ends.
    with Ledger.open(path, signer=LEDGER_KEY) as ledger:
        assert ledger.append(Draft("test.after_crash", {}), [CI]).seq == size
    stats |= {"acked": len(acked), "size": size}
    print(stats)
    return stats


def test_acknowledged_batches_survive_sigkill(tmp_path: Path) -> None:
    stats = kill_rounds(tmp_path, "batch", rounds=25, budget_s=45, delays=(0.15, 0.8))
    assert stats["rounds"] >= 10
    assert stats["killed_while_running"] == stats["rounds"]
    assert stats["rounds_with_acks"] >= stats["rounds"] // 2


def test_acknowledged_single_appends_survive_sigkill(tmp_path: Path) -> None:
    stats = kill_rounds(tmp_path, "single", rounds=12, budget_s=20, delays=(0.15, 0.6))
    assert stats["rounds"] >= 6
    assert stats["killed_while_running"] == stats["rounds"]
    assert stats["rounds_with_acks"] >= stats["rounds"] // 2
