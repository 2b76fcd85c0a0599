"""Two SREs (two processes) acting on one service at the same moment get one result and one
clear refusal, never two open promotions or a double transition, and the ledger still verifies.

Each racer is a process running `gooseterm` commands (tests/helpers/race_runner.py: the same click
`main` as the installed command) released by a common start file after its imports, so both
reach SQLite's BEGIN IMMEDIATE together. Every race runs several
rounds, since one round may happen to serialise without contention.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from helpers.orgs import CLEAN, EVIDENCE, TestOrg, build_org, utc_now
from gooseterm.ledger.store import Draft, Ledger
from gooseterm.ledger.verifier import verify_ledger

RUNNER = Path(__file__).resolve().parents[1] / "helpers" / "race_runner.py"
ROUNDS = 4


@dataclass
class Ran:
    who: str
    code: int
    stdout: str
    stderr: str


class Racers:
    """Long-lived racer processes (tests/helpers/race_runner.py), reused by every round.

    `-P` keeps tests/helpers/ off the racers' sys.path, where a helper module could shadow a
    package of the same name (tests/helpers/exports.py and the `exports` package)."""

    def __init__(self, work: Path, names: list[str]):
        self.work = work
        self.round = 0
        work.mkdir(parents=True, exist_ok=True)
        self.procs = {n: subprocess.Popen([sys.executable, "-P", str(RUNNER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, text=True) for n in names}

    def race(self, home: Path, commands: dict[str, list[str]]) -> dict[str, Ran]:
        """Run each racer's command against `home`, all released at once."""
        self.round += 1
        go = self.work / f"go{self.round}"
        slots = dict(zip(commands, self.procs.values(), strict=True))
        for name, args in commands.items():
            job = {"args": args, "env": {"GOOSETERM_HOME": str(home)}, "ready": str(self.work / f"{name}.{self.round}.ready"), "go": str(go)}
            slots[name].stdin.write(json.dumps(job) + "\n")
            slots[name].stdin.flush()
        deadline = time.monotonic() + 60
        while not all((self.work / f"{n}.{self.round}.ready").exists() for n in commands):
            assert time.monotonic() < deadline, "racers did not start"
            assert all(p.poll() is None for p in self.procs.values()), {n: p.stderr.read() for n, p in self.procs.items() if p.poll() is not None}
            time.sleep(0.002)
        go.touch()
        out = {}
        for name in commands:
            line = slots[name].stdout.readline()
            assert line, slots[name].stderr.read()
            r = json.loads(line)
            out[name] = Ran(name, r["code"], r["stdout"], r["stderr"])
        return out

    def close(self) -> None:
        for p in self.procs.values():
            p.stdin.close()
        for p in self.procs.values():
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


@pytest.fixture
def racers(tmp_path: Path):
    r = Racers(tmp_path / "race", ["one", "two"])
    yield r
    r.close()


def assert_clean_error(r: Ran, *fragments: str) -> None:
    err = r.stderr.strip()
    assert err.startswith("gooseterm: ") and "\n" not in err and "Traceback" not in err, err
    for f in fragments:
        assert f in err, err


def entries(home: Path, kind: str, **filters) -> list:
    with Ledger.open(home / "ledger.db", readonly=True) as ledger:
        return ledger.entries(kind=kind, **filters)


def verifies(home: Path) -> None:
    report = verify_ledger(str(home / "ledger.db"))
    assert report.ok, report.to_json()["faults"]


def build_home(home: Path) -> Path:
    """The example org, all onboarded, service-c with clean evidence, in sandbox."""
    o = build_org(home, clock=utc_now)
    o.onboard("service-c", "service-b", "service-a")
    o.collect(CLEAN)
    o.close()
    return home


@pytest.fixture
def home(isolated_home: Path) -> Path:
    return build_home(isolated_home)


def reopen(home: Path) -> TestOrg:
    """The domain API over the raced ledger, to set up the next round."""
    from gooseterm.gates import VALIDATORS
    from gooseterm.orgconfig import load_org
    from gooseterm.projections import project_appended
    from helpers.orgs import CONFIG
    from gooseterm.ledger.keys import KeyStore

    org = load_org(CONFIG, validators=VALIDATORS)
    store = KeyStore(home / "keys")
    signers = {n: store.load(n) for n in ("alice", "bob", "carol", "dave", "ci")}
    ledger = Ledger.open(home / "ledger.db", signer=store.load(org.org.ledger_origin), projector=project_appended)
    return TestOrg(home, CONFIG, org, ledger, utc_now, signers)


