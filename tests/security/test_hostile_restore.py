"""`restore --force` replaces an existing ledger, and nothing more: a fork, a copy that does not
verify and an unasked rollback are refused with --force too, and the live ledger stays as it was."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from helpers.exports import append_notes
from security.hostile import demo, tree  # noqa: F401  (demo is a fixture)

from gooseterm.ledger.keys import KeyStore
from gooseterm.ledger.store import Draft, Ledger


@pytest.fixture
def copy(cli, demo: Path, tmp_path: Path) -> Path:
    out = tmp_path / "copy.db"
    run = cli("backup", "--out", out)
    assert run.code == 0, run.text
    return out


def sign_into(path: Path, home: Path, tag: str) -> None:
    """Append one note to the ledger file at `path`, signed with the home's ledger and CI keys."""
    store = KeyStore(home / "keys")
    with Ledger.open(path, readonly=True) as ledger:
        origin = ledger.ledger_key.name
    with Ledger.open(path, signer=store.load(origin)) as ledger:
        ledger.append(Draft("custom.note", {"tag": tag}), [store.load("ci")])


def test_a_fork_is_refused_even_with_force(cli, demo: Path, copy: Path):
    sign_into(copy, demo.parent, "the copy's own history")
    append_notes(demo.parent, 1, "the live ledger's history")
    before = tree(demo.parent)
    for args in (("--force",), ("--force", "--allow-rollback")):
        run = cli("restore", copy, *args)
        assert run.code == 1
        assert "forks from" in run.err and "nothing was restored" in run.err
        assert tree(demo.parent) == before


def test_a_copy_that_does_not_verify_is_refused_even_with_force(cli, demo: Path, copy: Path):
    conn = sqlite3.connect(copy)
    triggers = [name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")]
    for name in triggers:
        conn.execute(f'DROP TRIGGER "{name}"')
    changed = conn.execute("UPDATE entries SET leaf = CAST(replace(CAST(leaf AS TEXT), 'service-a', 'service-x') AS BLOB) "
                           "WHERE seq = (SELECT min(seq) FROM entries WHERE service = 'service-a')").rowcount
    assert changed == 1
    conn.commit()
    conn.close()
    before = tree(demo.parent)
    run = cli("restore", copy, "--force", "--allow-rollback")
    assert run.code == 1
    assert "does not verify" in run.err and "nothing was restored" in run.err
    assert tree(demo.parent) == before


def test_an_older_copy_needs_allow_rollback_as_well_as_force(cli, demo: Path, copy: Path):
    append_notes(demo.parent, 2)
    before = tree(demo.parent)
    run = cli("restore", copy, "--force")
    assert run.code == 1 and "pass --allow-rollback" in run.err
    assert tree(demo.parent) == before
    run = cli("restore", copy, "--force", "--allow-rollback")
    assert run.code == 0, run.text and "rolled back" in run.out


def test_without_force_an_existing_ledger_is_kept_and_with_it_a_longer_copy_replaces_it(cli, demo: Path, copy: Path):
    sign_into(copy, demo.parent, "later")
    before = tree(demo.parent)
    run = cli("restore", copy)
    assert run.code == 1 and "pass --force to replace it" in run.err
    assert tree(demo.parent) == before
    run = cli("restore", copy, "--force")
    assert run.code == 0 and "replaced (the copy is longer)" in run.out
    assert cli("verify").code == 0
