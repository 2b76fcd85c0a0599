"""Audit bundles for the export tests: a demo home at a fixed time, exports through the CLI, and
both verifiers (`gooseterm verify` in-process, the bundle's own verifier.py in a subprocess).

The demo (gooseterm/demo.py) is the example org's five days of history, built with a frozen clock
so its entries, seqs and days are the same on every run. A module builds one home and each test
copies it (`clone_home`), since building appends ~60 fsynced entries.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import regex
from click.testing import CliRunner
from jsonschema import Draft7Validator, FormatChecker, ValidationError, validators

from gooseterm.cli import main
from gooseterm.demo import build_demo
from gooseterm.orgconfig import bundled_config_dir, load_org
from gooseterm.settings import Settings
from gooseterm.workspace import Workspace
from gooseterm.ledger.keys import KeyStore
from gooseterm.ledger.signing import Signer, sign_note
from gooseterm.ledger.store import Draft, Ledger
from gooseterm.ledger.verifier import manifest_note_body

NOW = datetime(2026, 3, 9, 12, 0, tzinfo=UTC)


def make_demo(home: Path) -> Path:
    """The demo ledger under `home`, built at NOW; returns the ledger path."""
    build_demo(Settings(home=home), load_org(bundled_config_dir()), now=lambda: NOW)
    return home / "ledger.db"


def gooseterm(home: Path, *args: str) -> tuple[int, str, str]:
    """Run a gooseterm command in-process with GOOSETERM_HOME=home: (exit code, stdout, stderr)."""
    result = CliRunner().invoke(main, list(args), env={"GOOSETERM_HOME": str(home)}, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def export(home: Path, out: Path, *args: str) -> Path:
    """`gooseterm export --out OUT ARGS...`; fails the test unless it succeeds."""
    code, _, stderr = gooseterm(home, "export", "--out", str(out), *args)
    assert code == 0, stderr
    return out


def open_ledger(home: Path) -> Ledger:
    """The home's ledger, writable (with its ledger key), without the domain's projector: entries go
    in straight through the ledger API, as a holder of a trusted key could write them."""
    return Workspace(Settings(home=home)).open_ledger(write=True, projector=None)


def append_notes(home: Path, n: int, tag: str = "note") -> int:
    """Append n custom entries signed by the demo's CI key; returns the new size."""
    ci = KeyStore(home / "keys").load("ci")
    with open_ledger(home) as ledger:
        ledger.append_many([Draft("custom.note", {"tag": tag, "i": i}) for i in range(n)], [ci])
        return ledger.size()


def checkpoint(home: Path) -> bytes:
    """A signed checkpoint of the home's ledger as it is now (also stored in the ledger)."""
    with open_ledger(home) as ledger:
        return ledger.checkpoint()


def faults_by_class(report: dict) -> dict[str, int | None]:
    """{fault class: first seq} from a `--json` report."""
    return {code: c["first_seq"] for code, c in report["faults_by_class"].items()}


def verify_with_gooseterm(home: Path, bundle: Path, *args: str) -> tuple[int, dict]:
    """`gooseterm verify --json BUNDLE ARGS...`: (exit code, report)."""
    code, stdout, stderr = gooseterm(home, "verify", "--json", "--jobs", "1", str(bundle), *args)
    assert code in (0, 1), stderr
    return code, json.loads(stdout)


def bundle_verifier(bundle: Path, into: Path) -> Path:
    """The verifier.py shipped inside the bundle (copied out of a zip into `into`)."""
    if bundle.is_dir():
        return bundle / "verifier.py"
    target = into / "verifier.py"
    with zipfile.ZipFile(bundle) as zf:
        target.write_bytes(zf.read("verifier.py"))
    return target


