"""Ledger benchmark: gooseterm's append, verify and proof speeds beside the floors under them.

    .venv/bin/python bench/ledger_bench.py [--entries N] [--big N] [--quick]

One run measures, on this machine:
  (a) bulk append: raw PyNaCl signing (2 signatures per entry) plus raw SQLite inserts of the
      same rows in one transaction with the ledger's pragmas (the floor), then `append_many`;
  (b) durable single `append` latency beside a raw SQLite single-row commit (synchronous=FULL);
  (c) verification: a raw crypto_sign_open loop (2 per row, one core) beside `verify_ledger`
      with jobs=1 and jobs=2;
  (d) a large ledger (1,000,000 entries by default; built once with append_many and cached
      under $GOOSETERM_CACHE/bench/) verified end to end with jobs=2;
  (e) inclusion proofs from that ledger: `Ledger.inclusion_proof` + `verify_inclusion`.
It prints a table and writes $GOOSETERM_CACHE/bench/ledger_bench.json. `--quick` runs small sizes (about a
minute) to check the script itself; its numbers are not the ones to quote.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import random
import re
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from nacl.bindings import crypto_sign, crypto_sign_open, crypto_sign_seed_keypair

from gooseterm.ledger import verifier
from gooseterm.ledger.storage.sqlite import DDL
from gooseterm.ledger.signing import Signer
from gooseterm.ledger.store import Draft, Ledger

from benchdir import OUT
ORIGIN = "bench.gooseterm.example/ledger"
LEDGER_KEY = Signer("ledger.bench", bytes([11]) * 32)
ADMIN = Signer("admin.bench", bytes([12]) * 32)
CI = Signer("ci.bench", bytes([13]) * 32)
BATCH = 2000  # append_many's default batch size

GOALS = {
    "append_many_per_s": 25_000,
    "append_many_vs_floor": 0.6,
    "append_p99_ms": 5.0,
    "verify_rows_per_s_per_core": 20_000,
    "big_verify_s": 60.0,
    "proof_ms": 10.0,
}


# -- helpers -------------------------------------------------------------------------------------


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def drafts(n: int, start: int = 0) -> Iterator[Draft]:
    """Evidence entries of a realistic size (a JUnit summary with a blob digest)."""
    for i in range(start, start + n):
        service = ("service-a", "service-b", "service-c")[i % 3]
        yield Draft(
            "evidence.junit",
            {"run": i, "suite": f"{service}/unit", "tests": 120 + i % 17, "failures": 0, "skipped": i % 5,
             "duration_s": round(12.5 + i % 90 / 10, 1), "commit": f"{i:040x}"},
            service=service,
        )


def new_ledger(path: Path) -> Ledger:
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    ledger = Ledger.create(path, ORIGIN, LEDGER_KEY, admins=[(ADMIN.vkey, ["admin"])])
    ledger.append(Draft("ledger.key_added", {"vkey": CI.vkey, "roles": ["ci"]}), [ADMIN])
    return ledger


def raw_connection(path: Path) -> sqlite3.Connection:
    """A fresh SQLite file with the ledger's schema and pragmas (WAL, synchronous=FULL)."""
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.executescript(DDL)
    return conn


ROW_INSERT = "INSERT INTO entries (seq, time, kind, service, promotion, leaf, leaf_hash, chain, row_sig) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def signed_pairs(path: Path, limit: int) -> list[tuple[bytes, bytes, bytes, bytes]]:
    """(statement key, signed statement, ledger key, signed row) for the first `limit` CI entries."""
    pub = {CI.keyid: CI.public_key}
    pairs = []
    with Ledger.open(path, readonly=True) as ledger:
        for e in ledger.entries(kind="evidence.junit", limit=limit):
            seq, leaf, chain, row_sig = e.seq, e.leaf, e.chain, e.row_sig
            env = verifier.parse_envelope(json.loads(leaf)["envelope"])
            keyid, sig = env.signatures[0]
            pairs.append((pub[keyid], sig + verifier.pae(env.payload_type, env.payload),
                          LEDGER_KEY.public_key, row_sig + verifier.row_message(ORIGIN, seq, chain)))
    return pairs


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    t0 = time.perf_counter()
    result = fn()
    return time.perf_counter() - t0, result


