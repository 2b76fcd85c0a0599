"""An insider who holds the ledger key trims a period's bundle of an entry its decisions cite, and
re-signs the manifest: the installed `gooseterm verify` and the bundle's own `verifier.py`, run
from inside the bundle with nothing else (`python -I`), both refuse it (exit 1) and name the seq.

Before cited.jsonl a bundle without the promotion's request verified VALID: the quorum was judged
against the decision's own `required`, not the policy the request recorded.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.exports import resign_manifest, three_day_promotion

from gooseterm.ledger.signing import Signer

from .conftest import gooseterm


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int], Signer]:
    """service-c requested on 03-02, approved by bob on 03-03 and by carol on 03-04 (promoted then)."""
    home = tmp_path_factory.mktemp("home")
    seqs, signer = three_day_promotion(home)
    return home, seqs, signer


def export(home: Path, out: Path, *args: str) -> Path:
    run = gooseterm("export", "--out", out, *args, env={"GOOSETERM_HOME": str(home)})
    assert run.code == 0, run.text
    return out


def bundle_verifier(bundle: Path) -> subprocess.CompletedProcess:
    """The bundle's verifier.py, run from inside the bundle, isolated from gooseterm's code."""
    return subprocess.run([sys.executable, "-I", "verifier.py", "."], cwd=bundle, capture_output=True, text=True, timeout=120)


def drop_cited(bundle: Path, seq: int) -> None:
    rows = (bundle / "cited-rows.jsonl").read_bytes().splitlines(keepends=True)
    at = next(i for i, r in enumerate(rows) if json.loads(r)["seq"] == seq)
    for name in ("cited.jsonl", "cited-rows.jsonl"):
        lines = (bundle / name).read_bytes().splitlines(keepends=True)
        del lines[at]
        (bundle / name).write_bytes(b"".join(lines))


def test_a_period_through_a_promotion_verifies_with_both_verifiers(home, tmp_path: Path) -> None:
    path, seqs, _ = home
    bundle = export(path, tmp_path / "b", "--since", "2026-03-04")
    cited = [json.loads(r)["seq"] for r in (bundle / "cited-rows.jsonl").read_bytes().splitlines()]
    assert cited == [seqs["request"], seqs["bob"]]
    run = gooseterm("verify", bundle, env={"GOOSETERM_HOME": str(path)})
    assert run.code == 0 and ": VALID" in run.out, run.text
    proc = bundle_verifier(bundle)
    assert proc.returncode == 0 and ": VALID" in proc.stdout, proc.stdout + proc.stderr


@pytest.mark.parametrize("who", ["request", "bob"])
def test_a_bundle_trimmed_of_a_cited_entry_and_resigned_is_refused_by_both(home, tmp_path: Path, who: str) -> None:
    path, seqs, ledger_key = home
    bundle = export(path, tmp_path / "b", "--since", "2026-03-04")
    drop_cited(bundle, seqs[who])
    resign_manifest(bundle, ledger_key)
    run = gooseterm("verify", bundle, env={"GOOSETERM_HOME": str(path)})
    proc = bundle_verifier(bundle)
    for code, out in ((run.code, run.out), (proc.returncode, proc.stdout)):
        assert code == 1 and ": INVALID" in out, out
        line = next(x for x in out.splitlines() if x.strip().startswith("row_deleted"))
        assert f"first seq {seqs[who]} " in line and "is neither in the period nor in cited.jsonl" in line


def test_a_bundle_that_is_not_there_could_not_be_verified(tmp_path: Path) -> None:
    run = gooseterm("verify", tmp_path / "missing")
    assert run.code == 2 and len(run.err.strip().splitlines()) == 1, run.text