def run_bundle_verifier(bundle: Path, *args: str, python: str = sys.executable, cwd: Path | None = None,
                        script: Path | None = None) -> tuple[int, dict]:
    """`python -I verifier.py --json BUNDLE ARGS...` with the bundle's own verifier: (exit code, report).

    -I: no PYTHONPATH, no user site, no current folder on the path, so gooseterm's code cannot leak in.
    """
    where = cwd or bundle.parent
    script = script or bundle_verifier(bundle, where)
    proc = subprocess.run([python, "-I", str(script), "--json", "--jobs", "1", str(bundle), *args],
                          cwd=where, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode in (0, 1), proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def verify_both(home: Path, bundle: Path, *args: str) -> dict[str, int | None]:
    """Verify with both; they must agree on validity and on every class and first seq. Returns those."""
    code_g, report_g = verify_with_gooseterm(home, bundle, *args)
    code_v, report_v = run_bundle_verifier(bundle, *args)
    assert code_g == code_v == (0 if report_g["valid"] else 1)
    assert faults_by_class(report_g) == faults_by_class(report_v)
    assert report_g["faults"] == report_v["faults"]
    return faults_by_class(report_g)


def copy_bundle(src: Path, dst: Path) -> Path:
    """A copy to tamper with."""
    if src.is_dir():
        shutil.copytree(src, dst)
    else:
        shutil.copy(src, dst)
    return dst


def resign_manifest(bundle: Path, signer: Signer, change=lambda m: None) -> None:
    """What an attacker holding a key does: rehash every file into the manifest, edit it, sign it."""
    manifest = json.loads((bundle / "manifest.json").read_bytes())
    change(manifest)
    manifest["files"] = {n: hashlib.sha256((bundle / n).read_bytes()).hexdigest() for n in manifest["files"]}
    data = json.dumps(manifest, indent=2, sort_keys=True).encode() + b"\n"
    (bundle / "manifest.json").write_bytes(data)
    (bundle / "manifest.note").write_bytes(sign_note(manifest_note_body(manifest["origin"], data), [signer]))


def _pattern(validator, pattern, instance, schema):
    """OSCAL's patterns use \\p{L} and \\p{N}, which `re` cannot compile: check them with `regex`."""
    if validator.is_type(instance, "string") and not regex.search(pattern, instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def oscal_validator(schema_path: Path) -> Draft7Validator:
    """One of NIST's OSCAL JSON schemas, with `regex` behind both the `pattern` keyword and the `regex` format."""
    schema = json.loads(schema_path.read_bytes())
    formats = FormatChecker()
    formats.checks("regex", raises=regex.error)(regex.compile)
    checker = validators.extend(Draft7Validator, {"pattern": _pattern})
    checker.check_schema(schema, format_checker=formats)
    return checker(schema, format_checker=formats)


def oscal_errors(validator: Draft7Validator, doc: dict) -> list[str]:
    """Every schema violation in `doc`, with its path."""
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(doc)]


def three_day_promotion(home: Path) -> tuple[dict[str, int], Signer]:
    """service-c requested on 03-02, approved by bob on 03-03 and by carol on 03-04 (promoted then),
    a note on 03-05; returns the seqs that matter and the ledger key (to re-sign edited bundles)."""
    from helpers.orgs import CLEAN, build_org

    org = build_org(home)
    try:
        org.make_ready(CLEAN)
        pid = org.as_("alice").request(CLEAN, "compliant").promotion
        org.clock.advance(timedelta(days=1))
        bob = org.as_("bob").approve(pid).seqs[0]
        org.ledger.append(Draft("custom.note", {"day": "bob's"}), [org.signers["ci"]])  # so bob's is no fence of 03-04
        org.clock.advance(timedelta(days=1))
        out = org.as_("carol").approve(pid)
        org.clock.advance(timedelta(days=1))
        org.ledger.append(Draft("custom.note", {"day": "after"}), [org.signers["ci"]])
        kinds = {org.ledger.entry(s).kind: s for s in out.seqs}
        seqs = {"request": int(pid.rsplit("-", 1)[1]), "bob": bob, "carol": out.seqs[0],
                "approved": kinds["promotion.approved"], "promoted": kinds["promotion.promoted"]}
        return seqs, org.ledger.signer
    finally:
        org.close()
