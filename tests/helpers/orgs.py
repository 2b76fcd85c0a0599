"""Test organisations: keys for alice, bob, carol, dave and CI, a ledger, and one Orchestrator each.

The example org (config/) has alice and dave in sre (dave is the admin), bob in security and
carol in compliance; every service is owned by sre, so bob and carol are the only people who may
approve a promotion to compliant. `build_org` creates the keys and the ledger under a test's home
folder (the same layout the CLI reads), so a test can mix the domain API and `gooseterm --as NAME`.

`write_config` makes a small org in a temporary folder: the example org's org.yaml, states,
rules, runbooks and template, with the services (and optionally approvals and rules) replaced.
"""

from __future__ import annotations

import shutil
import sys
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

from gooseterm.gates import VALIDATORS
from gooseterm.orgconfig import OrgConfig, load_org
from gooseterm.projections import project_appended
from gooseterm.promotions import Orchestrator
from gooseterm.ledger.keys import KeyStore
from gooseterm.ledger.signing import Signer
from gooseterm.ledger.store import KEY_ADDED, Draft, Entry, Ledger, utc_now

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "config"
EVIDENCE = CONFIG / "evidence"
TOOL_EVIDENCE = REPO / "tests" / "fixtures" / "evidence"
SAMPLES = REPO / "tests" / "fixtures" / "samples"
GOOSETERM = Path(sys.executable).parent / "gooseterm"  # the command installed beside the running interpreter

PEOPLE = ("alice", "bob", "carol", "dave")
ADMIN = "dave"
CI = "ci"
EVIDENCE_FILES = {"junit": "junit.xml", "sarif": "bandit.sarif", "coverage": "coverage.xml", "metrics": "metrics.json"}
CLEAN = "service-c"  # whose example evidence passes every gate
DIRTY = "service-a"  # whose example evidence has a failing test and a high-severity finding
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class TestClock:
    """A writer clock for the ledger: one second per entry, and `advance` to jump ahead."""

    __test__ = False  # not a pytest test class

    def __init__(self, start: datetime = START, step: timedelta = timedelta(seconds=1)):
        self.t = start
        self.step = step

    def __call__(self) -> str:
        self.t += self.step
        return self.t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    def advance(self, delta: timedelta) -> None:
        """Move time forward by `delta` (expiry tests)."""
        self.t += delta


def evidence_bytes(service: str, kind: str) -> bytes:
    """The example org's evidence file of `kind` for one of service-a, -b, -c."""
    return (EVIDENCE / service / EVIDENCE_FILES[kind]).read_bytes()


@dataclass
class TestOrg:
    """A ledger with the org's people as trusted signers, and an Orchestrator per person."""

    __test__ = False

    home: Path
    config: Path
    org: OrgConfig
    ledger: Ledger
    clock: Callable[[], str]
    signers: dict[str, Signer]
    _orchs: dict[str, Orchestrator] = field(default_factory=dict)

    @property
    def ledger_path(self) -> Path:
        return self.ledger.path

    def as_(self, name: str) -> Orchestrator:
        """The Orchestrator signing as `name` (alice, bob, carol, dave or ci)."""
        if name not in self._orchs:
            self._orchs[name] = Orchestrator(self.ledger, self.org, self.signers[name])
        return self._orchs[name]

    def reader(self) -> Orchestrator:
        """An Orchestrator that signs nothing (reads only)."""
        return Orchestrator(self.ledger, self.org, None)

    def size(self) -> int:
        return self.ledger.size()

    def entries(self, kind: str | None = None, promotion: str | None = None, service: str | None = None) -> list[Entry]:
        return self.ledger.entries(kind=kind, promotion=promotion, service=service)

    def kinds(self, after: int = -1) -> list[str]:
        """Kinds of the entries after seq `after`, in order."""
        return [e.kind for e in self.ledger.entries(after=after)]

    def onboard(self, *services: str, by: str = ADMIN) -> None:
        for s in services:
            self.as_(by).onboard(s, (self.config / "services" / f"{s}.yaml").read_bytes())

    def collect(self, service: str, like: str | None = None, kinds: Iterable[str] = EVIDENCE_FILES, by: str = CI) -> None:
        """Record the example evidence of `like` (default: `service` itself) for `service`."""
        src = like or service
        for kind in kinds:
            self.as_(by).add_evidence(service, kind, evidence_bytes(src, kind), f"evidence/{src}/{EVIDENCE_FILES[kind]}", collector="files")

    def add(self, service: str, kind: str, path: Path, by: str = CI):
        """Record one evidence file."""
        return self.as_(by).add_evidence(service, kind, path.read_bytes(), str(path))

    def make_ready(self, service: str, like: str = CLEAN) -> None:
        """Onboard (if needed), collect clean evidence and promote to compliance_ready."""
        if self.reader().service(service)["onboarded_seq"] is None:
            self.onboard(service)
        self.collect(service, like)
        out = self.as_("alice").request(service, "compliance_ready")
        assert out.status == "promoted", out

    def make_compliant(self, service: str, like: str = CLEAN, approvers: Iterable[str] = ("bob", "carol")) -> str:
        """Take a service from sandbox to compliant with the usual two approvals; returns the promotion id."""
        self.make_ready(service, like)
        pid = self.as_("alice").request(service, "compliant").promotion
        out = None
        for a in approvers:
            out = self.as_(a).approve(pid)
        assert out is not None and out.status == "promoted", out
        return pid

    def close(self) -> None:
        self.ledger.close()


