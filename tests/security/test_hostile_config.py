"""A hostile organisation config folder: links to secrets, YAML bombs, devices and deep nesting.

The attacker controls the config folder (a pull request to the org's config repository, a shared
checkout) and wants gooseterm to print a secret it can read, or to hang or exhaust memory.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from security.hostile import demo, secret_of  # noqa: F401  (demo is a fixture)

from gooseterm.orgconfig import bundled_config_dir


@pytest.fixture
def org(tmp_path: Path) -> Path:
    """An editable copy of the example org."""
    folder = tmp_path / "org"
    shutil.copytree(bundled_config_dir(), folder)
    return folder


def billion_laughs() -> str:
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 10):
        name, previous = f"l{level}", "a" if level == 1 else f"l{level - 1}"
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def test_the_example_org_and_links_inside_the_folder_are_fine(cli, org: Path):
    (org / "shared").mkdir()
    (org / "services" / "service-c.yaml").rename(org / "shared" / "service-c.yaml")
    (org / "services" / "service-c.yaml").symlink_to("../shared/service-c.yaml")
    run = cli("config", "check", org)
    assert run.code == 0, run.text


@pytest.mark.parametrize("victim", ["services/x.yaml", "org.yaml", "templates/service.yaml"])
def test_a_link_to_a_private_key_is_refused_unread(cli, demo: Path, org: Path, victim: str):
    key = demo.parent / "keys" / "carol.key"
    (org / victim).unlink(missing_ok=True)
    (org / victim).symlink_to(key)
    before = sorted(p.name for p in org.rglob("*"))
    run = cli("--config", org, "onboard", "service-d", "--owner", "sre") if victim.startswith("templates") \
        else cli("config", "check", org)
    assert run.code == 2, run.text
    assert f"{victim}: links outside its folder, which is refused" in run.text
    assert secret_of(key) not in run.text and "PRIVATE+KEY" not in run.text
    assert sorted(p.name for p in org.rglob("*")) == before


def test_a_link_to_a_system_file_is_refused_and_so_is_a_link_out_of_services(cli, org: Path, tmp_path: Path):
    (org / "states.yaml").unlink()
    (org / "states.yaml").symlink_to("/etc/passwd")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "service-x.yaml").write_text("service: {name: service-x, owners: [root:x:0:0]}\n")
    (org / "services" / "service-x.yaml").symlink_to(outside / "service-x.yaml")
    run = cli("config", "check", org)
    assert run.code == 2
    assert "states.yaml: links outside its folder" in run.text
    assert "services/service-x.yaml: links outside its folder" in run.text
    assert "root:x:0:0" not in run.text


def test_a_device_or_fifo_does_not_hang(cli, org: Path):
    (org / "rules.yaml").unlink()
    (org / "rules.yaml").symlink_to("/dev/zero")
    import os

    os.remove(org / "approvals.yaml")
    os.mkfifo(org / "approvals.yaml")
    start = time.monotonic()
    run = cli("config", "check", org, timeout=30)
    assert time.monotonic() - start < 20
    assert run.code == 2
    assert "rules.yaml: links outside its folder" in run.text
    assert "approvals.yaml: not a regular file" in run.text


def test_billion_laughs_fails_fast_with_one_line(cli, org: Path):
    (org / "services" / "lol.yaml").write_text(billion_laughs())
    start = time.monotonic()
    run = cli("config", "check", org, timeout=60)
    assert time.monotonic() - start < 15
    assert run.code == 2
    lines = [line for line in run.text.splitlines() if "lol.yaml" in line]
    assert lines == [f"{org}/services/lol.yaml: YAML expands to more than 1000000 nodes (aliases repeat a subtree); "
                     "write the data out plainly, without anchors and aliases (&name / *name)"]


@pytest.mark.parametrize("text, message", [
    ("service: " + "[" * 900 + "]" * 900 + "\n", "YAML nests deeper than 100 levels"),
    ("service: " + "".join(f"\n{'  ' * i}k{i}:" for i in range(300)) + " x\n", "YAML nests deeper than 100 levels"),
    ("service: &me [*me]\n", "a YAML alias refers to a node that contains it"),
])
def test_deep_or_recursive_yaml_is_one_line(cli, org: Path, text: str, message: str):
    (org / "services" / "deep.yaml").write_text(text)
    run = cli("config", "check", org)
    assert run.code == 2
    assert f"services/deep.yaml: {message}" in run.text


def test_commands_that_read_the_config_refuse_it_too(cli, demo: Path, org: Path):
    (org / "services" / "lol.yaml").write_text(billion_laughs())
    ledger_before = demo.read_bytes()
    run = cli("--config", org, "status", timeout=60)
    assert run.code == 2 and "lol.yaml: YAML expands to more than" in run.text
    assert demo.read_bytes() == ledger_before