def test_two_requests_to_compliance_ready_make_one_transition(racers: Racers, tmp_path: Path) -> None:
    for n in range(ROUNDS):  # a fresh ledger each round: the transition can happen only once per ledger
        home = build_home(tmp_path / f"home{n}")
        results = racers.race(home, {
            "alice": ["--as", "alice", "promote", CLEAN, "--to", "compliance_ready"],
            "dave": ["--as", "dave", "promote", CLEAN, "--to", "compliance_ready"],
        })
        winners = [r for r in results.values() if r.code == 0]
        losers = [r for r in results.values() if r.code != 0]
        assert len(winners) == 1 and len(losers) == 1, results
        assert "promoted" in winners[0].stdout and "now compliance_ready" in winners[0].stdout
        # The loser is refused because the service has moved on (exit 1, its new state named);
        # README promises exit 3 for racing commands, which the domain cannot tell from a late one.
        assert losers[0].code in (1, 3), results
        assert_clean_error(losers[0], "service-c is compliance_ready")
        assert len(entries(home, "promotion.requested", service=CLEAN)) == 1
        assert len(entries(home, "promotion.promoted", service=CLEAN)) == 1
        verifies(home)


def test_racing_requests_to_compliant_give_one_promotion_and_one_conflict(racers: Racers, home: Path) -> None:
    o = reopen(home)
    assert o.as_("alice").request(CLEAN, "compliance_ready").status == "promoted"
    o.close()
    for n in range(ROUNDS):
        before = len(entries(home, "promotion.requested", service=CLEAN))
        results = racers.race(home, {
            "alice": ["--as", "alice", "promote", CLEAN, "--to", "compliant", "--json"],
            "dave": ["--as", "dave", "promote", CLEAN, "--to", "compliant", "--json"],
        })
        winners = [r for r in results.values() if r.code == 0]
        losers = [r for r in results.values() if r.code != 0]
        assert len(winners) == 1 and len(losers) == 1, results
        assert '"status": "awaiting_approval"' in winners[0].stdout
        assert losers[0].code == 3, results  # a conflict, as README promises
        assert_clean_error(losers[0], "already has open promotion")
        requested = entries(home, "promotion.requested", service=CLEAN)
        assert len(requested) == before + 1, "two promotion.requested for one open promotion"
        pid = f"{CLEAN}-{requested[-1].seq}"
        assert pid in losers[0].stderr  # the conflict names the promotion that won
        o = reopen(home)
        try:
            assert len([p for p in o.reader().promotions(CLEAN, open_only=True)]) == 1
            o.as_("bob").reject(pid, f"round {n} of the race test")  # clear the way for the next round
        finally:
            o.close()
    verifies(home)


@pytest.fixture
def awaiting(home: Path) -> tuple[Path, str]:
    o = reopen(home)
    try:
        o.as_("alice").request(CLEAN, "compliance_ready")
        pid = o.as_("alice").request(CLEAN, "compliant").promotion
    finally:
        o.close()
    return home, pid


def next_round(home: Path, n: int) -> str:
    """Demote service-c back to sandbox and request compliant again: a fresh promotion to race on."""
    o = reopen(home)
    try:
        if o.reader().service(CLEAN)["state"] == "compliant":
            o.as_("dave").demote(CLEAN, f"race round {n}")
        if o.reader().service(CLEAN)["state"] == "sandbox":
            o.as_("alice").request(CLEAN, "compliance_ready")
        return o.as_("alice").request(CLEAN, "compliant").promotion
    finally:
        o.close()


def test_two_approvers_at_once_complete_the_quorum_once(racers: Racers, awaiting) -> None:
    home, pid = awaiting
    for n in range(ROUNDS):
        if n:
            pid = next_round(home, n)
        results = racers.race(home, {
            "bob": ["--as", "bob", "approve", pid, "--json"],
            "carol": ["--as", "carol", "approve", pid, "--json"],
        })
        assert all(r.code == 0 for r in results.values()), results
        statuses = sorted('"status": "promoted"' in r.stdout for r in results.values())
        assert statuses == [False, True], results  # one saw 1 of 2, the other completed it
        assert len(entries(home, "approval.granted", promotion=pid)) == 2
        assert len(entries(home, "promotion.approved", promotion=pid)) == 1
        assert len(entries(home, "promotion.promoted", promotion=pid)) == 1
    verifies(home)