def build_org(home: Path, config: Path = CONFIG, clock: Callable[[], str] | None = None, checkpoint_every: int = 1000) -> TestOrg:
    """Keys for every person in the org and CI, and a ledger under `home` trusting them all.

    The org's admins get admin keys at genesis; everyone else is added as an approver, CI as ci.
    Pass `clock=utc_now` when the CLI will write to the same ledger (it writes real times).
    """
    org = load_org(config, validators=VALIDATORS)
    clock = clock or TestClock()
    store = KeyStore(home / "keys")
    names = [*sorted(org.org.people), CI]
    signers = {n: store.create(n) for n in names}
    ledger_signer = store.create(org.org.ledger_origin)
    admins = [n for n in sorted(org.org.people) if "admin" in org.org.people[n].roles]
    ledger = Ledger.create(home / "ledger.db", org.org.ledger_origin, ledger_signer,
                           [(signers[n].vkey, ["admin", "approver"]) for n in admins],
                           clock=clock, checkpoint_every=checkpoint_every, projector=project_appended)
    boss = signers[admins[0]]
    for n in sorted(org.org.people):
        if n not in admins:
            ledger.append(Draft(KEY_ADDED, {"vkey": signers[n].vkey, "roles": ["approver"]}), [boss])
    ledger.append(Draft(KEY_ADDED, {"vkey": signers[CI].vkey, "roles": ["ci"]}), [boss])
    return TestOrg(home, Path(config), org, ledger, clock, signers)


def clone_home(src: Path, dst: Path) -> Path:
    """Copy a home built once (keys with their modes, and the ledger) into `dst`.

    Building a home appends a few dozen entries, each fsynced; a module builds one and every
    test gets a copy."""
    shutil.copytree(src, dst, dirs_exist_ok=True)
    return dst


def service_yaml(name: str, depends_on: Iterable[str] = (), optional: Iterable[str] = (), owners: Iterable[str] = ("sre",)) -> dict:
    """A service file (plan 3.1 template) with runtime dependencies."""
    runtime = [*depends_on, *({"name": d, "required": False} for d in optional)]
    return {"service": {"name": name, "owners": list(owners), "spec": {
        "api_version": "v1", "compliance_mode": "compliant",
        "dependencies": {"runtime": runtime, "data": [], "security": []}}}}


def write_config(
    root: Path,
    services: dict[str, dict],
    approvals: list[dict] | None = None,
    rules: dict | None = None,
) -> Path:
    """A config folder at `root`: the example org with these services (and approvals, rules).

    Approvals default to the example's policies that still apply (service-a's own is dropped).
    """
    root.mkdir(parents=True, exist_ok=True)
    for name in ("states.yaml", "rules.yaml", "runbooks.yaml"):
        shutil.copy(CONFIG / name, root / name)
    # The example's people, groups and roles only: its other sections (mesh, kubernetes) name
    # the example's services and machines, which a small test org does not have.
    org = yaml.safe_load((CONFIG / "org.yaml").read_text())
    org = {k: org[k] for k in ("name", "ledger_origin", "roles", "groups", "people") if k in org}
    (root / "org.yaml").write_text(yaml.safe_dump(org, sort_keys=False))
    shutil.copytree(CONFIG / "templates", root / "templates")
    (root / "services").mkdir()
    for name, spec in services.items():
        (root / "services" / f"{name}.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    if approvals is None:  # the example's policies, less those naming services this org lacks
        example = yaml.safe_load((CONFIG / "approvals.yaml").read_text())["policies"]
        approvals = [p for p in example if p.get("service") in (None, *services)]
    (root / "approvals.yaml").write_text(yaml.safe_dump({"policies": approvals}, sort_keys=False))
    if rules is not None:
        (root / "rules.yaml").write_text(yaml.safe_dump(rules, sort_keys=False))
    return root


def example_rules() -> dict:
    """The example org's rules.yaml as data, to patch in a test."""
    return yaml.safe_load((CONFIG / "rules.yaml").read_text())


def row_count(path: Path) -> int:
    """Entries in a ledger file, read without gooseterm (for "nothing was written")."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT count(*) FROM entries").fetchone()[0]
    finally:
        conn.close()


__all__ = [
    "ADMIN", "CI", "CLEAN", "CONFIG", "DIRTY", "EVIDENCE", "EVIDENCE_FILES", "GOOSETERM", "PEOPLE", "REPO",
    "SAMPLES", "TOOL_EVIDENCE", "TestClock", "TestOrg", "build_org", "clone_home", "evidence_bytes", "example_rules",
    "row_count", "service_yaml", "utc_now", "write_config",
]