# -- (a) bulk append -------------------------------------------------------------------------------


def bench_bulk(work: Path, n: int) -> dict:
    path = work / "bulk.db"
    ledger = new_ledger(path)
    log(f"(a) append_many of {n:,} entries")
    seconds, receipts = timed(lambda: ledger.append_many(drafts(n), [CI], batch_size=BATCH))
    assert len(receipts) == n
    ledger.close()

    with Ledger.open(path, readonly=True) as done:
        rows = done.storage.entries(after=1)
    pairs = signed_pairs(path, n)
    messages = [(p[1][64:], p[3][64:]) for p in pairs]  # the exact bytes gooseterm signed per entry
    _, secret = crypto_sign_seed_keypair(CI.seed)  # the raw libsodium key, to time crypto_sign alone

    log("(a) floor: raw signing, 2 per entry")
    def sign_all() -> None:
        for statement, row in messages:
            crypto_sign(statement, secret)
            crypto_sign(row, secret)
    sign_s, _ = timed(sign_all)

    log("(a) floor: raw SQLite insert of the same rows, one transaction")
    raw = raw_connection(work / "raw-bulk.db")
    def insert_all() -> None:
        raw.execute("BEGIN IMMEDIATE")
        raw.executemany(ROW_INSERT, rows)
        raw.execute("COMMIT")
    insert_s, _ = timed(insert_all)
    raw.close()
    floor_s = sign_s + insert_s
    return {
        "entries": n,
        "append_many_s": seconds,
        "append_many_per_s": n / seconds,
        "floor_sign_s": sign_s,
        "floor_sign_per_s": n / sign_s,
        "floor_insert_s": insert_s,
        "floor_insert_per_s": n / insert_s,
        "floor_per_s": n / floor_s,
        "append_many_vs_floor": floor_s / seconds,
        "mean_leaf_bytes": statistics.fmean(len(r[5]) for r in rows),
        "ledger": str(path),
    }


# -- (b) single append latency ---------------------------------------------------------------------


def bench_single(work: Path, path: Path, n: int) -> dict:
    log(f"(b) {n:,} single durable appends")
    samples = []
    with Ledger.open(path, signer=LEDGER_KEY) as ledger:
        for draft in drafts(n, start=10_000_000):
            t0 = time.perf_counter()
            ledger.append(draft, [CI])
            samples.append((time.perf_counter() - t0) * 1000)
        leaf = ledger.entry(ledger.size() - 1)
    log(f"(b) floor: {n:,} raw single-row commits, synchronous=FULL")
    raw = raw_connection(work / "raw-single.db")
    raw_samples = []
    for seq in range(n):
        t0 = time.perf_counter()
        raw.execute("BEGIN IMMEDIATE")
        raw.execute(ROW_INSERT, (seq, leaf.time, leaf.kind, leaf.service, None, leaf.leaf, leaf.leaf_hash, leaf.chain, leaf.row_sig))
        raw.execute("COMMIT")
        raw_samples.append((time.perf_counter() - t0) * 1000)
    raw.close()
    stats = {}
    for name, values in (("append", samples), ("raw_commit", raw_samples)):
        stats |= {f"{name}_p50_ms": percentile(values, 50), f"{name}_p95_ms": percentile(values, 95),
                  f"{name}_p99_ms": percentile(values, 99), f"{name}_max_ms": max(values)}
    return {"appends": n, **stats}


# -- (c) verification --------------------------------------------------------------------------------


_PAIRS: list[tuple[bytes, bytes, bytes, bytes]] = []  # set before forking, so workers need no pickling


def _open_pairs(bounds: tuple[int, int]) -> int:
    """Two crypto_sign_open calls per row, for rows [start, stop) of _PAIRS."""
    start, stop = bounds
    for spub, signed, lpub, row in _PAIRS[start:stop]:
        crypto_sign_open(signed, spub)
        crypto_sign_open(row, lpub)
    return stop - start


