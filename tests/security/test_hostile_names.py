"""Names that become paths: services, keys, onboarded files and the files of an export.

The attacker names things (`--service ../../x`, a key called `/etc/x`, an entry filed under a
service whose name climbs out) and hopes gooseterm builds a path from the name and writes there.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest
from helpers.exports import open_ledger
from security.hostile import demo, tree  # noqa: F401  (demo is a fixture)

from gooseterm.orgconfig import bundled_config_dir
from gooseterm.ledger.keys import KeyStore
from gooseterm.ledger.store import Draft

HOSTILE = ["../../escaped", "/tmp/escaped-absolute", "a" * 300, "svc/../../x", "..", "service\nname"]


@pytest.mark.parametrize("name", HOSTILE)
def test_append_refuses_a_service_that_is_no_service_name(cli, demo: Path, tmp_path: Path, name: str):
    body = tmp_path / "body.json"
    body.write_text('{"note": "x"}')
    before = tree(demo.parent)
    run = cli("--as", "dave", "append", "--kind", "annotation", "--service", name, "--payload", body)
    assert run.code == 2
    assert run.err.startswith("gooseterm: --service: ") and "is not a valid service name" in run.err
    assert len(run.err.strip().splitlines()) == 1 or "\n" in name
    assert tree(demo.parent) == before


@pytest.mark.parametrize("name", HOSTILE)
def test_onboard_checks_the_name_before_any_path(cli, demo: Path, tmp_path: Path, name: str):
    org = tmp_path / "org"
    shutil.copytree(bundled_config_dir(), org)
    before_org, before_tmp = tree(org), sorted(p.name for p in tmp_path.iterdir())
    run = cli("--config", org, "onboard", name, "--owner", "sre")
    assert run.code == 2
    assert "is not a valid service name" in run.err
    assert tree(org) == before_org
    assert sorted(p.name for p in tmp_path.iterdir()) == before_tmp
    assert not Path("/tmp/escaped-absolute.yaml").exists()


def test_key_names_stay_inside_the_key_store(cli, tmp_path: Path, isolated_home: Path):
    for name in ("../../escaped-key", "/tmp/escaped-key", ".."):
        run = cli("keys", "new", name)
        assert run.code == 0, run.text
    inside = sorted(p.name for p in (isolated_home / "keys").iterdir())
    assert "%2E%2E%2F%2E%2E%2Fescaped-key.key" in inside or "..%2F..%2Fescaped-key.key" in inside
    assert not (isolated_home.parent / "escaped-key.key").exists() and not Path("/tmp/escaped-key.key").exists()
    assert KeyStore(isolated_home / "keys").names() == sorted(["../../escaped-key", "/tmp/escaped-key", ".."])


def test_an_overlong_key_name_is_one_line_and_writes_nothing(cli, isolated_home: Path):
    run = cli("keys", "new", "k" * 300)
    assert run.code == 2
    assert "is too long: keep it under 200 characters once encoded" in run.err
    assert not (isolated_home / "keys").exists() or not any((isolated_home / "keys").iterdir())
    run = cli("init", "--name", "k" * 300)
    assert run.code == 2 and "too long" in run.err
    assert not (isolated_home / "ledger.db").exists()


@pytest.fixture
def escaping_entries(demo: Path) -> Path:
    """The demo ledger plus entries written straight through the ledger API (as a holder of a
    trusted key could, bypassing the CLI's checks) whose service, source and time climb out."""
    home = demo.parent
    ci = KeyStore(home / "keys").load("ci")
    with open_ledger(home) as ledger:
        digest = ledger.put_blob(b"<testsuite tests='1'/>", "application/xml")
        for service, source in [("../../../../../escaped-service", "../../../escaped-source"),
                                ("/tmp/escaped-absolute", "/etc/passwd"), ("..", ".."), ("x" * 400, "y" * 400)]:
            ledger.append(Draft("evidence.external", {"digest": digest, "kind": "junit", "source": source},
                                service=service, blobs=(digest,)), [ci])
        ledger.append(Draft("evidence.external", {"note": "no digest at all"}, service="service-a"), [ci])
    return demo


@pytest.mark.parametrize("suffix", ["", ".zip"])
def test_an_export_never_writes_outside_its_folder(cli, escaping_entries: Path, tmp_path: Path, suffix: str):
    work = tmp_path / "work"
    work.mkdir()
    out = work / f"bundle{suffix}"
    before = sorted(str(p) for p in tmp_path.parent.rglob("*escaped*"))
    run = cli("export", "--out", out, "--layout", "audit-tree", cwd=work)
    assert run.code == 0, run.text
    assert sorted(p.name for p in work.iterdir()) == [out.name]
    assert sorted(str(p) for p in tmp_path.parent.rglob("*escaped*") if not str(p).startswith(str(out))) == before
    assert not Path("/tmp/escaped-absolute").exists()
    names = zipfile.ZipFile(out).namelist() if suffix else [str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()]
    for name in names:
        parts = name.split("/")
        assert ".." not in parts and "." not in parts and "" not in parts and not name.startswith("/"), name
        assert all(len(part.encode()) <= 255 for part in parts), name
    assert any("%2E%2E%2F" in name or "..%2F" in name for name in names)
    verified = cli("verify", out, "--json")
    assert verified.code == 0, verified.text
    assert json.loads(verified.out)["valid"] is True