def test_same_person_approving_twice_at_once_counts_once(racers: Racers, awaiting) -> None:
    home, pid = awaiting
    for n in range(ROUNDS):
        if n:
            pid = next_round(home, n)
        results = racers.race(home, {
            "bob-laptop": ["--as", "bob", "approve", pid],
            "bob-desktop": ["--as", "bob", "approve", pid],
        })
        assert sorted(r.code for r in results.values()) == [0, 1], results
        [loser] = [r for r in results.values() if r.code == 1]
        assert_clean_error(loser, "bob already approved")
        grants = entries(home, "approval.granted", promotion=pid)
        assert [g.predicate["person"] for g in grants] == ["bob"]
        o = reopen(home)
        try:
            o.as_("carol").approve(pid)  # finish it, so the next round can demote and start over
        finally:
            o.close()
    verifies(home)


def test_override_racing_the_last_approval_promotes_once(racers: Racers, awaiting) -> None:
    home, pid = awaiting
    for n in range(ROUNDS):
        if n:
            pid = next_round(home, n)
        o = reopen(home)
        try:
            o.as_("bob").approve(pid)
        finally:
            o.close()
        results = racers.race(home, {
            "carol": ["--as", "carol", "approve", pid],
            "dave": ["--as", "dave", "override", pid, "--reason", "release train leaves now"],
        })
        assert sorted(r.code for r in results.values()) == [0, 1], results
        [loser] = [r for r in results.values() if r.code == 1]
        assert_clean_error(loser, f"promotion {pid} is promoted")
        assert len(entries(home, "promotion.promoted", promotion=pid)) == 1
        states = [e.predicate["to"] for e in entries(home, "promotion.promoted", service=CLEAN)]
        assert states.count("compliant") == n + 1  # one transition to compliant per round
    verifies(home)


APPEND_AND_EXIT = """
import sys
from pathlib import Path
from gooseterm.ledger.keys import KeyStore
from gooseterm.ledger.store import Draft, Ledger
home, origin, name = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
store = KeyStore(home / "keys")
with Ledger.open(home / "ledger.db", signer=store.load(origin)) as ledger:
    ledger.append(Draft("annotation", {"by": name}), [store.load("dave")])
"""


@pytest.mark.parametrize("reopen_how", ["Ledger.open", "verify_ledger"])
def test_long_lived_process_that_reopens_the_ledger_loses_no_entries(home: Path, reopen_how: str) -> None:
    o = reopen(home)
    origin = o.org.org.ledger_origin
    try:
        o.ledger.append(Draft("annotation", {"by": "tui-1"}), [o.signers["dave"]])
        if reopen_how == "Ledger.open":
            Ledger.open(home / "ledger.db", readonly=True).close()  # e.g. a dashboard opening a second view
        else:
            verify_ledger(str(home / "ledger.db"))  # e.g. a dashboard's "verify" action
        run = [sys.executable, "-P", "-c", APPEND_AND_EXIT, str(home), origin]
        subprocess.run([*run, "cli-1"], check=True, timeout=60)
        o.ledger.append(Draft("annotation", {"by": "tui-2"}), [o.signers["dave"]])  # acknowledged
        subprocess.run([*run, "cli-2"], check=True, timeout=60)
    finally:
        o.close()
    by = [e.predicate["by"] for e in entries(home, "annotation")]
    assert by == ["tui-1", "cli-1", "tui-2", "cli-2"]
    verifies(home)


def test_approval_racing_new_evidence_never_counts_against_the_new_evidence(racers: Racers, awaiting) -> None:
    home, pid = awaiting
    other = [str(p) for p in (EVIDENCE / "service-b" / "junit.xml", EVIDENCE / "service-c" / "junit.xml")]
    for n in range(ROUNDS):
        if n:
            pid = next_round(home, n)
        results = racers.race(home, {
            "bob": ["--as", "bob", "approve", pid],
            "ci": ["--as", "ci", "evidence", "add", "--service", CLEAN, "--kind", "junit", other[n % 2]],
        })
        assert results["ci"].code == 0, results
        evidence_seq = entries(home, "evidence.junit", service=CLEAN)[-1].seq
        grants = entries(home, "approval.granted", promotion=pid)
        if results["bob"].code == 0:  # bob was first: his approval predates the evidence
            assert len(grants) == 1 and grants[0].seq < evidence_seq
        else:  # the evidence was first: bob is told, and nothing of his is recorded
            assert_clean_error(results["bob"], pid)
            assert grants == []
        assert entries(home, "promotion.promoted", promotion=pid) == []
        o = reopen(home)
        try:
            promo = o.reader().promotion(pid)
            assert promo["status"] != "promoted"
            if promo["status"] == "awaiting_approval":  # whatever is left open, clear it for the next round
                o.as_("carol").reject(pid, "evidence changed")
        finally:
            o.close()
    verifies(home)
