"""The last `gooseterm verify` of the configured ledger, for dashboards: `last-verify.json` in the
home folder, written atomically after each verification.

A file and not a ledger entry, on purpose: verification stays read-only (it runs on read-only
copies, and for auditors who do not hold the ledger key), and an entry saying "valid" would prove
nothing that the next verification does not recompute, while changing the very ledger it
vouches for. The record is operational telemetry for `gooseterm exporter`, never evidence.
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from gooseterm.ledger.verifier import Report

from .settings import Settings

RECORD = "last-verify.json"


def record_verification(settings: Settings, target: Path, report: Report) -> str | None:
    """Keep the outcome when `target` is the configured ledger (bundles and other files are not it).

    Returns None, or why the outcome could not be kept (a read-only home folder): verification
    itself stands, and the caller says the record was not written rather than imply it was.
    """
    try:
        if target.resolve() != settings.ledger_path.resolve():
            return None
    except OSError:
        return None
    first = report.first
    data = {
        "ledger": str(target.resolve()),
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "valid": report.ok,
        "size": report.size,
        "faults": {code: c["count"] for code, c in report.by_class().items()},
        "first_fault": first.to_json() if first else None,
    }
    home = settings.home_dir
    tmp = None
    try:
        home.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{RECORD}.", dir=home)
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh, indent=2, sort_keys=True)
        os.replace(tmp, home / RECORD)
    except OSError as exc:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        return f"the result was not recorded in {home / RECORD} ({exc.strerror}); `gooseterm exporter` still shows the previous one"
    return None


def last_verification(settings: Settings) -> dict | None:
    """The last recorded verification of the configured ledger, or None."""
    path = settings.home_dir / RECORD
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if data.get("ledger") == str(settings.ledger_path.resolve()) else None
