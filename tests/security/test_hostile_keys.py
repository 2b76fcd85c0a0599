"""Sealed keys and passphrase files: `init --seal` seals the ledger key too, a passphrase file
others may read is refused, and no passphrase or key is ever printed."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from security.hostile import tree

PASSPHRASE = "correct horse battery staple"


@pytest.fixture
def passphrase_file(tmp_path: Path) -> Path:
    file = tmp_path / "passphrase"
    file.write_text(PASSPHRASE + "\n")
    file.chmod(0o600)
    return file


@pytest.fixture
def sealed_home(cli, isolated_home: Path, passphrase_file: Path) -> Path:
    run = cli("--passphrase-file", passphrase_file, "init", "--name", "erin", "--seal")
    assert run.code == 0, run.text
    return isolated_home


def test_init_seal_seals_the_ledger_key_too(cli, sealed_home: Path):
    listed = {k["name"]: k["sealed"] for k in json.loads(cli("keys", "list", "--json").out)["local"]}
    assert listed == {"erin": True, "gooseterm.local/ledger": True}
    for key in (sealed_home / "keys").glob("*.key"):
        text = key.read_text()
        assert json.loads(text)["format"] == "gooseterm-sealed-key/v1" and "PRIVATE+KEY" not in text


def test_a_sealed_ledger_key_needs_the_passphrase_and_gets_it_the_same_way(cli, sealed_home: Path,
                                                                            passphrase_file: Path):
    before = tree(sealed_home)
    refused = cli("append", "--kind", "annotation", "--payload", "-", input="{}")
    assert refused.code == 2
    assert "is sealed; pass --passphrase-file or set GOOSETERM_PASSPHRASE_FILE" in refused.err
    assert tree(sealed_home) == before
    for how in ({"args": ("--passphrase-file", passphrase_file)}, {"env": {"GOOSETERM_PASSPHRASE_FILE": str(passphrase_file)}},
                {"env": {"GOOSETERM_PASSPHRASE": PASSPHRASE}}):
        run = cli(*how.get("args", ()), "append", "--kind", "annotation", "--payload", "-", input="{}", env=how.get("env"))
        assert run.code == 0, run.text
        assert PASSPHRASE not in run.text
    assert cli("verify").code == 0


def test_a_wrong_passphrase_writes_nothing_and_is_not_echoed(cli, sealed_home: Path, tmp_path: Path):
    wrong = tmp_path / "wrong"
    wrong.write_text("hunter2-not-it\n")
    wrong.chmod(0o600)
    before = tree(sealed_home)
    run = cli("--passphrase-file", wrong, "append", "--kind", "annotation", "--payload", "-", input="{}")
    assert run.code == 2 and "wrong passphrase for key" in run.err
    assert "hunter2" not in run.text
    assert tree(sealed_home) == before


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o620, 0o660])
def test_a_passphrase_file_others_may_read_or_change_is_refused(cli, sealed_home: Path, passphrase_file: Path, mode: int):
    passphrase_file.chmod(mode)
    before = tree(sealed_home)
    for how in ({"args": ("--passphrase-file", passphrase_file)}, {"env": {"GOOSETERM_PASSPHRASE_FILE": str(passphrase_file)}}):
        run = cli(*how.get("args", ()), "append", "--kind", "annotation", "--payload", "-", input="{}", env=how.get("env"))
        assert run.code == 2
        assert run.err.strip() == (f"gooseterm: passphrase file {passphrase_file} has mode {mode:04o}, open to other users; "
                                   f"fix it with: chmod 600 '{passphrase_file}'")
        assert PASSPHRASE not in run.text
    assert tree(sealed_home) == before


def test_a_device_as_passphrase_file_is_refused_at_once(cli, isolated_home: Path):
    start = time.monotonic()
    run = cli("--passphrase-file", "/dev/zero", "init", "--seal", timeout=30)
    assert time.monotonic() - start < 20
    assert run.code == 2 and "passphrase file /dev/zero is not a regular file" in run.err
    assert not (isolated_home / "ledger.db").exists()


def test_a_missing_passphrase_file_is_one_line(cli, isolated_home: Path, tmp_path: Path):
    run = cli("--passphrase-file", tmp_path / "nope", "status")
    assert run.code == 2 and run.err.strip() == f"gooseterm: passphrase file {tmp_path / 'nope'}: No such file or directory"
