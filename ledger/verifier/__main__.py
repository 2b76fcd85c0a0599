"""`python -m gooseterm.ledger.verifier BUNDLE|LEDGER.db`: verify offline."""

from __future__ import annotations

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
