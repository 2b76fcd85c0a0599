"""A read-only home folder (a read-only mount, an auditor's copy): reading works and nothing false is said.

The home is mounted read-only in a private mount namespace (`unshare -rm`), which binds even
root; the test is skipped where user namespaces are not allowed.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from security.conftest import BIN, Run
from security.hostile import demo, tree  # noqa: F401  (demo is a fixture)


def readonly(home: Path, *args: str) -> Run:
    """Run gooseterm with `home` mounted read-only; fail on a traceback as the suite's runner does."""
    command = f"mount --bind -o ro {shlex.quote(str(home))} {shlex.quote(str(home))} && exec {shlex.quote(str(BIN))} " \
              + " ".join(shlex.quote(a) for a in args)
    proc = subprocess.run(["unshare", "-rm", "sh", "-c", command], capture_output=True, text=True, timeout=120)
    run = Run(args, proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback (most recent call last)" not in run.text, run.text
    return run


@pytest.fixture
def home(demo: Path) -> Path:
    if shutil.which("unshare") is None or subprocess.run(["unshare", "-rm", "true"], capture_output=True).returncode:
        pytest.skip("no user namespaces here to mount the home read-only")
    return demo.parent


@pytest.mark.parametrize("args, expect", [
    (("status",), "service-c        compliant"),
    (("log", "--limit", "3"), "promotion."),
    (("keys", "list"), "trusted by the ledger:"),
    (("status", "--json"), '"state": "compliant"'),
])
def test_read_commands_work(home: Path, args: tuple[str, ...], expect: str):
    before = tree(home)
    run = readonly(home, *args)
    assert run.code == 0, run.text
    assert expect in run.out
    assert tree(home) == before


def test_verify_says_it_could_not_record_the_result(home: Path):
    before = tree(home)
    run = readonly(home, "verify")
    assert run.code == 0, run.text
    assert "VALID" in run.out
    assert run.err.strip() == (f"gooseterm: note: the result was not recorded in {home / 'last-verify.json'} "
                               "(Read-only file system); `gooseterm exporter` still shows the previous one")
    assert tree(home) == before and not (home / "last-verify.json").exists()


def test_a_write_says_the_folder_is_read_only_not_that_the_ledger_is_damaged(home: Path):
    before = tree(home)
    run = readonly(home, "approve", "service-b-47")
    assert run.code == 2
    assert "it or its folder is read-only" in run.err and "restore it from a backup" not in run.err
    assert len(run.err.strip().splitlines()) == 1
    assert tree(home) == before


def test_verify_records_the_result_when_it_can(cli, demo: Path):
    run = cli("verify")
    assert run.code == 0 and run.err == ""
    assert (demo.parent / "last-verify.json").exists()


def test_a_huge_trusted_checkpoint_is_refused_before_it_is_read(cli, tmp_path: Path) -> None:
    """A checkpoint note is a few hundred bytes; a 100 MB 'note' is refused by both verifiers, exit 2."""
    assert cli("demo").code == 0
    huge = tmp_path / "huge.note"
    with open(huge, "wb") as fh:
        fh.truncate(100 << 20)
    run = cli("verify", "--trusted-checkpoint", huge)
    assert run.code == 2 and "larger than 65536 bytes, so not a checkpoint note" in run.err, run.text
    run = cli("prove", "consistency", huge)
    assert run.code == 2 and "larger than 65536 bytes" in run.err, run.text
    ledger = Path(os.environ["GOOSETERM_HOME"]) / "ledger.db"
    standalone = subprocess.run([sys.executable, "-m", "gooseterm.ledger.verifier", str(ledger), "--trusted-checkpoint", str(huge)],
                                capture_output=True, text=True, timeout=120)
    assert standalone.returncode == 2 and "larger than 65536 bytes" in standalone.stderr, standalone.stderr