def raw_verify_rates(path: Path, limit: int, procs: int, repeat: int) -> dict:
    """Rows/s of the bare verify loop (messages prepared beforehand): one core, then `procs` at once."""
    global _PAIRS
    _PAIRS = signed_pairs(path, limit)
    n = len(_PAIRS)
    one_s = min(timed(lambda: _open_pairs((0, n)))[0] for _ in range(repeat))
    with multiprocessing.get_context("fork").Pool(procs) as pool:
        pool.map(_open_pairs, [(0, 1)] * procs)  # workers up before the clock starts
        slices = [(i * n // procs, (i + 1) * n // procs) for i in range(procs)]
        many_s = min(timed(lambda: pool.map(_open_pairs, slices))[0] for _ in range(repeat))
    return {"raw_rows": n, "raw_verify_rows_per_s": n / one_s, "raw_procs": procs,
            "raw_verify_parallel_rows_per_s": n / many_s, "raw_parallel_scaling": one_s / many_s}


def verify_rate(path: Path, jobs: int) -> dict:
    """verify_ledger's rows/s, and how long the whole-file checks after the row walk took."""
    t0 = time.perf_counter()
    walked: list[float] = []

    def progress(done: int, total: int) -> None:
        if done >= total:
            walked.append(time.perf_counter() - t0)

    seconds, report = timed(lambda: verifier.verify_ledger(str(path), jobs=jobs, progress=progress))
    if not report.ok:
        raise SystemExit(f"benchmark ledger {path} did not verify: {report.first}")
    walk_s = walked[0] if walked else seconds
    return {"rows": report.size, "seconds": seconds, "rows_per_s": report.size / seconds,
            "row_walk_done_s": walk_s, "after_walk_s": seconds - walk_s}


def bench_verify(path: Path, raw_rows: int, repeat: int) -> dict:
    """Best of `repeat` runs each: other processes on a shared machine only ever slow a run down."""
    log(f"(c) raw verify loop, one process and two at once, best of {repeat}")
    raw = raw_verify_rates(path, raw_rows, procs=2, repeat=repeat)
    log(f"(c) verify_ledger jobs=1, best of {repeat}")
    one = max((verify_rate(path, 1) for _ in range(repeat)), key=lambda r: r["rows_per_s"])
    log(f"(c) verify_ledger jobs=2, best of {repeat}")
    two = max((verify_rate(path, 2) for _ in range(repeat)), key=lambda r: r["rows_per_s"])
    return {
        "repeat": repeat,
        **raw,
        "jobs1": one,
        "jobs2": two,
        "scaling_jobs2_over_jobs1": two["rows_per_s"] / one["rows_per_s"],
        "jobs1_vs_raw": one["rows_per_s"] / raw["raw_verify_rows_per_s"],
        "jobs2_vs_raw_parallel": two["rows_per_s"] / raw["raw_verify_parallel_rows_per_s"],
    }


# -- (d) the big ledger ----------------------------------------------------------------------------


def big_ledger(n: int) -> tuple[Path, dict]:
    """The cached n-entry ledger, built with append_many if missing; returns its build record."""
    path, record = OUT / f"ledger-{n}.db", OUT / f"ledger-{n}.json"
    if path.exists() and record.exists():
        info = json.loads(record.read_text())
        if info.get("entries") == n and info.get("size") == Ledger.open(path, readonly=True).size():
            log(f"(d) reusing {path} (built in {info['build_s']:.0f} s on {info['built']})")
            return path, info | {"cached": True}
    log(f"(d) building {path} with append_many: {n:,} entries")
    ledger = new_ledger(path)
    t0 = time.perf_counter()
    done = 0
    while done < n:
        step = min(100_000, n - done)
        ledger.append_many(drafts(step, start=done), [CI], batch_size=BATCH)
        done += step
        log(f"(d)   {done:,} entries, {done / (time.perf_counter() - t0):,.0f}/s")
    build_s = time.perf_counter() - t0
    size = ledger.size()
    ledger.close()  # the last connection's close folds the WAL into the file
    info = {"entries": n, "size": size, "build_s": build_s, "build_per_s": n / build_s,
            "file_bytes": path.stat().st_size, "built": datetime.now(UTC).isoformat(timespec="seconds")}
    record.write_text(json.dumps(info, indent=2))
    return path, info | {"cached": False}


def bench_big(n: int) -> tuple[Path, dict]:
    path, info = big_ledger(n)
    log(f"(d) verify_ledger jobs=2 of {info['size']:,} rows")
    result = verify_rate(path, 2)
    return path, {"build": info, "verify_jobs2": result}


# -- (e) inclusion proofs ----------------------------------------------------------------------------


def bench_proofs(path: Path, count: int) -> dict:
    log(f"(e) {count:,} inclusion proofs")
    rng = random.Random(2026)
    with Ledger.open(path, readonly=True) as ledger:
        size = ledger.size()
        root = ledger.root()
        seqs = [rng.randrange(size) for _ in range(count)]
        hashes = {seq: ledger.entry(seq).leaf_hash for seq in set(seqs)}
        samples = []
        for seq in seqs:
            t0 = time.perf_counter()
            proof = ledger.inclusion_proof(seq, size)
            verifier.verify_inclusion(seq, size, hashes[seq], proof, root)
            samples.append((time.perf_counter() - t0) * 1000)
    return {"tree_size": size, "proofs": count, "proof_len": len(proof), "mean_ms": statistics.fmean(samples),
            "p50_ms": percentile(samples, 50), "p99_ms": percentile(samples, 99), "max_ms": max(samples)}


# -- machine, table, main ----------------------------------------------------------------------------


def libsodium_version() -> str:
    """PyNaCl bundles libsodium without exporting its version; its changelog names the one bundled."""
    text = metadata.distribution("pynacl").read_text("METADATA") or ""
    found = re.search(r"Updated ``libsodium`` to ([0-9][\w.\-]*)", text)
    return f"{found.group(1)} (bundled with PyNaCl {metadata.version('pynacl')})" if found else "unknown"


def machine() -> dict:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "libsodium": libsodium_version(),
        "pynacl": metadata.version("pynacl"),
        "platform": platform.platform(),
    }


def table(r: dict) -> list[tuple[str, str, str, str, str]]:
    """Rows of (measure, gooseterm, floor, goal, verdict)."""
    a, b, c, d, e = r["bulk"], r["single"], r["verify"], r["big"], r["proofs"]
    per_core_floor = c["raw_verify_rows_per_s"]
    two_floor = c["raw_verify_parallel_rows_per_s"]
    big_rows = d["verify_jobs2"]["rows"]
    big_scaling = d["verify_jobs2"]["rows_per_s"] / c["jobs1"]["rows_per_s"]

    def verdict(ok: bool) -> str:
        return "met" if ok else "MISSED"

    return [
        ("append_many entries/s", f"{a['append_many_per_s']:,.0f}", f"{a['floor_per_s']:,.0f}", f">= {GOALS['append_many_per_s']:,}",
         verdict(a["append_many_per_s"] >= GOALS["append_many_per_s"])),
        ("append_many / floor", f"{a['append_many_vs_floor']:.2f}", "1.00", f">= {GOALS['append_many_vs_floor']}",
         verdict(a["append_many_vs_floor"] >= GOALS["append_many_vs_floor"])),
        ("  floor: sign 2/entry entries/s", f"{a['floor_sign_per_s']:,.0f}", "", "", ""),
        ("  floor: SQLite insert rows/s", f"{a['floor_insert_per_s']:,.0f}", "", "", ""),
        ("append p50 / p95 ms", f"{b['append_p50_ms']:.2f} / {b['append_p95_ms']:.2f}",
         f"{b['raw_commit_p50_ms']:.2f} / {b['raw_commit_p95_ms']:.2f}", "", ""),
        ("append p99 ms", f"{b['append_p99_ms']:.2f}", f"{b['raw_commit_p99_ms']:.2f}", f"< {GOALS['append_p99_ms']}",
         verdict(b["append_p99_ms"] < GOALS["append_p99_ms"])),
        ("verify rows/s, jobs=1", f"{c['jobs1']['rows_per_s']:,.0f}", f"{per_core_floor:,.0f}", f">= {GOALS['verify_rows_per_s_per_core']:,}",
         verdict(c["jobs1"]["rows_per_s"] >= GOALS["verify_rows_per_s_per_core"])),
        ("verify rows/s, jobs=2", f"{c['jobs2']['rows_per_s']:,.0f}", f"{two_floor:,.0f}", "", ""),
        ("  speed-up jobs=2 over jobs=1", f"{c['scaling_jobs2_over_jobs1']:.2f}x", f"{c['raw_parallel_scaling']:.2f}x", "", ""),
        (f"verify {big_rows:,} rows, jobs=2, s", f"{d['verify_jobs2']['seconds']:.1f}", f"{big_rows / two_floor:.1f}",
         f"< {GOALS['big_verify_s']:.0f}", verdict(d["verify_jobs2"]["seconds"] < GOALS["big_verify_s"])),
        # Scaling is judged on the big ledger: with CHUNK_ROWS-sized chunks a small one splits unevenly.
        ("  speed-up jobs=2 (big) over jobs=1", f"{big_scaling:.2f}x", f"{c['raw_parallel_scaling']:.2f}x",
         ">= 0.85 x floor", verdict(big_scaling >= 0.85 * c["raw_parallel_scaling"])),
        (f"build {d['build']['entries']:,} with append_many, s", f"{d['build']['build_s']:.0f}",
         f"{d['build']['entries'] / a['floor_per_s']:.0f}", "", ""),
        ("inclusion proof mean / p99 ms", f"{e['mean_ms']:.2f} / {e['p99_ms']:.2f}", "", f"< {GOALS['proof_ms']:.0f}",
         verdict(e["p99_ms"] < GOALS["proof_ms"])),
    ]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, help="entries for (a)-(c) (default 100,000; quick 5,000)")
    parser.add_argument("--big", type=int, help="entries in the cached large ledger (default 1,000,000; quick 50,000)")
    parser.add_argument("--appends", type=int, help="single appends timed in (b) (default 2,000; quick 300)")
    parser.add_argument("--proofs", type=int, help="inclusion proofs timed in (e) (default 1,000; quick 200)")
    parser.add_argument("--quick", action="store_true", help="small sizes, to check the script")
    parser.add_argument("--out", type=Path, default=OUT / "ledger_bench.json")
    args = parser.parse_args(argv)
    entries = args.entries or (5_000 if args.quick else 100_000)
    big = args.big or (50_000 if args.quick else 1_000_000)
    appends = args.appends or (300 if args.quick else 2_000)
    proofs = args.proofs or (200 if args.quick else 1_000)

    OUT.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    result: dict = {"command": " ".join([Path(sys.executable).name, "bench/ledger_bench.py", *argv]),
                    "date": datetime.now(UTC).isoformat(timespec="seconds"), "quick": args.quick,
                    "machine": machine(), "goals": GOALS, "load_average_before": os.getloadavg()}
    with tempfile.TemporaryDirectory(dir=OUT, prefix="work-") as tmp:
        work = Path(tmp)
        result["bulk"] = bulk = bench_bulk(work, entries)
        result["single"] = bench_single(work, Path(bulk.pop("ledger")), appends)
        result["verify"] = bench_verify(work / "bulk.db", min(entries, 20_000), repeat=1 if args.quick else 3)
        big_path, result["big"] = bench_big(big)
        result["proofs"] = bench_proofs(big_path, proofs)
    result["total_s"] = time.perf_counter() - started
    result["load_average_after"] = os.getloadavg()  # other processes skew every number above
    rows = table(result)
    result["table"] = [dict(zip(("measure", "gooseterm", "floor", "goal", "verdict"), row)) for row in rows]
    args.out.write_text(json.dumps(result, indent=2) + "\n")

    print_table(result, rows, args.out)
    return 0


def print_table(result: dict, rows: list[tuple[str, str, str, str, str]], out: Path) -> None:
    m = result["machine"]
    print(f"\ngooseterm ledger benchmark  {result['date']}  ({'QUICK, not for quoting' if result['quick'] else 'full'})")
    print(f"{m['cpu']}, {m['cores']} cores; Python {m['python']}, SQLite {m['sqlite']}, libsodium {m['libsodium']}")
    print(f"load average before {result['load_average_before'][0]:.2f}, after {result['load_average_after'][0]:.2f}\n")
    widths = [max(len(str(r[i])) for r in rows + [("measure", "gooseterm", "floor", "goal", "verdict")]) for i in range(5)]
    for row in [("measure", "gooseterm", "floor", "goal", "verdict"), *rows]:
        print("  ".join(str(v).ljust(w) if i == 0 else str(v).rjust(w) for i, (v, w) in enumerate(zip(row, widths))))
    print(f"\nwrote {out} in {result['total_s']:.0f} s")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
