"""An interrupted `gooseterm append --payload-jsonl` says how far it got and resumes without a
duplicate or a gap, proven from the ledger itself: every imported entry's signed predicate
records the file's digest and its line (IMPORT_KEY)."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest

from gooseterm.cli.ledger_cmds import IMPORT_KEY
from gooseterm.settings import Settings
from gooseterm.workspace import Workspace
from gooseterm.ledger.signing import Signer
from gooseterm.ledger.store import Draft, Ledger, PartialAppend, Refused

from .conftest import BIN, gooseterm

KIND = "custom.bulk"
LINES = 12_000
BATCH = 40


@pytest.fixture
def home(tmp_path: Path) -> dict:
    env = {"GOOSETERM_HOME": str(tmp_path / "home")}
    assert gooseterm("init", "--name", "me", env=env).code == 0
    return env


def _write_jsonl(path: Path, n: int) -> str:
    # a blank line in the middle: line numbers are the file's, not the entries'
    lines = [json.dumps({"i": i}) for i in range(1, n + 1)]
    lines.insert(n // 2, "")
    path.write_text("\n".join(lines) + "\n")
    return f"sha256:{hashlib.sha256(path.read_bytes()).hexdigest()}"


def _entries(env: dict) -> int:
    db = Path(env["GOOSETERM_HOME"]) / "ledger.db"
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return conn.execute("SELECT count(*) FROM entries WHERE kind = ?", (KIND,)).fetchone()[0]


def _imported(env: dict, source: str) -> tuple[Counter, list[int]]:
    """How often each line of the import is in the ledger, and the seqs in line order."""
    run = gooseterm("log", "--kind", KIND, "--limit", "1000000", "--json", env=env)
    assert run.code == 0, run.err
    rows = sorted(json.loads(run.out), key=lambda r: r["seq"])
    records = [(r["predicate"][IMPORT_KEY]["line"], r["seq"]) for r in rows if r["predicate"][IMPORT_KEY]["source"] == source]
    return Counter(line for line, _ in records), [seq for _, seq in sorted(records)]


def _start(env: dict, path: Path) -> subprocess.Popen:
    return subprocess.Popen([str(BIN), "append", "--kind", KIND, "--payload-jsonl", str(path), "--batch-size", str(BATCH)],
                            env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_entries(env: dict, proc: subprocess.Popen, at_least: int) -> None:
    deadline = time.monotonic() + 60
    while _entries(env) < at_least:
        assert proc.poll() is None, f"the import ended before it could be interrupted: {proc.communicate()}"
        assert time.monotonic() < deadline, "the import made no progress"
        time.sleep(0.02)


def _expected_lines(n: int) -> list[int]:
    return [k for k in range(1, n + 2) if k != n // 2 + 1]


def test_sigkill_mid_import_then_resume_has_no_duplicate_and_no_gap(home: dict, tmp_path: Path) -> None:
    path = tmp_path / "bulk.jsonl"
    source = _write_jsonl(path, LINES)
    proc = _start(home, path)
    _wait_for_entries(home, proc, 5 * BATCH)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    done = _entries(home)
    assert 0 < done < LINES, "the kill must land mid-import for this test to mean anything"
    assert done % BATCH == 0, "a batch is one transaction: a kill leaves whole batches"

    again = gooseterm("append", "--kind", KIND, "--payload-jsonl", path, env=home)
    assert again.code == 1 and "already imported through line" in again.err and "--resume" in again.err
    assert _entries(home) == done

    resumed = gooseterm("append", "--kind", KIND, "--payload-jsonl", path, "--resume", "--json", env=home)
    assert resumed.code == 0, resumed.err
    assert json.loads(resumed.out)["appended"] == LINES - done

    counts, seqs = _imported(home, source)
    assert sorted(counts) == _expected_lines(LINES)
    assert set(counts.values()) == {1}
    assert seqs == list(range(seqs[0], seqs[0] + LINES))

    finished = gooseterm("append", "--kind", KIND, "--payload-jsonl", path, "--resume", env=home)
    assert finished.code == 0 and "every line is already in the ledger" in finished.out
    assert _entries(home) == LINES
    assert gooseterm("verify", env=home).code == 0


def test_sigint_mid_import_names_the_last_committed_line_and_seq(home: dict, tmp_path: Path) -> None:
    path = tmp_path / "bulk.jsonl"
    source = _write_jsonl(path, LINES)
    proc = _start(home, path)
    _wait_for_entries(home, proc, 3 * BATCH)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert "Traceback" not in err
    assert proc.returncode == 2, err
    counts, seqs = _imported(home, source)
    assert f"interrupted; committed through line {max(counts)} (seq {seqs[-1]}); rerun with --resume" in err
    assert gooseterm("append", "--kind", KIND, "--payload-jsonl", path, "--resume", env=home).code == 0
    counts, _ = _imported(home, source)
    assert sorted(counts) == _expected_lines(LINES) and set(counts.values()) == {1}


def test_resume_refuses_a_ledger_whose_lines_of_the_file_have_a_gap(home: dict, tmp_path: Path) -> None:
    path = tmp_path / "small.jsonl"
    source = _write_jsonl(path, 6)
    workspace = Workspace(Settings(home=Path(home["GOOSETERM_HOME"])))
    with workspace.open_ledger(write=True) as ledger:
        ledger.append(Draft(KIND, {"i": 3, IMPORT_KEY: {"source": source, "line": 3}}), [workspace.me()])
    run = gooseterm("append", "--kind", KIND, "--payload-jsonl", path, "--resume", env=home)
    assert run.code == 1 and "cannot be resumed without a gap or a duplicate" in run.err
    assert _entries(home) == 1


def test_the_import_record_key_is_reserved_and_resume_needs_a_jsonl_file(home: dict, tmp_path: Path) -> None:
    path = tmp_path / "forged.jsonl"
    path.write_text('{"i": 1}\n' + json.dumps({"i": 2, IMPORT_KEY: {"source": "sha256:00", "line": 9}}) + "\n")
    run = gooseterm("append", "--kind", KIND, "--payload-jsonl", path, env=home)
    assert run.code == 2 and f"forged.jsonl:2: the key '{IMPORT_KEY}' is reserved" in run.err
    body = tmp_path / "one.json"
    body.write_text('{"i": 1}')
    run = gooseterm("append", "--kind", KIND, "--payload", body, "--resume", env=home)
    assert run.code == 2 and "--resume goes with --payload-jsonl" in run.err
    assert _entries(home) == 0


def test_append_many_failing_after_committed_batches_carries_their_receipts(tmp_path: Path) -> None:
    admin = Signer.generate("admin")
    ledger = Ledger.create(tmp_path / "l.db", "example.org/bulk", Signer.generate("ledger"), [(admin.vkey, ["admin"])])
    drafts = [Draft(KIND, {"i": i}) for i in range(7)] + [Draft(KIND, {"i": 7}, blobs=("sha256:" + "0" * 64,))]
    with pytest.raises(PartialAppend) as failed:
        ledger.append_many(drafts, [admin], batch_size=3)
    assert isinstance(failed.value.cause, Refused)
    assert [r.seq for r in failed.value.receipts] == list(range(1, 7))
    assert ledger.size() == 7
    with pytest.raises(Refused):  # nothing committed: the error itself, the ledger unchanged
        ledger.append_many(drafts[-1:], [admin])
    assert ledger.size() == 7
