"""A ledger writer process for the crash-safety and concurrency tests.

Appends entries signed by the actor key and prints one line per acknowledged entry,
"<seq> <leaf hash hex>", flushed only after the transaction holding it has committed. A parent
may SIGKILL it at any moment: every line it printed must still be in the ledger afterwards.

    python ledger_writer.py LEDGER KEYS --writer NAME [--mode single|batch] [--count N]
                            [--batch-size B] [--ready FILE --go FILE]

KEYS is a JSON file {"ledger": skey, "actor": skey}. --count 0 appends until killed.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

from gooseterm.ledger.signing import Signer
from gooseterm.ledger.store import Draft, Ledger


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ledger", type=Path)
    parser.add_argument("keys", type=Path)
    parser.add_argument("--writer", required=True, help="name recorded in every predicate")
    parser.add_argument("--mode", choices=["single", "batch"], default="single")
    parser.add_argument("--count", type=int, default=0, help="entries to append; 0 = until killed")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--ready", type=Path, help="created once the ledger is open")
    parser.add_argument("--go", type=Path, help="wait for this file before appending")
    args = parser.parse_args(argv)

    keys = json.loads(args.keys.read_text())
    actor = Signer.from_skey(keys["actor"])
    ledger = Ledger.open(args.ledger, signer=Signer.from_skey(keys["ledger"]))
    if args.ready:
        args.ready.touch()
    while args.go and not args.go.exists():
        time.sleep(0.005)

    numbers = iter(range(args.count) if args.count else itertools.count())
    size = 1 if args.mode == "single" else args.batch_size
    out = sys.stdout
    while batch := list(itertools.islice(numbers, size)):
        drafts = [Draft("test.write", {"writer": args.writer, "i": i}, service=args.writer) for i in batch]
        if args.mode == "single":
            receipts = [ledger.append(drafts[0], [actor])]
        else:
            receipts = ledger.append_many(drafts, [actor], batch_size=len(drafts))
        out.write("".join(f"{r.seq} {r.leaf_hash.hex()}\n" for r in receipts))
        out.flush()
    ledger.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
