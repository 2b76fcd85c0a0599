"""The verifier's command line: `python -m gooseterm.ledger.verifier`, or `python verifier.py` in a bundle."""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys

from .bundle_files import BundleUnreadable
from .bundle_walk import verify_bundle
from .ledger_walk import verify_ledger
from .note import NoteError, read_note_file


def main(argv: list[str] | None = None) -> int:
    """`python verifier.py BUNDLE|LEDGER.db [--trusted-checkpoint F] [--ledger-key VKEY] [--jobs N] [--json]`."""
    ap = argparse.ArgumentParser(description="Verify a gooseterm audit bundle or ledger file offline.")
    ap.add_argument("target", help="bundle folder, bundle zip, or ledger SQLite file")
    ap.add_argument("--trusted-checkpoint", help="a checkpoint note you hold from elsewhere")
    ap.add_argument("--ledger-key", help="pin the ledger's public key (name+id+key)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    target = pathlib.Path(a.target)
    if not target.exists():
        print(f"verifier: no such file or folder: {target}", file=sys.stderr)
        return 2
    try:
        trusted = read_note_file(a.trusted_checkpoint) if a.trusted_checkpoint else None
        with open(target, "rb") if target.is_file() else open(os.devnull, "rb") as fh:
            is_db = fh.read(16) == b"SQLite format 3\x00"
        fn = verify_ledger if is_db else verify_bundle
        report = fn(str(target), trusted_checkpoint=trusted, ledger_vkey=a.ledger_key, jobs=max(1, a.jobs))
    except (BundleUnreadable, NoteError) as exc:
        print(f"verifier: could not verify: {exc}", file=sys.stderr)
        return 2
    except RecursionError:
        print(f"verifier: could not verify {target}: a file in it nests too deeply to read", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"verifier: could not verify {target}: {exc}", file=sys.stderr)
        return 2
    if a.json:
        print(json.dumps(report.to_json(), indent=2, sort_keys=True))
    else:
        print(f"{target}: {'VALID' if report.ok else 'INVALID'}  size {report.size}")
        for code, c in report.by_class().items():
            where = "whole" if c["first_seq"] is None else f"first seq {c['first_seq']}"
            print(f"  {code:<26} {where:<16} x{c['count']}  {c['detail']}")
    return 0 if report.ok else 1
