"""An auditor's machine that never saw gooseterm: a fresh virtual environment holding only PyNaCl
runs the bundle's own verifier.py on the bundle folder and on the zip.

The venv is made with `python -m venv` and `pip install pynacl` (from the pip cache or the
configured index); nothing of the repository is on its path, and the verifier is run with -I
from a folder outside the repository with a bare environment.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.exports import bundle_verifier, export, make_demo, run_bundle_verifier

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def auditor_python(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A new venv with PyNaCl and its two dependencies, nothing else."""
    venv = tmp_path_factory.mktemp("auditor") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True, timeout=120)
    python = str(venv / "bin" / "python")
    pip = subprocess.run([python, "-m", "pip", "install", "-q", "pynacl"], capture_output=True, text=True, timeout=300, check=False)
    if pip.returncode != 0:
        pytest.skip(f"pip could not install PyNaCl into a fresh venv (no index or cache here): {pip.stderr[-500:]}")
    return python


def test_the_fresh_venv_holds_pynacl_and_nothing_of_gooseterm(auditor_python: str, tmp_path: Path) -> None:
    listing = subprocess.run([auditor_python, "-m", "pip", "list", "--format", "json"], capture_output=True, text=True, check=True)
    names = {p["name"].lower() for p in json.loads(listing.stdout)}
    assert "pynacl" in names and not names & {"gooseterm", "click", "pydantic", "textual"}
    probe = subprocess.run([auditor_python, "-I", "-c", "import ledger"], cwd=tmp_path, capture_output=True, text=True, check=False)
    assert probe.returncode != 0 and "No module named 'ledger'" in probe.stderr


def test_the_bundles_own_verifier_checks_a_folder_and_a_zip_in_a_venv_with_only_pynacl(
    auditor_python: str, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    make_demo(home)
    auditor = tmp_path / "auditor"
    auditor.mkdir()
    folder = export(home, tmp_path / "bundle")
    archive = export(home, tmp_path / "bundle.zip")
    for bundle in (folder, archive):
        script = bundle_verifier(bundle, auditor)
        code, report = run_bundle_verifier(bundle, python=auditor_python, cwd=auditor, script=script)
        assert code == 0 and report["valid"] and report["size"] > 60, report
        assert report["blobs_checked"] == len(list((folder / "blobs").iterdir()))
        text = subprocess.run([auditor_python, "-I", str(script), str(bundle)], cwd=auditor, capture_output=True,
                              text=True, env={"PATH": "/usr/bin:/bin"}, timeout=120, check=False)
        assert text.returncode == 0 and "VALID" in text.stdout, text.stderr
    (folder / "summaries" / "decisions.csv").write_bytes(b"seq,time\n")
    code, report = run_bundle_verifier(folder, python=auditor_python, cwd=auditor)
    assert code == 1 and report["first_fault"]["code"] == "bundle_file_mismatch"
