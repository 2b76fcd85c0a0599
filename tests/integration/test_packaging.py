"""The wheel installs one import root, `gooseterm`, carrying the example org and the stylesheet,
and the installed command runs from any folder (harlequin's packaging test, in spirit).

The repository keeps the user's folders (ledger/, adapters/, exports/, config/); pyproject's
package-dir maps them under gooseterm. A generic top-level name in the wheel would overwrite
PyPI's `adapters` or `ledger`, or be shadowed by a folder of that name in the working directory.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(REPO)],
                           capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stderr[-2000:]
    (found,) = out.glob("gooseterm-*.whl")
    return found


def test_the_wheel_has_one_top_level_name_and_carries_the_example_org_and_stylesheet(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"gooseterm"}
    for member in ("gooseterm/__main__.py", "gooseterm/ledger/verifier/__init__.py", "gooseterm/ledger/verifier/merkle.py", "gooseterm/adapters/junit.py",
                   "gooseterm/exports/VERIFY.md", "gooseterm/exports/grafana/service-compliance.json",
                   "gooseterm/tui/gooseterm.tcss", "gooseterm/_config/org.yaml", "gooseterm/_config/services/service-a.yaml",
                   "gooseterm/_config/evidence/service-a/junit.xml"):
        assert member in names, member
    assert not any(n.startswith(("tests/", "bench/", "config/", "ledger/")) for n in names)


def test_the_installed_command_runs_from_a_folder_that_shadows_every_generic_name(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    install = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", str(wheel)], capture_output=True, text=True, timeout=900)
    assert install.returncode == 0, install.stderr[-2000:]
    work = tmp_path / "work"
    for name in ("ledger", "adapters", "exports", "config"):  # a user's own folders, each an importable package
        (work / name).mkdir(parents=True)
        (work / name / "__init__.py").write_text("raise SystemExit('shadowed')\n")
    env = {"PATH": str(venv / "bin"), "GOOSETERM_HOME": str(tmp_path / "home")}
    for command in (["gooseterm", "--help"], ["python", "-m", "gooseterm", "--help"]):
        run = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stderr
        assert "Usage:" in run.stdout
    demo = subprocess.run(["gooseterm", "demo"], cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert demo.returncode == 0, demo.stderr
    status = subprocess.run(["gooseterm", "status", "--json"], cwd=work, env=env, capture_output=True, text=True, timeout=120)
    assert status.returncode == 0, status.stderr
    assert "service-c" in status.stdout
    verify = subprocess.run(["python", "-m", "gooseterm", "verify"], cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert verify.returncode == 0, verify.stdout + verify.stderr
