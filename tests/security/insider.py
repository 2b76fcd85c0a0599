"""An insider's tools: write access to the ledger file and the ledger key, as every local writer has.

The insider edits the SQLite file with sqlite3 (the append-only triggers dropped) and, holding the
ledger key, appends leaves of their own making at the end with everything a careful attacker
would fix up: the leaf hash, the chain, the ledger key's row signature, the stored Merkle nodes and
a freshly signed checkpoint. What is left for the verifiers to catch is only what the insider
cannot make: another person's signature over what they did not sign.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from gooseterm.ledger.keys import KeyStore
from gooseterm.ledger.signing import Signer, canonical_json, sign_envelope, sign_note
from gooseterm.ledger.storage.sqlite import SQLiteReader
from gooseterm.ledger.tree import Frontier
from gooseterm.ledger.verifier import Checkpoint, chain_hash, leaf_hash, parse_envelope, row_message


class Insider:
    """The ledger file opened for writing, its triggers dropped, and the ledger key in hand."""

    def __init__(self, home: Path, origin: str = "example.org/gooseterm"):
        self.home = home
        self.origin = origin
        self.store = KeyStore(home / "keys")
        self.ledger_key: Signer = self.store.load(origin)
        self.conn = sqlite3.connect(home / "ledger.db", isolation_level=None)
        self.conn.execute("BEGIN IMMEDIATE")
        for (name,) in self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
            self.conn.execute(f"DROP TRIGGER {name}")

    def __enter__(self) -> Insider:
        return self

    def __exit__(self, *exc: object) -> None:
        self.conn.execute("COMMIT" if exc[0] is None else "ROLLBACK")
        self.conn.close()

    def key(self, name: str) -> Signer:
        """Any key in the shared key store (the demo keeps every person's key in one home)."""
        return self.store.load(name)

    # -- reading ------------------------------------------------------------------------------

    def size(self) -> int:
        return self.conn.execute("SELECT count(*) FROM entries").fetchone()[0]

    def record(self, seq: int) -> dict:
        return json.loads(self.conn.execute("SELECT leaf FROM entries WHERE seq = ?", (seq,)).fetchone()[0])

    def statement(self, seq: int) -> dict:
        return json.loads(parse_envelope(self.record(seq)["envelope"]).payload)

    def seqs(self, kind: str, promotion: str | None = None) -> list[int]:
        sql, args = "SELECT seq FROM entries WHERE kind = ?", [kind]
        if promotion is not None:
            sql += " AND promotion = ?"
            args.append(promotion)
        return [r[0] for r in self.conn.execute(sql + " ORDER BY seq", args)]

    def projection(self, name: str, key: str) -> dict:
        return json.loads(self.conn.execute("SELECT value FROM projections WHERE name = ? AND key = ?", (name, key)).fetchone()[0])

    # -- writing ------------------------------------------------------------------------------

    def set_projection(self, name: str, key: str, value: dict) -> None:
        self.conn.execute("UPDATE projections SET value = ? WHERE name = ? AND key = ?", (canonical_json(value).decode(), name, key))

    def append_leaf(self, envelope: bytes | dict, kind: str, service: str | None, promotion: str | None,
                    time: str, blobs: list[str] | None = None) -> int:
        """Append a leaf wrapping `envelope` at the end, with chain, row signature, tree and checkpoint made good."""
        seq = self.size()
        env = json.loads(envelope) if isinstance(envelope, (bytes, bytearray)) else envelope
        record = {"blobs": blobs or [], "envelope": env, "kind": kind, "promotion": promotion, "seq": seq,
                  "service": service, "time": time, "v": 1}
        leaf = canonical_json(record)
        lh = leaf_hash(leaf)
        prev = self.conn.execute("SELECT chain FROM entries WHERE seq = ?", (seq - 1,)).fetchone()[0]
        chain = chain_hash(prev, lh)
        sig = self.ledger_key.sign(row_message(self.origin, seq, chain))
        self.conn.execute(
            "INSERT INTO entries (seq, time, kind, service, promotion, leaf, leaf_hash, chain, row_sig) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (seq, time, kind, service, promotion, leaf, lh, chain, sig))
        frontier = Frontier.load(SQLiteReader(self.conn), seq)
        self.conn.executemany("INSERT INTO tree_nodes (level, idx, hash) VALUES (?, ?, ?)", frontier.push(lh))
        note = sign_note(Checkpoint(self.origin, seq + 1, frontier.root()).body(), [self.ledger_key])
        self.conn.execute("INSERT INTO checkpoints (size, note, created) VALUES (?, ?, ?)", (seq + 1, note, time))
        return seq

    def forge(self, signer: Signer, kind: str, predicate: dict, service: str | None, promotion: str | None, time: str) -> int:
        """Append a statement the insider signs with a key they hold, the binding written as they please."""
        statement = {"_type": "https://in-toto.io/Statement/v1", "predicateType": f"https://gooseterm.dev/predicates/{kind}/v1",
                     "subject": [{"name": service or self.origin, "digest": {"sha256": "0" * 64}}], "predicate": predicate}
        return self.append_leaf(sign_envelope(canonical_json(statement, ascii_only=False), [signer]), kind, service, promotion, time)
